"""Where the Rasa server keeps conversations and locks, and how long conversations live.

The Rasa server (3.6) keeps each conversation as a list of events in a *tracker store*
and serialises the messages of one conversation with a *lock store*. Its defaults are
in memory: a restart loses every conversation and two Rasa servers cannot share one.
This module turns the settings into Rasa's own configuration:

- tracker store: Rasa's ``SQLTrackerStore`` (table ``events``) on the SQLite file
  ``<state_dir>/conversations.sqlite3`` (created owner-only, 0600), or on the database of
  ``NEUROBOT_DATABASE_URL`` (PostgreSQL);
- lock store: Rasa's ``RedisLockStore`` on ``NEUROBOT_REDIS_URL``; in memory when unset
  (right for one Rasa server only).

:func:`write_endpoints` writes the endpoints file the Rasa server is started with (it
holds the action server's token and the database password, so it is private too), and
:func:`prune` deletes the conversations whose last event is older than
``NEUROBOT_RETENTION_DAYS``, through SQLAlchemy on the same database (the launcher calls
it before the servers start; ``bot conversations prune`` runs it by hand).

Plain Python: SQLAlchemy, no Rasa import.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa
import yaml
from sqlalchemy.exc import SQLAlchemyError

from bot.database import (
    EVENTS_TABLE,
    database_url,
    prepare_sqlite,
    shown,
)
from bot.errors import ConfigError, ServiceError
from bot.secrets import actions_token, write_private
from bot.settings import Settings, load_settings

log = logging.getLogger(__name__)

#: The endpoints file written for the Rasa server, in the state dir.
ENDPOINTS_FILE = "endpoints.yml"
#: Senders deleted per statement (keeps the IN list well under every database's limit).
DELETE_BATCH = 500
#: Seconds the Rasa server and a prune wait for PostgreSQL to accept a connection.
CONNECT_TIMEOUT = 5
#: The tracker store class the endpoints name: Rasa's SQLTrackerStore that tells the
#: guard when it cannot read or write (addons/stores.py), a string: bot/ imports no Rasa.
TRACKER_STORE_TYPE = "addons.stores.GuardedSQLTrackerStore"
REDIS_SCHEMES = ("redis", "rediss")
DAY = 86_400.0

T = TypeVar("T")


def tracker_store_config(settings: Settings) -> dict[str, Any]:
    """The ``tracker_store`` section of the Rasa server's endpoints (its SQLTrackerStore).

    Rasa passes ``url`` as the database host and every other key to
    ``SQLTrackerStore(dialect, host, port, db, username, password, query)``.
    """
    url = database_url(settings)
    if url.get_backend_name() == "sqlite":
        return {"type": TRACKER_STORE_TYPE, "dialect": "sqlite", "db": url.database}
    config: dict[str, Any] = {
        "type": TRACKER_STORE_TYPE,
        "dialect": url.drivername,
        "url": url.host,
        "port": url.port,
        "db": url.database,
        "username": url.username,
        "password": url.password,
        # the Rasa server connects on its event loop: an unreachable host must fail in
        # seconds, not after the system's TCP timeout of minutes
        "query": {"connect_timeout": str(CONNECT_TIMEOUT), **url.query},
    }
    return {key: value for key, value in config.items() if value is not None}


def lock_store_config(settings: Settings) -> dict[str, Any] | None:
    """The ``lock_store`` section (Rasa's RedisLockStore), or None for in-memory locks.

    ``redis://[[user]:password@]host[:port][/db]``; ``rediss://`` connects with TLS.

    Raises:
        ConfigError: ``NEUROBOT_REDIS_URL`` is not a Redis URL.
    """
    if not settings.redis_url:
        return None
    parts = urlsplit(settings.redis_url)
    try:
        port = parts.port or 6379
        db = int(parts.path.strip("/") or 0)
    except ValueError:
        raise ConfigError(
            "NEUROBOT_REDIS_URL must look like redis://host:6379/0 (a number for port and db)"
        ) from None
    if parts.scheme not in REDIS_SCHEMES or not parts.hostname:
        raise ConfigError("NEUROBOT_REDIS_URL must look like redis://host:6379/0")
    config: dict[str, Any] = {"type": "redis", "url": parts.hostname, "port": port, "db": db}
    if parts.username:
        config["username"] = unquote(parts.username)
    if parts.password:
        config["password"] = unquote(parts.password)
    if parts.scheme == "rediss":
        config["use_ssl"] = True
    return config


def endpoints_config(settings: Settings) -> dict[str, Any]:
    """Everything the Rasa server's endpoints file holds: the action server (with its
    token), the tracker store and, when configured, the lock store."""
    config: dict[str, Any] = {
        "action_endpoint": {
            "url": settings.actions_url,
            "headers": {"Authorization": f"Bearer {actions_token(settings)}"},
        },
        "tracker_store": tracker_store_config(settings),
    }
    lock_store = lock_store_config(settings)
    if lock_store is not None:
        config["lock_store"] = lock_store
    return config


def write_endpoints(settings: Settings, path: Path | None = None) -> Path:
    """Write the Rasa server's endpoints file (private: token and password inside).

    With the default SQLite store, its file is created owner-only first.

    Args:
        settings: The deployment's settings.
        path: Where to write it (default ``<state_dir>/endpoints.yml``).

    Returns:
        The file written.

    Raises:
        ConfigError: A store URL is unusable, or the file cannot be written.
    """
    target = path or settings.state_dir / ENDPOINTS_FILE
    config = endpoints_config(settings)
    url = database_url(settings)
    if url.get_backend_name() == "sqlite" and url.database:
        try:
            prepare_sqlite(Path(url.database))
        except OSError as exc:
            raise ConfigError(f"cannot create {url.database}: {exc}") from exc
    header = (
        "# Written by the launcher from the NEUROBOT_* settings (bot/serving/store.py);\n"
        "# private: it holds the action server's token and the database password.\n"
    )
    write_private(target, header + yaml.safe_dump(config, sort_keys=False))
    return target


def describe(settings: Settings) -> str:
    """One line saying where conversations and locks are kept (no password)."""
    url = database_url(settings)
    locks = lock_store_config(settings)
    where = (
        f"SQLite file {url.database}"
        if url.get_backend_name() == "sqlite"
        else f"PostgreSQL {shown(url)}"
    )
    lock = (
        "in memory (one Rasa server)"
        if locks is None
        else f"Redis {locks['url']}:{locks['port']}/{locks['db']}"
    )
    return f"conversations: {where}; locks: {lock}"


def _error_text(exc: SQLAlchemyError) -> str:
    # The driver's own message (e.g. "connection refused"); SQLAlchemy's str() would add
    # the statement's parameters, which are conversation ids.
    original = getattr(exc, "orig", None)
    text = str(original) if original is not None else type(exc).__name__
    return text.strip().splitlines()[0][:200] if text.strip() else type(exc).__name__


def _deleting(
    settings: Settings, work: Callable[[sa.engine.Connection, sa.Table], T], nothing: T
) -> T:
    """Run ``work`` on the ``events`` table in one transaction, deleted pages overwritten
    on SQLite; ``nothing`` when no conversation was ever stored (no file is created).

    Raises:
        ServiceError: The database cannot be reached or written; nothing was deleted.
    """
    url = database_url(settings)
    sqlite = url.get_backend_name() == "sqlite"
    if sqlite and not (url.database and Path(url.database).is_file()):
        return nothing
    connect_args = {} if sqlite else {"connect_timeout": CONNECT_TIMEOUT}
    engine = sa.create_engine(url, connect_args=connect_args)
    try:
        with engine.begin() as connection:
            if not sa.inspect(connection).has_table(EVENTS_TABLE):
                return nothing
            events = sa.Table(EVENTS_TABLE, sa.MetaData(), autoload_with=connection)
            if sqlite:
                connection.exec_driver_sql("PRAGMA secure_delete = ON")
            return work(connection, events)
    except SQLAlchemyError as exc:
        raise ServiceError(
            f"cannot prune the conversations in {shown(url)}: {_error_text(exc)}"
        ) from None
    finally:
        engine.dispose()


def _delete(settings: Settings, stale_senders: Any) -> int:
    """Delete every event of the senders ``stale_senders(events)`` selects; how many."""

    def work(connection: sa.engine.Connection, events: sa.Table) -> int:
        senders = [row[0] for row in connection.execute(stale_senders(events))]
        for start in range(0, len(senders), DELETE_BATCH):
            batch = senders[start : start + DELETE_BATCH]
            connection.execute(events.delete().where(events.c.sender_id.in_(batch)))
        return len(senders)

    return _deleting(settings, work, 0)


def forget(settings: Settings, prefix: str) -> int:
    """Delete the conversations whose sender id starts with ``prefix`` (the launcher's
    own warm-up conversations, never a patient's), whatever their age.

    Returns:
        How many conversations were deleted.

    Raises:
        ConfigError: ``NEUROBOT_DATABASE_URL`` is unusable.
        ServiceError: The database cannot be reached or read; nothing was deleted.
    """
    return _delete(
        settings,
        lambda events: (
            sa.select(events.c.sender_id)
            .where(events.c.sender_id.startswith(prefix, autoescape=True))
            .distinct()
        ),
    )


@dataclass(frozen=True)
class Pruned:
    """What a retention run deleted.

    Attributes:
        conversations: Conversations deleted whole (every event older than the limit).
        events: Events deleted in all, those of conversations still going included.
    """

    conversations: int
    events: int


def prune(settings: Settings, days: int | None = None, now: float | None = None) -> Pruned:
    """Delete every event older than ``days`` days, inside live conversations too.

    What a patient wrote 40 days ago is deleted after 30 days even when the patient
    wrote again yesterday: the retention is per message, not per conversation. On
    SQLite the freed pages are overwritten (``secure_delete``).

    Args:
        settings: Where the conversations are (:func:`database_url`).
        days: Age limit in days; None: ``settings.retention_days``; 0 keeps everything.
        now: The current time in seconds since the epoch (tests pass one).

    Returns:
        How many conversations were deleted whole, and how many events in all.

    Raises:
        ConfigError: ``NEUROBOT_DATABASE_URL`` is unusable.
        ServiceError: The database cannot be reached or read; nothing was deleted.
    """
    limit = settings.retention_days if days is None else days
    if limit <= 0:
        return Pruned(0, 0)
    cutoff = (time.time() if now is None else now) - limit * DAY

    def work(connection: sa.engine.Connection, events: sa.Table) -> Pruned:
        whole = sa.select(events.c.sender_id).group_by(events.c.sender_id)
        whole = whole.having(sa.func.max(events.c.timestamp) < cutoff)
        conversations = connection.execute(
            sa.select(sa.func.count()).select_from(whole.subquery())
        ).scalar_one()
        deleted = connection.execute(events.delete().where(events.c.timestamp < cutoff))
        return Pruned(int(conversations), int(deleted.rowcount or 0))

    return _deleting(settings, work, Pruned(0, 0))


def cmd_prune(args: argparse.Namespace) -> int:
    """``bot conversations prune``: delete old conversations and say how many."""
    settings = load_settings()
    days = settings.retention_days if args.days is None else args.days
    if days <= 0:
        print("retention is 0 days: conversations are kept forever; nothing removed")
        return 0
    removed = prune(settings, days)
    whole = removed.conversations
    print(
        f"removed {removed.events} event{'s' if removed.events != 1 else ''} older than "
        f"{days} day{'s' if days != 1 else ''} ({whole} conversation{'s' if whole != 1 else ''}"
        f" whole) from {shown(database_url(settings))}"
    )
    return 0


def _days(value: str) -> int:
    try:
        days = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--days must be a whole number, got {value!r}") from None
    if days < 0:
        raise argparse.ArgumentTypeError(f"--days must not be negative, got {value!r}")
    return days


def add_command(commands: Any) -> None:
    """Add ``bot conversations prune [--days N]`` to the ``bot`` command's subparsers."""
    conversations = commands.add_parser("conversations", help="stored conversations")
    subcommands = conversations.add_subparsers(dest="conversations_command", required=True)
    prune_parser = subcommands.add_parser(
        "prune", help="delete conversations older than NEUROBOT_RETENTION_DAYS"
    )
    prune_parser.add_argument(
        "--days", type=_days, help="age limit in days (default: NEUROBOT_RETENTION_DAYS)"
    )
    prune_parser.set_defaults(func=cmd_prune)
