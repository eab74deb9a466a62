"""Whether a patient message is a health question, decided in plain Python.

:func:`is_health_text` says whether a message is about health at all. A message about
health always reaches the archive search (an answer, or the honest no-match with the
safety advice); "did not understand" and "out of scope" are for everything else.
:func:`route_intent` applies it to the NLU's intent. The emergency and crisis decision
is not taken here: see :mod:`bot.safety.session`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from bot.search.vocabulary import DEFAULT_PATH as VOCABULARY_PATH
from bot.text import content_stems, stem, words

__all__ = [
    "HEALTH_WORDS_PATH",
    "is_health_text",
    "route_intent",
]

HEALTH_WORDS_PATH = Path(__file__).with_name("health_words.yml")


#: Stems of one-word vocabulary phrases that are everyday words, not health terms.
_EVERYDAY = frozenset(
    """
    al ap abrupt backward bum burst butt caus common cure energi episod fall famili gene
    fit incid kid child children babi infant toddler teen teenag elder senior preschool carer
    caregiv caretak motiv mileston nowher outlook over oper parrot pass penetr pot pound
    preval prevent progress research risk sad smoke smoker speak spectrum stab studi sudden
    talk tall tear threw throw trip wander wet wors worsen zone walker
    """.split()  # noqa: SIM905 - a word list reads best as text
)


@dataclass(frozen=True)
class _Lexicon:
    """``bot/guard/health_words.yml`` read once: stems, care stems, endings, phrases."""

    words: frozenset[str]
    stems: frozenset[str]
    care: frozenset[str]
    suffixes: re.Pattern[str]
    phrases: re.Pattern[str]
    lookalikes: frozenset[str]


@lru_cache(maxsize=2)
def _health_lexicon(path: Path = HEALTH_WORDS_PATH) -> _Lexicon:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    care = frozenset(stem(w) for w in " ".join(data["care"]).split())
    listed = frozenset(" ".join(data["words"]).lower().split())
    stems = {stem(w) for w in listed}
    # Single-word phrases of the search vocabulary are health terms too ("tingling",
    # "vertigo", "paresthesia"); multi-word phrases are left out, their parts are
    # everyday words ("hand fell asleep").
    vocabulary = yaml.safe_load(VOCABULARY_PATH.read_text(encoding="utf-8"))
    for group in vocabulary["groups"]:
        for phrase in group:
            parts = content_stems(str(phrase))
            if len(parts) == 1 and len(parts[0]) > 2 and parts[0] not in _EVERYDAY:
                stems.add(parts[0])
    # A listed word whose stem is also a word of care ("medications", "medical") still
    # counts by itself.
    return _Lexicon(
        words=listed,
        stems=frozenset(stems - care),
        care=care,
        suffixes=re.compile(r"(?:" + "|".join(data["suffixes"]) + r")$"),
        phrases=re.compile("|".join(f"(?:{p})" for p in data["phrases"])),
        lookalikes=frozenset(stem(w) for w in " ".join(data.get("lookalikes", [])).split()),
    )


def is_health_text(text: str, care_words: bool = True) -> bool:
    """Whether a message is about health (a symptom, body part, illness, medicine, test).

    ``bot/guard/health_words.yml`` decides, with the single-word terms of the search
    vocabulary: words of the body, illnesses, procedures and medicines (common names
    and brands), phrases of questions about medicines ("while taking", "is it safe to
    take", "20 mg") and medical word endings (``-itis``, ``-pathy``, ``-olol``,
    ``-sterone``, ...) that name what no list holds. It errs towards health, because a
    health question sent to "did not understand" costs the patient more than small talk
    sent to the archive's honest no-match.

    Args:
        text: The patient's message.
        care_words: Whether words of care alone ("doctor", "hospital", "appointment")
            count; "am I talking to a real doctor?" is small talk.

    Returns:
        True when any word of the message is a health term.
    """
    lexicon = _health_lexicon()
    if lexicon.phrases.search(" ".join(words(text))):
        return True
    for word in words(text):
        base = word.split("'")[0]
        root = stem(base)
        if base in lexicon.words or root in lexicon.stems:
            return True
        if care_words and root in lexicon.care:
            return True
        if len(base) > 5 and lexicon.suffixes.search(base) and root not in lexicon.lookalikes:
            return True
    return False


#: Intents of small talk; the NLU's choice stands unless the message reads as a health
#: question (see :func:`route_intent`).
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
