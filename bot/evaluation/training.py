"""``bot match train``: fit the match model (:mod:`bot.search.match`) on the development sets.

The development sets are the dev splits of the evaluation suite
(:func:`bot.evaluation.retrieval.suite_sets`): the team's lay queries over MedQuAD neurology, the
question-shaped archive built from the RQE training pairs, and the team's paraphrases
over the sample archive. Held splits (and the RQE test file) are never read here.

For every dev query the shipped candidate search (:meth:`ArchiveIndex.candidates`) runs
on an index of its archive; each candidate is labelled by whether it is one of the
query's relevant records. Then:

1. the ranker, a logistic regression on :data:`bot.search.match.RANKER_FEATURES`, is fitted on
   every candidate;
2. candidates are ordered as search orders them (:func:`bot.search.match.ordering`), and the
   decision model, a logistic regression on :data:`bot.search.match.DECISION_FEATURES`, is
   fitted on the first :data:`DECIDE_TOP` (and on the same with the answer removed,
   :func:`unanswerable`);
3. the cut-off table is read from the best hit of every dev query: for each cut-off,
   the share of shown answers that were wrong (the worst archive) and the share of
   queries answered.

Each archive weighs the same, whatever its number of queries. scikit-learn is needed
here only; the shipped parameters are applied with numpy.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from bot.search import match
from bot.search.index import ArchiveIndex

#: Ranks of each query the decision model is fitted on.
DECIDE_TOP = 10
#: Probability cut-offs of the table.
GRID = tuple(round(0.02 * i, 2) for i in range(1, 50))
#: Inverse regularisation strength of both regressions.
C = 1.0


@dataclass(frozen=True)
class Group:
    """The candidates of one query and their labels."""

    archive: str
    signals: list[match.Signals]
    context: match.Context
    labels: list[bool]


def collect(index: ArchiveIndex, queries: Sequence[Any], archive: str) -> list[Group]:
    """Run the candidate search for each query and label its candidates.

    Args:
        index: The archive's index.
        queries: :class:`bot.evaluation.retrieval.Query` objects.
        archive: The archive's name (groups are weighted per archive).
    """
    groups = []
    for query in queries:
        found = index.candidates(query.text)
        if found is None:
            groups.append(Group(archive, [], match.Context(0, 0.0, False), []))
            continue
        candidates, context = found
        rowids = [c.rowid for c in candidates]
        records = index._records(rowids)
        labels = [records[r].id in query.relevant for r in rowids]
        groups.append(Group(archive, [c.signals for c in candidates], context, labels))
    return groups


def _weights(groups: Sequence[Group], rows_of: Any) -> Any:
    """Per-row weights: each archive sums to one, each query equally within it."""
    per_archive: dict[str, int] = {}
    for group in groups:
        if rows_of(group):
            per_archive[group.archive] = per_archive.get(group.archive, 0) + 1
    weights: list[float] = []
    for group in groups:
        rows = rows_of(group)
        if rows:
            weights.extend([1.0 / (per_archive[group.archive] * rows)] * rows)
    total = np.asarray(weights)
    return total * (len(total) / total.sum())


def _fit(matrix: Any, labels: Any, weights: Any, names: tuple[str, ...]) -> match.Linear:
    from sklearn.linear_model import LogisticRegression

    mean = matrix.mean(axis=0)
    scale = matrix.std(axis=0)
    scale[scale < 1e-9] = 1.0
    model = LogisticRegression(C=C, max_iter=2000)
    model.fit((matrix - mean) / scale, labels, sample_weight=weights)
    return match.Linear(names, mean, scale, model.coef_[0], float(model.intercept_[0]))


def unanswerable(groups: Sequence[Group]) -> list[Group]:
    """Each query again, as if the archive did not hold its answer: the relevant
    candidates removed, every other one a look-alike (what an off-topic message, or
    a question the archive has no reply to, meets)."""
    made = []
    for group in groups:
        kept = [s for s, label in zip(group.signals, group.labels, strict=True) if not label]
        if kept and len(kept) < len(group.signals):
            made.append(Group(group.archive + " (answer removed)", kept, group.context, []))
    return [Group(g.archive, g.signals, g.context, [False] * len(g.signals)) for g in made]


def fit(
    groups: Sequence[Group], default_max_wrong: float = match.DEFAULT_MAX_WRONG
) -> match.MatchModel:
    """Fit the ranker, the decision model and the cut-off table on labelled groups.

    The ranker learns from the groups as they are; the decision model also from
    :func:`unanswerable` copies of them, so that a best hit that only looks like the
    answer is not taken for it. The cut-off table is read from the groups as they are.
    """
    usable = [g for g in groups if g.signals]
    ranker_x = np.vstack([match.ranker_features(g.signals, g.context) for g in usable])
    ranker_y = np.concatenate([g.labels for g in usable]).astype(int)
    ranker = _fit(
        ranker_x, ranker_y, _weights(usable, lambda g: len(g.signals)), match.RANKER_FEATURES
    )
    decide_x: list[Any] = []
    decide_y: list[bool] = []
    both = [*usable, *unanswerable(usable)]
    for group in both:
        scores = ranker.logits(match.ranker_features(group.signals, group.context))
        order = match.ordering(group.signals, group.context)[:DECIDE_TOP]
        ranked = [group.signals[i] for i in order]
        decide_x.append(
            match.decision_features(ranked, [float(scores[i]) for i in order], group.context)
        )
        decide_y.extend(group.labels[i] for i in order)
    decision = _fit(
        np.vstack(decide_x),
        np.asarray(decide_y, dtype=int),
        _weights(both, lambda g: min(len(g.signals), DECIDE_TOP)),
        match.DECISION_FEATURES,
    )
    partial = match.MatchModel(ranker, decision, (), default_max_wrong)
    return match.MatchModel(ranker, decision, cutoff_table(partial, groups), default_max_wrong)


def cutoff_table(model: match.MatchModel, groups: Sequence[Group]) -> tuple[match.Cutoff, ...]:
    """For each cut-off of :data:`GRID`: the worst archive's share of wrong answers and
    the share of queries answered (the mean over archives)."""
    tops: dict[str, list[tuple[float, bool] | None]] = {}
    for group in groups:
        if not group.signals:
            tops.setdefault(group.archive, []).append(None)
            continue
        best = model.decide(group.signals, group.context)[0]
        tops.setdefault(group.archive, []).append((best.probability, group.labels[best.index]))
    table = []
    for cut in GRID:
        wrong_shares, answered_shares = [], []
        for values in tops.values():
            shown = [right for top in values if top is not None for p, right in [top] if p >= cut]
            wrong = sum(1 for right in shown if not right)
            wrong_shares.append(wrong / len(shown) if shown else 0.0)
            answered_shares.append(len(shown) / max(len(values), 1))
        table.append(
            match.Cutoff(
                cut, round(max(wrong_shares), 4), round(sum(answered_shares) / len(tops), 4)
            )
        )
    return tuple(table)


def cmd_match_train(args: argparse.Namespace) -> int:
    """Fit the match model on the dev splits and write its parameters."""
    from bot.evaluation.retrieval import open_set_index, suite_sets
    from bot.search.embedding import encoder_for
    from bot.settings import load_settings

    settings = load_settings()
    encoder = encoder_for(settings)
    groups: list[Group] = []
    for spec in suite_sets(args.data):
        dev = [q for q in spec.queries if q.split == "dev"]
        if not dev:
            continue
        print(f"{spec.name}: {len(dev)} dev queries ...", file=sys.stderr, flush=True)
        with open_set_index(spec, encoder, Path(args.cache) if args.cache else None) as index:
            groups.extend(collect(index, dev, spec.name))
    model = fit(groups, settings.max_wrong)
    out = args.out or match.model_file(settings.encoder if encoder is not None else None)
    if out.exists():  # the offer's floors are fitted by ``bot eval retrieval --write-floors``
        model = replace(model, floors=match.read_model(out).floors)
    out.write_text(json.dumps(model.to_dict(), indent=1) + "\n", encoding="utf-8")
    cut = model.cutoff()
    print(f"wrote {out}: {len(groups)} queries; cut-off at the default target {cut}")
    return 0


def add_command(subparsers: argparse._SubParsersAction) -> None:
    """Register ``bot match train``."""
    parser = subparsers.add_parser("match", help="the match decision model")
    commands = parser.add_subparsers(dest="match_command", required=True)
    train = commands.add_parser("train", help="fit the match model on the dev splits")
    train.add_argument(
        "--data",
        type=Path,
        required=True,
        help="the public data sets (a folder with medquad/, rqe/, kqa/: ../shared/data beside "
        "a checkout of the team's; not in this repository)",
    )
    train.add_argument(
        "--cache", help="keep the built indexes in this folder (re-used when up to date)"
    )
    train.add_argument(
        "--out",
        type=Path,
        help="where to write the model (default: the shipped file of NEUROBOT_ENCODER's model)",
    )
    train.set_defaults(func=cmd_match_train)
