"""Shared fixtures: tiny literal archives, an index built from them, tracker helpers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.archive.records import Record
from bot.search.index import ArchiveIndex
from bot.search.vocabulary import Vocabulary
from bot.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"

TWITCH = Record(
    id="t1",
    title="Muscle twitching all over and a weaker left hand",
    question="For weeks my muscles twitch everywhere and my left hand feels weak. Is it ALS?",
    reply="Twitching (fasciculations) is common and usually harmless. Weakness needs an "
    "examination. Please see a neurologist, who may test your nerves with EMG.",
    source="Example Hospital",
    responder="Dr. Example One",
    department="Neurology",
    reply_date="2024/01/02",
    topics=("Muscle twitching", "ALS"),
)
TINGLE = Record(
    id="t2",
    title="Pins and needles in both feet at night",
    question="My feet burn and tingle at night, worse for a year. I have diabetes.",
    reply="Tingling feet (paresthesia) with diabetes can come from the nerves of the feet.",
    source="Example Hospital",
    responder="Dr. Example Two",
    department="Neurology",
    reply_date="2024/02/03",
    topics=("Numbness", "Neuropathy"),
)
HEADACHE = Record(
    id="t3",
    title="Headache every afternoon behind the eyes",
    question="I get a pressing headache every afternoon at work. Painkillers help a bit.",
    reply="Daily pressing headaches are often tension-type headaches.",
    source="Sample archive",
    department="Neurology",
    topics=("Headache",),
)
TINY_ARCHIVE = (TWITCH, TINGLE, HEADACHE)

TINY_VOCABULARY = Vocabulary.from_groups(
    [
        ["tingling", "pins and needles", "paresthesia"],
        ["twitching", "twitch", "fasciculation"],
        ["weakness", "weak", "weaker"],
        ["als", "lou gehrig's disease", "motor neuron disease"],
    ]
)


@pytest.fixture
def vocabulary() -> Vocabulary:
    """A four-group vocabulary."""
    return TINY_VOCABULARY


@pytest.fixture
def index(vocabulary: Vocabulary) -> Iterator[ArchiveIndex]:
    """An in-memory index holding the three tiny records."""
    archive = ArchiveIndex(":memory:", vocabulary)
    archive.upsert(TINY_ARCHIVE)
    yield archive
    archive.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings from a literal dict (no .env, no environment)."""
    return load_settings(
        {"NEUROBOT_DB": str(tmp_path / "index.sqlite3"), "NEUROBOT_MAX_WRONG": "0.05"}
    )


def write(path: Path, text: str) -> Path:
    """Write text to a file and return its path."""
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def make_tracker() -> Any:
    """Build a rasa_sdk Tracker from a latest message text, entities, slots and history."""
    from rasa_sdk import Tracker

    def build(
        text: str,
        intent: str = "describe_symptoms",
        entities: list[dict[str, Any]] | None = None,
        history: list[tuple[str, str]] = (),  # type: ignore[assignment]
        **slots: Any,
    ) -> Tracker:
        def user(message: str, name: str, found: list[dict[str, Any]] | None = None) -> dict:
            return {
                "event": "user",
                "text": message,
                "parse_data": {
                    "text": message,
                    "intent": {"name": name, "confidence": 0.9},
                    "entities": found or [],
                },
            }

        events = [user(t, i) for t, i in history] + [user(text, intent, entities)]
        return Tracker.from_dict(
            {
                "sender_id": "patient",
                "slots": slots,
                "latest_message": events[-1]["parse_data"],
                "events": events,
                "paused": False,
                "followup_action": None,
                "active_loop": {},
                "latest_action_name": "action_listen",
            }
        )

    return build
