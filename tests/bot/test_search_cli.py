"""``bot search``: the JSON rows with the match decision, and ``--queries`` files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot import cli
from bot.search import match
from bot.search.index import ArchiveIndex
from tests.conftest import TINY_ARCHIVE, TINY_VOCABULARY, write


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "index.sqlite3"
    with ArchiveIndex(path, TINY_VOCABULARY) as index:
        index.upsert(TINY_ARCHIVE)
    monkeypatch.setenv("NEUROBOT_DENSE", "off")
    monkeypatch.setattr("bot.search.index.load_vocabulary", lambda: TINY_VOCABULARY)
    return path


def test_json_gives_each_hit_its_probability_and_decision(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "muscle twitching all over and a weak left hand"
    assert cli.main(["search", "--db", str(db), "--json", text]) == 0
    rows = json.loads(capsys.readouterr().out)
    with ArchiveIndex(db, TINY_VOCABULARY) as index:
        hits = index.search(text)
    assert [r["id"] for r in rows] == [h.record.id for h in hits]
    assert [(r["probability"], r["answer"]) for r in rows] == [
        (h.probability, h.answer) for h in hits
    ]
    assert rows[0]["id"] == "t1"
    assert rows[0]["responder"] == "Dr. Example One"
    assert rows[0]["answer"] == (rows[0]["probability"] >= match.shipped_model().cutoff())
    assert {r["in_scope"] for r in rows} == {True}


def test_json_says_when_a_message_is_outside_the_archive_scope(
    db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "my knee hurts after football and the muscle is sore"
    assert cli.main(["search", "--db", str(db), "--json", text]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and {r["in_scope"] for r in rows} == {False}
    monkeypatch.setenv("NEUROBOT_SCOPE", "any")
    assert cli.main(["search", "--db", str(db), "--json", text]) == 0
    assert {r["in_scope"] for r in json.loads(capsys.readouterr().out)} == {True}


def test_queries_print_one_line_per_message_in_order(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write(
        tmp_path / "q.txt",
        '{"q": "pins and needles in my feet"}\n\nheadache every afternoon\n'
        '{"q": "what is the weather in paris"}\n',
    )
    assert cli.main(["search", "--db", str(db), "--queries", str(file)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["q"] for line in lines] == [
        "pins and needles in my feet",
        "headache every afternoon",
        "what is the weather in paris",
    ]
    assert lines[0]["hits"][0]["id"] == "t2"
    assert lines[1]["hits"][0]["id"] == "t3"
    assert lines[2]["hits"] == []
    assert all("answer" in hit and "probability" in hit for hit in lines[0]["hits"])


def test_a_bad_queries_line_is_reported_with_file_and_line(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write(tmp_path / "q.jsonl", '{"q": "headache"}\n{"text": "no q"}\n')
    assert cli.main(["search", "--db", str(db), "--queries", str(file)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing searched before the file was read whole
    assert f'{file}:2: expected an object with a string "q"' in captured.err
    assert cli.main(["search", "--db", str(db), "--queries", str(tmp_path / "none")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert cli.main(["search", "--db", str(db)]) == 2
    assert "give either a text or --queries FILE" in capsys.readouterr().err
