"""What kind of reply a patient message needs, decided in plain Python.

Two decisions are taken here, before and independent of the NLU's intent:

* :func:`safety_decision`: whether this turn gets the emergency or the crisis message,
  from the patient's recent messages of this session (a sign and its onset may come in
  separate messages). The Rasa server applies it through ``addons.policies`` at the
  highest priority, so no classifier, fallback or policy can undo it.
* :func:`is_health_text`: whether a message is about health at all. A message about
  health always reaches the archive search (an answer, or the honest no-match with the
  safety advice); "did not understand" and "out of scope" are for everything else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import yaml

from bot.safety import RECENT_MESSAGES, Assessment, Level, assess, assess_conversation
from bot.text import content_stems, stem, words
from bot.vocabulary import DEFAULT_PATH as VOCABULARY_PATH

__all__ = [
    "HEALTH_WORDS_PATH",
    "MAX_MESSAGE_CHARS",
    "is_health_text",
    "is_payload",
    "route_intent",
    "safety_decision",
    "session_texts",
]

#: Default cap on the length of one patient message (``NEUROBOT_MAX_MESSAGE_CHARS``).
MAX_MESSAGE_CHARS = 2000

HEALTH_WORDS_PATH = Path(__file__).with_name("health_words.yml")

#: A button payload as Rasa reads it: ``/intent`` or ``/intent{"entity": "value"}``.
_PAYLOAD = re.compile(r"^/[A-Za-z_][\w-]*(\{.*\})?$", re.DOTALL)
_NONE = Assessment(Level.NONE, ())

#: Stems of one-word vocabulary phrases that are everyday words, not health terms.
_EVERYDAY = frozenset(
    """
    al ap abrupt backward bum burst butt caus common cure energi episod fall famili gene
    incid kid child children babi infant toddler teen teenag elder senior preschool carer
    caregiv caretak motiv mileston nowher outlook over oper parrot pass penetr pot pound
    preval prevent progress research risk sad smoke smoker speak spectrum stab studi sudden
    talk tall tear threw throw trip wander wet wors worsen zone walker
    """.split()  # noqa: SIM905 - a word list reads best as text
)


def is_payload(text: str) -> bool:
    """Whether ``text`` is a bare button payload (nothing typed after it)."""
    return bool(_PAYLOAD.match(text.strip()))


def session_texts(texts: Iterable[str]) -> list[str]:
    """The patient's typed messages, oldest first: blanks and bare payloads left out."""
    return [t for t in (str(t).strip() for t in texts) if t and not is_payload(t)]


#: Intents that move on from an emergency message already given: the patient taps a
#: button, thanks, says goodbye. Anything else right after it gets it again.
MOVING_ON = frozenset(
    {"ask_full_reply", "ask_similar_question", "thanks", "goodbye", "greet", "bot_challenge"}
)


def safety_decision(
    texts: Sequence[str], previous: Level = Level.NONE, intent: str | None = None
) -> Assessment:
    """The emergency / crisis decision for the patient's latest message.

    The latest message is urgent when it shows signs by itself, or when, read with the
    previous ones of the session (the last :data:`bot.safety.RECENT_MESSAGES`), it
    completes signs that were not urgent before it ("my left arm is numb and weak",
    then "it started an hour ago"). When the bot's last reply was the emergency or crisis
    message, the next message gets it again ("should I wait?", "he is also very pale")
    unless it moves on (:data:`MOVING_ON`: a button, thanks, goodbye), so the patient
    can still read what the emergency message offers.

    Args:
        texts: The patient's messages of this session, oldest first, the latest last;
            button payloads are skipped, and a latest message that is one (a tap on
            "Read the full reply") needs no decision.
        previous: The level of the bot's last reply: ``EMERGENCY`` or ``SELF_HARM`` when
            it was the emergency or crisis message.
        intent: The NLU's intent of the latest message, if known.

    Returns:
        The :class:`~bot.safety.Assessment` of this turn; ``Level.NONE`` when the
        latest message needs no emergency or crisis message.
    """
    typed = session_texts(texts)
    if not typed or not texts or is_payload(str(texts[-1])) or not str(texts[-1]).strip():
        return _NONE
    latest = assess(typed[-1])
    if latest.urgent:
        return latest
    recent = typed[-RECENT_MESSAGES:]
    now = assess_conversation(recent)
    if now.urgent and not assess_conversation(recent[:-1]).urgent:
        return now
    if previous is not Level.NONE and intent not in MOVING_ON:
        return Assessment(previous, ("repeated",))
    return _NONE


@lru_cache(maxsize=2)
def _health_lexicon(
    path: Path = HEALTH_WORDS_PATH,
) -> tuple[frozenset[str], frozenset[str], re.Pattern[str], re.Pattern[str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    care = frozenset(stem(w) for w in " ".join(data["care"]).split())
    stems = {stem(w) for w in " ".join(data["words"]).split()}
    # Single-word phrases of the search vocabulary are health terms too ("tingling",
    # "vertigo", "paresthesia"); multi-word phrases are left out, their parts are
    # everyday words ("hand fell asleep").
    vocabulary = yaml.safe_load(VOCABULARY_PATH.read_text(encoding="utf-8"))
    for group in vocabulary["groups"]:
        for phrase in group:
            parts = content_stems(str(phrase))
            if len(parts) == 1 and len(parts[0]) > 2 and parts[0] not in _EVERYDAY:
                stems.add(parts[0])
    suffixes = re.compile(r"(?:" + "|".join(data["suffixes"]) + r")$")
    phrases = re.compile("|".join(f"(?:{p})" for p in data["phrases"]))
    return frozenset(stems - care), care, suffixes, phrases


def is_health_text(text: str, care_words: bool = True) -> bool:
    """Whether a message is about health (a symptom, body part, illness, medicine, test).

    A word list and phrases of questions about medicines (``bot/health_words.yml``), the
    single-word terms of the search vocabulary and medical word endings (``-itis``,
    ``-pathy``, ``-olol``, ...) decide;
    it errs towards health, because a health question sent to "did not understand"
    costs the patient more than small talk sent to the archive's honest no-match.

    Args:
        text: The patient's message.
        care_words: Whether words of care alone ("doctor", "hospital", "appointment")
            count; "am I talking to a real doctor?" is small talk.

    Returns:
        True when any word of the message is a health term.
    """
    stems, care, suffixes, phrases = _health_lexicon()
    if phrases.search(" ".join(words(text))):
        return True
    for word in words(text):
        base = word.split("'")[0]
        root = stem(base)
        if root in stems or (care_words and root in care):
            return True
        if len(base) > 5 and suffixes.search(base):
            return True
    return False


#: Intents of small talk; the NLU's choice stands unless the message reads as a health
#: question (see :func:`reads_as_health_question`).
SMALL_TALK = frozenset({"greet", "goodbye", "thanks", "affirm", "deny", "bot_challenge"})
#: Intents the NLU gives when it cannot place a message.
UNPLACED = frozenset({"nlu_fallback", "out_of_scope"})
_SMALL_TALK_WORDS = 2


def route_intent(intent: str, text: str) -> str:
    """The intent a message is handled as: a health question the NLU took for small talk,
    out of scope or unintelligible becomes ``describe_symptoms`` (it reaches the archive
    search); everything else keeps the NLU's intent.

    Args:
        intent: The NLU's intent (after the fallback classifier).
        text: The patient's message.

    Returns:
        The intent to act on.
    """
    if intent in UNPLACED and is_health_text(text):
        return "describe_symptoms"
    if (
        intent in SMALL_TALK
        and len(words(text)) >= _SMALL_TALK_WORDS
        and is_health_text(text, care_words=False)
    ):
        return "describe_symptoms"
    return intent
