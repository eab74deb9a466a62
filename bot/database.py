"""Where the conversations are stored: the database every part that reads them agrees on.

The Rasa server writes them (its tracker store, configured by :mod:`bot.serving.store`),
the launcher prunes them, the review queue reads them: each finds the database and its
``events`` table here, so that none of them has to import another.

Plain Python: SQLAlchemy, no Rasa import.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from bot.errors import ConfigError
from bot.settings import Settings

#: The conversations' SQLite file in the state dir, when NEUROBOT_DATABASE_URL is unset.
SQLITE_FILE = "conversations.sqlite3"
#: Rasa's SQLTrackerStore keeps every event of every conversation in this table.
EVENTS_TABLE = "events"
SQL_SCHEMES = ("postgresql", "sqlite")
#: Sender ids starting with this are the launcher's warm-up messages, never a patient's.
WARM_UP_SENDER = "neurobot-warmup-"


def sqlite_path(settings: Settings) -> Path:
    """The default conversations file: ``<state_dir>/conversations.sqlite3``."""
    return settings.state_dir / SQLITE_FILE


def database_url(settings: Settings) -> URL:
    """The conversations' database as a SQLAlchemy URL.

    Raises:
        ConfigError: ``NEUROBOT_DATABASE_URL`` is not a PostgreSQL or SQLite URL.
    """
    if not settings.database_url:
        return URL.create("sqlite", database=str(sqlite_path(settings)))
    try:
        url = make_url(settings.database_url)
    except ArgumentError:
        raise ConfigError(
            "NEUROBOT_DATABASE_URL is not a database URL "
            "(expected postgresql://user:password@host:5432/database)"
        ) from None
    if url.get_backend_name() not in SQL_SCHEMES:
        raise ConfigError(
            f"NEUROBOT_DATABASE_URL must be a postgresql:// or sqlite:/// URL, "
            f"not {url.get_backend_name()}://"
        )
    if not url.database:
        raise ConfigError("NEUROBOT_DATABASE_URL names no database (…/database at its end)")
    return url


def shown(url: URL) -> str:
    """A database URL as logs may show it: the password replaced by ``***``."""
    return url.render_as_string(hide_password=True)


def prepare_sqlite(path: Path) -> None:
    """Create the SQLite file owner-only (0600) before Rasa opens it; tighten an older
    file to 0600. SQLite gives its journal files the mode of the database file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(descriptor)
    os.chmod(path, 0o600)
