"""The match decision: features, the model file, cut-offs, and the decision in search."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from bot.evaluation.training import Group, cutoff_table, fit, unanswerable
from bot.search import match
from bot.search.compose import choose_answer, shown
from bot.search.embedding import MODELS
from bot.search.index import ArchiveIndex, Hit
from bot.search.match import Context, Cutoff, Linear, MatchModel, Signals
from tests.conftest import HEADACHE, TINGLE, TWITCH

NEAR = Signals(coverage=0.9, bm25=1.0, word=0.9, cosine=0.8, fts_rank=1, dense_rank=1, length=12)
FAR = Signals(coverage=0.3, bm25=0.3, word=0.1, cosine=0.1, fts_rank=2, dense_rank=None, length=30)
CONTEXT = Context(query_length=10, archive_length=20.0, dense=True)


def linear(names: tuple[str, ...], weights: dict[str, float], intercept: float) -> Linear:
    size = len(names)
    coef = np.array([weights.get(n, 0.0) for n in names])
    return Linear(names, np.zeros(size), np.ones(size), coef, intercept)


def model(table: tuple[Cutoff, ...] | None = None, signal: str = "cosine") -> MatchModel:
    """A hand-set model: rank by one signal, probability from the ranker's score."""
    return MatchModel(
        linear(match.RANKER_FEATURES, {signal: 10.0}, -4.0),
        linear(match.DECISION_FEATURES, {"ranker": 1.0}, 0.0),
        table
        or (
            Cutoff(0.3, 0.20, 0.9),
            Cutoff(0.5, 0.08, 0.7),
            Cutoff(0.7, 0.04, 0.5),
            Cutoff(0.9, 0.01, 0.2),
        ),
    )


def test_ranker_features_are_the_signals_in_the_named_order() -> None:
    row = match.ranker_features([FAR], CONTEXT)[0]
    values = dict(zip(match.RANKER_FEATURES, row, strict=True))
    assert values["coverage"] == 0.3
    assert values["cosine_sq"] == pytest.approx(0.01)
    assert (values["from_fts"], values["from_dense"]) == (1.0, 0.0)
    assert values["log_fts_rank"] == pytest.approx(math.log(2))
    assert values["log_dense_rank"] == pytest.approx(math.log(match.ABSENT_RANK))
    assert values["log_ratio"] == pytest.approx(abs(math.log1p(30) - math.log1p(10)))
    assert values["cosine_x_archive"] == pytest.approx(0.1 * math.log1p(20.0))
    assert match.ranker_features([], CONTEXT).shape == (0, len(match.RANKER_FEATURES))


def test_decision_features_read_margin_gap_and_rank() -> None:
    rows = match.decision_features([NEAR, FAR], [2.0, -1.0], CONTEXT)
    top = dict(zip(match.DECISION_FEATURES, rows[0], strict=True))
    second = dict(zip(match.DECISION_FEATURES, rows[1], strict=True))
    assert (top["ranker"], top["margin"], top["gap"], top["log_rank"]) == (2.0, 3.0, 0.0, 0.0)
    assert top["cosine_margin"] == pytest.approx(0.7)
    assert (second["gap"], second["log_rank"]) == (3.0, pytest.approx(math.log(2)))
    assert second["cosine_margin"] == pytest.approx(-0.7)


def test_cutoff_is_the_lowest_probability_within_the_target() -> None:
    chosen = model()
    assert chosen.cutoff(0.05) == 0.7
    assert chosen.cutoff(0.10) == 0.5
    assert chosen.cutoff(0.50) == 0.3
    assert chosen.cutoff(0.001) == 1.0  # nothing meets it: nothing is shown
    assert chosen.cutoff() == chosen.cutoff(chosen.default_max_wrong)
    # a row above the target stops the walk down, even if a lower row is within it
    bumpy = model((Cutoff(0.3, 0.01, 0.9), Cutoff(0.5, 0.2, 0.7), Cutoff(0.9, 0.0, 0.2)))
    assert bumpy.cutoff(0.05) == 0.9


def test_decide_ranks_by_the_ranker_and_shows_only_what_reaches_the_cutoff() -> None:
    unrelated = Signals(0.1, 0.0, 0.0, 0.0, None, 9, 40)
    decided = model().decide([FAR, NEAR, unrelated], CONTEXT, max_wrong=0.05)
    assert [d.index for d in decided] == [1, 0, 2]
    probabilities = [1 / (1 + math.exp(-(10 * c - 4))) for c in (0.8, 0.1)]
    # the unrelated one (coverage 0.1, cosine 0) is under both evidence floors: 0
    assert [d.probability for d in decided] == pytest.approx([*probabilities, 0.0])
    # the answer reaches the cut-off (0.7); FAR (0.047) is offered as a similar
    # question, the unrelated one is not
    assert match.SIMILAR_PROBABILITY == 0.02
    assert [d.answer for d in decided] == [True, True, False]
    # nothing is shown, not even the best, when the best is under the cut-off
    assert not any(d.answer for d in model().decide([FAR], CONTEXT, max_wrong=0.05))
    assert model().decide([], CONTEXT) == []


def test_the_model_file_round_trips_and_names_its_features(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text(json.dumps(model().to_dict()), encoding="utf-8")
    again = match.read_model(path)
    assert again.to_dict() == model().to_dict()
    data = model().to_dict()
    data["ranker"]["features"] = ["coverage"]
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match=r"model\.json: not a match model"):
        match.read_model(path)


def test_the_model_file_holds_the_offer_floors_of_its_sentence_model(tmp_path: Path) -> None:
    from dataclasses import replace

    path = tmp_path / "model.json"
    own = replace(model(), floors=match.Floors(0.1, 0.2, 0.3, 0.55))
    path.write_text(json.dumps(own.to_dict()), encoding="utf-8")
    assert match.read_model(path).floors == match.Floors(0.1, 0.2, 0.3, 0.55)
    # a file without floors (written before they were fitted per model): the defaults
    data = own.to_dict()
    del data["floors"]
    path.write_text(json.dumps(data), encoding="utf-8")
    assert match.read_model(path).floors == match.Floors(
        match.OFFER_PROBABILITY, match.OFFER_SCORE, match.OFFER_COSINE, match.OUTSIDE_COSINE
    )


def test_the_shipped_model_reads_and_its_table_is_within_range() -> None:
    shipped = match.shipped_model()
    assert 0.0 < shipped.cutoff(0.05) <= 1.0
    assert shipped.cutoff(0.02) >= shipped.cutoff(0.05) >= shipped.cutoff(0.2)
    assert all(0.0 <= row.wrong <= 1.0 and 0.0 <= row.answered <= 1.0 for row in shipped.table)


def groups() -> list[Group]:
    """Two small archives: the right candidate has the higher cosine and coverage."""
    made = []
    for archive, count in (("a", 30), ("b", 10)):
        for n in range(count):
            right = Signals(0.6 + 0.01 * (n % 5), 1.0, 0.6, 0.7 + 0.01 * (n % 7), 1, 1, 10)
            wrong = Signals(0.5, 0.8, 0.4, 0.3 + 0.01 * (n % 3), 2, 2, 10)
            if n % 4 == 0:  # a look-alike that looks closer than the right record
                right, wrong = wrong, right
            made.append(Group(archive, [wrong, right], CONTEXT, [False, True]))
    return made


def test_fit_learns_to_rank_and_calibrates_the_table() -> None:
    fitted = fit(groups())
    assert fitted.ranker.coef[match.RANKER_FEATURES.index("cosine")] > 0
    # in the easy groups the right record (higher cosine) comes first
    easy = fitted.decide(groups()[1].signals, CONTEXT)
    assert easy[0].index == 1
    table = {row.probability: row for row in fitted.table}
    assert table[0.02].answered == 1.0
    assert all(0.0 <= row.wrong <= 1.0 for row in fitted.table)
    # re-reading the table from the fitted model gives the same rows
    assert cutoff_table(fitted, groups()) == fitted.table


def test_unanswerable_copies_drop_the_relevant_candidates() -> None:
    answerable = Group("a", [NEAR, FAR], CONTEXT, [True, False])
    only_right = Group("a", [NEAR], CONTEXT, [True])
    none_right = Group("a", [FAR], CONTEXT, [False])
    assert unanswerable([answerable, only_right, none_right]) == [
        Group("a (answer removed)", [FAR], CONTEXT, [False])
    ]


def hit(record_id: str, probability: float, answer: bool) -> Hit:
    record = {"t1": TWITCH, "t2": TINGLE, "t3": HEADACHE}[record_id]
    return Hit(record, 0.5, (), probability, answer)


def test_choose_answer_shows_the_best_hit_and_similar_ones_the_model_shows() -> None:
    hits = [hit("t1", 0.95, True), hit("t2", 0.4, False), hit("t3", 0.9, True)]
    answer = choose_answer(hits, max_similar=3)
    assert answer is not None
    assert (answer.record, answer.score, answer.similar) == (TWITCH, 0.95, (HEADACHE,))
    assert choose_answer(hits, max_similar=0).similar == ()  # type: ignore[union-attr]
    assert choose_answer([hit("t2", 0.4, False), hit("t1", 0.9, True)], 3) is None
    assert choose_answer([], 3) is None
    assert shown(hits) == [hits[0], hits[2]]


def test_each_sentence_model_has_its_own_fit() -> None:
    assert match.model_file("minilm") == match.model_file(None) == match.MODEL_FILE
    assert match.model_file("mpnet").name == "match_model.mpnet.json"
    with pytest.raises(ValueError, match="no match model for the sentence model 'e5'"):
        match.model_file("e5")
    minilm, mpnet = match.shipped_model("minilm"), match.shipped_model("mpnet")
    assert minilm is match.shipped_model() and mpnet is match.shipped_model("mpnet")
    # two models' cosines are not on one scale: the fits (and so the cut-offs) differ
    assert minilm.to_dict()["decision"] != mpnet.to_dict()["decision"]
    assert 0.0 < mpnet.cutoff(0.05) <= 1.0


def test_a_search_is_decided_by_its_sentence_model_s_fit(index: ArchiveIndex) -> None:
    assert index.match_model(True) is match.shipped_model()  # the test's stand-in: no spec
    index.encoder = SimpleNamespace(spec=MODELS["mpnet"])  # type: ignore[assignment]
    assert index.match_model(True) is match.shipped_model("mpnet")
    assert index.match_model(False) is match.shipped_model()  # words alone: MiniLM's fit
    # the offer's floors come with the model the search uses
    index.encoder = None
    assert index.floors() == match.shipped_model().floors


def test_search_gives_every_hit_a_probability_and_a_decision(index: ArchiveIndex) -> None:
    hits = index.search("For weeks my muscles twitch everywhere and my left hand feels weak")
    assert [h.record.id for h in hits] == ["t1"]
    assert all(0.0 <= h.probability <= 1.0 for h in hits)
    cut = match.shipped_model().cutoff()
    bar = min(cut, match.SIMILAR_PROBABILITY)
    assert [h.answer for h in hits] == [
        hits[0].probability >= cut and h.probability >= (cut if h is hits[0] else bar) for h in hits
    ]


def test_search_applies_the_target_it_is_given(
    index: ArchiveIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(match, "shipped_model", lambda encoder=None: model(signal="word"))
    text = "pins and needles in both feet at night"
    hits = index.search(text, max_wrong=0.5)
    assert [h.record.id for h in hits] == ["t2"] and hits[0].answer
    assert not any(h.answer for h in index.search(text, max_wrong=0.001))


def test_candidates_carry_signals_from_fts_without_vectors(index: ArchiveIndex) -> None:
    found = index.candidates("pins and needles in my feet at night")
    assert found is not None
    candidates, context = found
    assert context.dense is False and context.query_length > 0
    assert context.archive_length > 0
    first = next(c for c in candidates if c.rowid == 2)
    assert first.signals.fts_rank == 1 and first.signals.dense_rank is None
    assert first.signals.cosine == 0.0
    assert 0.0 < first.signals.coverage <= 1.0
    assert index.candidates("what is the weather in paris tomorrow") is None


def test_a_likely_answer_without_evidence_is_not_shown() -> None:
    """A candidate that stands out only because the others are worse is not an answer."""
    model = match.shipped_model()
    context = match.Context(6, 3.0, True, 0.0)

    def lonely(coverage: float, cosine: float) -> list[match.Signals]:
        best = match.Signals(coverage, 1.0, coverage, cosine, 1, 1, 3)
        weak = match.Signals(0.0, 0.0, 0.0, 0.01, None, 5, 9)
        return [best, weak, weak]

    shown = model.decide(lonely(0.9, 0.8), context)[0]
    assert shown.answer
    for coverage, cosine in ((0.17, 0.08), (0.2, 0.25)):
        top = model.decide(lonely(coverage, cosine), context)[0]
        assert not top.answer
        assert not any(d.answer for d in model.decide(lonely(coverage, cosine), context))
