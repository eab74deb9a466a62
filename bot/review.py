"""The review queue: what patients asked that the archive could not answer well.

Three kinds of item are collected from the stored conversations:

* ``no-match``: a patient's question that got the honest no-match (``utter_no_match``);
* ``unhelpful``: an archive answer the patient marked "Not helpful" (the ``feedback``
  slot that ``action_record_feedback`` sets, with the record id shown);
* ``emergency``: a message that got the emergency or crisis message (kept apart: a
  doctor checks these for false alarms, they are not archive questions).

Each item has its time, the channel, the patient's question (redacted by
:mod:`bot.redact`: names, phone numbers, e-mail addresses, dates of birth), what the bot
answered and the feedback. :func:`counts` gives per day the answers, no-matches,
emergencies and helpful / not helpful ratings (the operator page plots them).

**Where the queue reads from.** The queue is read from the tracker store itself, Rasa's
``SQLTrackerStore`` table ``events`` (the SQLite file under the state dir, or PostgreSQL
from ``NEUROBOT_DATABASE_URL``; see :mod:`bot.conversations`), with plain SQL, each time
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

Plain Python: SQLAlchemy and the ``events`` schema, no Rasa import.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.conversations import EVENTS_TABLE, database_url, shown
from bot.errors import BotError, ConfigError, ServiceError
from bot.launcher import WARM_UP_SENDER
from bot.redact import redact
from bot.secrets import load_or_create
from bot.settings import Settings, load_settings

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

NO_MATCH = "utter_no_match"
ANSWERS = ("utter_archive_answer", "utter_similar_answer")
EMERGENCIES = ("utter_emergency", "utter_self_harm")
FEEDBACK_SLOT = "feedback"
#: What the bot answered, in the operator's words, by response.
ANSWERED = {
    NO_MATCH: "the honest no-match",
    "utter_emergency": "the emergency message",
    "utter_self_harm": "the crisis message",
    "utter_archive_answer": "an archive answer",
    "utter_similar_answer": "a similar archived question",
}


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
    done: bool = False

    @property
    def answered(self) -> str:
        """What the bot answered, in words."""
        said = ANSWERED.get(self.response, self.response)
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


@dataclass(frozen=True)
class Queue:
    """The queue's items (oldest first) and the counts per day (oldest first)."""

    items: tuple[Item, ...]
    days: tuple[DayCounts, ...]
    scanned: int = 0


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


# ------------------------------------------------------------------ reading the events


@dataclass
class _Sender:
    """What one conversation has said so far while its events are read in order."""

    messages: list[str] = field(default_factory=list)  # raw user events since an outcome
    question: list[str] = field(default_factory=list)  # raw user events of the last outcome
    cards: list[tuple[str, list[str]]] = field(default_factory=list)  # raw card, question


def _engine(url: URL) -> sa.engine.Engine:
    sqlite = url.get_backend_name() == "sqlite"
    return sa.create_engine(url, connect_args={} if sqlite else {"connect_timeout": 10})


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
        text = (json.loads(raw).get("text") or "").strip()
        if text and not text.startswith("/"):
            texts.append(text)
    return texts


def _question(raw_users: Sequence[str]) -> str:
    return redact("\n".join(_texts(raw_users)[-QUESTION_MESSAGES:]))


def _channel(sender: str, raw_users: Sequence[str]) -> str:
    for raw in reversed(raw_users):
        channel = json.loads(raw).get("input_channel")
        if channel:
            return str(channel)
    prefix, colon, _ = sender.partition(":")
    return prefix if colon else "unknown"


def _utter_action(data: str) -> str | None:
    metadata = json.loads(data).get("metadata") or {}
    name = metadata.get("utter_action")
    return str(name) if name else None


def read_queue(url: URL, since: float | None = None) -> Queue:
    """Build the queue and the day counts from the ``events`` table at ``url``.

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
    engine = _engine(url)
    items: list[Item] = []
    days: dict[str, DayCounts] = {}
    scanned = [0]
    try:
        with engine.connect() as connection:
            inspector = sa.inspect(connection)
            if not inspector.has_table(EVENTS_TABLE):
                return Queue((), ())
            done = _done_ids(connection, inspector.has_table(DONE_TABLE))
            query = (
                "SELECT id, sender_id, type_name, timestamp, data FROM events "
                "WHERE type_name IN ('user', 'bot', 'slot', 'session_started', 'restart')"
                # the launcher's warm-up messages are not patients (over REST they are
                # stored as rest:neurobot-warmup-...)
                " AND sender_id NOT LIKE :warm_up"
                + (" AND timestamp >= :since" if since is not None else "")
                + " ORDER BY sender_id, id"
            )
            params: dict[str, Any] = {"warm_up": f"%{WARM_UP_SENDER}%"}
            if since is not None:
                params["since"] = since - SINCE_MARGIN
            result = connection.execution_options(stream_results=True).execute(
                sa.text(query), params
            )
            items.extend(_scan(result, days, since, scanned))
    except SQLAlchemyError as exc:
        raise _failure(url, exc) from None
    finally:
        engine.dispose()
    items = [Item(**{**asdict(i), "done": i.id in done}) if i.id in done else i for i in items]
    items.sort(key=lambda i: (i.time, i.id))
    return Queue(tuple(items), tuple(days[d] for d in sorted(days)), scanned[0])


def _scan(
    rows: Iterable[Any], days: dict[str, DayCounts], since: float | None, scanned: list[int]
) -> Iterator[Item]:
    """Walk the events of each sender in order; yield items, fill ``days``, count the
    events read in ``scanned[0]``."""
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
        day = dt.datetime.fromtimestamp(timestamp or 0, dt.timezone.utc).strftime("%Y-%m-%d")
        if type_name == "slot":
            if f'"{FEEDBACK_SLOT}"' not in data:
                continue
            event = json.loads(data)
            value = event.get("value")
            if event.get("name") != FEEDBACK_SLOT or not isinstance(value, dict):
                continue
            rating = value.get("rating")
            if counted:
                counts = days.setdefault(day, DayCounts(day))
                if rating == "helpful":
                    counts.helpful += 1
                elif rating == "unhelpful":
                    counts.unhelpful += 1
            if rating == "unhelpful" and counted:
                yield _unhelpful(str(event_id), sender_id, timestamp, state, value)
            continue
        # a bot message: cheap substring tests first, JSON only for the ones that count
        if not any(name in data for name in (NO_MATCH, *ANSWERS, *EMERGENCIES)):
            continue
        action = _utter_action(data)
        if action == NO_MATCH or action in EMERGENCIES:
            if counted:
                counts = days.setdefault(day, DayCounts(day))
                if action == NO_MATCH:
                    counts.no_matches += 1
                else:
                    counts.emergencies += 1
                yield Item(
                    id=str(event_id),
                    kind="no-match" if action == NO_MATCH else "emergency",
                    time=float(timestamp or 0),
                    channel=_channel(sender_id, state.messages),
                    question=_question(state.messages),
                    response=action,
                )
            state.question, state.messages = state.messages, []
        elif action in ANSWERS:
            if action == "utter_archive_answer":
                if counted:
                    days.setdefault(day, DayCounts(day)).answers += 1
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
        shown_metadata = json.loads(raw).get("metadata") or {}
        if shown_metadata.get("record_id") == record_id:
            metadata, question = shown_metadata, asked
            break
    return Item(
        id=event_id,
        kind="unhelpful",
        time=float(timestamp or 0),
        channel=_channel(sender, question or state.messages),
        question=_question(question),
        response=str(metadata.get("utter_action") or "utter_archive_answer"),
        record_id=record_id or None,
        record_title=metadata.get("title"),
        attribution=metadata.get("attribution"),
        feedback="unhelpful",
    )


# ------------------------------------------------------------------ done marks


def _done_table() -> sa.Table:
    return sa.Table(
        DONE_TABLE,
        sa.MetaData(),
        sa.Column("item_id", sa.String(64), primary_key=True),
        sa.Column("done_at", sa.Float, nullable=False),
    )


def _done_ids(connection: sa.engine.Connection, present: bool) -> set[str]:
    if not present:
        return set()
    return {row[0] for row in connection.execute(sa.select(_done_table().c.item_id))}


def mark_done(url: URL, item_ids: Iterable[str], now: float | None = None) -> int:
    """Mark items done (kept in ``review_done`` beside the conversations).

    Returns:
        How many ids were newly marked.

    Raises:
        ServiceError: The database cannot be written.
    """
    wanted = sorted({str(i).strip() for i in item_ids if str(i).strip()})
    if not wanted or not _exists(url):
        return 0
    engine = _engine(url)
    table = _done_table()
    try:
        with engine.begin() as connection:
            table.create(connection, checkfirst=True)
            present = _done_ids(connection, True)
            new = [i for i in wanted if i not in present]
            if new:
                stamp = time.time() if now is None else now
                connection.execute(table.insert(), [{"item_id": i, "done_at": stamp} for i in new])
    except SQLAlchemyError as exc:
        raise _failure(url, exc) from None
    finally:
        engine.dispose()
    return len(new)


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
        Item(**{**asdict(i), "done": True}) if i.id in answered and not i.done else i
        for i in queue.items
    )
    return Queue(items, queue.days, queue.scanned)


def select(
    items: Iterable[Item], kind: str | None = None, include_done: bool = False
) -> list[Item]:
    """Items of one kind (None: every kind), open ones only unless ``include_done``."""
    return [i for i in items if (kind is None or i.kind == kind) and (include_done or not i.done)]


# ------------------------------------------------------------------ export


def export_line(item: Item) -> dict[str, Any]:
    """An item as an archive record for a doctor to fill in (JSON Lines, see
    :mod:`bot.archive`): ``reply``, ``responder``, ``department``, ``source`` and
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

    Returns:
        How many lines were written.

    Raises:
        BotError: The file cannot be written.
    """
    lines = [json.dumps(export_line(i), ensure_ascii=False) for i in items]
    try:
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    except OSError as exc:
        raise BotError(f"cannot write {path}: {exc.strerror}") from None
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
        print(json.dumps([i.to_dict() for i in items], ensure_ascii=False, indent=2))
        return 0
    out = sys.stdout
    for item in items:
        flag = " (done)" if item.done else ""
        out.write(f"[{item.id}] {item.kind} · {item.when} · {item.channel}{flag}\n")
        out.write("  asked: " + item.question.replace("\n", "\n         ") + "\n")
        feedback = f" · feedback: {item.feedback}" if item.feedback else ""
        out.write(f"  bot answered: {item.answered}{feedback}\n")
    total = Counter(i.kind for i in items)
    summary = ", ".join(f"{total[k]} {k}" for k in KINDS if total[k]) or "nothing"
    print(f"{len(items)} item{'s' if len(items) != 1 else ''}: {summary}", file=sys.stderr)
    return 0


def cmd_counts(args: argparse.Namespace) -> int:
    """``bot review counts``: answers, no-matches, emergencies and ratings per day."""
    settings = load_settings()
    queue = load_queue(settings, _url(args, settings), _since(args))
    if args.json:
        print(json.dumps([asdict(d) for d in queue.days], indent=2))
        return 0
    print(
        f"{'day (UTC)':<12}{'answers':>9}{'no-match':>10}{'emergency':>11}{'helpful':>9}{'not':>6}"
    )
    for d in queue.days:
        print(
            f"{d.day:<12}{d.answers:>9}{d.no_matches:>10}{d.emergencies:>11}"
            f"{d.helpful:>9}{d.unhelpful:>6}"
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
    """``bot review done ID...``: mark items done."""
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
