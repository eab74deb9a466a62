"""The conversations' tracker store, and what a turn learns when it cannot be reached.

Rasa 3.6's agent always wraps the tracker store in ``FailSafeTrackerStore``: when the
database cannot be read it returns None, the processor starts a fresh, empty
conversation and answers from it (a second message that completes an emergency is read
alone, the record shown earlier is forgotten), then saves that fresh conversation, which
Rasa's ``SQLTrackerStore`` appends behind the real one as soon as the database is back.
Its error log also quotes SQLAlchemy's message, whose parameters hold the events (patient
text) of a failed save.

:class:`GuardedSQLTrackerStore` is Rasa's ``SQLTrackerStore`` (same table, same
arguments; ``bot/serving/store.py`` names it in the endpoints file) that catches its own
failures, so FailSafe never sees one:

- a failed read is logged (operation and error type, no patient text) and recorded in the
  message's :class:`Turn`; no save of that turn reaches the database, so nothing built
  from an empty conversation is ever written behind the real one;
- a failed write is logged and recorded (FailSafe would keep it in a memory store that
  nothing reads again);
- connections are checked before use (``pool_pre_ping``), so the first message after the
  database is back gets a real answer, not one more error from a dead pooled connection.

The guard (``addons/channels.py``) makes the :class:`Turn` before it starts processing a
message and puts it in :data:`TURN`; the processing task copies the context when it is
created, so the store, deep inside Rasa, records into the guard's object. When the read
failed the guard stops the turn, drops whatever it would still send, and answers itself:
the emergency or crisis message when the latest message alone shows signs
(``bot.safety.session.safety_decision``, which needs no store), else the technical-problem reply
and the safety advice. A context variable rather than an exception: every exception the
store raises is swallowed by FailSafe, and an exception that is not an ``Exception``
would escape every ``except`` of Rasa and of the web server alike.

Outside a guarded message (the HTTP API, the launcher's prune) the store behaves like
FailSafe did: a failed read gives None, a failed write is logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.exc import InterfaceError, OperationalError

logger = logging.getLogger(__name__)


@dataclass
class Turn:
    """What the tracker store did during one patient message.

    Attributes:
        unreadable: The conversation could not be read: the turn must not answer.
        unsaved: The latest save of the turn failed: what was answered is not kept.
        failed: Set as soon as the conversation could not be read (the guard waits on it).
    """

    unreadable: bool = False
    unsaved: bool = False
    failed: asyncio.Event = field(default_factory=asyncio.Event)


#: The :class:`Turn` of the message being processed; None outside a guarded message.
TURN: ContextVar[Turn | None] = ContextVar("neurobot_tracker_store_turn", default=None)


def describe_error(error: BaseException) -> str:
    """An error as the log may show it: its type, and the driver's message for a
    connection error ("connection refused"); never SQLAlchemy's own text, which quotes
    the statement's parameters (conversation ids, and events holding patient text)."""
    original = getattr(error, "orig", None)
    kind = type(error).__name__
    if isinstance(error, (OperationalError, InterfaceError)) or getattr(
        error, "connection_invalidated", False
    ):
        text = str(original).strip().splitlines()[0][:200] if str(original).strip() else ""
        return f"{kind}: {text}" if text else kind
    if original is not None:
        return f"{kind} ({type(original).__name__})"
    return kind


class GuardedSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store that tells the guard when it cannot read or write."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        url = self.engine.url  # type: ignore[has-type]  # Rasa leaves it unannotated
        self.engine.dispose()  # type: ignore[has-type]
        self.engine = sa.create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url))
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        self.failures = 0

    def _failed(self, operation: str, error: Exception) -> Turn | None:
        self.failures += 1
        turn = TURN.get()
        logger.error(
            "the tracker store could not %s a conversation (%s)%s",
            operation,
            describe_error(error),
            "; the patient gets the technical-problem reply" if turn is not None else "",
        )
        return turn

    def _answered(self) -> None:
        if self.failures:
            logger.warning(
                "the tracker store answers again (after %d failed operations)", self.failures
            )
            self.failures = 0

    async def _read(self, sender_id: str, everything: bool) -> DialogueStateTracker | None:
        try:
            tracker = await self._retrieve(sender_id, fetch_events_from_all_sessions=everything)
        except Exception as error:  # FailSafe would answer from an empty conversation
            turn = self._failed("read", error)
            if turn is not None:
                turn.unreadable = True
                turn.failed.set()
            return None
        self._answered()
        return tracker

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The conversation's latest session; None when there is none or it cannot be
        read (then recorded in the message's :class:`Turn`)."""
        return await self._read(sender_id, everything=False)

    async def retrieve_full_tracker(self, conversation_id: str) -> DialogueStateTracker | None:
        """Every session of the conversation; None as :meth:`retrieve`."""
        return await self._read(conversation_id, everything=True)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Append the tracker's new events; never those of a turn whose conversation
        could not be read (they start from an empty conversation)."""
        turn = TURN.get()
        if turn is not None and turn.unreadable:
            logger.warning(
                "a conversation was not saved: it could not be read this turn, and saving "
                "would append an empty conversation's events behind the real ones"
            )
            return
        try:
            await super().save(tracker)
        except Exception as error:  # FailSafe would answer from an empty conversation
            self._failed("save", error)
            if turn is not None:
                turn.unsaved = True
            return
        if turn is not None:
            turn.unsaved = False
        self._answered()

    async def keys(self) -> Iterable[str]:
        """Every conversation id; none when the database cannot be read."""
        try:
            return await super().keys()
        except Exception as error:  # FailSafe would answer from an empty conversation
            self._failed("list", error)
            return []
