"""The review queue: what patients asked that the archive could not answer well.

Three kinds of item are collected from the stored conversations:

* ``no-match``: a patient's question that got the honest no-match (``utter_no_match``);
* ``unhelpful``: an archive answer the patient marked "Not helpful" (the ``feedback``
  slot that ``action_record_feedback`` sets, with the record id shown);
* ``emergency``: a message that got the emergency or crisis message (kept apart: a
  doctor checks these for false alarms, they are not archive questions).

Each item has its time, the channel, the patient's question (redacted by
:mod:`bot.review.redact`: names, phone numbers, e-mail addresses, dates of birth), what the bot
answered and the feedback. :func:`counts` gives per day the answers, no-matches,
emergencies and helpful / not helpful ratings (the operator page plots them).

**Where the queue reads from.** The queue is read from the tracker store itself, Rasa's
``SQLTrackerStore`` table ``events`` (the SQLite file under the state dir, or PostgreSQL
from ``NEUROBOT_DATABASE_URL``; see :mod:`bot.serving.store`), with plain SQL, each time
it is asked for. We chose that over Rasa's event broker feeding a table of its own
because the tracker store already holds every event we need, durably and shared by every
Rasa replica: a broker would be one more component to run and keep in step (Rasa's SQL
broker writes a second copy of every event, patient text included), and it would only
see conversations from the day it was switched on. A second copy of the patients' words
would also outlive the retention period unless pruned separately; read from the tracker
store, the queue forgets a conversation when ``bot conversations prune`` does (export
what should be kept for a doctor first). What the queue adds is small and holds no
patient text: the table ``review_done`` (item ids marked done, and when) in the same
database, so every replica's operator page agrees. An item is also done once its
exported record (id ``review-<item id>``) is in the archive index, that is once a
doctor's reply to it has been imported.

**Reading a page, not everything.** ``bot review list``, ``counts`` and ``export`` read
every conversation (:func:`read_queue`). The operator page reads one page
(:func:`read_page`, :data:`PAGE_SIZE` items, newest first, keyset paging on the event's
time and id): SQL finds the page's outcome events (a bot message with the no-match or
emergency response, a "Not helpful" rating), then only those conversations' events are
read to build the items, and only the items shown are redacted. The day counts are SQL
aggregates (:func:`read_counts`). For that, the first paged read creates two indexes on
``events`` when they are missing (:data:`INDEXES`: ``(type_name, timestamp, id)`` and
``(action_name, timestamp, id)``, with ``CREATE INDEX IF NOT EXISTS``: a few seconds
once on a large store, during which SQLite holds writes back; a database user without
the right to create them only makes the page slower). A second small table,
:data:`SIGNED_OUT_TABLE`, keeps the operator page's signed-out sessions until their
cookie would have expired anyway, so that sign-out holds on every replica.

**Stored text that cannot be encoded.** A message stored before the channels cleaned
their input may hold a lone UTF-16 surrogate; every event is decoded through
:func:`decode_event`, which replaces such characters by U+FFFD, so no reader (page,
list, JSON, export) ever meets one.

Plain Python: SQLAlchemy and the ``events`` schema, no Rasa import.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import heapq
import itertools
import json
import logging
import math
import re
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from bot import names
from bot.database import EVENTS_TABLE, WARM_UP_SENDER, database_url, prepare_sqlite, shown
from bot.errors import BotError, ConfigError, ServiceError
from bot.review.redact import redact
from bot.safety.session import is_payload
from bot.secrets import load_or_create, write_private
from bot.settings import Settings, load_settings

logger = logging.getLogger(__name__)

KINDS = ("no-match", "unhelpful", "emergency")
#: Kinds a doctor answers with an archive reply (``bot review export``).
EXPORTED_KINDS = ("no-match", "unhelpful")
#: The table of items marked done (item id, time), beside ``events``.
DONE_TABLE = "review_done"
#: Archive record ids of exported items: ``review-<item id>``.
RECORD_PREFIX = "review-"
#: How many of the patient's messages before an outcome make up the question (the search
#: reads the last three descriptive messages too).
QUESTION_MESSAGES = 3
#: Seconds of conversation before ``--since`` still read, for the question of an item.
SINCE_MARGIN = 3600.0
#: Items on one page of the operator page.
PAGE_SIZE = 50
#: The indexes the paged reads need on ``events``, created at the first paged read:
#: bot messages by type and time, ratings by the slot's name (``action_name``) and time.
EVENTS_INDEX = "ix_events_review_type_time"
ACTION_INDEX = "ix_events_review_action_time"
INDEXES = {EVENTS_INDEX: "type_name, timestamp, id", ACTION_INDEX: "action_name, timestamp, id"}
#: The table of signed-out operator sessions (nonce, expiry), beside ``events``.
SIGNED_OUT_TABLE = "review_signed_out"
DAY = 86_400.0

NO_MATCH = names.UTTER_NO_MATCH
#: The close questions offered to choose from, and the card of the one chosen.
OFFER = names.UTTER_CLOSE_QUESTIONS
CHOSEN = names.UTTER_CHOSEN_ANSWER
#: The slot that holds the records of the last offer (set by the offer, emptied by a
#: choice or "None of these").
OFFERED_SLOT = names.SLOT_OFFERED
ANSWERS = (names.UTTER_ARCHIVE_ANSWER, names.UTTER_SIMILAR_ANSWER, CHOSEN)
EMERGENCIES = (names.UTTER_EMERGENCY, names.UTTER_SELF_HARM)
FEEDBACK_SLOT = names.SLOT_FEEDBACK
#: What the bot answered, in the operator's words, by response.
ANSWERED = {
    NO_MATCH: "the honest no-match",
    names.UTTER_EMERGENCY: "the emergency message",
    names.UTTER_SELF_HARM: "the crisis message",
    names.UTTER_ARCHIVE_ANSWER: "an archive answer",
    names.UTTER_SIMILAR_ANSWER: "a similar archived question",
    CHOSEN: "the archived question the patient chose",
    OFFER: "close questions to choose from",
}


def _bot(*responses: str) -> tuple[str, str | None, tuple[str, ...]]:
    return ("bot", None, tuple(f'%"utter_action": "{r}"%' for r in responses))


def _rating(rating: str) -> tuple[str, str | None, tuple[str, ...]]:
    return ("slot", FEEDBACK_SLOT, (f'%"rating": "{rating}"%',))


#: How SQL finds the event that makes an item of each kind: its ``type_name``, its
#: ``action_name`` (a slot event stores the slot's name there) and patterns of which its
#: JSON matches one. A superset: reading the conversation decides (:func:`_scan`).
OUTCOMES = {
    "no-match": _bot(NO_MATCH),
    "unhelpful": _rating("unhelpful"),
    "emergency": _bot(*EMERGENCIES),
}
#: What each field of :class:`DayCounts` counts, in the same terms.
COUNTED = {
    "answers": _bot(names.UTTER_ARCHIVE_ANSWER),
    "no_matches": OUTCOMES["no-match"],
    "emergencies": OUTCOMES["emergency"],
    "helpful": _rating("helpful"),
    "unhelpful": OUTCOMES["unhelpful"],
    "offers": _bot(OFFER),
    "choices": _bot(CHOSEN),
}
#: A day number (days since the epoch, UTC) of ``timestamp``, per database.
DAY_NUMBER = {
    "sqlite": "CAST(timestamp / 86400 AS INTEGER)",
    "postgresql": "CAST(FLOOR(timestamp / 86400) AS INTEGER)",
}
#: The events the queue reads (:func:`_scan`).
SCANNED_TYPES = ("user", "bot", "slot", "session_started", "restart")
_SURROGATES = re.compile("[\ud800-\udfff]")


class UnknownItemError(BotError):
    """Ids that are not items of the review queue."""


@dataclass(frozen=True)
class Item:
    """One entry of the review queue.

    Attributes:
        id: Stable id (the number of the event that made it an item).
        kind: One of :data:`KINDS`.
        time: When it happened, seconds since the epoch.
        channel: The channel the patient wrote on (``rest``, ``socketio``, ``twilio`` ...).
        question: The patient's messages before the bot's reply, redacted.
        response: The response the bot answered with (``utter_no_match`` ...).
        record_id: The archive record shown, for an answer.
        record_title: Its title.
        attribution: Who replied, as the answer showed it.
        feedback: The patient's rating of the answer (``unhelpful``), when given.
        offered: For a no-match after close questions were offered: the records the
            patient was offered and answered "None of these" to (the archive's near
            misses for this question).
        done: Marked done by an operator, or answered by an imported record.
    """

    id: str
    kind: str
    time: float
    channel: str
    question: str
    response: str
    record_id: str | None = None
    record_title: str | None = None
    attribution: str | None = None
    feedback: str | None = None
    offered: tuple[str, ...] = ()
    done: bool = False

    @property
    def answered(self) -> str:
        """What the bot answered, in words."""
        said = ANSWERED.get(self.response, self.response)
        if self.offered:
            return f"{said}, after “None of these” to {', '.join(self.offered)}"
        if self.record_id:
            return f"{said}: {self.record_id} “{self.record_title or ''}” ({self.attribution})"
        return said

    @property
    def when(self) -> str:
        """The time as ISO 8601, UTC, to the second."""
        return iso(self.time)

    def to_dict(self) -> dict[str, Any]:
        """The item as a JSON-ready dict (with ``when`` and ``answered``)."""
        return {**asdict(self), "when": self.when, "answered": self.answered}


@dataclass
class DayCounts:
    """What happened on one day (UTC)."""

    day: str
    answers: int = 0
    no_matches: int = 0
    emergencies: int = 0
    helpful: int = 0
    unhelpful: int = 0
    offers: int = 0
    choices: int = 0


@dataclass(frozen=True)
class Queue:
    """The queue's items (oldest first) and the counts per day (oldest first)."""

    items: tuple[Item, ...]
    days: tuple[DayCounts, ...]
    scanned: int = 0


@dataclass(frozen=True)
class Page:
    """One page of the queue as the operator page shows it.

    Attributes:
        items: The page's items, newest first.
        older: The cursor (``before``) of the next older page; None on the last page.
        newer: The cursor (``after``) of the next newer page; None on the newest page.
    """

    items: tuple[Item, ...]
    older: str | None = None
    newer: str | None = None


def iso(seconds: float) -> str:
    """Seconds since the epoch as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_since(value: str) -> float:
    """A ``--since`` value (``YYYY-MM-DD`` or an ISO 8601 time, UTC when no zone is
    given) as seconds since the epoch.

    Raises:
        ValueError: It is not a date.
    """
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a date: {value!r} (use YYYY-MM-DD)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.timestamp()


def parse_day(value: str) -> float:
    """A day ``YYYY-MM-DD`` (UTC) as the seconds since the epoch of its start.

    Raises:
        ValueError: It is not a day.
    """
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"not a day: {value!r} (use YYYY-MM-DD)") from None
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp()


def cursor(item: Item) -> str:
    """Where a page starts or ends: the item's time and id (``<time>_<id>``)."""
    return f"{item.time!r}_{item.id}"


def parse_cursor(value: str) -> tuple[float, int]:
    """A :func:`cursor` as (time, event id).

    Raises:
        ValueError: It is not a cursor.
    """
    moment, _, event_id = value.rpartition("_")
    try:
        at, number = float(moment), int(event_id)
    except ValueError:
        raise ValueError(f"not a page cursor: {value[:40]!r}") from None
    if not math.isfinite(at) or number < 0:
        raise ValueError(f"not a page cursor: {value[:40]!r}")
    return at, number


def clean(text: str) -> str:
    """``text`` with every lone UTF-16 surrogate (which no encoder accepts) replaced by
    U+FFFD."""
    return _SURROGATES.sub("\ufffd", text)


def _cleaned(value: Any) -> Any:
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {clean(str(k)): _cleaned(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_cleaned(v) for v in value]
    return value


def decode_event(data: str) -> dict[str, Any]:
    """A stored event's JSON, every string in it encodable (see :func:`clean`)."""
    decoded = json.loads(data)
    if not isinstance(decoded, dict):
        return {}
    if "\\ud" not in data.lower() and not _SURROGATES.search(data):
        return decoded  # the common case: no surrogate can be in it
    return dict(_cleaned(decoded))


# ------------------------------------------------------------------ reading the events


@dataclass
class _Sender:
    """What one conversation has said so far while its events are read in order."""

    messages: list[str] = field(default_factory=list)  # raw user events since an outcome
    question: list[str] = field(default_factory=list)  # raw user events of the last outcome
    cards: list[tuple[str, list[str]]] = field(default_factory=list)  # raw card, question
    offered: tuple[str, ...] = ()  # the records of the last offer, until it is answered


def _engine(url: URL) -> sa.engine.Engine:
    sqlite = url.get_backend_name() == "sqlite"
    return sa.create_engine(url, connect_args={} if sqlite else {"connect_timeout": 10})


@contextlib.contextmanager
def _connected(
    url: URL, write: bool = False, indexes: bool = False
) -> Iterator[sa.engine.Connection]:
    """A connection to the conversations' database, in one transaction when ``write``;
    its errors raised as :class:`ServiceError` naming the database (no password).

    Args:
        url: The database.
        write: Commit what the block does (else a read).
        indexes: Create the queue's indexes first (:func:`_ensure_index`).
    """
    engine = _engine(url)
    try:
        if indexes:
            _ensure_index(engine, url)
        with engine.begin() if write else engine.connect() as connection:
            yield connection
    except SQLAlchemyError as exc:
        raise _failure(url, exc) from None
    finally:
        engine.dispose()


def _exists(url: URL) -> bool:
    """False for a SQLite file not created yet (nothing is stored; do not create it)."""
    return url.get_backend_name() != "sqlite" or bool(url.database and Path(url.database).is_file())


def _failure(url: URL, exc: SQLAlchemyError) -> ServiceError:
    original = getattr(exc, "orig", None)
    text = (str(original) if original is not None else type(exc).__name__).strip()
    reason = text.splitlines()[0][:200] if text else type(exc).__name__
    return ServiceError(f"cannot read the conversations in {shown(url)}: {reason}")


def _texts(raw_users: Iterable[str]) -> list[str]:
    """The typed texts (button payloads left out) of raw user events."""
    texts = []
    for raw in raw_users:
        text = (decode_event(raw).get("text") or "").strip()
        if text and not is_payload(text):
            texts.append(text)
    return texts


def _question(raw_users: Sequence[str]) -> str:
    return redact("\n".join(_texts(raw_users)[-QUESTION_MESSAGES:]))


def _channel(sender: str, raw_users: Sequence[str]) -> str:
    for raw in reversed(raw_users):
        channel = decode_event(raw).get("input_channel")
        if channel:
            return str(channel)
    prefix, colon, _ = sender.partition(":")
    return prefix if colon else "unknown"


def _utter_action(data: str) -> str | None:
    metadata = decode_event(data).get("metadata") or {}
    name = metadata.get("utter_action")
    return str(name) if name else None


def _not_warm_up() -> tuple[str, dict[str, Any]]:
    # the launcher's warm-up messages are not patients (over REST they are stored as
    # rest:neurobot-warmup-...)
    return "sender_id NOT LIKE :warm_up", {"warm_up": f"%{WARM_UP_SENDER}%"}


def _matching(
    outcome: tuple[str, str | None, tuple[str, ...]], name: str, params: dict[str, Any]
) -> str:
    """The SQL condition of one row of :data:`OUTCOMES` or :data:`COUNTED` (its values
    added to ``params`` under names starting with ``name``).

    A slot event is found by its ``action_name`` (the slot's name; no other event stores
    ``feedback`` there) through :data:`ACTION_INDEX`, any other by ``type_name`` through
    :data:`EVENTS_INDEX`: each query names the column of one index only."""
    type_name, action, patterns = outcome
    if action is not None:
        params[f"{name}_action"] = action
        parts = [f"action_name = :{name}_action"]
    else:
        params[f"{name}_type"] = type_name
        parts = [f"type_name = :{name}_type"]
    likes = []
    for n, pattern in enumerate(patterns):
        params[f"{name}_{n}"] = pattern
        likes.append(f"data LIKE :{name}_{n}")
    parts.append("(" + " OR ".join(likes) + ")")
    return "(" + " AND ".join(parts) + ")"


def read_queue(url: URL, since: float | None = None) -> Queue:
    """Build the queue and the day counts from the ``events`` table at ``url``, reading
    every conversation (the command line; the operator page reads :func:`read_page`).

    Args:
        url: The tracker store's database (SQLAlchemy URL).
        since: Only items and counts from this time on (seconds since the epoch).

    Returns:
        Every item (done or not) and the counts per day.

    Raises:
        ServiceError: The database cannot be reached or read.
    """
    if not _exists(url):
        return Queue((), ())
    items: list[Item] = []
    scanned = [0]
    with _connected(url) as connection:
        inspector = sa.inspect(connection)
        if not inspector.has_table(EVENTS_TABLE):
            return Queue((), ())
        done = _done_ids(connection, inspector.has_table(DONE_TABLE))
        warm_up, params = _not_warm_up()
        query = (
            "SELECT id, sender_id, type_name, timestamp, data FROM events "
            f"WHERE type_name IN {SCANNED_TYPES}"
            f" AND {warm_up}"
            + (" AND timestamp >= :since" if since is not None else "")
            + " ORDER BY sender_id, id"
        )
        if since is not None:
            params["since"] = since - SINCE_MARGIN
        result = connection.execution_options(stream_results=True).execute(sa.text(query), params)
        items.extend(_scan(result, since, scanned))
        days = _count_days(connection, since)
    items = [replace(i, done=True) if i.id in done else i for i in items]
    items.sort(key=lambda i: (i.time, i.id))
    return Queue(tuple(items), days, scanned[0])


def _scan(
    rows: Iterable[Any],
    since: float | None,
    scanned: list[int],
    wanted: set[str] | None = None,
) -> Iterator[Item]:
    """Walk the events of each sender in order; yield the items (from ``since`` on,
    only those of ``wanted`` ids when given: the others are not built or redacted),
    count the events read in ``scanned[0]``."""
    sender = None
    state = _Sender()
    for event_id, sender_id, type_name, timestamp, data in rows:
        scanned[0] += 1
        if sender_id != sender:
            sender, state = sender_id, _Sender()
        if type_name == "user":
            state.messages.append(data)
            del state.messages[: -QUESTION_MESSAGES * 2]
            continue
        if type_name in ("session_started", "restart"):
            state = _Sender()
            continue
        counted = since is None or (timestamp or 0) >= since
        if wanted is not None and str(event_id) not in wanted:
            counted = False
        if type_name == "slot":
            if f'"{OFFERED_SLOT}"' in data:
                # the slot is emptied by the answer to the offer (after its reply's
                # events): the records are kept until that reply is read
                event = decode_event(data)
                value = event.get("value")
                if event.get("name") == OFFERED_SLOT and isinstance(value, list):
                    state.offered = tuple(str(v) for v in value) or state.offered
                continue
            if f'"{FEEDBACK_SLOT}"' not in data:
                continue
            event = decode_event(data)
            value = event.get("value")
            if event.get("name") != FEEDBACK_SLOT or not isinstance(value, dict):
                continue
            if value.get("rating") == "unhelpful" and counted:
                yield _unhelpful(str(event_id), sender_id, timestamp, state, value)
            continue
        # a bot message: cheap substring tests first, JSON only for the ones that count
        if not any(name in data for name in (NO_MATCH, *ANSWERS, *EMERGENCIES)):
            continue
        action = _utter_action(data)
        if action == NO_MATCH or action in EMERGENCIES:
            if counted:
                yield Item(
                    id=str(event_id),
                    kind="no-match" if action == NO_MATCH else "emergency",
                    time=float(timestamp or 0),
                    channel=_channel(sender_id, state.messages),
                    question=_question(state.messages),
                    response=action,
                    offered=state.offered if action == NO_MATCH else (),
                )
            state.question, state.messages = state.messages, []
            state.offered = ()
        elif action in ANSWERS:
            state.offered = ()
            if action == names.UTTER_ARCHIVE_ANSWER:
                state.question, state.messages = state.messages, []
            state.cards.append((data, state.question))
            del state.cards[:-10]


def _unhelpful(
    event_id: str, sender: str, timestamp: float, state: _Sender, value: dict[str, Any]
) -> Item:
    record_id = str(value.get("record_id") or "")
    metadata: dict[str, Any] = {}
    question: list[str] = state.question
    for raw, asked in reversed(state.cards):
        shown_metadata = decode_event(raw).get("metadata") or {}
        if shown_metadata.get("record_id") == record_id:
            metadata, question = shown_metadata, asked
            break
    return Item(
        id=event_id,
        kind="unhelpful",
        time=float(timestamp or 0),
        channel=_channel(sender, question or state.messages),
        question=_question(question),
        response=str(metadata.get("utter_action") or names.UTTER_ARCHIVE_ANSWER),
        record_id=record_id or None,
        record_title=metadata.get("title"),
        attribution=metadata.get("attribution"),
        feedback="unhelpful",
    )


def _count_days(
    connection: sa.engine.Connection, since: float | None = None
) -> tuple[DayCounts, ...]:
    """The counts per day from ``since`` on: SQL aggregates over the outcome events, one
    per kind of event (bot messages, ratings), each reading its rows once."""
    groups: dict[tuple[str, str | None], list[tuple[str, str]]] = {}
    for counted, (type_name, action, likes) in COUNTED.items():
        groups.setdefault((type_name, action), []).extend((p, counted) for p in likes)
    day = DAY_NUMBER.get(connection.dialect.name, DAY_NUMBER["postgresql"])
    counts: dict[int, DayCounts] = {}
    epoch = dt.date(1970, 1, 1)
    for (type_name, action), patterns in groups.items():
        warm_up, params = _not_warm_up()
        where = _matching((type_name, action, tuple(p for p, _ in patterns)), "g", params)
        which = " ".join(f"WHEN data LIKE :g_{n} THEN {n}" for n in range(len(patterns)))
        query = (
            f"SELECT {day} AS day_number, CASE {which} END AS what, COUNT(*) FROM events "
            f"WHERE {where} AND {warm_up}"
            + (" AND timestamp >= :since" if since is not None else "")
            + " GROUP BY 1, 2"
        )
        if since is not None:
            params["since"] = since
        for number, what, count in connection.execute(sa.text(query), params):
            key = int(number or 0)
            if key not in counts:
                counts[key] = DayCounts((epoch + dt.timedelta(days=key)).isoformat())
            field_name = patterns[int(what)][1]
            setattr(counts[key], field_name, getattr(counts[key], field_name) + int(count))
    return tuple(counts[key] for key in sorted(counts))


# ------------------------------------------------------------------ one page

_indexed: set[str] = set()


def _ensure_index(engine: sa.engine.Engine, url: URL) -> None:
    """Create :data:`INDEXES` once per database and process (see the module's
    docstring); a failure is logged once and the reads go on without them."""
    name = url.render_as_string(hide_password=True)
    if name in _indexed:
        return
    try:
        with engine.begin() as connection:
            if not sa.inspect(connection).has_table(EVENTS_TABLE):
                return  # nothing stored yet: at a later read
            for index, columns in INDEXES.items():
                connection.execute(
                    sa.text(f"CREATE INDEX IF NOT EXISTS {index} ON events ({columns})")
                )
    except SQLAlchemyError as exc:
        logger.warning("the review queue's indexes cannot be created: %s", type(exc).__name__)
    _indexed.add(name)


def _outcome_rows(
    connection: sa.engine.Connection,
    kinds: Sequence[str],
    start: tuple[float, int] | None,
    newer: bool,
    day: float | None,
) -> Iterator[tuple[float, int, str]]:
    """The outcome events of ``kinds`` as (time, id, sender), newest first (oldest first
    when ``newer``), after ``start``: keyset reads in growing chunks, one stream per
    event type, merged."""
    groups: dict[tuple[str, str | None], list[str]] = {}
    for kind in kinds:
        type_name, action, patterns = OUTCOMES[kind]
        groups.setdefault((type_name, action), []).extend(patterns)
    streams = [
        _outcome_stream(connection, (t, a, tuple(p)), start, newer, day)
        for (t, a), p in groups.items()
    ]
    return heapq.merge(*streams, key=lambda row: (row[0], row[1]), reverse=not newer)


def _outcome_stream(
    connection: sa.engine.Connection,
    outcome: tuple[str, str | None, tuple[str, ...]],
    start: tuple[float, int] | None,
    newer: bool,
    day: float | None,
) -> Iterator[tuple[float, int, str]]:
    warm_up, params = _not_warm_up()
    where = [_matching(outcome, "o", params), warm_up, "timestamp IS NOT NULL"]
    if day is not None:
        where.append("timestamp >= :day_start AND timestamp < :day_end")
        params.update(day_start=day, day_end=day + DAY)
    before, after, order = ("<", "<=", "DESC") if not newer else (">", ">=", "ASC")
    chunk = PAGE_SIZE + 1
    while True:
        keyset = []
        if start is not None:
            keyset = [f"timestamp {after} :at AND (timestamp {before} :at OR id {before} :key)"]
            params.update(at=start[0], key=start[1])
        query = (
            "SELECT timestamp, id, sender_id FROM events WHERE "
            + " AND ".join(where + keyset)
            + f" ORDER BY timestamp {order}, id {order} LIMIT {chunk}"
        )
        rows = [
            (float(t), int(i), str(s)) for t, i, s in connection.execute(sa.text(query), params)
        ]
        yield from rows
        if len(rows) < chunk:
            return
        start = rows[-1][:2]
        chunk = min(chunk * 4, 5000)


def _build(
    connection: sa.engine.Connection, outcomes: Sequence[tuple[float, int, str]]
) -> dict[str, Item]:
    """The items of these outcome events, from their conversations' events only."""
    if not outcomes:
        return {}
    # no condition on type_name: the database must search by sender (its index), not
    # by the type (the planner may take EVENTS_INDEX and read every event of a type)
    query = sa.text(
        "SELECT id, sender_id, type_name, timestamp, data FROM events "
        "WHERE sender_id IN :senders AND id <= :last ORDER BY sender_id, id"
    ).bindparams(sa.bindparam("senders", expanding=True))
    rows = connection.execute(
        query,
        {"senders": sorted({s for _, _, s in outcomes}), "last": max(i for _, i, _ in outcomes)},
    )
    read = (row for row in rows if row[2] in SCANNED_TYPES)
    wanted = {str(i) for _, i, _ in outcomes}
    return {item.id: item for item in _scan(read, None, [0], wanted)}


def _collect(
    connection: sa.engine.Connection,
    rows: Iterator[tuple[float, int, str]],
    count: int,
    skip: set[str],
) -> tuple[list[Item], bool]:
    """The first ``count`` items of the outcome ``rows`` whose ids are not in ``skip``,
    and whether another such outcome follows (not built: a page redacts only its own
    items)."""
    items: list[Item] = []
    waiting = (row for row in rows if str(row[1]) not in skip)
    while len(items) < count:
        batch = list(itertools.islice(waiting, count - len(items)))
        if not batch:
            return items, False
        built = _build(connection, batch)
        items.extend(built[str(i)] for _, i, _ in batch if str(i) in built)
    return items, next(waiting, None) is not None


def read_page(
    url: URL,
    kind: str | None = None,
    day: str | None = None,
    include_done: bool = False,
    before: str | None = None,
    after: str | None = None,
    answered: Iterable[str] = (),
    size: int = PAGE_SIZE,
) -> Page:
    """One page of the queue, newest first, reading only what the page shows.

    The first read creates the indexes :data:`INDEXES` on ``events`` when missing (see
    the module's docstring).

    Args:
        url: The tracker store's database.
        kind: One of :data:`KINDS`; None: every kind.
        day: Only this day (``YYYY-MM-DD``, UTC).
        include_done: Done items too.
        before: A :func:`cursor`: the page of items older than it.
        after: A :func:`cursor`: the page of items newer than it (the newest page when
            fewer than a page are newer).
        answered: Ids done because a doctor's reply to them was imported.
        size: Items on a page.

    Returns:
        The page's items with the cursors of the pages beside it.

    Raises:
        ValueError: ``day``, ``before`` or ``after`` is malformed.
        ServiceError: The database cannot be reached or read.
    """
    day_start = parse_day(day) if day else None
    older_than = parse_cursor(before) if before else None
    newer_than = parse_cursor(after) if after else None
    if not _exists(url):
        return Page(())
    kinds = [kind] if kind else list(KINDS)
    with _connected(url, indexes=True) as connection:
        inspector = sa.inspect(connection)
        if not inspector.has_table(EVENTS_TABLE):
            return Page(())
        done = _done_ids(connection, inspector.has_table(DONE_TABLE)) | set(answered)
        skip = set() if include_done else done
        if newer_than is not None:
            rows = _outcome_rows(connection, kinds, newer_than, True, day_start)
            items, more = _collect(connection, rows, size, skip)
            if more:
                shown = list(reversed(items))
                page = Page(tuple(shown), cursor(shown[-1]), cursor(shown[0]))
                return _marked(page, done)
            older_than = None  # no more than a page newer: the newest page
        rows = _outcome_rows(connection, kinds, older_than, False, day_start)
        items, more = _collect(connection, rows, size, skip)
    older = cursor(items[-1]) if more and items else None
    newer = None if older_than is None else (cursor(items[0]) if items else before)
    return _marked(Page(tuple(items), older, newer), done)


def _marked(page: Page, done: set[str]) -> Page:
    items = tuple(replace(i, done=True) if i.id in done else i for i in page.items)
    return replace(page, items=items)


def read_counts(url: URL, days: int | None = None) -> tuple[DayCounts, ...]:
    """The counts per day (oldest first) by one SQL aggregate.

    Args:
        url: The tracker store's database.
        days: Only the last ``days`` days up to the latest bot message or rating.

    Raises:
        ServiceError: The database cannot be reached or read.
    """
    if not _exists(url):
        return ()
    with _connected(url, indexes=True) as connection:
        if not sa.inspect(connection).has_table(EVENTS_TABLE):
            return ()
        since = None
        if days is not None:
            latest = connection.execute(
                sa.text(
                    "SELECT MAX(timestamp) FROM events WHERE type_name = 'bot' "
                    "UNION ALL SELECT MAX(timestamp) FROM events WHERE type_name = 'slot'"
                )
            ).all()
            last = max((float(t) for (t,) in latest if t is not None), default=None)
            if last is None:
                return ()
            since = (math.floor(last / DAY) - (days - 1)) * DAY
        return _count_days(connection, since)


def find_items(url: URL, item_ids: Iterable[str]) -> dict[str, Item]:
    """The items of these ids (ids that are no item are left out).

    Raises:
        ServiceError: The database cannot be reached or read.
    """
    numbers = sorted({int(i) for i in item_ids if i.isascii() and i.isdigit() and len(i) < 19})
    if not numbers or not _exists(url):
        return {}
    with _connected(url) as connection:
        if not sa.inspect(connection).has_table(EVENTS_TABLE):
            return {}
        query = sa.text("SELECT timestamp, id, sender_id FROM events WHERE id IN :ids").bindparams(
            sa.bindparam("ids", expanding=True)
        )
        outcomes = [
            (float(t or 0), int(i), str(s))
            for t, i, s in connection.execute(query, {"ids": numbers})
            if WARM_UP_SENDER not in str(s)
        ]
        return _build(connection, outcomes)


# ------------------------------------------------------------------ done marks


def _stamped_table(name: str, key: str, stamp: str) -> sa.Table:
    """A table of the queue's own beside the conversations: a short text key and a time."""
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column(key, sa.String(64), primary_key=True),
        sa.Column(stamp, sa.Float, nullable=False),
    )


def _done_table() -> sa.Table:
    return _stamped_table(DONE_TABLE, "item_id", "done_at")


def _done_ids(connection: sa.engine.Connection, present: bool) -> set[str]:
    if not present:
        return set()
    return {row[0] for row in connection.execute(sa.select(_done_table().c.item_id))}


def mark_done(url: URL, item_ids: Iterable[str], now: float | None = None) -> int:
    """Mark items done (kept in ``review_done`` beside the conversations).

    Only items of the queue can be marked: when one id is not an item, nothing is
    marked.

    Returns:
        How many ids were newly marked.

    Raises:
        UnknownItemError: Some ids are not items of the queue (they are named).
        ServiceError: The database cannot be read or written.
    """
    wanted = sorted({str(i).strip() for i in item_ids if str(i).strip()})
    if not wanted:
        return 0
    found = find_items(url, wanted)
    unknown = [i for i in wanted if i not in found]
    if unknown:
        named = ", ".join(clean(i)[:64] for i in unknown[:10])
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        raise UnknownItemError(
            f"not in the review queue: {named}{more} (see `bot review list --all`); "
            "nothing was marked"
        )
    table = _done_table()
    with _connected(url, write=True) as connection:
        table.create(connection, checkfirst=True)
        present = _done_ids(connection, True)
        new = [i for i in wanted if i not in present]
        if new:
            stamp = time.time() if now is None else now
            connection.execute(table.insert(), [{"item_id": i, "done_at": stamp} for i in new])
    return len(new)


# ------------------------------------------------------------------ signed-out sessions


def _signed_out_table() -> sa.Table:
    return _stamped_table(SIGNED_OUT_TABLE, "nonce", "expires")


def sign_out(url: URL, nonce: str, expires: float, now: float | None = None) -> None:
    """Keep a signed-out session's nonce until ``expires`` (when its cookie dies anyway),
    so that every replica refuses it; forget those past their expiry.

    Raises:
        ServiceError: The database cannot be written.
    """
    if url.get_backend_name() == "sqlite" and url.database and not _exists(url):
        prepare_sqlite(Path(url.database))  # owner-only, as the tracker store's file
    table = _signed_out_table()
    stamp = time.time() if now is None else now
    with _connected(url, write=True) as connection:
        table.create(connection, checkfirst=True)
        connection.execute(table.delete().where(table.c.expires < stamp))
        present = connection.execute(sa.select(table.c.nonce).where(table.c.nonce == nonce)).first()
        if present is None:
            connection.execute(table.insert(), [{"nonce": nonce, "expires": expires}])


def signed_out(url: URL, nonce: str) -> bool:
    """Whether the session of ``nonce`` was signed out (:func:`sign_out`).

    Raises:
        ServiceError: The database cannot be read.
    """
    if not _exists(url):
        return False
    table = _signed_out_table()
    with _connected(url) as connection:
        if not sa.inspect(connection).has_table(SIGNED_OUT_TABLE):
            return False
        query = sa.select(table.c.nonce).where(table.c.nonce == nonce)
        return connection.execute(query).first() is not None


def imported_ids(index_path: Path) -> set[str]:
    """Item ids whose exported record (``review-<id>``) is in the archive index."""
    if not index_path.is_file():
        return set()
    try:
        db = sqlite3.connect(f"file:{index_path}?mode=ro", uri=True)
        try:
            rows = db.execute(
                "SELECT id FROM records WHERE id LIKE ?", (RECORD_PREFIX + "%",)
            ).fetchall()
        finally:
            db.close()
    except sqlite3.Error:
        return set()  # no index yet, or not ours: nothing was imported
    return {row[0][len(RECORD_PREFIX) :] for row in rows}


def load_queue(settings: Settings, url: URL | None = None, since: float | None = None) -> Queue:
    """The queue of this deployment: items done when marked or answered by an import."""
    queue = read_queue(url or database_url(settings), since)
    answered = imported_ids(settings.db_path)
    if not answered:
        return queue
    items = tuple(
        replace(i, done=True) if i.id in answered and not i.done else i for i in queue.items
    )
    return Queue(items, queue.days, queue.scanned)


def load_page(settings: Settings, **filters: Any) -> Page:
    """One page of this deployment's queue (:func:`read_page` with ``filters``), items
    answered by an import done."""
    return read_page(database_url(settings), answered=imported_ids(settings.db_path), **filters)


def select(
    items: Iterable[Item], kind: str | None = None, include_done: bool = False
) -> list[Item]:
    """Items of one kind (None: every kind), open ones only unless ``include_done``."""
    return [i for i in items if (kind is None or i.kind == kind) and (include_done or not i.done)]


# ------------------------------------------------------------------ export


def export_line(item: Item) -> dict[str, Any]:
    """An item as an archive record for a doctor to fill in (JSON Lines, see
    :mod:`bot.archive.formats`): ``reply``, ``responder``, ``department``, ``source`` and
    ``reply_date`` are left empty. ``bot archive import`` refuses the line until
    ``reply`` and ``source`` are filled in; the ``review`` field (what happened) is
    ignored by the importer."""
    return {
        "id": RECORD_PREFIX + item.id,
        "title": "",
        "question": item.question,
        "reply": "",
        "responder": "",
        "department": "",
        "source": "",
        "reply_date": "",
        "asked_date": item.when[:10],
        "review": {
            "kind": item.kind,
            "when": item.when,
            "channel": item.channel,
            "bot_answered": item.answered,
            "feedback": item.feedback,
            "fill_in": "reply, responder, department, source, reply_date; delete lines "
            "you do not answer, then: bot archive import FILE",
        },
    }


def export(items: Iterable[Item], path: Path) -> int:
    """Write items as JSON Lines for a doctor (see :func:`export_line`).

    All or nothing: the lines are written to a file beside ``path``, created readable by
    its owner only (0600) before a byte is written, which then replaces ``path``
    (:func:`bot.secrets.write_private`). Text that cannot be encoded is replaced
    (:func:`clean`).

    Returns:
        How many lines were written.

    Raises:
        BotError: The file cannot be written.
    """
    lines = [clean(json.dumps(export_line(i), ensure_ascii=False)) for i in items]
    write_private(path, "".join(line + "\n" for line in lines))
    return len(lines)


# ------------------------------------------------------------------ command line


def _url(args: argparse.Namespace, settings: Settings) -> URL:
    if not getattr(args, "db", None):
        return database_url(settings)
    try:
        return make_url(args.db)
    except Exception:
        raise ConfigError(f"--db is not a database URL: {args.db!r}") from None


def _since(args: argparse.Namespace) -> float | None:
    if not args.since:
        return None
    try:
        return parse_since(args.since)
    except ValueError as exc:
        raise ConfigError(f"--since: {exc}") from None


def cmd_list(args: argparse.Namespace) -> int:
    """``bot review list``: the open items (``--all``: done ones too)."""
    settings = load_settings()
    queue = load_queue(settings, _url(args, settings), _since(args))
    items = select(queue.items, args.kind, args.all)
    if args.json:
        print(clean(json.dumps([i.to_dict() for i in items], ensure_ascii=False, indent=2)))
        return 0
    out = sys.stdout
    for item in items:
        flag = " (done)" if item.done else ""
        feedback = f" · feedback: {item.feedback}" if item.feedback else ""
        out.write(
            clean(
                f"[{item.id}] {item.kind} · {item.when} · {item.channel}{flag}\n"
                + "  asked: "
                + item.question.replace("\n", "\n         ")
                + f"\n  bot answered: {item.answered}{feedback}\n"
            )
        )
    total = Counter(i.kind for i in items)
    summary = ", ".join(f"{total[k]} {k}" for k in KINDS if total[k]) or "nothing"
    print(f"{len(items)} item{'s' if len(items) != 1 else ''}: {summary}", file=sys.stderr)
    return 0


def cmd_counts(args: argparse.Namespace) -> int:
    """``bot review counts``: answers, offers of close questions and the choices made,
    no-matches, emergencies and ratings per day."""
    settings = load_settings()
    queue = load_queue(settings, _url(args, settings), _since(args))
    if args.json:
        print(json.dumps([asdict(d) for d in queue.days], indent=2))
        return 0
    print(
        f"{'day (UTC)':<12}{'answers':>9}{'offers':>8}{'chosen':>8}{'no-match':>10}"
        f"{'emergency':>11}{'helpful':>9}{'not':>6}"
    )
    for d in queue.days:
        print(
            f"{d.day:<12}{d.answers:>9}{d.offers:>8}{d.choices:>8}{d.no_matches:>10}"
            f"{d.emergencies:>11}{d.helpful:>9}{d.unhelpful:>6}"
        )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """``bot review export FILE``: open no-match and unhelpful items for a doctor."""
    settings = load_settings()
    queue = load_queue(settings, _url(args, settings), _since(args))
    kinds = [args.kind] if args.kind else list(EXPORTED_KINDS)
    items = [i for kind in kinds for i in select(queue.items, kind)]
    items.sort(key=lambda i: (i.time, i.id))
    written = export(items, Path(args.file))
    print(
        f"wrote {written} item{'s' if written != 1 else ''} to {args.file}: fill in reply, "
        f"responder, department, source and reply_date, then `bot archive import {args.file}`"
    )
    return 0


def cmd_done(args: argparse.Namespace) -> int:
    """``bot review done ID...``: mark items done (ids that are no item: exit 2, nothing
    marked)."""
    settings = load_settings()
    marked = mark_done(_url(args, settings), args.ids)
    print(f"marked {marked} item{'s' if marked != 1 else ''} done")
    return 0


def add_command(commands: Any) -> None:
    """Add ``bot review list|counts|export|done`` to the ``bot`` command's subparsers."""
    review = commands.add_parser("review", help="the review queue for doctors")
    sub = review.add_subparsers(dest="review_command", required=True)

    def common(parser: argparse.ArgumentParser, kinds: Sequence[str] = KINDS) -> None:
        parser.add_argument("--kind", choices=kinds, help="one kind of item only")
        parser.add_argument("--since", help="from this day on (YYYY-MM-DD, UTC)")
        parser.add_argument(
            "--db", help="the conversations' database URL (default: NEUROBOT_DATABASE_URL)"
        )

    listing = sub.add_parser("list", help="the open items of the queue")
    common(listing)
    listing.add_argument("--all", action="store_true", help="done items too")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=cmd_list)

    counting = sub.add_parser("counts", help="answers, no-matches, emergencies, ratings per day")
    common(counting)
    counting.add_argument("--json", action="store_true", help="print JSON")
    counting.set_defaults(func=cmd_counts)

    exporting = sub.add_parser("export", help="open items as JSON Lines for a doctor")
    common(exporting, EXPORTED_KINDS)
    exporting.add_argument("file", help="the JSON Lines file to write")
    exporting.set_defaults(func=cmd_export)

    marking = sub.add_parser("done", help="mark items done")
    marking.add_argument("ids", nargs="+", help="item ids (as `bot review list` shows them)")
    marking.add_argument(
        "--db", help="the conversations' database URL (default: NEUROBOT_DATABASE_URL)"
    )
    marking.set_defaults(func=cmd_done)


def review_token(settings: Settings) -> str:
    """The operator page's credential: ``NEUROBOT_REVIEW_TOKEN``, or generated once into
    ``<state_dir>/review_token`` (owner-only, see :mod:`bot.secrets`)."""
    return load_or_create(settings.state_dir / "review_token", settings.review_token)
