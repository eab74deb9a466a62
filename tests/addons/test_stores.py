"""The tracker store during a database outage: the guard answers, nothing is overwritten.

Real PostgreSQL (a fresh database, dropped afterwards) reached through a TCP proxy that
plays the outage (bot/evaluation/load.py's, run on its own thread: the store's SQL calls block the
event loop they are made on), the store built by Rasa from the endpoints we write, wrapped
in Rasa's FailSafeTrackerStore as the agent does, and the real guard.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.tracker_store import FailSafeTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, SlotSet, UserUttered
from rasa.utils.endpoints import EndpointConfig

from addons import stores
from addons.channels import FallbackReplies, guard
from bot.evaluation.load import Proxy, via_proxy
from bot.serving.store import tracker_store_config
from bot.settings import PROJECT_ROOT, Settings, load_settings
from tests.bot.serving.test_store import POSTGRES

RESPONSES = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())["responses"]
PROBLEM = [
    str(RESPONSES[name][0]["text"]).strip()
    for name in ("utter_technical_problem", "utter_safety_advice")
]
EMERGENCY = str(RESPONSES["utter_emergency"][0]["text"]).strip()
DOMAIN = Domain.from_dict(
    {"slots": {"current_record": {"type": "any", "mappings": [{"type": "custom"}]}}}
)
PRIVATE = "my-private-words-"


class Outage:
    """bot.evaluation.load's proxy on a thread of its own: ``down()`` refuses and drops them."""

    def __init__(self, url: str) -> None:
        parts = sa.engine.make_url(url)
        self.proxy = Proxy(parts.host or "127.0.0.1", parts.port or 5432)
        self.url = via_proxy(url, self.proxy)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def _run(self, coroutine: Any) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)

    def up(self) -> None:
        self._run(self.proxy.up())

    def down(self) -> None:
        self._run(self.proxy.down())

    def close(self) -> None:
        self.down()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def outage() -> Iterator[Outage]:
    """A fresh PostgreSQL database behind a proxy that is up."""
    admin = sa.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    name = f"neurobot_h6_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    proxy = Outage(url)
    proxy.up()
    try:
        yield proxy
    finally:
        proxy.close()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def agent_store(outage: Outage) -> FailSafeTrackerStore:
    """The store as the Rasa server has it: built from our endpoints, wrapped by FailSafe."""
    settings = load_settings({"NEUROBOT_DATABASE_URL": outage.url})
    config = dict(tracker_store_config(settings))
    store = TrackerStore.create(
        EndpointConfig(url=config.pop("url"), **config),
        DOMAIN,  # type: ignore[arg-type]
    )
    assert isinstance(store, stores.GuardedSQLTrackerStore)
    return FailSafeTrackerStore(store)


def rasa_like(store: TrackerStore) -> Any:
    """A message handler that uses the store as Rasa's processor does: read (or start)
    the conversation, answer from it, save it."""

    async def handle(message: UserMessage) -> None:
        tracker = await store.get_or_create_tracker(message.sender_id or "")
        earlier = sum(isinstance(event, UserUttered) for event in tracker.events)
        record = tracker.get_slot("current_record")
        tracker.update(UserUttered(message.text))
        answer = f"answer after {earlier} messages, record {record}"
        await message.output_channel.send_response(message.sender_id or "", {"text": answer})
        tracker.update(BotUttered(answer))
        tracker.update(SlotSet("current_record", f"r{earlier + 1}"))
        await store.save(tracker)

    return handle


def say(store: TrackerStore, settings: Settings, text: str, sender: str = "patient") -> list[str]:
    collector = CollectingOutputChannel()
    guarded = guard(rasa_like(store), FallbackReplies(settings), timeout=5.0)
    asyncio.run(guarded(UserMessage(text, collector, sender)))
    return [message.get("text", "") for message in collector.messages]


def event_count(store: FailSafeTrackerStore, sender: str = "patient") -> int:
    tracker = asyncio.run(store.retrieve_full_tracker(sender))
    return len(tracker.events) if tracker is not None else 0


def test_an_outage_gets_the_fallback_and_the_conversation_continues_after_it(
    outage: Outage, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    store = agent_store(outage)
    assert say(store, settings, "my hands tingle at night") == [
        "answer after 0 messages, record None"
    ]
    assert say(store, settings, "and my feet") == ["answer after 1 messages, record r1"]
    before = event_count(store)

    outage.down()
    caplog.set_level(logging.INFO)
    secret = PRIVATE + uuid.uuid4().hex
    for _ in range(2):
        assert say(store, settings, f"read the full reply {secret}") == PROBLEM
    # the latest message alone still gets the emergency message first
    assert say(store, settings, "his face is drooping since 10 minutes ago") == [
        EMERGENCY.format(emergency_number="112", crisis_line="116 123")
    ]
    logged = caplog.text
    assert "could not read a conversation" in logged
    assert "could not be read; sending the fallback reply" in logged
    assert secret not in logged and PRIVATE not in logged

    outage.up()
    # back: the history is whole, nothing of the outage's empty conversations was written
    assert event_count(store) == before
    assert say(store, settings, "thanks") == ["answer after 2 messages, record r2"]
    assert "the tracker store answers again" in caplog.text


def test_a_new_patient_during_the_outage_is_not_saved_as_an_empty_conversation(
    outage: Outage, settings: Settings
) -> None:
    store = agent_store(outage)
    outage.down()
    assert say(store, settings, "I get headaches", sender="new") == PROBLEM
    outage.up()
    assert event_count(store, "new") == 0
    assert say(store, settings, "I get headaches", sender="new") == [
        "answer after 0 messages, record None"
    ]


def test_a_failed_save_is_recorded_in_the_turn_and_logged_without_the_events(
    outage: Outage, caplog: pytest.LogCaptureFixture
) -> None:
    store = agent_store(outage)
    inner = store._tracker_store
    secret = PRIVATE + uuid.uuid4().hex

    async def turn_with_a_dead_database() -> stores.Turn:
        turn = stores.Turn()
        token = stores.TURN.set(turn)
        try:
            tracker = await store.get_or_create_tracker("patient")
            tracker.update(UserUttered(secret))
            outage.down()
            await store.save(tracker)
        finally:
            stores.TURN.reset(token)
        return turn

    turn = asyncio.run(turn_with_a_dead_database())
    assert turn.unsaved and not turn.unreadable
    assert "could not save a conversation (OperationalError" in caplog.text
    assert secret not in caplog.text
    # nothing went to FailSafe's memory store, which no read ever looks at again
    assert store._fallback_tracker_store is None
    assert inner.failures >= 1


def test_outside_a_guarded_message_a_failed_read_is_none_as_before(outage: Outage) -> None:
    store = agent_store(outage)
    outage.down()
    assert asyncio.run(store.retrieve("anyone")) is None
    assert list(asyncio.run(store.keys())) == []
