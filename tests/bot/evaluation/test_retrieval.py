"""Retrieval evaluation metrics, query files, the RQE path and the benchmark generator."""

from __future__ import annotations

import json
from pathlib import Path

from bot.evaluation.benchmark import MESSAGE_WORDS, messages, synthetic_records
from bot.evaluation.retrieval import (
    Candidates,
    Decisions,
    EvalSet,
    Metrics,
    Query,
    decisions,
    evaluate,
    evaluate_files,
    format_report,
    load_queries,
    metrics,
    open_set_index,
    raw_field_values,
    suite_sets,
)
from bot.search import match
from bot.search.index import ArchiveIndex
from bot.search.match import Cutoff, Floors, MatchModel
from bot.search.vocabulary import Vocabulary
from tests.bot.search.test_match import model as hand_model
from tests.conftest import ROOT, SHARED, TINY_ARCHIVE, write


def test_metrics_from_first_relevant_ranks() -> None:
    assert metrics([1, 3, None, 2, 11]) == Metrics(
        queries=5, hit1=0.2, hit3=0.6, hit10=0.6, mrr10=0.3667
    )
    assert metrics([]) == Metrics(0, 0.0, 0.0, 0.0, 0.0)


def test_decisions_split_queries_at_the_cutoff_of_a_target() -> None:
    chosen: MatchModel = hand_model()  # 0.05 -> cut-off 0.7, 0.1 -> 0.5
    tops = [(0.9, True), (0.6, False), (0.75, False), (0.3, True), None]
    assert decisions(tops, 0.05, chosen, offtopic=[0.8, 0.2, None, 0.1]) == Decisions(
        target=0.05,
        cutoff=0.7,
        right=0.2,
        wrong=0.2,
        no_match=0.6,
        answered_when_right=0.5,
        offtopic_answered=0.25,
    )
    looser = decisions(tops, 0.1, chosen)
    assert (looser.cutoff, looser.right, looser.wrong, looser.no_match) == (0.5, 0.2, 0.4, 0.4)
    assert looser.offtopic_answered is None
    assert decisions([None, (0.9, False)], 0.05, chosen).answered_when_right is None


def test_relevant_field_maps_to_record_ids(tmp_path: Path) -> None:
    archive = write(
        tmp_path / "mq.jsonl",
        "\n".join(
            json.dumps(row)
            for row in [
                {"id": "a/1", "focus": "Migraine", "qtype": "information"},
                {"id": "a/2", "focus": "Migraine", "qtype": "treatment"},
                {"id": "b/1", "focus": "Epilepsy", "qtype": "information"},
            ]
        )
        + "\n",
    )
    assert raw_field_values(archive, "focus") == {
        "a/1": {"migraine"},
        "a/2": {"migraine"},
        "b/1": {"epilepsy"},
    }
    queries = write(
        tmp_path / "q.jsonl",
        '{"q": "throbbing head", "relevant": {"field": "focus", "values": ["MIGRAINE"]},'
        ' "split": "dev"}\n'
        '{"q": "fits", "relevant_ids": ["b/1"]}\n',
    )
    assert load_queries(queries, archive) == [
        Query("throbbing head", frozenset({"a/1", "a/2"}), "dev"),
        Query("fits", frozenset({"b/1"}), None),
    ]


def test_evaluate_compares_shipped_and_baseline_per_split(vocabulary: Vocabulary) -> None:
    index = ArchiveIndex(":memory:", vocabulary)
    index.upsert(TINY_ARCHIVE, baseline=True)
    queries = [
        Query("pins and needles in my feet", frozenset({"t2"}), "dev"),
        Query("muscle twitching and weak hand", frozenset({"t1"}), "dev"),
        Query("headache every afternoon", frozenset({"t3"}), "held"),
    ]
    chosen = MatchModel(
        match.Linear.from_dict(hand_model(signal="word").ranker.to_dict(), match.RANKER_FEATURES),
        hand_model().decision,
        (Cutoff(0.5, 0.0, 1.0),),
    )
    report = evaluate(index, queries, offtopic=["weather in paris"], model=chosen)
    assert report["queries"] == 3
    assert list(report["splits"]) == ["all", "dev", "held"]
    dev = report["splits"]["dev"]
    assert dev["shipped"] == {"queries": 2, "hit1": 1.0, "hit3": 1.0, "hit10": 1.0, "mrr10": 1.0}
    # plain BM25 has no vocabulary: "pins and needles" is only in t2's title there too
    assert dev["baseline"] == {"queries": 2, "hit1": 1.0, "hit3": 1.0, "hit10": 1.0, "mrr10": 1.0}
    assert dev["hit1_ratio"] == 1.0
    assert [row["target"] for row in dev["decisions"]] == [0.02, 0.05, 0.1, 0.2]
    assert dev["decisions"][1] == {
        "target": 0.05,
        "cutoff": 0.5,
        "right": 1.0,
        "wrong": 0.0,
        "no_match": 0.0,
        "answered_when_right": 1.0,
        "offtopic_answered": 0.0,
    }
    assert report["splits"]["held"]["shipped"]["hit1"] == 1.0
    # a general archive (the default): every query is within its scope
    assert (report["scope"], dev["in_scope"]) == ("any", 1.0)
    neuro = evaluate(
        index,
        [*queries, Query("my knee is swollen after football", frozenset({"t1"}), "held")],
        offtopic=["weather in paris"],
        offtopic_dev=["my knee is swollen"],
        model=chosen,
        scope="neurology",
    )
    assert neuro["splits"]["held"]["in_scope"] == 0.5
    assert neuro["offtopic_in_scope"] == {"held": 0.0, "dev": 0.0}
    report["archive"], report["records"] = "tiny", 3
    table = format_report(report)
    assert "[dev] 2 queries" in table
    assert (
        " *  0.05     0.50  1.000  0.000     0.000               1.000               0.000" in table
    )


RQE_XML = """<?xml version="1.0" encoding="UTF-8"?>
<RQE-med-test>
<pair pid="1" value="true"><chq>My hands tingle at night, pins and needles.</chq>
<faq>What causes tingling in the hands?</faq></pair>
<pair pid="2" value="false"><chq>My hands tingle at night, pins and needles.</chq>
<faq>What is migraine?</faq></pair>
<pair pid="3" value="true"><chq>Is my throbbing headache with nausea a migraine?</chq>
<faq>What is migraine?</faq></pair>
</RQE-med-test>
"""


def test_rqe_archive_and_queries_come_from_one_file(tmp_path: Path, vocabulary: Vocabulary) -> None:
    path = write(tmp_path / "rqe.xml", RQE_XML)
    report = evaluate_files(path, "rqe", None, vocabulary=vocabulary)
    assert report["records"] == 2
    assert report["queries"] == 2
    assert list(report["splits"]) == ["all", "dev"]
    assert report["splits"]["all"]["shipped"] == {
        "queries": 2,
        "hit1": 1.0,
        "hit3": 1.0,
        "hit10": 1.0,
        "mrr10": 1.0,
    }


def test_bench_records_and_messages_are_deterministic() -> None:
    first = list(synthetic_records(TINY_ARCHIVE, 7))
    assert first == list(synthetic_records(TINY_ARCHIVE, 7))
    assert [r.id for r in first] == ["t1", "t2", "t3", *(f"bench-{n}" for n in range(1, 5))]
    assert len({r.reply for r in first[3:]}) > 1
    assert list(synthetic_records(TINY_ARCHIVE, 2)) == list(TINY_ARCHIVE[:2])
    texts = messages(TINY_ARCHIVE, 4)
    assert texts == messages(TINY_ARCHIVE, 4)
    assert [len(t.split()) for t in texts] == [MESSAGE_WORDS] * 4


def test_a_suite_index_is_kept_and_reused_while_its_records_are_the_same(
    tmp_path: Path, vocabulary: Vocabulary
) -> None:
    spec = EvalSet("tiny set", list(TINY_ARCHIVE), [])
    with open_set_index(spec, None, tmp_path, vocabulary) as index:
        assert index.count() == 3
        index.db.execute("INSERT INTO meta VALUES ('marker', 'kept')")
        index.db.commit()
    with open_set_index(spec, None, tmp_path, vocabulary) as index:
        assert index.db.execute("SELECT value FROM meta WHERE key = 'marker'").fetchone()
    smaller = EvalSet("tiny set", list(TINY_ARCHIVE[:2]), [])
    with open_set_index(smaller, None, tmp_path, vocabulary) as index:
        assert index.count() == 2
        assert not index.db.execute("SELECT value FROM meta WHERE key = 'marker'").fetchone()


def test_the_suite_holds_each_archive_with_dev_and_held_queries() -> None:
    sets = {s.name: s for s in suite_sets(SHARED / "data", ROOT)}
    assert list(sets) == [
        "MedQuAD neurology, lay queries",
        "RQE training pairs, question-shaped",
        "sample archive, paraphrases",
        "RQE test pairs (held)",
    ]
    for spec in sets.values():
        ids = {r.id for r in spec.records}
        assert all(q.relevant and q.relevant <= ids for q in spec.queries), spec.name
    assert {q.split for q in sets["RQE test pairs (held)"].queries} == {"held"}
    rqe = sets["RQE training pairs, question-shaped"]
    assert len(rqe.records) == 4616
    texts = {r.id: r.question.casefold() for r in rqe.records}
    # questions paired with themselves are left out of the queries
    assert not any(
        " ".join(q.text.casefold().split()) == " ".join(texts[i].split())
        for q in rqe.queries
        for i in q.relevant
    )
    sample = sets["sample archive, paraphrases"]
    assert len(sample.records) == 165
    assert {q.split for q in sample.queries} == {"dev", "held"}


# --- what patients meet: three kinds of reply, and the offer floors fitted ----------------


def cands(*hits: tuple[float, float, float | None, bool], in_scope: bool = True) -> Candidates:
    return Candidates(tuple(hits), in_scope)


RIGHT_ANSWERED = cands((0.9, 0.5, None, True), (0.2, 0.3, None, False))
WRONG_ANSWERED = cands((0.8, 0.5, None, False), (0.3, 0.4, None, True))
OFFERED_RIGHT = cands((0.3, 0.3, None, False), (0.2, 0.3, None, True))
OFFERED_WITHOUT = cands((0.3, 0.3, None, False))
NOTHING_CLOSE = cands((0.01, 0.3, None, True))


def test_outcomes_count_what_patients_meet() -> None:
    from bot.evaluation.retrieval import outcomes

    result = outcomes(
        [RIGHT_ANSWERED, WRONG_ANSWERED, OFFERED_RIGHT, OFFERED_WITHOUT, NOTHING_CLOSE],
        cutoff=0.7,
        offer=Floors(0.05, 0.24, 0.0, 0.0, 0.6),
        offtopic=[
            cands((0.8, 0.5, None, False)),
            cands((0.1, 0.3, None, False)),
            cands((0.1, 0.1, None, False)),
            cands(),
        ],
    )
    assert (
        result.confident_right,
        result.confident_wrong,
        result.offered_right,
        result.offered_without,
        result.no_match,
    ) == (0.2, 0.2, 0.2, 0.2, 0.2)
    # right record in the top 3: all but OFFERED_WITHOUT; reached: answered or offered
    assert (result.top3, result.top3_reached, result.top3_no_match) == (4, 0.5, 0.25)
    assert (result.offtopic_confident, result.offtopic_offered) == (0.25, 0.25)


def test_outcomes_hold_messages_outside_the_scope_to_the_outside_cosine() -> None:
    from bot.evaluation.retrieval import outcomes

    # the same hits, the message within the scope and outside it
    inside = cands((0.9, 0.5, 0.42, True), (0.2, 0.3, 0.5, False))
    outside = cands((0.9, 0.5, 0.42, True), (0.2, 0.3, 0.5, False), in_scope=False)
    far = cands((0.9, 0.5, 0.42, True), (0.2, 0.3, 0.3, False), in_scope=False)
    result = outcomes([inside, outside, far], cutoff=0.7, offer=Floors(0.05, 0.24, 0.0, 0.45, 0.6))
    # inside: answered; outside: the best hit is too far in meaning to be the answer or
    # offered; the second is close enough to be offered (alone); far: nothing
    assert (result.confident_right, result.offered_without, result.no_match) == (
        round(1 / 3, 4),
        round(1 / 3, 4),
        round(1 / 3, 4),
    )
    # a message outside the scope that nearly repeats an archived question is answered
    repeat = cands((0.9, 0.5, 0.93, True), in_scope=False)
    assert outcomes([repeat], 0.7, Floors(0.05, 0.24, 0.0, 0.45, 0.6)).confident_right == 1.0
    # at a lower outside floor both are offered, the right record first; still no answer
    lower = outcomes([outside], 0.7, Floors(0.05, 0.24, 0.0, 0.4, 0.6))
    assert (lower.confident_right, lower.offered_right) == (0.0, 1.0)


def test_fit_offer_keeps_the_no_match_target_and_offers_least_off_topic() -> None:
    from bot.evaluation.retrieval import fit_offer, leave_one_out

    # the right record at probability 0.12 (score 0.3); off-topic at 0.06 / 0.35 and
    # 0.25 / 0.21: floors (0.1, 0.22 to 0.3) reach every query and offer to no
    # off-topic message; the highest are taken
    queries = [cands((0.12, 0.3, None, True))] * 10
    offtopic = [cands((0.06, 0.35, None, False)), cands((0.25, 0.21, None, False))]
    # (without vectors no cosine floor applies: every one ties, the highest is taken)
    assert fit_offer([(queries, offtopic)], cutoff=0.7) == Floors(0.1, 0.3, 0.5, 0.6, 0.6)
    # a second archive whose right records score lower pulls the score floor down
    low = [cands((0.5, 0.21, None, True))] * 10
    assert fit_offer([(queries, offtopic), (low, offtopic)], cutoff=0.7) == Floors(
        0.1, 0.2, 0.5, 0.6, 0.6
    )
    # the folds fit on the development off-topic messages and measure the held ones too
    held = [cands((0.12, 0.31, None, False)), cands((0.01, 0.5, None, False))]
    folds = leave_one_out({"a": (queries, offtopic, held), "b": (low, offtopic, held)}, cutoff=0.7)
    # fitted without it, each archive loses its patients: the floors do not carry
    assert (folds["b"]["fitted"], folds["b"]["met"]) == ([0.1, 0.3, 0.5, 0.6, 0.6], False)
    assert (folds["a"]["fitted"], folds["a"]["met"]) == ([0.3, 0.2, 0.5, 0.6, 0.6], False)
    outcome = folds["b"]["outcomes"]
    assert (outcome["offtopic_dev_confident"], outcome["offtopic_dev_offered"]) == (0.0, 0.0)
    # the held message at 0.12 / 0.31 clears the floors fitted without "b"
    assert (outcome["offtopic_confident"], outcome["offtopic_offered"]) == (0.0, 0.5)


def test_meets_targets_counts_off_topic_offers() -> None:
    from bot.evaluation.retrieval import meets_targets, outcomes

    queries = [cands((0.12, 0.3, None, True))] * 10
    quiet = [cands((0.01, 0.1, None, False))] * 10
    floors = Floors(0.1, 0.24, 0.0, 0.0, 0.6)
    assert meets_targets(outcomes(queries, 0.7, floors, quiet, quiet))
    # one development off-topic message in ten offered: at the limit, still met
    one = [cands((0.5, 0.5, None, False)), *quiet[1:]]
    assert meets_targets(outcomes(queries, 0.7, floors, quiet, one))
    two = [cands((0.5, 0.5, None, False)), *one[:-1]]
    assert not meets_targets(outcomes(queries, 0.7, floors, quiet, two))
    # confident off-topic answers have their own, lower limit
    answered = [cands((0.9, 0.5, None, False)), *quiet[1:]]
    assert not meets_targets(outcomes(queries, 0.7, floors, answered, quiet))


def test_fit_offer_finds_the_cosine_floor_that_keeps_off_topic_words_out() -> None:
    """Off-topic messages that share a word with an archived title (high probability
    and score) but not its meaning (low cosine): only the cosine floor keeps them from
    being offered, and the highest floor that still reaches every patient is fitted."""
    from bot.evaluation.retrieval import fit_offer, outcomes

    queries = [cands((0.12, 0.3, 0.46, True))] * 10
    offtopic = [cands((0.6, 0.4, 0.31, False)), cands((0.3, 0.35, 0.38, False))]
    assert fit_offer([(queries, offtopic)], cutoff=0.7) == Floors(0.1, 0.3, 0.45, 0.6, 0.6)
    at_fit = outcomes(queries, 0.7, Floors(0.1, 0.3, 0.45, 0.6, 0.6), offtopic)
    assert (at_fit.top3_reached, at_fit.offtopic_offered) == (1.0, 0.0)
    without = outcomes(queries, 0.7, Floors(0.1, 0.3, 0.0, 0.6, 0.6), offtopic)
    assert without.offtopic_offered == 1.0


def test_write_floors_keeps_the_rest_of_the_model_file(tmp_path: Path) -> None:
    from bot.evaluation.retrieval import write_floors

    path = tmp_path / "match_model.json"
    path.write_text(json.dumps(hand_model().to_dict()), encoding="utf-8")
    write_floors(path, Floors(0.1, 0.2, 0.0, 0.5, 0.7))
    again = match.read_model(path)
    assert again.floors == match.Floors(0.1, 0.2, 0.0, 0.5, 0.7)
    assert again.to_dict()["decision"] == hand_model().to_dict()["decision"]


def test_fit_offer_finds_the_outside_floor_when_the_scope_tells_off_topic_apart() -> None:
    """The patients' right records are far in meaning (an archive of one-line questions,
    cosine 0.3) but their messages name neurology; the off-topic messages do not: a floor
    outside the scope keeps them out at no cost, where one cosine floor for all could not.
    Two patients in ten whose words the lexicon misses (cosine 0.52) set its height."""
    from bot.evaluation.retrieval import fit_offer, outcomes

    queries = [cands((0.12, 0.3, 0.3, True))] * 8 + [
        cands((0.12, 0.3, 0.52, True), in_scope=False)
    ] * 2
    offtopic = [
        cands((0.6, 0.4, 0.31, False), in_scope=False),
        cands((0.3, 0.35, 0.38, False), in_scope=False),
    ]
    fitted = fit_offer([(queries, offtopic)], cutoff=0.7)
    assert fitted == Floors(0.1, 0.3, 0.3, 0.5, 0.6)
    at_fit = outcomes(queries, 0.7, fitted, offtopic)
    assert (at_fit.top3_reached, at_fit.offtopic_offered) == (1.0, 0.0)
    # without the outside floor the off-topic messages are offered
    assert outcomes(queries, 0.7, Floors(0.1, 0.3, 0.3, 0.0, 0.6), offtopic).offtopic_offered == 1.0


def test_top_auc() -> None:
    from bot.evaluation.retrieval import top_auc

    assert top_auc([(0.9, True), (0.8, True), (0.3, False)]) == 1.0
    assert top_auc([(0.9, False), (0.8, True), (0.3, False)]) == 0.5
    assert top_auc([(0.5, True), (0.5, False)]) == 0.5
    assert top_auc([(0.5, True)]) is None


def test_kqa_offtopic_keeps_other_specialties_only(tmp_path: Path) -> None:
    from bot.evaluation.retrieval import kqa_offtopic

    rows = [
        {"Question": "Is blepharitis contagious?", "ICD_10_diag": "Unspecified blepharitis"},
        {"Question": "What is sciatica", "ICD_10_diag": "Sciatica, unspecified side"},
        {"Question": "No what is vestibular nueritis?", "ICD_10_diag": "Gastroenteritis"},
        {"Question": "Can I take Zyrtec?", "ICD_10_diag": None},
    ]
    path = tmp_path / "kqa.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    assert kqa_offtopic(path) == ["Is blepharitis contagious?"]
