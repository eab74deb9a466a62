"""Reading archive files: every format, the field mapping, and malformed input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.archive.formats import MEDQUAD_SOURCES, read_archive, read_file
from bot.archive.records import Record
from bot.errors import ArchiveFormatError
from tests.conftest import ROOT, SHARED, write

SEEDS = SHARED / "seeds"


def test_jsonl_uses_the_documented_aliases(tmp_path: Path) -> None:
    line = {
        "record_id": "a1",
        "subject": "Tingling hands",
        "body": "My hands tingle at night.",
        "answer": "This is often carpal tunnel.",
        "hospital": "City Hospital",
        "doctor": "Dr. Lee",
        "dept": "Neurology",
        "age_range": "30-39",
        "sex": "female",
        "ask_date": "2024/01/01",
        "reply_date": "2024/01/03",
        "tags": "Numbness | Carpal tunnel",
        "unknown_column": "ignored",
    }
    path = write(tmp_path / "a.jsonl", json.dumps(line) + "\n\n")
    assert read_archive([path]) == [
        Record(
            id="a1",
            title="Tingling hands",
            question="My hands tingle at night.",
            reply="This is often carpal tunnel.",
            source="City Hospital",
            responder="Dr. Lee",
            department="Neurology",
            asker_age_range="30-39",
            asker_sex="female",
            asked_date="2024/01/01",
            reply_date="2024/01/03",
            topics=("Numbness", "Carpal tunnel"),
        )
    ]


def test_csv_title_defaults_to_the_first_sentence(tmp_path: Path) -> None:
    path = write(
        tmp_path / "a.csv",
        "id,question,reply,source,topics\n"
        'c1,"My eyelid jumps. It is annoying.",Usually harmless.,Clinic,Twitching;Eyelid\n',
    )
    [record] = read_archive([path])
    assert (record.id, record.title, record.topics, record.responder) == (
        "c1",
        "My eyelid jumps.",
        ("Twitching", "Eyelid"),
        None,
    )


@pytest.mark.parametrize(
    ("name", "text", "line", "message"),
    [
        (
            "bad.jsonl",
            '{"id": "1", "question": "q", "reply": "r", "source": "s"}\n{oops\n',
            2,
            "invalid JSON",
        ),
        (
            "missing.jsonl",
            '{"id": "1", "question": "q", "source": "s"}\n',
            1,
            "missing required field(s): reply",
        ),
        ("list.jsonl", '["not", "an", "object"]\n', 1, "must be a JSON object"),
        (
            "topics.jsonl",
            '{"id": "1", "question": "q", "reply": "r", "source": "s", "topics": [1, 2]}\n',
            1,
            "topics must be a list of strings",
        ),
        (
            "bad.csv",
            "id,question,reply,source\n1,q,r,s\n2,q,,s\n",
            3,
            "missing required field(s): reply",
        ),
        ("cells.csv", "id,question,reply,source\n1,q,r,s,extra\n", 2, "more cells than header"),
    ],
)
def test_malformed_files_name_file_and_line(
    tmp_path: Path, name: str, text: str, line: int, message: str
) -> None:
    path = write(tmp_path / name, text)
    with pytest.raises(ArchiveFormatError) as error:
        read_archive([path])
    assert (error.value.path, error.value.line) == (str(path), line)
    assert message in str(error.value)
    assert str(error.value).startswith(f"{path}:{line}: ")


def test_one_bad_file_fails_the_whole_read(tmp_path: Path) -> None:
    good = write(
        tmp_path / "a.jsonl", '{"id": "1", "question": "q", "reply": "r", "source": "s"}\n'
    )
    bad = write(tmp_path / "b.jsonl", "{\n")
    with pytest.raises(ArchiveFormatError, match=r"b\.jsonl:1"):
        read_archive([good, bad])


def test_not_utf8_and_missing_files_are_reported(tmp_path: Path) -> None:
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(b'{"id": "caf\xe9"}\n')
    with pytest.raises(ArchiveFormatError, match="not UTF-8"):
        read_file(latin)
    with pytest.raises(ArchiveFormatError, match="no such file"):
        read_archive([tmp_path / "nope.jsonl"])


@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds not present")
def test_seed_page_keeps_the_doctor_reply_and_not_more_info() -> None:
    [record] = read_archive([SEEDS])
    assert (record.title, record.responder, record.department, record.source) == (
        "Muscle twitching",
        "Dr. Jiang Junyi",
        "Neurology",
        "Taoyuan Hospital",
    )
    assert (record.asker_age_range, record.asker_sex) == ("10~19", "female")
    assert (record.asked_date, record.reply_date) == ("2022/05/02", "2022/05/02")
    assert record.question.startswith("Recently, I have been experiencing muscle twitching")
    assert record.reply.startswith("Hello Mr.")
    assert record.reply.endswith("Wishing you good health, peace, and joy.")
    assert "More Info" not in record.reply and "Chien-Yi Jiang" not in record.reply
    assert "Travis" not in (record.asker_age_range or "")
    assert record.topics[:2] == ("Muscle Tremors", "Muscle Cramp")
    assert len(record.similar_titles) == 4


def test_seed_page_without_reply_date_is_rejected(tmp_path: Path) -> None:
    page = write(
        tmp_path / "p.txt",
        "Title\nQuestion text\nA, 20~29 year old male. Ask Date: 2024/01/01\n"
        "Dr. X reply Neurology\nSome reply\n",
    )
    with pytest.raises(ArchiveFormatError, match="Reply Date"):
        read_archive([page])


def test_medquad_shows_the_nih_source_never_a_doctor(tmp_path: Path) -> None:
    row = {
        "id": "6_NINDS_QA/1-1",
        "subset": "6_NINDS_QA",
        "source": "NINDS",
        "url": "https://example.org/x",
        "focus": "Essential Tremor",
        "qtype": "information",
        "question": "What is (are) Essential Tremor ?",
        "answer": "Essential tremor is ...",
    }
    path = write(tmp_path / "m.jsonl", json.dumps(row) + "\n")
    [record] = read_archive([path])
    assert record == Record(
        id="6_NINDS_QA/1-1",
        title="What is (are) Essential Tremor ?",
        question="What is (are) Essential Tremor ?",
        reply="Essential tremor is ...",
        source=MEDQUAD_SOURCES["NINDS"],
        url="https://example.org/x",
        topics=("Essential Tremor", "information"),
    )
    assert record.responder is None


def test_sample_archive_is_large_honest_and_well_formed() -> None:
    records = read_archive([ROOT / "data" / "archive"])
    assert len(records) >= 150
    assert len({r.id for r in records}) == len(records)
    assert all(r.responder is None for r in records)
    assert {r.source for r in records} == {
        "Sample archive (written by the project team for demonstration)"
    }
