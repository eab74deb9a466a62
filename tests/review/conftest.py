"""Conversations written into a real SQLite tracker store by Rasa's own SQLTrackerStore."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import URL

from bot.settings import PROJECT_ROOT, Settings, load_settings

#: 2026-12-01 10:00:00 UTC
T0 = 1_796_119_200.0
DOMAIN = Domain.load(str(PROJECT_ROOT / "domain.yml"))


def user(text: str, intent: str, at: float, channel: str = "rest", **entities: str) -> UserUttered:
    """A patient message as the NLU hands it on."""
    return UserUttered(
        text,
        intent={"name": intent, "confidence": 0.9},
        entities=[{"entity": k, "value": v} for k, v in entities.items()],
        timestamp=at,
        input_channel=channel,
    )


def bot(response: str, at: float, **metadata: Any) -> BotUttered:
    """A bot message sent from a domain response, as Rasa stores it."""
    return BotUttered(
        f"text of {response}", metadata={"utter_action": response, **metadata}, timestamp=at
    )


def card(
    record_id: str, title: str, at: float, response: str = "utter_archive_answer"
) -> BotUttered:
    return bot(
        response,
        at,
        record_id=record_id,
        title=title,
        attribution="Dr. Example One · Neurology · Example Hospital · 2024/01/02",
    )


def feedback(rating: str, record_id: str, at: float) -> SlotSet:
    return SlotSet("feedback", {"rating": rating, "record_id": record_id}, timestamp=at)


def action(name: str, at: float) -> ActionExecuted:
    return ActionExecuted(name, timestamp=at)


Write = Callable[[dict[str, Sequence[Event]]], None]


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "conversations.sqlite3"


@pytest.fixture
def store_url(store_path: Path) -> URL:
    return URL.create("sqlite", database=str(store_path))


@pytest.fixture
def write_conversations(store_path: Path) -> Write:
    """Save conversations (sender id -> events) through SQLTrackerStore."""

    def write(conversations: dict[str, Sequence[Event]]) -> None:
        store = SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(store_path))

        async def save_all() -> None:
            for sender, events in conversations.items():
                tracker = DialogueStateTracker.from_events(
                    sender, [SessionStarted(timestamp=events[0].timestamp - 1), *events]
                )
                await store.save(tracker)

        asyncio.run(save_all())
        store.engine.dispose()

    return write


@pytest.fixture
def review_settings(tmp_path: Path, store_path: Path) -> Settings:
    return load_settings(
        {
            "NEUROBOT_DB": str(tmp_path / "index.sqlite3"),
            "NEUROBOT_STATE_DIR": str(tmp_path / "state"),
            "NEUROBOT_DATABASE_URL": f"sqlite:///{store_path}",
            "NEUROBOT_DENSE": "off",
        }
    )
