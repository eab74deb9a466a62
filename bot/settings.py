"""One frozen settings object, read from the environment and ``.env``."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values
from limits import parse

from bot.errors import ConfigError

PREFIX = "NEUROBOT_"
PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: Every setting's default, as its ``NEUROBOT_*`` variable would give it: the one place a
#: default is written (:func:`load_settings` fills what the environment leaves out).
DEFAULTS: dict[str, str] = {
    "DB": "var/archive.sqlite3",
    "ARCHIVE": "data/archive",
    "RASA_PORT": "5005",
    "ACTIONS_PORT": "5055",
    "ACTIONS_URL": "",
    "DENSE": "on",
    "ENCODER": "minilm",
    "MAX_SIMILAR": "3",
    "EXCERPT_CHARS": "420",
    "EMERGENCY_NUMBER": "112",
    "CRISIS_LINE": "116 123",
    "REPLY_TIMEOUT": "2.5",
    "MAX_MESSAGE_CHARS": "2000",
    "LOG_LEVEL": "INFO",
    "HOST": "127.0.0.1",
    "ALLOWED_ORIGINS": "",
    "REST_TOKEN": "",
    "ACTIONS_TOKEN": "",
    "SESSION_SECRET": "",
    "STATE_DIR": "var",
    "MAX_WRONG": "0.05",
    "RETENTION_DAYS": "30",
    "DATABASE_URL": "",
    "REDIS_URL": "",
    "ACTION_WORKERS": "4",
    "REVIEW_TOKEN": "",
    "CLUSTER_PORT": "8080",
    "RATE_MESSAGES": "20/minute",
    "RATE_ADDRESS": "300/minute",
    "RATE_REFUSED": "10/minute",
    "RATE_SIGN_IN": "5 per 15 minutes",
    "SESSION_IDLE_MINUTES": "60",
    "SCOPE": "neurology",
}

#: Configured secrets (tokens, signing keys) must be at least this long; the generated
#: ones are 43 characters.
MIN_SECRET_CHARS = 24
#: ... and use at least this many different characters ("aaaa..." is refused).
MIN_SECRET_SYMBOLS = 10
#: Sentence models ``NEUROBOT_ENCODER`` may name (``bot.search.embedding.MODELS``).
ENCODERS = ("minilm", "mpnet")
#: What an archive covers (``NEUROBOT_SCOPE``, :mod:`bot.search.scope`): neurology, or any
#: health question.
SCOPES = ("neurology", "any")
SECRETS = ("REST_TOKEN", "ACTIONS_TOKEN", "SESSION_SECRET", "REVIEW_TOKEN")
RATES = ("RATE_MESSAGES", "RATE_ADDRESS", "RATE_REFUSED", "RATE_SIGN_IN")


@dataclass(frozen=True)
class Settings:
    """Runtime configuration; every field maps to a ``NEUROBOT_*`` variable.

    Attributes:
        db_path: The SQLite archive index (``NEUROBOT_DB``).
        archive_paths: Files or folders imported by ``make run`` (``NEUROBOT_ARCHIVE``,
            separated by commas).
        rasa_port: Port of the Rasa server (``NEUROBOT_RASA_PORT``).
        actions_port: Port of the action server (``NEUROBOT_ACTIONS_PORT``).
        actions_url: Webhook URL of the action server; built from the host and port when
            empty.
        dense: Re-rank search candidates with sentence embeddings (``NEUROBOT_DENSE``,
            ``on`` or ``off``); the index must be rebuilt after a change.
        encoder: The sentence model, one of :data:`ENCODERS` (``NEUROBOT_ENCODER``;
            ``mpnet`` needs ``python -m bot.search.embedding fetch-models``, then a new index).
        max_similar: How many similar questions an answer lists.
        excerpt_chars: Length of the reply excerpt in an answer.
        emergency_number: Emergency phone number told to patients.
        crisis_line: Crisis line told to patients who mention self-harm.
        reply_timeout: Seconds the Rasa server waits for an answer before it sends the
            fallback reply (kept under Slack's 3-second retry).
        max_message_chars: Longest patient message processed; a longer one is refused
            politely, after the red-flag check (``NEUROBOT_MAX_MESSAGE_CHARS``).
        log_level: Log level of both servers.
        host: Interface both servers listen on (``NEUROBOT_HOST``; 127.0.0.1: only this
            machine; set 0.0.0.0 only behind a TLS reverse proxy).
        allowed_origins: Web origins allowed to use the web chat and CORS
            (``NEUROBOT_ALLOWED_ORIGINS``, comma-separated; empty: the server's own).
        rest_token: Bearer token of the REST channel as configured
            (``NEUROBOT_REST_TOKEN``; empty: generated once, see :mod:`bot.secrets`).
        actions_token: Shared secret between the Rasa server and the action server as
            configured (``NEUROBOT_ACTIONS_TOKEN``; empty: generated once).
        session_secret: Key that signs the web chat's session ids as configured
            (``NEUROBOT_SESSION_SECRET``; empty: generated once).
        state_dir: Where generated secrets and other runtime files live
            (``NEUROBOT_STATE_DIR``, default ``var/``).
        max_wrong: Target share of shown answers that may be the wrong record
            (``NEUROBOT_MAX_WRONG``, in (0, 1)); the match decision picks its probability
            cut-off from it.
        retention_days: Conversations older than this many days are deleted
            (``NEUROBOT_RETENTION_DAYS``; 0 keeps them forever).
        database_url: SQLAlchemy URL of the tracker store (``NEUROBOT_DATABASE_URL``;
            empty: SQLite under ``state_dir``).
        redis_url: Redis URL of the lock store (``NEUROBOT_REDIS_URL``; empty: locks in
            memory, one Rasa server only).
        action_workers: Threads of the action server that run searches off its event
            loop (``NEUROBOT_ACTION_WORKERS``).
        review_token: Credential of the operator's review page (``NEUROBOT_REVIEW_TOKEN``;
            empty: generated once).
        cluster_port: Public port of the cluster profile's nginx (``NEUROBOT_CLUSTER_PORT``,
            ``make cluster``).
        rate_messages: Most messages of one conversation in a moving window
            (``NEUROBOT_RATE_MESSAGES``, e.g. ``20/minute``; see :mod:`bot.guard.ratelimit`).
        rate_address: Most web chat messages and new sessions from one address.
        rate_refused: Most REST requests refused for their token, from one address.
        rate_sign_in: Most review page sign-in attempts from one address.
        session_idle_minutes: A web chat session id idle this long is replaced by a new
            one: the patient starts a new conversation (``NEUROBOT_SESSION_IDLE_MINUTES``).
        scope: What the archive covers, one of :data:`SCOPES` (``NEUROBOT_SCOPE``): in a
            ``neurology`` archive a message that names nothing of neurology is answered
            only by a record that means nearly the same (:mod:`bot.search.scope`).
    """

    db_path: Path
    archive_paths: tuple[Path, ...]
    rasa_port: int
    actions_port: int
    actions_url: str
    dense: bool
    max_similar: int
    excerpt_chars: int
    emergency_number: str
    crisis_line: str
    reply_timeout: float
    max_message_chars: int
    log_level: str
    host: str
    allowed_origins: tuple[str, ...]
    rest_token: str
    actions_token: str
    session_secret: str
    state_dir: Path
    max_wrong: float
    retention_days: int
    database_url: str
    redis_url: str
    action_workers: int
    review_token: str
    cluster_port: int
    rate_messages: str
    rate_address: str
    rate_refused: str
    rate_sign_in: str
    session_idle_minutes: float
    encoder: str
    scope: str

    @property
    def local_host(self) -> str:
        """Where this machine reaches the servers, for a URL: ``host``, or loopback when
        ``host`` is every interface."""
        return local_host(self.host)

    @property
    def own_origins(self) -> tuple[str, ...]:
        """The Rasa server's own web origins (its port on loopback)."""
        return (f"http://127.0.0.1:{self.rasa_port}", f"http://localhost:{self.rasa_port}")

    @property
    def origins(self) -> tuple[str, ...]:
        """Origins allowed to call the servers from a browser."""
        return self.allowed_origins or self.own_origins


def local_host(host: str) -> str:
    """The address a local client uses for a server listening on ``host``, as a URL
    writes it (IPv6 in brackets)."""
    address = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"[{address}]" if ":" in address else address


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

_SWITCH = {"on": True, "off": False, "1": True, "0": False, "true": True, "false": False}


def _path(value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


def _number(raw: Mapping[str, str], key: str, kind: type[int] | type[float]) -> float:
    value = raw[key]
    try:
        number = kind(value)
    except ValueError:
        raise ConfigError(f"{PREFIX}{key} must be a number, got {value!r}") from None
    if number < 0:
        raise ConfigError(f"{PREFIX}{key} must not be negative, got {value!r}")
    return number


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build the settings.

    Args:
        env: Variables to read instead of the process environment and ``.env``
            (tests pass a dict). When None, ``.env`` in the project root is read and
            the real environment wins over it.

    Returns:
        The frozen settings.

    Raises:
        ConfigError: A value cannot be used; the message names the variable.
    """
    if env is None:
        merged: dict[str, str] = {
            k: v for k, v in dotenv_values(PROJECT_ROOT / ".env").items() if v is not None
        }
        merged.update(os.environ)
        env = merged
    raw = {key: env.get(PREFIX + key, "").strip() or default for key, default in DEFAULTS.items()}
    log_level = _choice(raw, "LOG_LEVEL", LOG_LEVELS)
    actions_port = int(_number(raw, "ACTIONS_PORT", int))
    max_wrong = _number(raw, "MAX_WRONG", float)
    if not 0 < max_wrong < 1:
        raise ConfigError(f"{PREFIX}MAX_WRONG must be between 0 and 1, got {raw['MAX_WRONG']!r}")
    for key in SECRETS:
        _check_secret(key, raw[key])
    for key in RATES:
        _check_rate(key, raw[key])
    dense = raw["DENSE"].lower()
    if dense not in _SWITCH:
        raise ConfigError(f"{PREFIX}DENSE must be on or off, got {raw['DENSE']!r}")
    encoder = _choice(raw, "ENCODER", ENCODERS)
    scope = _choice(raw, "SCOPE", SCOPES)
    return Settings(
        db_path=_path(raw["DB"]),
        archive_paths=tuple(_path(p.strip()) for p in raw["ARCHIVE"].split(",") if p.strip()),
        rasa_port=int(_number(raw, "RASA_PORT", int)),
        actions_port=actions_port,
        actions_url=raw["ACTIONS_URL"]
        or f"http://{local_host(raw['HOST'])}:{actions_port}/webhook",
        dense=_SWITCH[dense],
        max_similar=int(_number(raw, "MAX_SIMILAR", int)),
        excerpt_chars=int(_number(raw, "EXCERPT_CHARS", int)),
        emergency_number=raw["EMERGENCY_NUMBER"],
        crisis_line=raw["CRISIS_LINE"],
        reply_timeout=_number(raw, "REPLY_TIMEOUT", float),
        max_message_chars=max(1, int(_number(raw, "MAX_MESSAGE_CHARS", int))),
        log_level=log_level,
        host=raw["HOST"],
        allowed_origins=tuple(
            o.strip().rstrip("/") for o in raw["ALLOWED_ORIGINS"].split(",") if o.strip()
        ),
        rest_token=raw["REST_TOKEN"],
        actions_token=raw["ACTIONS_TOKEN"],
        session_secret=raw["SESSION_SECRET"],
        state_dir=_path(raw["STATE_DIR"]),
        max_wrong=max_wrong,
        retention_days=int(_number(raw, "RETENTION_DAYS", int)),
        database_url=raw["DATABASE_URL"],
        redis_url=raw["REDIS_URL"],
        action_workers=max(1, int(_number(raw, "ACTION_WORKERS", int))),
        review_token=raw["REVIEW_TOKEN"],
        cluster_port=int(_number(raw, "CLUSTER_PORT", int)),
        rate_messages=raw["RATE_MESSAGES"],
        rate_address=raw["RATE_ADDRESS"],
        rate_refused=raw["RATE_REFUSED"],
        rate_sign_in=raw["RATE_SIGN_IN"],
        session_idle_minutes=_number(raw, "SESSION_IDLE_MINUTES", float),
        encoder=encoder,
        scope=scope,
    )


def _choice(raw: Mapping[str, str], key: str, choices: Sequence[str]) -> str:
    """The one of ``choices`` a setting names, whatever its case.

    Raises:
        ConfigError: It names none; the message names the variable and the choices.
    """
    for choice in choices:
        if choice.casefold() == raw[key].casefold():
            return choice
    raise ConfigError(f"{PREFIX}{key} must be one of {', '.join(choices)}, got {raw[key]!r}")


def _check_secret(key: str, value: str) -> None:
    """A configured secret must be hard to guess; empty means "generate one"."""
    if not value:
        return
    if len(value) < MIN_SECRET_CHARS or len(set(value)) < MIN_SECRET_SYMBOLS:
        raise ConfigError(
            f"{PREFIX}{key} is too weak: use at least {MIN_SECRET_CHARS} characters with "
            f"at least {MIN_SECRET_SYMBOLS} different ones, for example the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`, or leave it "
            "empty to have one generated"
        )


def _check_rate(key: str, value: str) -> None:
    try:
        parse(value)
    except ValueError:
        raise ConfigError(
            f"{PREFIX}{key} must be a rate such as '20/minute' or '5 per 15 minutes', got {value!r}"
        ) from None
