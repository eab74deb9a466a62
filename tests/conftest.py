"""Shared fixtures: tiny literal archives, an index built from them, a deterministic fake of
the sentence model, tracker helpers, and the real servers (tests/servers.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.archive.records import Record
from bot.search.embedding import DIMENSION
from bot.search.index import ArchiveIndex
from bot.search.vocabulary import Vocabulary
from bot.settings import Settings, load_settings
from tests.servers import Servers, running_servers

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


class FakeEncoder:
    """A deterministic stand-in for the sentence model (like simonw/llm's ``EmbedDemo``):
    each word is a fixed random direction, a text the normalised sum of its words."""

    model_id = "fake-words"

    def encode(self, texts: Sequence[str], max_tokens: int = 256) -> Any:
        rows = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:4], "little")
                rows[row] += np.random.default_rng(seed).standard_normal(DIMENSION)
            rows[row] /= max(float(np.linalg.norm(rows[row])), 1e-9)
        return rows

    def encode_query(self, text: str) -> Any:
        return self.encode([text])[0]


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


@pytest.fixture(scope="module")
def server_options() -> dict[str, Any]:
    """Keywords of :class:`tests.servers.Servers` for this module's ``servers``; a module
    that needs others (a reply timeout, more settings) overrides this fixture."""
    return {}


@pytest.fixture(scope="module")
def servers(
    server_options: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Servers]:
    """The real action server and `rasa run`, started once for the module as the launcher
    starts them (free ports, a state dir of their own), stopped after its last test."""
    with running_servers(tmp_path_factory.mktemp("servers"), **server_options) as running:
        yield running
