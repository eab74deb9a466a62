"""Retrieval evaluation: the shipped search and its match decision against plain BM25.

``bot eval retrieval`` imports archives into indexes, runs every labelled query through
:meth:`ArchiveIndex.search` (the shipped search: FTS5 and nearest-vector candidates,
ranked and decided by the match model, :mod:`bot.search.match`), the same on words alone, and
:meth:`ArchiveIndex.baseline_search` (plain FTS5 BM25), and prints per archive and
split hit@1, hit@3, hit@10 and MRR@10 for each, then the answer-decision table: at the
default target share of wrong answers (``NEUROBOT_MAX_WRONG``) and at the other
:data:`TARGETS`, the share of queries answered with a right record, answered with a
wrong one, and told there is no close match, the share of queries whose top hit is
right that get answered, and the share of off-topic messages answered.

With no ``--archive``, the whole suite (:func:`suite_sets`) runs in one go: MedQuAD
neurology with the team's lay queries, the question-shaped archive built from the RQE
training pairs, the sample archive with the team's paraphrases, and the RQE test file
(held as a whole).

Query files are JSON Lines, one query a line::

    {"q": "my hands shake at rest", "relevant": {"field": "focus", "values": ["..."]}}
    {"q": "...", "relevant_ids": ["record-id", ...], "split": "dev"}

``relevant.field`` names a field of the raw archive line (MedQuAD's ``focus``): every
record whose raw line has one of the values there is relevant (compared without case).

``bot eval triage`` runs the red-flag assessment (:mod:`bot.safety`) over a labelled table
and prints recall and false-alarm rate (:func:`evaluate_triage`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, astuple, dataclass, field
from pathlib import Path
from typing import Any

from bot.archive.formats import FORMATS, read_archive
from bot.archive.records import Record
from bot.errors import ArchiveFormatError, BotError
from bot.jsonl import json_objects
from bot.safety import assess, assess_conversation
from bot.search.compose import ANSWER, NONE, OFFER, reply_kind
from bot.search.embedding import Encoder
from bot.search.index import SCHEMA_VERSION, ArchiveIndex, Hit
from bot.search.match import (
    DEFAULT_MAX_WRONG,
    MAX_OFFERED,
    OUTSIDE_ANSWER_COSINE,
    Floors,
    MatchModel,
    model_file,
    shipped_model,
)
from bot.search.scope import ANY, NEUROLOGY, in_scope
from bot.search.vocabulary import Vocabulary
from bot.settings import PROJECT_ROOT
from bot.stats import percentile

#: The cut-offs reported.
CUTOFFS = (1, 3, 10)
#: Target shares of wrong answers in the decision table (the default is added).
TARGETS = (0.02, 0.05, 0.1, 0.2)

Searcher = Callable[[str, int], list[Hit]]


@dataclass(frozen=True)
class Query:
    """One labelled query.

    Attributes:
        text: The patient's words.
        relevant: Ids of the records that answer it.
        split: ``dev``, ``held``, or None when the file has no splits.
    """

    text: str
    relevant: frozenset[str]
    split: str | None = None


@dataclass(frozen=True)
class Metrics:
    """Ranking quality over a set of queries (shares in [0, 1])."""

    queries: int
    hit1: float
    hit3: float
    hit10: float
    mrr10: float


@dataclass(frozen=True)
class Decisions:
    """How the match decision splits queries at one target.

    Attributes:
        target: The accepted share of wrong answers (``NEUROBOT_MAX_WRONG``).
        cutoff: The probability cut-off it gives.
        right: Share of queries answered with a relevant record.
        wrong: Share of queries answered with a record that is not relevant.
        no_match: Share of queries told there is no close archived reply.
        answered_when_right: Of the queries whose top hit is relevant, the share
            answered (None when no top hit is relevant).
        offtopic_answered: Share of off-topic messages answered (None without them).
    """

    target: float
    cutoff: float
    right: float
    wrong: float
    no_match: float
    answered_when_right: float | None
    offtopic_answered: float | None = None


def raw_field_values(path: Path, field: str) -> dict[str, set[str]]:
    """Map record ids to the values of one field of the raw JSON Lines archive file.

    Values are compared without case; a list-valued field gives each of its items.
    Lines that are not JSON objects or lack an id are skipped (the archive reader
    reports those).
    """
    mapping: dict[str, set[str]] = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if not isinstance(row, dict):
                continue
            record_id = row.get("id", row.get("record_id"))
            value = row.get(field)
            if record_id is None or value is None:
                continue
            items = value if isinstance(value, list) else [value]
            mapping.setdefault(str(record_id), set()).update(str(v).casefold() for v in items)
    return mapping


def parse_queries(
    lines: Iterable[str],
    field_values: Callable[[str], dict[str, set[str]]],
    where: str = "queries",
) -> list[Query]:
    """Parse JSON Lines queries, resolving ``relevant`` fields to record ids.

    Args:
        lines: The lines of a query file.
        field_values: Returns, for a raw field name, record id -> values of that field.
        where: Name of the file, for error messages.

    Raises:
        BotError: A line is not a query; the message names file and line.
    """
    queries: list[Query] = []
    for number, row in json_objects(lines, where):
        text = row.get("q")
        if not isinstance(text, str):
            raise BotError(f'{where}:{number}: expected an object with "q"')
        ids = {str(i) for i in row.get("relevant_ids") or ()}
        relevant = row.get("relevant")
        if isinstance(relevant, dict):
            wanted = {str(v).casefold() for v in relevant.get("values") or ()}
            mapping = field_values(str(relevant.get("field", "")))
            ids |= {rid for rid, values in mapping.items() if values & wanted}
        split = row.get("split")
        queries.append(Query(text, frozenset(ids), str(split) if split else None))
    return queries


def load_queries(path: Path, archive: Path | None) -> list[Query]:
    """Read a query file; ``relevant`` fields are looked up in the archive file."""
    cache: dict[str, dict[str, set[str]]] = {}

    def field_values(field: str) -> dict[str, set[str]]:
        if archive is None or archive.is_dir():
            raise BotError(f"{path}: 'relevant' by field needs a JSON Lines --archive file")
        if field not in cache:
            cache[field] = raw_field_values(archive, field)
        return cache[field]

    with path.open(encoding="utf-8") as handle:
        return parse_queries(handle, field_values, str(path))


def read_offtopic(path: Path) -> list[str]:
    """Read off-topic queries (JSON Lines ``{"q": ...}``)."""
    with path.open(encoding="utf-8") as handle:
        return [q.text for q in parse_queries(handle, lambda _: {}, str(path))]


def first_relevant_rank(hits: Sequence[Hit], relevant: frozenset[str]) -> int | None:
    """The 1-based rank of the first relevant hit, or None."""
    for rank, hit in enumerate(hits, start=1):
        if hit.record.id in relevant:
            return rank
    return None


def metrics(ranks: Sequence[int | None]) -> Metrics:
    """hit@1/3/10 and MRR@10 from the first relevant rank of each query."""
    count = len(ranks)
    if not count:
        return Metrics(0, 0.0, 0.0, 0.0, 0.0)

    def hit(k: int) -> float:
        return round(sum(1 for r in ranks if r is not None and r <= k) / count, 4)

    mrr = sum(1 / r for r in ranks if r is not None and r <= 10) / count
    return Metrics(count, hit(1), hit(3), hit(10), round(mrr, 4))


def decisions(
    tops: Sequence[tuple[float, bool] | None],
    target: float,
    model: MatchModel,
    offtopic: Sequence[float | None] | None = None,
) -> Decisions:
    """Split queries by their top hit at one target share of wrong answers.

    Args:
        tops: Per query, the top hit's probability and whether it is relevant (None:
            no hit).
        target: The accepted share of wrong answers.
        model: The match model whose cut-off table turns the target into a cut-off.
        offtopic: Per off-topic message, its top hit's probability (None: no hit).
    """
    cut = model.cutoff(target)
    count = max(len(tops), 1)
    shown = [right for top in tops if top is not None for p, right in [top] if p >= cut]
    right = sum(shown)
    right_tops = sum(1 for top in tops if top is not None and top[1])
    answered = None
    if offtopic is not None:
        hits = sum(1 for p in offtopic if p is not None and p >= cut)
        answered = round(hits / max(len(offtopic), 1), 4)
    return Decisions(
        target=target,
        cutoff=cut,
        right=round(right / count, 4),
        wrong=round((len(shown) - right) / count, 4),
        no_match=round((len(tops) - len(shown)) / count, 4),
        answered_when_right=round(right / right_tops, 4) if right_tops else None,
        offtopic_answered=answered,
    )


@dataclass(frozen=True)
class Candidates:
    """One query's top hits as the decision sees them.

    Attributes:
        hits: Per hit, best first, (probability, score, cosine, relevant); the cosine is
            None when the search had no vectors.
        in_scope: Whether the query is within the archive's scope
            (:func:`bot.search.scope.in_scope`).
    """

    hits: tuple[tuple[float, float, float | None, bool], ...]
    in_scope: bool = True

    def reply(self, cutoff: float, floors: Floors) -> tuple[str, tuple[int, ...]]:
        """:func:`bot.search.compose.reply_kind` on these hits, at ``floors``."""
        return reply_kind(
            [(p, s, c) for p, s, c, _ in self.hits],
            cutoff,
            floors.probability,
            floors.score,
            floors.cosine,
            in_scope=self.in_scope,
            outside_cosine=floors.outside_cosine,
            outside_answer_cosine=floors.outside_answer_cosine,
        )


def write_floors(path: Path, floors: Floors) -> None:
    """Write fitted floors into a match model file (``bot eval retrieval --write-floors``),
    keeping everything else in it."""
    data = json.loads(path.read_text(encoding="utf-8"))
    data["floors"] = floors.to_dict()
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


@dataclass(frozen=True)
class Run:
    """Each query's first relevant rank, top hit and top candidates, for one searcher."""

    ranks: list[int | None]
    tops: list[tuple[float, bool] | None]
    latencies_ms: list[float]
    candidates: list[Candidates] = field(default_factory=list)


def run_queries(searcher: Searcher, queries: Sequence[Query], k: int = 10, scope: str = ANY) -> Run:
    """Run every query through a searcher; a top hit is kept with its probability, the
    top hits with whether the query is within the archive's ``scope``."""
    ranks: list[int | None] = []
    tops: list[tuple[float, bool] | None] = []
    latencies: list[float] = []
    candidates: list[Candidates] = []
    for query in queries:
        started = time.perf_counter()
        hits = searcher(query.text, k)
        latencies.append((time.perf_counter() - started) * 1000)
        ranks.append(first_relevant_rank(hits[:k], query.relevant))
        tops.append((hits[0].probability, hits[0].record.id in query.relevant) if hits else None)
        candidates.append(
            Candidates(
                tuple(
                    (h.probability, h.score, h.cosine, h.record.id in query.relevant)
                    for h in hits[:MAX_OFFERED]
                ),
                in_scope(query.text, scope),
            )
        )
    return Run(ranks, tops, latencies, candidates)


# ------------------------------------------------------------- what patients meet

#: Targets of the three kinds of reply (issue 17): confident answers showing the wrong
#: record at most this share of the queries ...
MAX_CONFIDENT_WRONG = 0.03
#: ... and of the queries whose right record is in the top 3, at most this share told
#: "no close match".
MAX_TOP3_NO_MATCH = 0.10
#: Off-topic messages answered confidently at most this share ...
MAX_OFFTOPIC_CONFIDENT = 0.03
#: ... and offered close questions at most this share.
MAX_OFFTOPIC_OFFERED = 0.10
#: Floors tried when the decision is fitted: the offer's probabilities, scores and
#: cosines, and the cosines of a hit shown outside the archive's scope (0: no stricter).
OFFER_PROBABILITIES = (0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3)
OFFER_SCORES = (0.0, 0.2, 0.22, 0.24, 0.26, 0.28, 0.3, 0.32)
OFFER_COSINES = (0.0, 0.3, 0.35, 0.4, 0.45, 0.5)
OUTSIDE_COSINES = (0.0, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6)


@dataclass(frozen=True)
class Outcomes:
    """What the patients of a query set meet at one decision (shares of the queries).

    Attributes:
        cutoff: The answer cut-off.
        offer_probability: The offer floor (:data:`bot.search.match.OFFER_PROBABILITY`).
        offer_score: The offer's score floor (:data:`bot.search.match.OFFER_SCORE`).
        offer_cosine: The offer's cosine floor (:data:`bot.search.match.OFFER_COSINE`).
        outside_cosine: The cosine floor outside the archive's scope
            (:data:`bot.search.match.OUTSIDE_COSINE`).
        confident_right: Answered with a relevant record.
        confident_wrong: Answered with a record that is not relevant.
        offered_right: Offered close questions, a relevant record among them.
        offered_without: Offered close questions, none relevant.
        no_match: Told there is no close match.
        top3: Queries whose relevant record is in the top 3.
        top3_reached: Of those, the share shown it confidently or among the offers.
        top3_no_match: Of those, the share told there is no close match.
        offtopic_confident: Off-topic messages answered confidently (None without them).
        offtopic_offered: Off-topic messages offered close questions.
        offtopic_dev_confident: The same for the development off-topic messages (K-QA,
            :func:`kqa_offtopic`), which the offer floors are fitted on.
        offtopic_dev_offered: See ``offtopic_dev_confident``.
    """

    cutoff: float
    offer_probability: float
    offer_score: float
    offer_cosine: float
    outside_cosine: float
    confident_right: float
    confident_wrong: float
    offered_right: float
    offered_without: float
    no_match: float
    top3: int
    top3_reached: float | None
    top3_no_match: float | None
    offtopic_confident: float | None = None
    offtopic_offered: float | None = None
    offtopic_dev_confident: float | None = None
    offtopic_dev_offered: float | None = None


def _offtopic_shares(
    offtopic: Sequence[Candidates] | None, cutoff: float, offer: Floors
) -> tuple[float | None, float | None]:
    """Shares of off-topic messages answered confidently and offered close questions."""
    if offtopic is None:
        return None, None
    kinds = [q.reply(cutoff, offer)[0] for q in offtopic]
    total = max(len(kinds), 1)
    return round(kinds.count(ANSWER) / total, 4), round(kinds.count(OFFER) / total, 4)


def outcomes(
    candidates: Sequence[Candidates],
    cutoff: float,
    offer: Floors,
    offtopic: Sequence[Candidates] | None = None,
    offtopic_dev: Sequence[Candidates] | None = None,
) -> Outcomes:
    """Apply :func:`bot.search.compose.reply_kind` to each query's candidates and count.

    Args:
        candidates: Per query, its top hits.
        cutoff: The answer cut-off.
        offer: The decision's floors (:class:`bot.search.match.Floors`).
        offtopic: Per held off-topic message, its top hits (relevant never).
        offtopic_dev: The same for the development off-topic messages.
    """
    counts = {"right": 0, "wrong": 0, "offer_right": 0, "offer_without": 0, "none": 0}
    top3 = reached = top3_none = 0
    for query in candidates:
        kind, places = query.reply(cutoff, offer)
        right = any(query.hits[i][3] for i in places)
        key = {
            ANSWER: "right" if right else "wrong",
            OFFER: "offer_right" if right else "offer_without",
            NONE: "none",
        }[kind]
        counts[key] += 1
        if any(relevant for *_, relevant in query.hits[:3]):
            top3 += 1
            reached += right
            top3_none += kind == NONE
    total = max(len(candidates), 1)
    off_confident, off_offered = _offtopic_shares(offtopic, cutoff, offer)
    dev_confident, dev_offered = _offtopic_shares(offtopic_dev, cutoff, offer)
    return Outcomes(
        cutoff=cutoff,
        offer_probability=offer.probability,
        offer_score=offer.score,
        offer_cosine=offer.cosine,
        outside_cosine=offer.outside_cosine,
        confident_right=round(counts["right"] / total, 4),
        confident_wrong=round(counts["wrong"] / total, 4),
        offered_right=round(counts["offer_right"] / total, 4),
        offered_without=round(counts["offer_without"] / total, 4),
        no_match=round(counts["none"] / total, 4),
        top3=top3,
        top3_reached=round(reached / top3, 4) if top3 else None,
        top3_no_match=round(top3_none / top3, 4) if top3 else None,
        offtopic_confident=off_confident,
        offtopic_offered=off_offered,
        offtopic_dev_confident=dev_confident,
        offtopic_dev_offered=dev_offered,
    )


def meets_targets(result: Outcomes) -> bool:
    """Whether one archive's outcomes meet the targets of :data:`MAX_CONFIDENT_WRONG`
    and :data:`MAX_TOP3_NO_MATCH`, and, where off-topic messages were measured (held
    and development alike), :data:`MAX_OFFTOPIC_CONFIDENT` and
    :data:`MAX_OFFTOPIC_OFFERED`."""
    no_match = result.top3_no_match or 0.0
    met = result.confident_wrong <= MAX_CONFIDENT_WRONG and no_match <= MAX_TOP3_NO_MATCH
    for confident, offered in (
        (result.offtopic_confident, result.offtopic_offered),
        (result.offtopic_dev_confident, result.offtopic_dev_offered),
    ):
        if confident is not None and offered is not None:
            met = met and confident <= MAX_OFFTOPIC_CONFIDENT and offered <= MAX_OFFTOPIC_OFFERED
    return met


def fit_offer(
    archives: Sequence[tuple[Sequence[Candidates], Sequence[Candidates] | None]],
    cutoff: float,
    outside_answer: float = OUTSIDE_ANSWER_COSINE,
) -> Floors:
    """The decision's floors (:class:`bot.search.match.Floors`) to ship, fitted on ``archives``.

    Among the floors of :data:`OFFER_PROBABILITIES` x :data:`OFFER_SCORES` x
    :data:`OFFER_COSINES` x :data:`OUTSIDE_COSINES` at which, on every archive, at most
    :data:`MAX_TOP3_NO_MATCH` of the queries whose right record is in the top 3 end in
    "no close match", the one whose worst archive shows the fewest off-topic messages
    anything (an answer or close questions; then: whose worst archive reaches the right
    record most often; then the higher floors). When none keeps the no-match target,
    the lowest floors. The answer's cosine outside the scope is not searched: it is
    ``outside_answer`` (:data:`bot.search.match.OUTSIDE_ANSWER_COSINE`).
    """
    best: tuple[tuple[float, ...], Floors] | None = None
    grid = (
        Floors(p, s, c, o, outside_answer)
        for p in OFFER_PROBABILITIES
        for s in OFFER_SCORES
        for c in OFFER_COSINES
        for o in OUTSIDE_COSINES
    )
    for floors in grid:
        results = [outcomes(queries, cutoff, floors, off) for queries, off in archives]
        if any((r.top3_no_match or 0.0) > MAX_TOP3_NO_MATCH for r in results):
            continue
        shown = max((r.offtopic_offered or 0.0) + (r.offtopic_confident or 0.0) for r in results)
        reached = min((r.top3_reached or 0.0) for r in results)
        fitted = (floors.probability, floors.score, floors.cosine, floors.outside_cosine)
        key = (shown, -reached, *(-floor for floor in fitted))
        if best is None or key < best[0]:
            best = (key, floors)
    if best is None:
        return Floors(
            min(OFFER_PROBABILITIES),
            min(OFFER_SCORES),
            min(OFFER_COSINES),
            min(OUTSIDE_COSINES),
            outside_answer,
        )
    return best[1]


#: One development archive's candidates for the offer fit: its queries', the development
#: off-topic messages' (fitted on) and the held ones' (measured); None where the archive
#: has no off-topic messages (it is not about neurology alone).
Development = tuple[Sequence[Candidates], Sequence[Candidates] | None, Sequence[Candidates] | None]


def leave_one_out(
    archives: dict[str, Development], cutoff: float, outside_answer: float = OUTSIDE_ANSWER_COSINE
) -> dict[str, dict[str, Any]]:
    """For each development archive: the offer floors fitted without it (on the others'
    queries and development off-topic messages), and what its patients and both sets of
    off-topic messages meet at those floors (the answer cut-off is the shipped one)."""
    folds: dict[str, dict[str, Any]] = {}
    for name, (queries, dev_off, held_off) in archives.items():
        others = [(q, d) for other, (q, d, _) in archives.items() if other != name]
        offer = fit_offer(others, cutoff, outside_answer)
        result = outcomes(queries, cutoff, offer, held_off, dev_off)
        folds[name] = {
            "fitted": list(astuple(offer)),
            "outcomes": asdict(result),
            "met": meets_targets(result),
        }
    return folds


def evaluate(
    index: ArchiveIndex,
    queries: Sequence[Query],
    *,
    max_wrong: float = DEFAULT_MAX_WRONG,
    offtopic: Sequence[str] | None = None,
    offtopic_dev: Sequence[str] | None = None,
    k: int = 10,
    model: MatchModel | None = None,
    scope: str = ANY,
) -> dict[str, Any]:
    """Compare the shipped search with the baseline on labelled queries.

    Args:
        index: The archive's index (filled with ``baseline=True``).
        queries: The labelled queries.
        max_wrong: The default target share of wrong answers.
        offtopic: Messages the archive does not cover (held: measured only).
        offtopic_dev: Development messages the archive does not cover (the offer
            floors are fitted on them).
        k: Hits looked at per query.
        model: The match model (by default the index's: :meth:`ArchiveIndex.match_model`).
        scope: What the archive covers (``NEUROBOT_SCOPE``: :mod:`bot.search.scope`).

    Returns:
        A JSON-ready report: per split (``all`` and each split the queries carry)
        the metrics of the shipped search, of the baseline and the hit@1 ratio, and
        the decision table at ``max_wrong`` and :data:`TARGETS`. When the index has
        sentence vectors, ``words_only`` holds the shipped search's metrics without
        them (what the vectors add).
    """
    model = model or index.match_model(index.dense_ready())
    shipped = run_queries(lambda text, n: index.search(text, k=n), queries, k, scope)
    baseline = run_queries(lambda text, n: index.baseline_search(text, k=n), queries, k)
    words_only = (
        run_queries(lambda text, n: index.search(text, k=n, dense=False), queries, k)
        if index.dense_ready()
        else None
    )
    off_candidates = _offtopic_candidates(index, offtopic, scope)
    dev_candidates = _offtopic_candidates(index, offtopic_dev, scope)
    off = (
        [q.hits[0][0] if q.hits else None for q in off_candidates]
        if off_candidates is not None
        else None
    )
    cutoff = model.cutoff(max_wrong)
    targets = sorted({*TARGETS, max_wrong})
    splits = sorted({q.split for q in queries if q.split})
    report: dict[str, Any] = {
        "queries": len(queries),
        "max_wrong": max_wrong,
        "embedding": index.encoder.model_id if words_only and index.encoder else None,
        "scope": scope,
        "splits": {},
    }
    for split in ["all", *splits]:
        chosen = [i for i, q in enumerate(queries) if split == "all" or q.split == split]
        ours = metrics([shipped.ranks[i] for i in chosen])
        base = metrics([baseline.ranks[i] for i in chosen])
        tops = [shipped.tops[i] for i in chosen]
        report["splits"][split] = {
            "shipped": asdict(ours),
            "baseline": asdict(base),
            "hit1_ratio": round(ours.hit1 / base.hit1, 3) if base.hit1 else None,
            "decisions": [asdict(decisions(tops, t, model, off)) for t in targets],
            "outcomes": asdict(
                outcomes(
                    [shipped.candidates[i] for i in chosen],
                    cutoff,
                    model.floors,
                    offtopic=off_candidates,
                    offtopic_dev=dev_candidates,
                )
            ),
            "top_auc": top_auc([t for t in tops if t is not None]),
            "in_scope": _in_scope_share([shipped.candidates[i] for i in chosen]),
        }
        if words_only is not None:
            words = metrics([words_only.ranks[i] for i in chosen])
            report["splits"][split]["words_only"] = asdict(words)
    development = [i for i, q in enumerate(queries) if q.split in (None, "dev")]
    # for the leave-one-archive-out check of evaluate_suite (not printed)
    report["_candidates"] = (
        [shipped.candidates[i] for i in development],
        dev_candidates,
        off_candidates,
    )
    if off_candidates is not None and dev_candidates is not None:
        report["offtopic_in_scope"] = {
            "held": _in_scope_share(off_candidates),
            "dev": _in_scope_share(dev_candidates),
        }
    report["latency_ms"] = {
        "shipped": _percentiles(shipped.latencies_ms),
        "baseline": _percentiles(baseline.latencies_ms),
    }
    return report


def _offtopic_candidates(
    index: ArchiveIndex, texts: Sequence[str] | None, scope: str = ANY
) -> list[Candidates] | None:
    """Each off-topic message's top hits, as :class:`Candidates` (never relevant)."""
    if texts is None:
        return None
    found = []
    for text in texts:
        hits = index.search(text, k=MAX_OFFERED)
        found.append(
            Candidates(
                tuple((h.probability, h.score, h.cosine, False) for h in hits),
                in_scope(text, scope),
            )
        )
    return found


def _in_scope_share(candidates: Sequence[Candidates]) -> float | None:
    """The share of queries within the archive's scope (None without queries)."""
    if not candidates:
        return None
    return round(sum(c.in_scope for c in candidates) / len(candidates), 4)


def top_auc(tops: Sequence[tuple[float, bool]]) -> float | None:
    """How well the best hit's probability tells right top hits from wrong ones: the
    area under the ROC curve (the chance that a random right top hit scores above a
    random wrong one, ties half), or None when either kind is missing."""
    right = [p for p, ok in tops if ok]
    wrong = [p for p, ok in tops if not ok]
    if not right or not wrong:
        return None
    above = sum((r > w) + 0.5 * (r == w) for r in right for w in wrong)
    return round(above / (len(right) * len(wrong)), 4)


def _percentiles(values: Sequence[float]) -> dict[str, float]:
    return {"median": round(percentile(values, 0.5), 2), "p95": round(percentile(values, 0.95), 2)}


def _rqe_set(
    path: Path, source: str, *, skip_identical: bool = False, held: str | None = None
) -> tuple[list[Record], list[Query]]:
    from bot.evaluation.datasets import load_rqe_pairs, rqe_archive_and_queries

    try:
        archive, raw_queries = rqe_archive_and_queries(
            load_rqe_pairs(path), source, skip_identical=skip_identical, held=held
        )
    except (OSError, ValueError) as exc:
        raise BotError(str(exc)) from exc
    records = [Record.from_dict(row) for row in archive]
    queries = []
    for raw in raw_queries:
        ids = raw["relevant_ids"]
        assert isinstance(ids, list)
        split = raw.get("split")
        queries.append(
            Query(str(raw["q"]), frozenset(str(i) for i in ids), str(split) if split else None)
        )
    return records, queries


def load_rqe(path: Path) -> tuple[list[Record], list[Query]]:
    """The RQE archive (one record per FAQ) and its labelled queries."""
    from bot.evaluation.datasets import RQE_SOURCE

    return _rqe_set(path, RQE_SOURCE)


@dataclass(frozen=True)
class EvalSet:
    """One archive of the suite with its labelled queries.

    ``neurology`` says whether the archive is about neurology alone: only then are
    questions of other specialties off-topic for it (the RQE archives cover all of
    consumer health, where "my knee is swollen" may well have its answer).
    """

    name: str
    records: list[Record]
    queries: list[Query]
    neurology: bool = True


#: K-QA diagnoses (ICD-10 names) of the nervous system and its neighbours: a K-QA
#: question with one of these, or none, is not taken as off-topic.
_NEURO_DIAGNOSIS = re.compile(
    r"headache|migraine|sciatica|radiculopath|vertigo|neuropath|neuralgia|seizure|epilep"
    r"|zoster|tinnitus|spasm|nerve|palsy|dementia|stroke|concussion|syncope|dizz"
    r"|paresthesia|numb|insomnia|sleep|tremor|restless",
    re.IGNORECASE,
)
#: Words that make a K-QA question neurological whatever its diagnosis.
_NEURO_WORDS = re.compile(
    r"neur|vestibul|pass out|faint|dizz|numb|tingl|headache|migraine|seiz|memory|stiff",
    re.IGNORECASE,
)


def kqa_offtopic(path: Path) -> list[str]:
    """Real patient questions of other specialties, from K-QA (``kqa/questions_w_answers.jsonl``).

    K-QA's questions come from a telehealth service, each with the physicians'
    diagnosis (an ICD-10 name) where they gave one. Kept: questions whose diagnosis is
    outside the nervous system and whose words are not neurological either (87 of
    201). They are the *development* off-topic messages: the offer floors and the match
    model are fitted on them, and the team's own off-topic file (``--offtopic``) stays
    held for measuring.
    """
    kept = []
    with path.open(encoding="utf-8") as handle:
        rows = [row for _, row in json_objects(handle, path)]
    for row in rows:
        question = str(row.get("Question") or "").strip()
        diagnosis = str(row.get("ICD_10_diag") or "")
        neurological = _NEURO_DIAGNOSIS.search(diagnosis) or _NEURO_WORDS.search(question)
        if question and diagnosis and not neurological:
            kept.append(question)
    return kept


def suite_sets(data: Path, root: Path = PROJECT_ROOT) -> list[EvalSet]:
    """The evaluation suite.

    Args:
        data: The shared data folder (``../shared/data``: MedQuAD, RQE).
        root: The project (its sample archive and ``tests/eval`` query files).

    Returns:
        MedQuAD neurology with the lay queries; the question-shaped archive of the RQE
        training pairs (FAQ side as the archive, false pairs' FAQs among them as
        look-alikes, consumer side as the queries, questions paired with themselves
        left out); the sample archive with the team's paraphrases; the RQE test file,
        every query held.
    """
    neuro = data / "medquad" / "neuro.jsonl"
    train_records, train_queries = _rqe_set(
        data / "rqe" / "RQE_Train_8588_AMIA2016.xml",
        "NIH FAQ (RQE training set)",
        skip_identical=True,
    )
    test_records, test_queries = _rqe_set(
        data / "rqe" / "RQE_Test_302_pairs_AMIA2016.xml", "NIH FAQ (RQE test set)", held="held"
    )
    return [
        EvalSet(
            "MedQuAD neurology, lay queries",
            read_archive([neuro]),
            load_queries(root / "tests" / "eval" / "neuro_lay_queries.jsonl", neuro),
        ),
        EvalSet(
            "RQE training pairs, question-shaped",
            train_records,
            train_queries,
            neurology=False,
        ),
        EvalSet(
            "sample archive, paraphrases",
            read_archive([root / "data" / "archive"]),
            load_queries(root / "tests" / "eval" / "sample_paraphrases.jsonl", None),
        ),
        EvalSet("RQE test pairs (held)", test_records, test_queries, neurology=False),
    ]


@contextlib.contextmanager
def open_set_index(
    spec: EvalSet,
    encoder: Encoder | None,
    cache: Path | None = None,
    vocabulary: Vocabulary | None = None,
) -> Iterator[ArchiveIndex]:
    """An index of one suite archive (with the baseline table).

    Built in a temporary folder, or kept in ``cache`` and re-used while it holds the
    same records, schema and embedding model.
    """
    key = "|".join(
        [spec.name, str(len(spec.records)), SCHEMA_VERSION, encoder.model_id if encoder else "-"]
    )
    with contextlib.ExitStack() as stack:
        if cache is None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bot-eval-")))
        else:
            folder = cache
            folder.mkdir(parents=True, exist_ok=True)
        slug = "".join(c if c.isalnum() else "-" for c in spec.name.casefold())
        path = folder / f"{slug}.sqlite3"
        if path.exists():
            index = stack.enter_context(ArchiveIndex(path, vocabulary, encoder))
            row = index.db.execute("SELECT value FROM meta WHERE key = 'eval_set'").fetchone()
            if row and row[0] == key:
                yield index
                return
            index.close()
            path.unlink()
        index = stack.enter_context(ArchiveIndex(path, vocabulary, encoder))
        index.upsert(spec.records, baseline=True)
        with index.db:
            index.db.execute("INSERT OR REPLACE INTO meta VALUES ('eval_set', ?)", (key,))
        yield index


def evaluate_files(
    archive: Path,
    fmt: str,
    queries_path: Path | None,
    *,
    max_wrong: float = DEFAULT_MAX_WRONG,
    offtopic_path: Path | None = None,
    split: str = "all",
    k: int = 10,
    vocabulary: Vocabulary | None = None,
    encoder: Encoder | None = None,
    scope: str = NEUROLOGY,
) -> dict[str, Any]:
    """Load an archive and queries, index them in a temporary folder, evaluate.

    ``encoder`` is the shipped search's sentence embedding (None: words alone);
    ``scope`` what the archive covers (``NEUROBOT_SCOPE``).
    """
    if fmt == "rqe":
        records, queries = load_rqe(archive)
        if queries_path is not None:
            queries = load_queries(queries_path, None)
    else:
        if queries_path is None:
            raise BotError("--queries is required unless --format rqe")
        records = read_archive([archive], fmt)
        queries = load_queries(queries_path, archive)
    if split != "all":
        queries = [q for q in queries if q.split == split]
    if not queries:
        raise BotError("no queries to evaluate")
    offtopic = read_offtopic(offtopic_path) if offtopic_path else None
    spec = EvalSet(str(archive), records, queries)
    with open_set_index(spec, encoder, None, vocabulary) as index:
        report = evaluate(index, queries, max_wrong=max_wrong, offtopic=offtopic, k=k, scope=scope)
    report.pop("_candidates", None)
    report["archive"] = str(archive)
    report["records"] = len(records)
    return report


def evaluate_suite(
    data: Path,
    *,
    max_wrong: float = DEFAULT_MAX_WRONG,
    offtopic_path: Path | None = None,
    k: int = 10,
    encoder: Encoder | None = None,
    cache: Path | None = None,
) -> list[dict[str, Any]]:
    """Evaluate every archive of :func:`suite_sets` in one run."""
    offtopic = read_offtopic(offtopic_path) if offtopic_path else None
    offtopic_dev = kqa_offtopic(data / KQA_FILE)
    reports = []
    for spec in suite_sets(data):
        print(f"evaluating {spec.name} ...", file=sys.stderr, flush=True)
        with open_set_index(spec, encoder, cache) as index:
            report = evaluate(
                index,
                spec.queries,
                max_wrong=max_wrong,
                offtopic=offtopic if spec.neurology else None,
                offtopic_dev=offtopic_dev if spec.neurology else None,
                k=k,
                scope=NEUROLOGY if spec.neurology else ANY,
            )
        report["archive"] = spec.name
        report["records"] = len(spec.records)
        report["neurology"] = spec.neurology
        reports.append(report)
    development = {
        r["archive"]: r.pop("_candidates") for r in reports if r["archive"] != HELD_ARCHIVE
    }
    for report in reports:
        report.pop("_candidates", None)
    model = shipped_model(encoder.spec.name if encoder is not None else None)
    cutoff = model.cutoff(max_wrong)
    answer = model.floors.outside_answer_cosine
    fitted = fit_offer([(q, d) for q, d, _ in development.values()], cutoff, answer)
    reports.append(
        {
            "archive": LEAVE_ONE_OUT,
            "cutoff": cutoff,
            "shipped_offer": list(astuple(model.floors)),
            "fitted_on_all": list(astuple(fitted)),
            "folds": leave_one_out(development, cutoff, answer),
        }
    )
    return reports


#: K-QA's questions in the shared data folder (:func:`kqa_offtopic`).
KQA_FILE = Path("kqa") / "questions_w_answers.jsonl"
#: Name of the suite's held archive (never used to fit anything).
HELD_ARCHIVE = "RQE test pairs (held)"
#: Name of the suite's leave-one-archive-out report.
LEAVE_ONE_OUT = "leave one archive out"


def format_report(report: dict[str, Any]) -> str:
    """The report as a table for people."""
    if report["archive"] == LEAVE_ONE_OUT:
        return _format_folds(report)
    lines = [
        f"{report['archive']}: {report['records']} records, {report['queries']} queries; "
        f"sentence embeddings: {report.get('embedding') or 'off'}; scope: "
        f"{report.get('scope', ANY)}"
    ]
    for split, part in report["splits"].items():
        ours, base = part["shipped"], part["baseline"]
        lines.append("")
        lines.append(f"[{split}] {ours['queries']} queries")
        lines.append(f"  {'':11}{'hit@1':>8}{'hit@3':>8}{'hit@10':>8}{'MRR@10':>8}")
        rows = [("shipped", ours), ("baseline", base)]
        if "words_only" in part:
            rows.insert(1, ("words only", part["words_only"]))
        for name, values in rows:
            lines.append(
                f"  {name:11}{values['hit1']:8.3f}{values['hit3']:8.3f}"
                f"{values['hit10']:8.3f}{values['mrr10']:8.3f}"
            )
        ratio = part["hit1_ratio"]
        lines.append(f"  hit@1 shipped/baseline: {ratio if ratio is not None else 'n/a'}")
        lines.append(
            "   target  cut-off  right  wrong  no match  answered|top right  off-topic answered"
        )
        for row in part["decisions"]:
            mark = "*" if abs(row["target"] - report["max_wrong"]) < 1e-9 else " "
            lines.append(_decision_line(row, mark))
        lines.append(_outcome_header())
        lines.append(_outcome_line("shipped", part["outcomes"]))
        lines.append(
            "  AUC of the best hit's probability, right vs wrong top hits: "
            f"{_share(part.get('top_auc'))}; queries within the scope: "
            f"{_share(part.get('in_scope'))}"
        )
    if "offtopic_in_scope" in report:
        lines.append(
            "off-topic messages within the scope: held "
            f"{_share(report['offtopic_in_scope']['held'])}, dev (K-QA) "
            f"{_share(report['offtopic_in_scope']['dev'])}"
        )
    latency = report["latency_ms"]
    lines.append("")
    lines.append(
        f"latency ms (median/p95): shipped {latency['shipped']['median']}/"
        f"{latency['shipped']['p95']}, baseline {latency['baseline']['median']}/"
        f"{latency['baseline']['p95']}"
    )
    return "\n".join(lines)


def _outcome_header() -> str:
    return (
        "  what patients meet:  confident right / wrong  offered with / without  no match"
        "  | top-3 right: reached / no match  | off-topic held: confident / offered"
        "  | dev (K-QA): confident / offered"
    )


def _outcome_line(name: str, row: dict[str, Any]) -> str:
    return (
        f"  {name:18} {row['confident_right']:6.3f} / {row['confident_wrong']:5.3f}"
        f"  {row['offered_right']:9.3f} / {row['offered_without']:7.3f}  {row['no_match']:8.3f}"
        f"  | ({row['top3']:4d}) {_share(row['top3_reached']):>6} / "
        f"{_share(row['top3_no_match']):>5}  | {_share(row['offtopic_confident']):>5} / "
        f"{_share(row['offtopic_offered']):>5}  | {_share(row.get('offtopic_dev_confident')):>5}"
        f" / {_share(row.get('offtopic_dev_offered')):>5}"
    )


def _format_folds(report: dict[str, Any]) -> str:
    lines = [
        f"leave one archive out: answer cut-off {report['cutoff']:.2f}; floors (offer "
        f"probability, score, cosine; outside the scope: offer and answer cosine) shipped "
        f"{report['shipped_offer']}, fitted on every development archive "
        f"{report['fitted_on_all']}",
        "  each archive at the floors fitted without it "
        f"(targets: confident wrong <= {MAX_CONFIDENT_WRONG}, "
        f"no match <= {MAX_TOP3_NO_MATCH} of top-3 right; off-topic confident <= "
        f"{MAX_OFFTOPIC_CONFIDENT}, offered <= {MAX_OFFTOPIC_OFFERED})",
        _outcome_header(),
    ]
    for name, fold in report["folds"].items():
        met = "met" if fold["met"] else "NOT met"
        fitted = "/".join(str(v) for v in fold["fitted"])
        lines.append(_outcome_line(f"{name[:10]} @{fitted}", fold["outcomes"]) + f"  {met}")
    return "\n".join(lines)


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _decision_line(row: dict[str, Any], mark: str) -> str:
    return (
        f" {mark}{row['target']:6.2f}  {row['cutoff']:7.2f}  {row['right']:5.3f}"
        f"  {row['wrong']:5.3f}  {row['no_match']:8.3f}  {_share(row['answered_when_right']):>18}"
        f"  {_share(row['offtopic_answered']):>18}"
    )


def cmd_eval_retrieval(args: argparse.Namespace) -> int:
    """Print the retrieval evaluation (one archive, or the whole suite)."""
    from bot.search.embedding import encoder_for
    from bot.settings import load_settings

    settings = load_settings()
    max_wrong = settings.max_wrong if args.max_wrong is None else args.max_wrong
    offtopic = Path(args.offtopic) if args.offtopic else None
    encoder = encoder_for(settings)
    if args.archive is None and args.data is None:
        raise BotError(
            "bot eval retrieval: the whole suite needs --data DIR, the folder of the public "
            "data sets (medquad/, rqe/, kqa/); or name one archive with --archive"
        )
    try:
        if args.archive is None:
            reports = evaluate_suite(
                args.data,
                max_wrong=max_wrong,
                offtopic_path=offtopic,
                k=args.k,
                encoder=encoder,
                cache=Path(args.cache) if args.cache else None,
            )
        else:
            print(f"evaluating {args.archive} ...", file=sys.stderr, flush=True)
            reports = [
                evaluate_files(
                    Path(args.archive),
                    args.format,
                    Path(args.queries) if args.queries else None,
                    max_wrong=max_wrong,
                    offtopic_path=offtopic,
                    split=args.split,
                    k=args.k,
                    encoder=encoder,
                    scope=args.scope or settings.scope,
                )
            ]
    except OSError as exc:
        raise BotError(f"cannot read {exc.filename}: {exc.strerror}") from exc
    if args.write_floors:
        if args.archive is not None:
            raise BotError("--write-floors needs the whole suite (--data), not one --archive")
        path = model_file(settings.encoder if encoder is not None else None)
        fitted = Floors(*reports[-1]["fitted_on_all"])
        write_floors(path, fitted)
        print(
            f"wrote the floors fitted on every development archive {fitted} into {path}",
            file=sys.stderr,
        )
    if args.json:
        print(json.dumps(reports if args.archive is None else reports[0], indent=2))
    else:
        print("\n\n".join(format_report(r) for r in reports))
    return 0


# ------------------------------------------------------------------------------- triage

#: How the messages of a multi-turn case are shown in a :class:`TriageReport`.
TURN_SEPARATOR = " | "


@dataclass(frozen=True)
class TriageReport:
    """How the red-flag assessment does on a labelled table of cases.

    Attributes:
        total: Number of labelled cases.
        emergencies: How many of them are labelled emergencies.
        recall: Share of labelled emergencies that were assessed as urgent (1.0 when the
            table has none).
        false_alarm_rate: Share of non-emergencies assessed as urgent (0.0 when the table
            has none).
        missed: The emergencies that were not flagged, in file order; a multi-turn case
            shows its messages joined by :data:`TURN_SEPARATOR`.
        false_alarms: The non-emergencies that were flagged, in file order.
    """

    total: int
    emergencies: int
    recall: float
    false_alarm_rate: float
    missed: tuple[str, ...]
    false_alarms: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        """Return the report as plain JSON-ready values.

        Returns:
            A dict with the same keys as the attributes; tuples become lists.
        """
        return {
            "total": self.total,
            "emergencies": self.emergencies,
            "recall": self.recall,
            "false_alarm_rate": self.false_alarm_rate,
            "missed": list(self.missed),
            "false_alarms": list(self.false_alarms),
        }


def _read_triage(path: Path) -> list[tuple[tuple[str, ...], bool, bool]]:
    """Read ``(messages, multi_turn, emergency)`` from a triage table."""
    rows: list[tuple[tuple[str, ...], bool, bool]] = []
    with path.open(encoding="utf-8") as handle:
        try:
            records = list(json_objects(handle, path))
        except ArchiveFormatError as exc:
            raise ValueError(f"{path}, line {exc.line}: {exc.message}") from None
        for number, record in records:
            where = f"{path}, line {number}"
            if ("text" in record) == ("texts" in record):
                raise ValueError(f"{where}: give either 'text' or 'texts', not both or neither")
            emergency = record.get("emergency")
            if not isinstance(emergency, bool):
                raise ValueError(f"{where}: 'emergency' must be true or false")
            if "text" in record:
                text = record["text"]
                if not isinstance(text, str):
                    raise ValueError(f"{where}: 'text' must be a string")
                rows.append(((text,), False, emergency))
                continue
            texts = record["texts"]
            if (
                not isinstance(texts, list)
                or not texts
                or not all(isinstance(t, str) for t in texts)
            ):
                raise ValueError(f"{where}: 'texts' must be a non-empty list of strings")
            rows.append((tuple(texts), True, emergency))
    return rows


def evaluate_triage(path: Path) -> TriageReport:
    """Run the red-flag assessment over a labelled JSON Lines table and measure it.

    Each non-blank line is one case: ``{"text": "...", "emergency": true|false}``, read
    with :func:`bot.safety.assess`, or a conversation ``{"texts": ["...", "..."],
    "emergency": ...}`` (the patient's messages, oldest first), read with
    :func:`bot.safety.assess_conversation`. ``SELF_HARM`` counts as an emergency.

    Args:
        path: The ``.jsonl`` file.

    Returns:
        The :class:`TriageReport`.

    Raises:
        ValueError: A line is not JSON, has neither or both of ``text`` and ``texts``, a
            ``text`` that is not a string, ``texts`` that are not a non-empty list of
            strings, or no boolean ``emergency``; the message names the file and the
            line number.
        OSError: The file cannot be read.
    """
    rows = _read_triage(Path(path))
    missed: list[str] = []
    false_alarms: list[str] = []
    emergencies = 0
    for texts, multi_turn, emergency in rows:
        urgent = (assess_conversation(texts) if multi_turn else assess(texts[0])).urgent
        shown = TURN_SEPARATOR.join(texts)
        if emergency:
            emergencies += 1
            if not urgent:
                missed.append(shown)
        elif urgent:
            false_alarms.append(shown)
    benign = len(rows) - emergencies
    return TriageReport(
        total=len(rows),
        emergencies=emergencies,
        recall=(emergencies - len(missed)) / emergencies if emergencies else 1.0,
        false_alarm_rate=len(false_alarms) / benign if benign else 0.0,
        missed=tuple(missed),
        false_alarms=tuple(false_alarms),
    )


def add_commands(
    eval_subparsers: argparse._SubParsersAction,
    top_level_subparsers: argparse._SubParsersAction,
) -> None:
    """Register ``bot eval retrieval`` and ``bot bench``."""
    retrieval = eval_subparsers.add_parser(
        "retrieval", help="hit@k, MRR and the answer decision of the shipped search vs BM25"
    )
    retrieval.add_argument(
        "--archive", help="archive file (or RQE XML); without it, the whole suite"
    )
    retrieval.add_argument(
        "--format", choices=(*FORMATS, "rqe"), default="auto", help="archive format"
    )
    retrieval.add_argument("--queries", help="JSON Lines queries (optional with rqe)")
    retrieval.add_argument(
        "--data",
        type=Path,
        default=None,
        help="the public data sets, needed without --archive (a folder with medquad/, rqe/, "
        "kqa/: ../shared/data beside the team's checkout; not in this repository)",
    )
    retrieval.add_argument("--cache", help="keep the suite's indexes here (re-used)")
    retrieval.add_argument("--k", type=int, default=10, help="hits looked at per query")
    retrieval.add_argument("--split", choices=("dev", "held", "all"), default="all")
    retrieval.add_argument(
        "--max-wrong", type=float, help="default target share of wrong answers (NEUROBOT_MAX_WRONG)"
    )
    retrieval.add_argument("--offtopic", help='JSON Lines {"q": ...} the archive does not cover')
    retrieval.add_argument(
        "--scope",
        choices=(NEUROLOGY, ANY),
        help="what the one --archive covers (default NEUROBOT_SCOPE; the suite knows its own)",
    )
    retrieval.add_argument("--json", action="store_true", help="print JSON")
    retrieval.add_argument(
        "--write-floors",
        action="store_true",
        help="write the floors fitted on every development archive into the sentence "
        "model's match model file (measure them with a second run)",
    )
    retrieval.set_defaults(func=cmd_eval_retrieval)

    from bot.evaluation.benchmark import add_command

    add_command(top_level_subparsers)
