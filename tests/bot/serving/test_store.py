"""Conversation storage from the settings, and retention (bot/serving/store.py).

The configuration is checked by Rasa itself (its tracker and lock store factories read
the file we write); retention runs on databases filled by Rasa's own SQLTrackerStore:
a SQLite file, and a fresh PostgreSQL database on the real server (127.0.0.1:5432).
"""

from __future__ import annotations

import asyncio
import os
import stat
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from bot.cli import main as bot_main
from bot.database import database_url, sqlite_path
from bot.errors import ConfigError, ServiceError
from bot.serving.store import (
    TRACKER_STORE_TYPE,
    Pruned,
    describe,
    endpoints_config,
    forget,
    lock_store_config,
    prune,
    tracker_store_config,
    write_endpoints,
)
from bot.settings import Settings, load_settings
from tests.servers import free_port

#: The PostgreSQL server of the tests (trust auth); a fresh database is made on it.
POSTGRES = os.environ.get("NEUROBOT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("NEUROBOT_TEST_REDIS", "redis://127.0.0.1:6379/0")
NOW = 1_800_000_000.0
DAY = 86_400.0


def settings_for(state: Path, **variables: str) -> Settings:
    return load_settings(
        {
            "NEUROBOT_STATE_DIR": str(state),
            "NEUROBOT_ACTIONS_TOKEN": "actions-token-0123456789abcdef",
            **variables,
        }
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- configuration -------------------------------------------------------------------


def test_by_default_conversations_go_to_a_sqlite_file_in_the_state_dir(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    assert tracker_store_config(settings) == {
        "type": TRACKER_STORE_TYPE,
        "dialect": "sqlite",
        "db": str(tmp_path / "conversations.sqlite3"),
    }
    assert lock_store_config(settings) is None
    assert endpoints_config(settings) == {
        "action_endpoint": {
            "url": "http://127.0.0.1:5055/webhook",
            "headers": {"Authorization": "Bearer actions-token-0123456789abcdef"},
        },
        "tracker_store": tracker_store_config(settings),
    }


def test_postgresql_url_becomes_rasa_sql_tracker_store_fields(tmp_path: Path) -> None:
    settings = settings_for(
        tmp_path,
        NEUROBOT_DATABASE_URL="postgresql://bot:p%40ss%3Aword@db.example:6543/neuro?sslmode=require",
    )
    assert tracker_store_config(settings) == {
        "type": TRACKER_STORE_TYPE,
        "dialect": "postgresql",
        "url": "db.example",
        "port": 6543,
        "db": "neuro",
        "username": "bot",
        "password": "p@ss:word",
        "query": {"connect_timeout": "5", "sslmode": "require"},
    }
    line = describe(settings)
    assert line == (
        "conversations: PostgreSQL postgresql://bot:***@db.example:6543/neuro?sslmode=require; "
        "locks: in memory (one Rasa server)"
    )
    assert "p@ss" not in line and "p%40ss" not in line


def test_postgresql_without_port_or_password_leaves_them_to_rasa(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, NEUROBOT_DATABASE_URL="postgresql+psycopg2://db/neuro")
    assert tracker_store_config(settings) == {
        "type": TRACKER_STORE_TYPE,
        "dialect": "postgresql+psycopg2",
        "url": "db",
        "db": "neuro",
        "query": {"connect_timeout": "5"},
    }
    own = settings_for(tmp_path, NEUROBOT_DATABASE_URL="postgresql://db/neuro?connect_timeout=20")
    assert tracker_store_config(own)["query"] == {"connect_timeout": "20"}


@pytest.mark.parametrize(
    ("url", "config"),
    [
        ("redis://127.0.0.1:6379/2", {"type": "redis", "url": "127.0.0.1", "port": 6379, "db": 2}),
        ("redis://cache", {"type": "redis", "url": "cache", "port": 6379, "db": 0}),
        (
            "rediss://:s%2Fecret@cache:6380/1",
            {
                "type": "redis",
                "url": "cache",
                "port": 6380,
                "db": 1,
                "password": "s/ecret",
                "use_ssl": True,
            },
        ),
        (
            "redis://neuro:pw@cache/0",
            {
                "type": "redis",
                "url": "cache",
                "port": 6379,
                "db": 0,
                "username": "neuro",
                "password": "pw",
            },
        ),
    ],
)
def test_redis_url_becomes_rasa_lock_store_fields(
    tmp_path: Path, url: str, config: dict[str, Any]
) -> None:
    settings = settings_for(tmp_path, NEUROBOT_REDIS_URL=url)
    assert lock_store_config(settings) == config
    assert endpoints_config(settings)["lock_store"] == config
    assert "pw" not in describe(settings) and "ecret" not in describe(settings)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("NEUROBOT_DATABASE_URL", "mysql://u@h/db", "must be a postgresql:// or sqlite:///"),
        ("NEUROBOT_DATABASE_URL", "not a url", "is not a database URL"),
        ("NEUROBOT_DATABASE_URL", "postgresql://db.example", "names no database"),
        ("NEUROBOT_REDIS_URL", "http://cache:6379/0", "must look like redis://host:6379/0"),
        ("NEUROBOT_REDIS_URL", "redis://cache:port/0", "a number for port and db"),
        ("NEUROBOT_REDIS_URL", "redis://cache/zero", "a number for port and db"),
    ],
)
def test_unusable_urls_are_refused_naming_the_variable(
    tmp_path: Path, variable: str, value: str, message: str
) -> None:
    settings = settings_for(tmp_path, **{variable: value})
    with pytest.raises(ConfigError) as raised:
        endpoints_config(settings)
    assert variable in str(raised.value) and message in str(raised.value)


def test_the_endpoints_file_and_the_sqlite_file_are_private(tmp_path: Path) -> None:
    state = tmp_path / "state"
    settings = settings_for(state)
    older = state / "conversations.sqlite3"
    state.mkdir()
    older.write_bytes(b"")
    older.chmod(0o644)  # a file left by an older version is tightened too
    path = write_endpoints(settings)
    assert path == state / "endpoints.yml"
    assert mode(path) == 0o600
    assert mode(older) == 0o600
    assert yaml.safe_load(path.read_text()) == endpoints_config(settings)


def test_a_new_sqlite_file_is_created_owner_only(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "fresh")
    write_endpoints(settings)
    assert mode(tmp_path / "fresh" / "conversations.sqlite3") == 0o600


def test_rasa_builds_its_sql_tracker_store_and_redis_lock_store_from_the_file(
    tmp_path: Path,
) -> None:
    from rasa.core.lock_store import LockStore, RedisLockStore
    from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
    from rasa.utils.endpoints import read_endpoint_config

    settings = settings_for(tmp_path, NEUROBOT_REDIS_URL=REDIS)
    path = str(write_endpoints(settings))
    store = TrackerStore.create(read_endpoint_config(path, "tracker_store"))
    inner = getattr(store, "_tracker_store", store)
    assert isinstance(inner, SQLTrackerStore)
    assert inner.engine.url.database == str(tmp_path / "conversations.sqlite3")
    locks = LockStore.create(read_endpoint_config(path, "lock_store"))
    assert isinstance(locks, RedisLockStore)
    assert locks.red.ping()


# --- retention -----------------------------------------------------------------------


def rasa_store(settings: Settings) -> Any:
    """Rasa's own SQLTrackerStore, built by Rasa from the endpoints file we write."""
    from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.utils.endpoints import read_endpoint_config

    domain = Domain.from_dict(
        {"slots": {"current_record": {"type": "any", "mappings": [{"type": "custom"}]}}}
    )
    path = str(write_endpoints(settings))
    store = TrackerStore.create(read_endpoint_config(path, "tracker_store"), domain)
    assert isinstance(store, SQLTrackerStore)
    return store


def save_conversation(store: Any, sender: str, ages_in_days: list[float]) -> None:
    """A conversation whose events happened ``ages_in_days`` before NOW."""
    from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    first = NOW - ages_in_days[0] * DAY
    events: list[Any] = [
        ActionExecuted("action_session_start", timestamp=first),
        SessionStarted(timestamp=first),
    ]
    for number, age in enumerate(ages_in_days):
        when = NOW - age * DAY
        events += [
            UserUttered(f"message {number}", timestamp=when),
            SlotSet("current_record", f"r{number}", timestamp=when),
        ]
    tracker = DialogueStateTracker.from_events(sender, events, store.domain.slots)
    asyncio.run(store.save(tracker))


def fill(store: Any) -> None:
    save_conversation(store, "old", [45, 44])
    save_conversation(store, "recent", [2, 1])
    # started long ago but the patient wrote again yesterday: its old messages go
    save_conversation(store, "came-back", [60, 1])
    save_conversation(store, "just-old", [31])


def stored(store: Any) -> dict[str, int]:
    """Each stored conversation and its number of events."""
    return {
        sender: len(asyncio.run(store.retrieve_full_tracker(sender)).events)
        for sender in sorted(asyncio.run(store.keys()))
    }


def test_prune_deletes_every_event_older_than_the_limit_even_in_a_live_conversation(
    tmp_path: Path,
) -> None:
    settings = settings_for(tmp_path, NEUROBOT_RETENTION_DAYS="30")
    write_endpoints(settings)
    store = rasa_store(settings)
    fill(store)
    assert stored(store) == {"came-back": 6, "just-old": 4, "old": 6, "recent": 6}
    assert prune(settings, now=NOW) == Pruned(conversations=2, events=14)
    # the conversation still going keeps its recent message and slot only
    assert stored(store) == {"came-back": 2, "recent": 6}
    from rasa.shared.core.events import UserUttered

    came_back = asyncio.run(store.retrieve("came-back"))
    assert [e.text for e in came_back.events if isinstance(e, UserUttered)] == ["message 1"]
    assert came_back.get_slot("current_record") == "r1"
    assert prune(settings, now=NOW) == Pruned(0, 0)


def test_prune_days_argument_and_zero_keeps_everything(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, NEUROBOT_RETENTION_DAYS="0")
    write_endpoints(settings)
    store = rasa_store(settings)
    fill(store)
    assert prune(settings, now=NOW) == Pruned(0, 0)  # 0: kept forever
    assert len(stored(store)) == 4
    assert prune(settings, days=50, now=NOW) == Pruned(0, 4)  # came-back's first message
    assert prune(settings, days=40, now=NOW) == Pruned(1, 6)
    assert sorted(stored(store)) == ["came-back", "just-old", "recent"]


def test_prune_without_a_database_creates_nothing(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    assert prune(settings, now=NOW) == Pruned(0, 0)
    assert not (tmp_path / "conversations.sqlite3").exists()
    write_endpoints(settings)  # an empty file, no events table yet
    assert prune(settings, now=NOW) == Pruned(0, 0)


def test_prune_on_sqlite_overwrites_what_it_deleted(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    write_endpoints(settings)
    store = rasa_store(settings)
    secret = "my-private-words-" + uuid.uuid4().hex
    save_conversation(store, "old", [45])
    from rasa.shared.core.events import UserUttered

    tracker = asyncio.run(store.retrieve("old"))
    tracker.update(UserUttered(secret, timestamp=NOW - 45 * DAY))
    asyncio.run(store.save(tracker))
    store.engine.dispose()
    assert secret.encode() in (tmp_path / "conversations.sqlite3").read_bytes()
    assert prune(settings, now=NOW) == Pruned(1, 5)
    assert secret.encode() not in (tmp_path / "conversations.sqlite3").read_bytes()


def test_bot_conversations_prune_prints_how_many_it_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings_for(tmp_path)
    write_endpoints(settings)
    store = rasa_store(settings)
    now = time.time()
    for sender, days in [("a", 45), ("b", 35), ("c", 3)]:
        save_conversation(store, sender, [days + (NOW - now) / DAY])
    monkeypatch.setenv("NEUROBOT_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("NEUROBOT_DATABASE_URL", raising=False)
    monkeypatch.setenv("NEUROBOT_RETENTION_DAYS", "30")
    assert bot_main(["conversations", "prune", "--days", "40"]) == 0
    database = tmp_path / "conversations.sqlite3"
    assert capsys.readouterr().out == (
        f"removed 4 events older than 40 days (1 conversation whole) from sqlite:///{database}\n"
    )
    assert bot_main(["conversations", "prune"]) == 0
    assert capsys.readouterr().out.startswith("removed 4 events older than 30 days")
    assert sorted(asyncio.run(store.keys())) == ["c"]
    with pytest.raises(SystemExit):
        bot_main(["conversations", "prune", "--days", "-1"])
    assert "--days must not be negative" in capsys.readouterr().err


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A fresh database on the test PostgreSQL server, dropped afterwards."""
    admin = sa.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    name = f"neurobot_h3_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.engine.make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def test_prune_on_postgresql(tmp_path: Path, postgres_database: str) -> None:
    settings = settings_for(tmp_path, NEUROBOT_DATABASE_URL=postgres_database)
    assert database_url(settings).get_backend_name() == "postgresql"
    store = rasa_store(settings)
    fill(store)
    assert prune(settings, now=NOW) == Pruned(2, 14)
    assert stored(store) == {"came-back": 2, "recent": 6}
    store.engine.dispose()


def test_an_unreachable_database_is_a_clear_error_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql://bot:hunter2@127.0.0.1:{free_port()}/neuro"
    settings = settings_for(tmp_path, NEUROBOT_DATABASE_URL=url)
    with pytest.raises(ServiceError) as raised:
        prune(settings)
    message = str(raised.value)
    assert message.startswith(
        "cannot prune the conversations in postgresql://bot:***@127.0.0.1:"
    ), message
    assert "hunter2" not in message


def test_the_default_file_lives_in_the_state_dir(tmp_path: Path) -> None:
    assert sqlite_path(settings_for(tmp_path)) == tmp_path / "conversations.sqlite3"


def test_forget_deletes_the_launchers_warm_up_conversations_only(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    store = rasa_store(settings)
    for sender in [
        "rest:neurobot-warmup-1a",
        "rest:neurobot-warmup-2b",
        "rest:patient",
        "a_b",
        "axb",
    ]:
        save_conversation(store, sender, [1])
    assert forget(settings, "rest:neurobot-warmup-") == 2
    # the prefix is matched literally: "_" is no wildcard
    assert forget(settings, "a_") == 1
    assert sorted(asyncio.run(store.keys())) == ["axb", "rest:patient"]


def test_the_launcher_prepares_the_store_and_applies_retention_before_start(
    tmp_path: Path,
) -> None:
    from bot.serving.launcher import (
        WARM_UP_CONVERSATION,
        prepare_conversations,
        rasa_server_command,
    )

    settings = settings_for(tmp_path, NEUROBOT_RETENTION_DAYS="30")
    store = rasa_store(settings)
    ages = (NOW - time.time()) / DAY  # ages before NOW of events as old as today
    save_conversation(store, "rest:old-patient", [40 + ages])
    save_conversation(store, "rest:patient", [1 + ages])
    save_conversation(store, WARM_UP_CONVERSATION + "0123", [ages])
    said: list[str] = []
    path = prepare_conversations(settings, said.append)
    database = tmp_path / "conversations.sqlite3"
    assert said == [
        f"conversations: SQLite file {database}; locks: in memory (one Rasa server)",
        "retention: removed 4 event(s) older than 30 days (1 conversation(s) whole) and 1 "
        "warm-up conversation(s)",
    ]
    assert sorted(asyncio.run(store.keys())) == ["rest:patient"]
    assert path == tmp_path / "endpoints.yml" and mode(path) == 0o600
    command = rasa_server_command(settings, endpoints=path)
    assert command[command.index("--endpoints") + 1] == str(path)


def test_the_launcher_starts_even_when_the_database_is_down(tmp_path: Path) -> None:
    from bot.serving.launcher import prepare_conversations

    url = f"postgresql://bot:hunter2@127.0.0.1:{free_port()}/neuro"
    said: list[str] = []
    prepare_conversations(settings_for(tmp_path, NEUROBOT_DATABASE_URL=url), said.append)
    assert said[1].startswith("retention not applied: cannot prune the conversations in ")
    assert not any("hunter2" in line for line in said)
