"""The triage evaluation of bot/evaluation/retrieval.py: the red-flag table, one- and multi-turn."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.evaluation.retrieval import TriageReport, evaluate_triage
from tests.conftest import ROOT

TRIAGE = ROOT / "tests" / "data" / "triage.jsonl"


def write_table(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    return path


def test_triage_table_recall_and_false_alarms() -> None:
    report = evaluate_triage(TRIAGE)
    assert report.total >= 90
    assert report.emergencies >= 45
    assert report.total - report.emergencies >= 45
    assert report.missed == ()
    assert report.recall == 1.0
    assert report.false_alarm_rate <= 0.05


def test_triage_table_has_multi_turn_cases_of_both_kinds() -> None:
    rows = [json.loads(line) for line in TRIAGE.read_text(encoding="utf-8").splitlines() if line]
    multi = [r for r in rows if "texts" in r]
    assert len(multi) >= 12
    assert sum(r["emergency"] for r in multi) >= 6
    assert sum(not r["emergency"] for r in multi) >= 6


def test_triage_report_counts_self_harm_as_emergency(tmp_path: Path) -> None:
    table = write_table(
        tmp_path / "small.jsonl",
        [
            {"text": "I want to kill myself", "emergency": True},
            {"text": "my face is drooping", "emergency": True},
            {"text": "my left arm is numb", "emergency": True},
            {"text": "my eyelid twitches", "emergency": False},
            {"text": "he is unconscious", "emergency": False},
        ],
    )
    report = evaluate_triage(table)
    assert report == TriageReport(
        total=5,
        emergencies=3,
        recall=2 / 3,
        false_alarm_rate=0.5,
        missed=("my left arm is numb",),
        false_alarms=("he is unconscious",),
    )
    assert report.to_dict() == {
        "total": 5,
        "emergencies": 3,
        "recall": 2 / 3,
        "false_alarm_rate": 0.5,
        "missed": ["my left arm is numb"],
        "false_alarms": ["he is unconscious"],
    }
    json.dumps(report.to_dict())


def test_multi_turn_cases_are_read_as_a_conversation(tmp_path: Path) -> None:
    table = write_table(
        tmp_path / "turns.jsonl",
        [
            {"texts": ["my left arm is numb", "it started an hour ago"], "emergency": True},
            {
                "texts": ["my son had a seizure", "it has gone on for ten minutes"],
                "emergency": True,
            },
            {
                "texts": ["my left arm is numb", "ok", "thanks", "bye", "it started an hour ago"],
                "emergency": True,
            },
            {"texts": ["my eyelid twitches", "it started this morning"], "emergency": False},
            {"texts": ["hello", "his face is drooping"], "emergency": False},
        ],
    )
    assert evaluate_triage(table) == TriageReport(
        total=5,
        emergencies=3,
        recall=2 / 3,
        false_alarm_rate=0.5,
        missed=("my left arm is numb | ok | thanks | bye | it started an hour ago",),
        false_alarms=("hello | his face is drooping",),
    )


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ('{"text": "my face is drooping", "emergency": tru', "invalid JSON"),
        ('["my face is drooping", true]', "JSON object"),
        ('{"text": 3, "emergency": true}', "'text' must be a string"),
        ('{"text": "my face is drooping", "emergency": "yes"}', "'emergency' must be true"),
        ('{"text": "my face is drooping"}', "'emergency' must be true"),
        ('{"emergency": true}', "either 'text' or 'texts'"),
        ('{"text": "a", "texts": ["a"], "emergency": true}', "either 'text' or 'texts'"),
        ('{"texts": [], "emergency": true}', "'texts' must be a non-empty list of strings"),
        ('{"texts": "my face", "emergency": true}', "'texts' must be a non-empty list"),
        ('{"texts": ["my face", 3], "emergency": true}', "'texts' must be a non-empty list"),
    ],
)
def test_malformed_line_names_file_and_line(tmp_path: Path, bad_line: str, message: str) -> None:
    table = tmp_path / "broken_triage.jsonl"
    good = json.dumps({"text": "my eyelid twitches", "emergency": False})
    table.write_text(f"{good}\n\n{bad_line}\n{good}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"broken_triage\.jsonl, line 3: ") as caught:
        evaluate_triage(table)
    assert message in str(caught.value)


def test_empty_table(tmp_path: Path) -> None:
    table = tmp_path / "empty.jsonl"
    table.write_text("", encoding="utf-8")
    assert evaluate_triage(table) == TriageReport(0, 0, 1.0, 0.0, (), ())
