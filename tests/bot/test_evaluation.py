"""Retrieval evaluation metrics, query files, the RQE path and the benchmark generator."""

from __future__ import annotations

import json
from pathlib import Path

from bot.benchmark import MESSAGE_WORDS, messages, synthetic_records
from bot.evaluation import (
    Calibration,
    Metrics,
    Query,
    calibrate,
    evaluate,
    evaluate_files,
    load_queries,
    metrics,
    raw_field_values,
)
from bot.index import ArchiveIndex
from bot.vocabulary import Vocabulary
from tests.conftest import TINY_ARCHIVE, write


def test_metrics_from_first_relevant_ranks() -> None:
    assert metrics([1, 3, None, 2, 11]) == Metrics(
        queries=5, hit1=0.2, hit3=0.6, hit10=0.6, mrr10=0.3667
    )
    assert metrics([]) == Metrics(0, 0.0, 0.0, 0.0, 0.0)


def test_calibration_splits_answers_at_the_threshold() -> None:
    tops = [(0.9, True), (0.6, False), (0.3, True), None]
    assert calibrate(tops, 0.5, offtopic_scores=[0.7, 0.2, None, 0.1]) == Calibration(
        threshold=0.5, correct=0.25, wrong=0.25, silent=0.5, offtopic_answered=0.25
    )
    assert calibrate(tops, 0.2).offtopic_answered is None


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
    report = evaluate(index, queries, threshold=0.45, offtopic=["weather in paris"])
    assert report["queries"] == 3
    assert list(report["splits"]) == ["all", "dev", "held"]
    dev = report["splits"]["dev"]
    assert dev["shipped"] == {"queries": 2, "hit1": 1.0, "hit3": 1.0, "hit10": 1.0, "mrr10": 1.0}
    # plain BM25 has no vocabulary: "pins and needles" is only in t2's title there too
    assert dev["baseline"] == {"queries": 2, "hit1": 1.0, "hit3": 1.0, "hit10": 1.0, "mrr10": 1.0}
    assert dev["hit1_ratio"] == 1.0
    assert dev["calibration"] == {
        "threshold": 0.45,
        "correct": 1.0,
        "wrong": 0.0,
        "silent": 0.0,
        "offtopic_answered": 0.0,
    }
    assert report["splits"]["held"]["shipped"]["hit1"] == 1.0


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
    report = evaluate_files(path, "rqe", None, threshold=0.3, vocabulary=vocabulary)
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
