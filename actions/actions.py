"""Custom actions: read the tracker, call :mod:`bot`, choose responses from domain.yml.

The emergency and crisis messages are not sent here: the safety policy of the Rasa
server (addons/policies.py) decides them from the patient's own words before any of these
actions can run. Nothing is loaded at import time: settings and the archive index are
opened on first use (or injected by tests).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.workers import off_loop
from bot.archive.records import Record
from bot.errors import BotError
from bot.guard.topic import is_health_text
from bot.names import (
    SLOT_CHOICE,
    SLOT_CURRENT,
    SLOT_FEEDBACK,
    SLOT_HITS,
    SLOT_OFFERED,
    SLOT_SHOWN,
    UTTER_ARCHIVE_ANSWER,
    UTTER_CHOSEN_ANSWER,
    UTTER_CLOSE_QUESTIONS,
    UTTER_FEEDBACK_NOT_HELPFUL,
    UTTER_FEEDBACK_THANKS,
    UTTER_FULL_REPLY,
    UTTER_NO_MATCH,
    UTTER_NO_MORE_SIMILAR,
    UTTER_NONE_OF_THESE,
    UTTER_NOTHING_SHOWN_YET,
    UTTER_OUTSIDE_SCOPE,
    UTTER_SAFETY_ADVICE,
    UTTER_SIMILAR_ANSWER,
    UTTER_TECHNICAL_PROBLEM,
)
from bot.safety.session import is_payload
from bot.search.compose import (
    ANSWER,
    OFFER,
    attribution,
    conversation_query,
    decide_reply,
    excerpt,
    shown,
)
from bot.search.embedding import encoder_for
from bot.search.index import ArchiveIndex
from bot.search.scope import in_scope
from bot.settings import Settings, load_settings

logger = logging.getLogger(__name__)

#: The payload of the "None of these" button (its label is ``utter_none_of_these``).
NONE_OF_THESE = "/none_of_these"
ENTITY_RECORD = "record_id"
BOOST_ENTITIES = ("symptom", "body_part", "side")
#: Intents whose messages describe the patient's problem and feed the search query.
DESCRIPTIVE_INTENTS = frozenset(
    {
        "describe_symptoms",
        "ask_term_meaning",
        "emergency",
        "self_harm",
        "nlu_fallback",
        "out_of_scope",
    }
)


class Services:
    """Settings and archive index, opened on first use and then kept.

    ``make index`` builds a new index beside the live one and renames it into place; the
    index is reopened when the file at ``settings.db_path`` is another one (its inode or
    modification time changed), looked at no more than once every
    :attr:`CHECK_SECONDS`, so running action servers answer from the new archive without
    a restart. The old index is not closed (a search in another thread may still read
    it); it is freed with its last reference. An injected index is never reopened.
    """

    #: Seconds between two looks at the index file.
    CHECK_SECONDS = 1.0

    def __init__(
        self,
        settings: Settings | None = None,
        index: ArchiveIndex | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._settings = settings
        self._index = index
        self._clock = clock
        self._file: tuple[int, int, int] | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    @property
    def settings(self) -> Settings:
        """The settings, loaded once."""
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    def _identity(self) -> tuple[int, int, int] | None:
        try:
            info = os.stat(self.settings.db_path)
        except OSError:
            return None
        return info.st_dev, info.st_ino, info.st_mtime_ns

    @property
    def index(self) -> ArchiveIndex:
        """The archive index; a failed open is retried on the next message."""
        with self._lock:
            now = self._clock()
            if self._file is not None and now - self._checked >= self.CHECK_SECONDS:
                self._checked = now
                current = self._identity()
                # a missing file (being replaced by hand) keeps the open index
                if current is not None and current != self._file:
                    logger.info(
                        "the archive index %s was replaced; reopening it", self.settings.db_path
                    )
                    self._index = None
            if self._index is None:
                identity = self._identity()
                self._index = ArchiveIndex(
                    self.settings.db_path, encoder=encoder_for(self.settings), existing=True
                )
                self._file, self._checked = identity, now
            return self._index


_shared = Services()


def patient_texts(tracker: Tracker, intents: Iterable[str] | None = None) -> list[str]:
    """Texts the patient typed in this session (button payloads left out)."""
    wanted = set(intents) if intents is not None else None
    texts: list[str] = []
    for event in tracker.events_after_latest_restart():
        if event.get("event") == "session_started":
            texts = []
        if event.get("event") != "user":
            continue
        text = (event.get("text") or "").strip()
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if text and not is_payload(text) and (wanted is None or intent in wanted):
            texts.append(text)
    return texts


def latest_text(tracker: Tracker) -> str:
    """The patient's latest message, or '' for a button payload."""
    text = (tracker.latest_message.get("text") or "").strip()
    return "" if is_payload(text) else text


def entity_values(tracker: Tracker, names: Iterable[str]) -> list[str]:
    """Values of the latest message's entities with these names."""
    wanted = set(names)
    return [
        str(e.get("value"))
        for e in tracker.latest_message.get("entities") or []
        if e.get("entity") in wanted and e.get("value")
    ]


def record_fields(record: Record) -> dict[str, str]:
    """The values a card response's placeholders take from a record (``domain.yml``):
    its id, title and attribution, and the attribution's parts ("" when not recorded)."""
    return {
        "title": record.title,
        "attribution": attribution(record),
        "doctor": record.responder or "",
        "department": record.department or "",
        "source": record.source or "",
        "date": record.reply_date or "",
        "record_id": record.id,
    }


def send_record(
    dispatcher: CollectingDispatcher,
    response: str,
    record: Record,
    settings: Settings,
    similar: Iterable[Record] = (),
) -> None:
    """Show one archived record as an answer card, similar questions as buttons.

    The response's own buttons (domain.yml) offer the full reply and "Helpful" /
    "Not helpful", whose payloads get the record id through ``record_entity``; the
    record id also stays in the bot message's metadata for the review queue.
    """
    buttons = [
        {
            "title": other.title,
            "payload": "/ask_similar_question" + json.dumps({ENTITY_RECORD: other.id}),
        }
        for other in similar
    ]
    dispatcher.utter_message(
        response=response,
        **record_fields(record),
        excerpt=excerpt(record.reply, settings.excerpt_chars),
        record_entity=json.dumps({ENTITY_RECORD: record.id}),
        buttons=buttons,
    )


@dataclass(frozen=True)
class Turn:
    """What an action works with in one turn: where its messages go, the conversation,
    the settings and the domain Rasa sent."""

    dispatcher: CollectingDispatcher
    tracker: Tracker
    settings: Settings
    domain: DomainDict


class ArchiveAction(Action, ABC):
    """Common frame: the answer, with every error caught at the action boundary."""

    def __init__(self, services: Services | None = None) -> None:
        self.services = services or _shared

    #: The action's name in domain.yml (each action sets its own).
    NAME: ClassVar[str]

    def name(self) -> str:
        """The action name in domain.yml."""
        return self.NAME

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        try:
            settings = self.services.settings
            # the search (SQLite, the sentence model) blocks: it runs in the worker pool,
            # so the action server's event loop keeps serving other patients meanwhile
            turn = Turn(dispatcher, tracker, settings, domain)
            return await off_loop(settings.action_workers, self.answer, turn)
        except BotError as exc:
            # The error's own message names the file or service, never patient text.
            logger.error("%s failed (%s); sending the technical-problem reply", self.name(), exc)
        except Exception as exc:
            logger.error(
                "%s failed with %s; sending the technical-problem reply",
                self.name(),
                type(exc).__name__,
            )
        dispatcher.messages.clear()
        dispatcher.utter_message(response=UTTER_TECHNICAL_PROBLEM)
        dispatcher.utter_message(response=UTTER_SAFETY_ADVICE)
        return []

    @abstractmethod
    def answer(self, turn: Turn) -> list[EventType]:
        """Send the answer; return the events."""


class ActionAnswerFromArchive(ArchiveAction):
    """The patient sees the most similar archived question and its reply, or an honest
    'no close match', always followed by the safety advice."""

    NAME = "action_answer_from_archive"

    def answer(self, turn: Turn) -> list[EventType]:
        return self.search(turn)

    def search(self, turn: Turn) -> list[EventType]:
        """Search with the conversation's descriptions; send the answer, the close
        questions to choose from, or the no-match."""
        texts = patient_texts(turn.tracker, DESCRIPTIVE_INTENTS)
        latest = latest_text(turn.tracker)
        if latest and (not texts or texts[-1] != latest):
            texts.append(latest)
        query = conversation_query(texts)
        hits = self.services.index.search(
            query,
            k=1 + turn.settings.max_similar + 3,
            boost_terms=entity_values(turn.tracker, BOOST_ENTITIES),
            max_wrong=turn.settings.max_wrong,
        )
        scoped = in_scope(query, turn.settings.scope)
        reply = decide_reply(hits, turn.settings.max_similar, scoped, self.services.index.floors())
        if reply.kind == OFFER:
            offered = [r.id for r in reply.offered]
            offer(turn.dispatcher, reply.offered, turn.domain)
            turn.dispatcher.utter_message(response=UTTER_SAFETY_ADVICE)
            return [
                SlotSet(SLOT_HITS, offered),
                SlotSet(SLOT_SHOWN, []),
                SlotSet(SLOT_CURRENT, None),
                SlotSet(SLOT_OFFERED, offered),
            ]
        if reply.kind != ANSWER or reply.answer is None:
            turn.dispatcher.utter_message(response=UTTER_NO_MATCH)
            if not scoped:
                turn.dispatcher.utter_message(response=UTTER_OUTSIDE_SCOPE)
            turn.dispatcher.utter_message(response=UTTER_SAFETY_ADVICE)
            return [
                SlotSet(SLOT_HITS, []),
                SlotSet(SLOT_SHOWN, []),
                SlotSet(SLOT_CURRENT, None),
                SlotSet(SLOT_OFFERED, []),
            ]
        answer = reply.answer
        send_record(
            turn.dispatcher, UTTER_ARCHIVE_ANSWER, answer.record, turn.settings, answer.similar
        )
        turn.dispatcher.utter_message(response=UTTER_SAFETY_ADVICE)
        good = [h.record.id for h in shown(hits)]
        return [
            SlotSet(SLOT_HITS, good),
            SlotSet(SLOT_SHOWN, [answer.record.id]),
            SlotSet(SLOT_CURRENT, answer.record.id),
            SlotSet(SLOT_OFFERED, []),
        ]


def offer(dispatcher: CollectingDispatcher, records: Iterable[Record], domain: DomainDict) -> None:
    """Offer archived questions to choose from, each a button, then "None of these"."""
    buttons = [
        {
            "title": record.title,
            "payload": "/ask_similar_question" + json.dumps({ENTITY_RECORD: record.id}),
        }
        for record in records
    ]
    buttons.append({"title": response_text(domain, UTTER_NONE_OF_THESE), "payload": NONE_OF_THESE})
    dispatcher.utter_message(response=UTTER_CLOSE_QUESTIONS, buttons=buttons)


def response_text(domain: DomainDict, name: str) -> str:
    """The first text of a response of the domain the Rasa server sent (a button label).

    Raises:
        KeyError: The domain has no such response.
    """
    return str(domain["responses"][name][0]["text"]).strip()


def nothing_shown(turn: Turn, services: Services) -> list[EventType]:
    """A follow-up request with nothing shown yet: a typed health question is searched
    (the NLU took a new description for a follow-up), anything else is told to describe
    the symptoms first. Words of care alone ("what else did the doctor say?") ask about
    an answer, so they do not make a health question here."""
    typed = latest_text(turn.tracker)
    if typed and is_health_text(typed, care_words=False):
        return ActionAnswerFromArchive(services).search(turn)
    turn.dispatcher.utter_message(response=UTTER_NOTHING_SHOWN_YET)
    return []


class ActionShowFullReply(ArchiveAction):
    """The patient reads the whole archived reply to the question last shown."""

    NAME = "action_show_full_reply"

    def answer(self, turn: Turn) -> list[EventType]:
        current = turn.tracker.get_slot(SLOT_CURRENT)
        record = self.services.index.get(current) if current else None
        if record is None:
            return nothing_shown(turn, self.services)
        turn.dispatcher.utter_message(
            response=UTTER_FULL_REPLY, **record_fields(record), reply=record.reply
        )
        turn.dispatcher.utter_message(response=UTTER_SAFETY_ADVICE)
        return []


class ActionShowSimilar(ArchiveAction):
    """The patient sees another archived question similar to theirs (the one they
    picked, or the next best), or hears that there is none."""

    NAME = "action_show_similar"

    def answer(self, turn: Turn) -> list[EventType]:
        hits: list[str] = list(turn.tracker.get_slot(SLOT_HITS) or [])
        shown: list[str] = list(turn.tracker.get_slot(SLOT_SHOWN) or [])
        if not hits:
            return nothing_shown(turn, self.services)
        picked = entity_values(turn.tracker, [ENTITY_RECORD])
        unseen = [i for i in hits if i not in shown]
        choice = picked[0] if picked and picked[0] in hits else (unseen[0] if unseen else None)
        record = self.services.index.get(choice) if choice else None
        if record is None:
            turn.dispatcher.utter_message(response=UTTER_NO_MORE_SIMILAR)
            turn.dispatcher.utter_message(response=UTTER_SAFETY_ADVICE)
            return []
        offered: list[str] = list(turn.tracker.get_slot(SLOT_OFFERED) or [])
        shown = [*shown, record.id] if record.id not in shown else shown
        others = [i for i in hits if i not in shown][: turn.settings.max_similar]
        similar = [r for r in (self.services.index.get(i) for i in others) if r is not None]
        chosen = record.id in offered
        response = UTTER_CHOSEN_ANSWER if chosen else UTTER_SIMILAR_ANSWER
        send_record(turn.dispatcher, response, record, turn.settings, similar)
        turn.dispatcher.utter_message(response=UTTER_SAFETY_ADVICE)
        events: list[EventType] = [SlotSet(SLOT_SHOWN, shown), SlotSet(SLOT_CURRENT, record.id)]
        if chosen:
            kept = {"record_id": record.id, "offered": offered}
            events += [SlotSet(SLOT_CHOICE, kept), SlotSet(SLOT_OFFERED, [])]
        return events


class ActionNoneOfThese(ArchiveAction):
    """The patient said none of the offered questions is theirs: the bot says honestly
    that it has no close reply, asks for more detail, and keeps the refusal (the review
    queue counts it as a question the archive could not answer)."""

    NAME = "action_none_of_these"

    def answer(self, turn: Turn) -> list[EventType]:
        offered: list[str] = list(turn.tracker.get_slot(SLOT_OFFERED) or [])
        turn.dispatcher.utter_message(response=UTTER_NO_MATCH)
        turn.dispatcher.utter_message(response=UTTER_SAFETY_ADVICE)
        events: list[EventType] = [SlotSet(SLOT_HITS, []), SlotSet(SLOT_OFFERED, [])]
        if offered:
            events.append(SlotSet(SLOT_CHOICE, {"record_id": None, "offered": offered}))
        return events


#: Feedback intents and the rating each one records.
FEEDBACK_RATINGS = {"feedback_helpful": "helpful", "feedback_unhelpful": "unhelpful"}
#: A typed message longer than this (in words) that reads as a health question is a new
#: description that the NLU took for feedback: it is searched, not recorded.
FEEDBACK_MAX_WORDS = 8


class ActionRecordFeedback(ArchiveAction):
    """The patient's "Helpful" / "Not helpful" on an answer is kept with the record id
    in the conversation, and the patient gets a short thanks."""

    NAME = "action_record_feedback"

    def answer(self, turn: Turn) -> list[EventType]:
        typed = latest_text(turn.tracker)
        if typed and len(typed.split()) > FEEDBACK_MAX_WORDS and is_health_text(typed):
            return ActionAnswerFromArchive(self.services).search(turn)
        intent = (turn.tracker.latest_message.get("intent") or {}).get("name")
        rating = FEEDBACK_RATINGS.get(str(intent))
        picked = entity_values(turn.tracker, [ENTITY_RECORD])
        record_id = picked[0] if picked else turn.tracker.get_slot(SLOT_CURRENT)
        if rating is None or not record_id:
            return nothing_shown(turn, self.services)
        turn.dispatcher.utter_message(
            response=UTTER_FEEDBACK_THANKS if rating == "helpful" else UTTER_FEEDBACK_NOT_HELPFUL
        )
        return [SlotSet(SLOT_FEEDBACK, {"rating": rating, "record_id": str(record_id)})]
