"""The safety decision of one turn, from the patient's messages of the session.

:func:`safety_decision` is the one place that decides whether a turn gets the emergency
or the crisis message. The Rasa server applies it through ``addons.policies`` at the
highest priority, and the channels' guard asks it for a fallback reply, so no classifier,
fallback or policy can undo it.

What it reads:

- every message the patient typed in this session, payload-shaped text included: only
  the bot's own buttons (an intent and a record id, as :func:`is_payload` knows them)
  are skipped, because tapping "Read the full reply" says nothing new;
- a sign and its onset in separate messages, with small talk between them ("my left
  arm is numb", "ok", "thanks", "it started an hour ago"): the window is the last
  :data:`~bot.safety.RECENT_MESSAGES` messages that say something (:func:`is_small_talk`
  messages do not count towards it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence

from bot.safety.engine import RECENT_MESSAGES, Assessment, Level, assess, assess_conversation
from bot.safety.normalise import normalise

__all__ = [
    "BUTTON_INTENTS",
    "MOVING_ON",
    "RECORD_ID",
    "is_payload",
    "is_small_talk",
    "safety_decision",
    "session_texts",
]

#: Intents of the bot's own buttons (and Rasa's restart).
BUTTON_INTENTS = frozenset(
    {
        "ask_full_reply",
        "ask_similar_question",
        "feedback_helpful",
        "feedback_unhelpful",
        "none_of_these",
        "restart",
    }
)
#: A record id as the bot puts it in a button: no spaces, no quotes or braces. Archive
#: ids are codes ("sample-motor-012", "2_GARD_QA/0000242-1"), never sentences.
RECORD_ID = re.compile(r"[^\s\"'{}\\]{1,120}")
_BUTTON = re.compile(r"/([A-Za-z_]+)(?:\{\s*\"record_id\"\s*:\s*\"([^\"]*)\"\s*\})?")

#: Intents that move on from an emergency message already given: the patient taps a
#: button, thanks, says goodbye. Anything else right after it gets it again.
MOVING_ON = frozenset(
    {
        "ask_full_reply",
        "ask_similar_question",
        "none_of_these",
        "thanks",
        "goodbye",
        "greet",
        "bot_challenge",
    }
)

#: Words of messages that say nothing about the patient: acknowledgements, greetings,
#: fillers. A message made only of these does not take a place in the recent window.
SMALL_TALK_WORDS = frozenset(
    """
    ok okay k kk alright allright right fine sure yes yeah yep yup ya no nope nah hi hello
    hey hiya thanks thank thx ty you u very much so lot bye goodbye cheers please sorry
    hmm hm mm um umm uh ah oh oops lol wow cool great good nice got it i see understood
    understand noted wait what really well morning afternoon evening night and
    """.split()  # noqa: SIM905 - a word list reads best as text
)
_NO_WORDS = re.compile(r"[^a-z]+")


def is_payload(text: str) -> bool:
    """Whether ``text`` is exactly one of the bot's own button payloads.

    ``/ask_full_reply`` and ``/ask_similar_question{"record_id": "sample-motor-012"}``
    are; ``/ask_full_reply{"record_id": "my dad's face is drooping"}``, an unknown
    intent, or words after the payload are not: such text is read as words.
    """
    match = _BUTTON.fullmatch(text.strip())
    if match is None or match.group(1) not in BUTTON_INTENTS:
        return False
    record_id = match.group(2)
    return record_id is None or bool(RECORD_ID.fullmatch(record_id))


def button_record_id(text: str) -> str | None:
    """The record id of a button payload accepted by :func:`is_payload`, if it has one."""
    if not is_payload(text):
        return None
    match = _BUTTON.fullmatch(text.strip())
    return match.group(2) if match else None


def payload_words(text: str) -> str:
    """Text that looks like an intent payload but is not a button of the bot, as words.

    ``/ask_full_reply{"record_id": "my dad's face is drooping"}`` becomes ``ask full
    reply record id my dad's face is drooping``: every key and value is read, and typed
    text can never choose an intent. Other text is returned unchanged.
    """
    stripped = text.strip()
    if not stripped.startswith("/") or is_payload(stripped):
        return text
    body = stripped.lstrip("/ ")
    name, brace, rest = body.partition("{")
    parts = [name.replace("_", " ").strip()]
    if brace:
        try:
            value, end = json.JSONDecoder().raw_decode(brace + rest)
        except (ValueError, RecursionError):
            parts.append(brace + rest)
        else:
            parts.extend(_strings(value))
            parts.append((brace + rest)[end:])
    return " ".join(p.strip() for p in parts if p.strip()) or stripped


def _strings(value: object, depth: int = 0) -> Iterable[str]:
    if depth > 20:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key).replace("_", " ")
            yield from _strings(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, depth + 1)
    elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
        yield str(value)


def is_small_talk(text: str) -> bool:
    """Whether a message says nothing about the patient ("ok", "thanks!", "hmm", "👍")."""
    spoken = _NO_WORDS.sub(" ", normalise(text)).split()
    return all(word in SMALL_TALK_WORDS for word in spoken)


def session_texts(texts: Iterable[str]) -> list[str]:
    """The patient's typed messages, oldest first: blanks and the bot's buttons left out."""
    return [t for t in (str(t).strip() for t in texts) if t and not is_payload(t)]


_NONE = Assessment(Level.NONE, ())


def safety_decision(
    texts: Sequence[str], previous: Level = Level.NONE, intent: str | None = None
) -> Assessment:
    """The emergency / crisis decision for the patient's latest message.

    The latest message is urgent when it shows signs by itself, or when, read with the
    previous ones of the session (the last :data:`bot.safety.RECENT_MESSAGES` that are
    not small talk), it completes signs that were not urgent before it ("my left arm is
    numb and weak", "ok", "it started an hour ago"). When the bot's last reply was the
    emergency or crisis message, the next message gets it again ("should I wait?", "he
    is also very pale") unless it moves on (:data:`MOVING_ON`: a button, thanks,
    goodbye), so the patient can still read what the emergency message offers.

    Args:
        texts: The patient's messages of this session, oldest first, the latest last;
            the bot's button payloads are skipped, and a latest message that is one (a
            tap on "Read the full reply") needs no decision. Payload-shaped text that is
            not one of the buttons is read as words, values included.
        previous: The level of the bot's last reply: ``EMERGENCY`` or ``SELF_HARM`` when
            it was the emergency or crisis message.
        intent: The NLU's intent of the latest message, if known.

    Returns:
        The :class:`~bot.safety.Assessment` of this turn; ``Level.NONE`` when the
        latest message needs no emergency or crisis message.
    """
    if not texts or not str(texts[-1]).strip() or is_payload(str(texts[-1])):
        return _NONE
    typed = [payload_words(t) for t in session_texts(texts)]
    latest = assess(typed[-1])
    if latest.urgent:
        return latest
    earlier = [t for t in typed[:-1] if not is_small_talk(t)]
    recent = [*earlier[-(RECENT_MESSAGES - 1) :], typed[-1]] if RECENT_MESSAGES > 1 else typed[-1:]
    now = assess_conversation(recent)
    if now.urgent and not assess_conversation(recent[:-1]).urgent:
        return now
    if previous is not Level.NONE and intent not in MOVING_ON:
        return Assessment(previous, ("repeated",))
    return _NONE
