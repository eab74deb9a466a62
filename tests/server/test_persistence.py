"""A conversation survives a restart of `make run`'s launcher, on both stores.

The launcher (``python -m bot.serving.launcher``, what `make run` runs) is started with a
temporary state dir; a patient gets an archive answer over REST; the launcher is stopped
with SIGTERM (a service manager's stop, or Ctrl-C) and started again with the same
settings; the patient's follow-ups ("read the full reply", a similar question) are
answered from the slots stored before the restart.

1. the embedded default: the SQLite file in the state dir (0600), with retention on
   start;
2. the cluster stores: PostgreSQL (a fresh database on 127.0.0.1:5432, dropped after) as
   the tracker store and Redis as the lock store.

Each start costs 30 to 60 s (both servers, the models, the warm-up): four in all.
"""

from __future__ import annotations

import asyncio
import re
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa

from bot.settings import load_settings
from tests.bot.serving.test_store import postgres_database, rasa_store, save_conversation
from tests.servers import (
    ALS,
    CARD_START,
    FULL_START,
    SAFETY,
    Launcher,
)

pytestmark = pytest.mark.server

__all__ = ["postgres_database"]  # the fixture, shared with the unit tests

REDIS_DB = 7  # a database of its own, to see the Rasa server's connection to it
DAY = 86_400.0


@pytest.fixture
def launcher_factory() -> Iterator[list[Launcher]]:
    started: list[Launcher] = []
    yield started
    for launcher in started:
        launcher.stop()


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [str(m.get("text", "")) for m in messages]


def converse_restart_and_follow_up(launcher: Launcher, sender: str) -> None:
    """The archive answer, a restart, then both follow-ups on the same record."""
    launcher.start()
    card, advice = launcher.say(sender, ALS)
    assert card["text"].startswith(CARD_START) and advice["text"] == SAFETY
    title = card["text"][len(CARD_START) :].split("”", 1)[0]
    similar_button = next(
        b for b in card["buttons"] if b["payload"].startswith("/ask_similar_question")
    )

    launcher.stop()
    launcher.start()

    full = texts(launcher.say(sender, "/ask_full_reply"))
    assert full[0].startswith(f"{FULL_START}{title}”"), full
    assert full[-1] == SAFETY
    similar = texts(launcher.say(sender, similar_button["payload"]))
    assert similar[0].startswith(
        f"Another similar question in the archive is “{similar_button['title']}”"
    ), similar
    assert similar[-1] == SAFETY


def test_a_conversation_survives_a_restart_on_the_sqlite_default(
    tmp_path: Path, launcher_factory: list[Launcher]
) -> None:
    state = tmp_path / "state"
    # a conversation of 40 days ago, left by an earlier run: removed on start
    settings = load_settings(
        {
            "NEUROBOT_STATE_DIR": str(state),
            "NEUROBOT_ACTIONS_TOKEN": "persistence-actions-token-0123456789",
        }
    )
    old = rasa_store(settings)
    now = time.time()
    save_conversation(old, "rest:long-ago", [40 + (1_800_000_000.0 - now) / DAY])
    old.engine.dispose()

    launcher = Launcher(state)
    launcher_factory.append(launcher)
    converse_restart_and_follow_up(launcher, "patient-restart")
    launcher.stop()

    log = launcher.output()
    database = state / "conversations.sqlite3"
    assert f"conversations: SQLite file {database}; locks: in memory" in log
    assert "retention: removed 4 event(s) older than 30 days (1 conversation(s) whole)" in log
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    assert stat.S_IMODE((state / "endpoints.yml").stat().st_mode) == 0o600
    kept = sorted(asyncio.run(rasa_store(settings).keys()))
    assert "rest:patient-restart" in kept and "rest:long-ago" not in kept
    # the second start removed the first start's warm-up conversation
    assert sum(k.startswith("rest:neurobot-warmup-") for k in kept) >= 1
    second_start = log.rsplit("retention:", 1)[1].split("\n", 1)[0]
    assert re.fullmatch(
        r" removed 0 event\(s\) older than 30 days \(0 conversation\(s\) whole\) and [1-9]\d* "
        r"warm-up conversation\(s\)",
        second_start,
    ), second_start


def test_a_conversation_survives_a_restart_on_postgresql_with_redis_locks(
    tmp_path: Path, launcher_factory: list[Launcher], postgres_database: str
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    launcher = Launcher(
        state,
        NEUROBOT_DATABASE_URL=postgres_database,
        NEUROBOT_REDIS_URL=f"redis://127.0.0.1:6379/{REDIS_DB}",
    )
    launcher_factory.append(launcher)
    converse_restart_and_follow_up(launcher, "patient-pg")
    # the Rasa server holds its connection to Redis's database 7 (the lock store's)
    clients = redis.Redis(host="127.0.0.1", port=6379).client_list()
    assert any(int(c.get("db", -1)) == REDIS_DB for c in clients), clients
    launcher.stop()

    log = launcher.output()
    assert "conversations: PostgreSQL postgresql://" in log
    assert f"locks: Redis 127.0.0.1:6379/{REDIS_DB}" in log
    assert not (state / "conversations.sqlite3").exists()
    engine = sa.create_engine(postgres_database)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT count(*) FROM events WHERE sender_id = 'rest:patient-pg'")
            ).scalar()
    finally:
        engine.dispose()
    assert rows and rows > 10
