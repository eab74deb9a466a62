"""Export for a doctor, fill in, `bot archive import`: the item is answered and done."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from bot import cli
from bot.archive.formats import read_archive
from bot.errors import ArchiveFormatError, BotError
from bot.review.queue import export, export_line, imported_ids, load_queue, select
from bot.search.index import ArchiveIndex
from bot.settings import Settings
from tests.review.conftest import T0, Write, action, bot, card, feedback, user

QUESTION = "my ears ring and I taste metal every morning, my name is Anna"
DOCTOR = {
    "reply": "Ringing ears with a metallic taste can have many causes; an ENT doctor and a "
    "neurologist can examine you.",
    "responder": "Dr. Jane Roe",
    "department": "Neurology",
    "source": "Example Hospital",
    "reply_date": "2026/12/03",
}


@pytest.fixture
def conversations(write_conversations: Write) -> None:
    write_conversations(
        {
            "rest:p1": [
                user(QUESTION, "describe_symptoms", T0),
                action("action_answer_from_archive", T0 + 1),
                bot("utter_no_match", T0 + 1),
            ],
            "rest:p2": [
                user("my hands shake", "describe_symptoms", T0 + 10),
                card("t1", "Hands shake", T0 + 11),
                feedback("unhelpful", "t1", T0 + 20),
            ],
            "rest:p3": [
                user("my face droops suddenly", "emergency", T0 + 30),
                bot("utter_emergency", T0 + 31),
            ],
        }
    )


def fill(path: Path, answers: dict[str, str]) -> None:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    path.write_text(
        "".join(json.dumps({**row, **answers}, ensure_ascii=False) + "\n" for row in rows),
        encoding="utf-8",
    )


def test_an_export_line_is_an_archive_record_with_empty_doctor_fields(
    conversations: None, review_settings: Settings
) -> None:
    item = load_queue(review_settings).items[0]
    assert export_line(item) == {
        "id": f"review-{item.id}",
        "title": "",
        "question": "my ears ring and I taste metal every morning, my name is [name]",
        "reply": "",
        "responder": "",
        "department": "",
        "source": "",
        "reply_date": "",
        "asked_date": "2026-12-01",
        "review": {
            "kind": "no-match",
            "when": "2026-12-01T10:00:01Z",
            "channel": "rest",
            "bot_answered": "the honest no-match",
            "feedback": None,
            "fill_in": "reply, responder, department, source, reply_date; delete lines you "
            "do not answer, then: bot archive import FILE",
        },
    }


def test_round_trip_export_fill_import_marks_the_items_done(
    conversations: None, review_settings: Settings, tmp_path: Path
) -> None:
    queue = load_queue(review_settings)
    out = tmp_path / "for-doctor.jsonl"
    assert export(select(queue.items, "no-match") + select(queue.items, "unhelpful"), out) == 2
    fill(out, DOCTOR)
    records = read_archive([out])
    assert [(r.question, r.responder, r.reply_date, r.title) for r in records] == [
        (
            "my ears ring and I taste metal every morning, my name is [name]",
            "Dr. Jane Roe",
            "2026/12/03",
            "my ears ring and I taste metal every morning, my name is [name]",
        ),
        ("my hands shake", "Dr. Jane Roe", "2026/12/03", "my hands shake"),
    ]
    with ArchiveIndex(review_settings.db_path) as index:
        index.upsert(records)
    assert imported_ids(review_settings.db_path) == {i.id for i in queue.items[:2]}
    after = load_queue(review_settings)
    assert [(i.kind, i.done) for i in after.items] == [
        ("no-match", True),
        ("unhelpful", True),
        ("emergency", False),
    ]


def test_an_unfilled_export_is_refused_naming_file_and_line(
    conversations: None, review_settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "unfilled.jsonl"
    export(select(load_queue(review_settings).items, "no-match"), out)
    with pytest.raises(ArchiveFormatError) as raised:
        read_archive([out])
    assert str(raised.value) == f"{out}:1: missing required field(s): reply, source"


def test_the_commands_list_export_and_import(
    conversations: None,
    review_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for key in ("DB", "STATE_DIR", "DATABASE_URL", "DENSE"):
        monkeypatch.setenv(f"NEUROBOT_{key}", "")
    monkeypatch.setenv("NEUROBOT_DB", str(review_settings.db_path))
    monkeypatch.setenv("NEUROBOT_STATE_DIR", str(review_settings.state_dir))
    monkeypatch.setenv("NEUROBOT_DATABASE_URL", review_settings.database_url)
    monkeypatch.setenv("NEUROBOT_DENSE", "off")

    assert cli.main(["review", "list", "--kind", "no-match", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(i["kind"], i["question"], i["channel"]) for i in listed] == [
        ("no-match", "my ears ring and I taste metal every morning, my name is [name]", "rest")
    ]

    out = tmp_path / "export.jsonl"
    assert cli.main(["review", "export", str(out)]) == 0
    assert "wrote 2 items" in capsys.readouterr().out

    # unfilled: refused, file and line named, nothing imported
    assert cli.main(["archive", "import", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{out}:1: missing required field(s): reply, source" in err
    assert "nothing was imported" in err
    assert not review_settings.db_path.exists() or imported_ids(review_settings.db_path) == set()

    # one line filled, the other deleted: imported, and the queue has one open item left
    lines = out.read_text(encoding="utf-8").splitlines()
    out.write_text(lines[0] + "\n", encoding="utf-8")
    fill(out, DOCTOR)
    assert cli.main(["archive", "import", str(out)]) == 0
    capsys.readouterr()
    assert cli.main(["review", "list"]) == 0
    text = capsys.readouterr()
    assert "unhelpful" in text.out and "no-match" not in text.out
    assert "emergency" in text.out
    assert "2 items: 1 unhelpful, 1 emergency" in text.err

    assert cli.main(["review", "counts", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {
            "day": "2026-12-01",
            "answers": 1,
            "no_matches": 1,
            "emergencies": 1,
            "helpful": 0,
            "unhelpful": 1,
            "offers": 0,
            "choices": 0,
        }
    ]

    assert cli.main(["review", "list", "--since", "not a date"]) == 2
    assert "--since: not a date: 'not a date' (use YYYY-MM-DD)" in capsys.readouterr().err


@pytest.fixture
def command_env(review_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("DB", "STATE_DIR", "DATABASE_URL", "DENSE"):
        monkeypatch.setenv(f"NEUROBOT_{key}", "")
    monkeypatch.setenv("NEUROBOT_DB", str(review_settings.db_path))
    monkeypatch.setenv("NEUROBOT_STATE_DIR", str(review_settings.state_dir))
    monkeypatch.setenv("NEUROBOT_DATABASE_URL", review_settings.database_url)
    monkeypatch.setenv("NEUROBOT_DENSE", "off")


def test_a_stored_lone_surrogate_never_breaks_list_json_or_export(
    write_conversations: Write,
    command_env: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_conversations(
        {
            "rest:p1": [
                user("my ears ring \ud800 at night", "describe_symptoms", T0),
                bot("utter_no_match", T0 + 1),
            ]
        }
    )
    assert cli.main(["review", "list"]) == 0
    listed = capsys.readouterr().out
    listed.encode("utf-8")  # what the terminal is sent can be encoded
    assert "  asked: my ears ring \ufffd at night\n" in listed
    assert cli.main(["review", "list", "--json"]) == 0
    assert [i["question"] for i in json.loads(capsys.readouterr().out)] == [
        "my ears ring \ufffd at night"
    ]
    out = tmp_path / "export.jsonl"
    assert cli.main(["review", "export", str(out)]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["question"] for line in lines] == ["my ears ring \ufffd at night"]


def test_an_export_is_private_and_written_all_or_nothing(
    conversations: None,
    review_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    items = select(load_queue(review_settings).items)
    folder = tmp_path / "exports"
    folder.mkdir()
    out = folder / "for-doctor.jsonl"
    out.write_text("the doctor's earlier answers\n", encoding="utf-8")
    out.chmod(0o644)

    def failing(source: object, target: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("bot.secrets.os.replace", failing)
    with pytest.raises(BotError, match=r"cannot write .*for-doctor.jsonl"):
        export(items, out)
    assert out.read_text(encoding="utf-8") == "the doctor's earlier answers\n"
    assert [p.name for p in folder.iterdir()] == ["for-doctor.jsonl"]  # no leftovers
    monkeypatch.undo()

    modes = []
    real_open = os.open

    def recording(path: str, flags: int, mode: int = 0o777) -> int:
        modes.append(mode)
        return real_open(path, flags, mode)

    monkeypatch.setattr("bot.secrets.os.open", recording)
    fresh = tmp_path / "new" / "export.jsonl"
    assert export(items, fresh) == 3
    assert export(items, out) == 3
    assert modes == [0o600, 0o600]  # created private, before a byte was written
    assert [stat.S_IMODE(p.stat().st_mode) for p in (fresh, out)] == [0o600, 0o600]
    assert len(out.read_text(encoding="utf-8").splitlines()) == 3
