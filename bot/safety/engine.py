"""The engine that reads the sign table over a message, and the assessment it returns."""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bot.safety import context
from bot.safety.context import Status
from bot.safety.finder import Finder
from bot.safety.normalise import Clause, Clauses, split_clauses
from bot.safety.signs import (
    COMBINATIONS,
    SIGN_ORDER,
    SIGNS,
    SUDDEN_ONSET,
    Combination,
    Kind,
    Lasting,
    Onset,
    Part,
)

__all__ = ["RECENT_MESSAGES", "Assessment", "Level", "assess", "assess_conversation", "decide"]

#: How many of the latest patient messages :func:`assess_conversation` reads together
#: when an onset ("an hour ago") and a sign ("my left arm is numb") come in separate
#: messages.
RECENT_MESSAGES = 3


class Level(str, enum.Enum):
    """How urgent a message is."""

    NONE = "none"
    EMERGENCY = "emergency"
    SELF_HARM = "self_harm"


@dataclass(frozen=True)
class Assessment:
    """The result of assessing one message or a conversation.

    Attributes:
        level: The urgency; ``SELF_HARM`` wins over ``EMERGENCY``.
        signs: Machine names of the signs found, in a stable order, for example
            ``("face_droop", "sudden_onset")``. Empty when ``level`` is ``NONE``.
    """

    level: Level
    signs: tuple[str, ...] = ()

    @property
    def urgent(self) -> bool:
        """Whether the patient must be sent to emergency help (any level but NONE).

        Returns:
            True for ``EMERGENCY`` and ``SELF_HARM``.
        """
        return self.level is not Level.NONE


@functools.cache
def _compiled(pattern: str) -> Finder:
    return Finder(pattern)


@dataclass
class _Analysis:
    self_harm: list[str] = field(default_factory=list)
    emergency: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    has_onset: bool = False


class _Reading:
    """One message's clauses and time statuses, with the per-clause checks cached."""

    def __init__(self, clauses: Clauses) -> None:
        self.clauses = clauses
        self.own, self.statuses = context.statuses(clauses)
        self._general: dict[int, bool] = {}

    def hits(self, pattern: str, inside: bool = True, hypotheticals: bool = True) -> list[int]:
        """The clauses with an affirmed (and, unless told, not hypothetical) match, in order."""
        found: list[int] = []
        items, starts = self.clauses.items, self.clauses.starts
        for i, m in self.clauses.find(_compiled(pattern)):
            if (found and found[-1] == i) or m.end() == m.start():
                continue
            text, start = items[i].text, m.start() - starts[i]
            if context.negated(text, start, _inside(m, inside)):
                continue
            if hypotheticals:
                if i not in self._general:
                    self._general[i] = context.general_question(text)
                if self._general[i] or context.hypothetical(text, start, m.end() - starts[i]):
                    continue
            found.append(i)
        return found

    def live(self, clauses: Iterable[int]) -> set[int]:
        """The clauses that are not past or chronic."""
        return {i for i in clauses if self.statuses[i] is not Status.PAST}

    def part(self, part: Part) -> set[int]:
        """The clauses where a part of a combined sign is found."""
        if isinstance(part, Lasting):
            items = self.clauses.items
            return self.live(
                i for i in range(len(items)) if context.lasts_minutes(items[i].text, part.minutes)
            )
        if isinstance(part, Onset):
            found = context.onset_clauses(_compiled(part.pattern), self.clauses)
        else:
            found = set(self.hits(part.pattern, part.inside))
            if part.within is not None:
                within = _compiled(part.within)
                found = {i for i in found if within.pattern.search(self.clauses.items[i].text)}
        return self.live(found) if part.live else found

    def combined(self, combination: Combination) -> bool:
        """Whether every need of a combined sign is met (in one sentence, when it says so)."""
        sentences: set[int] | None = None
        for need in combination.needs:
            found: set[int] = set()
            for part in need:
                found |= self.part(part)
            if not found:
                return False
            if combination.same_sentence:
                met = {self.clauses.items[i].sentence for i in found}
                sentences = met if sentences is None else sentences & met
                if not sentences:
                    return False
        return True


def _inside(m: re.Match[str], inside: bool) -> str:
    """The words a negation may hide between: the named gaps, else the whole match."""
    if not inside:
        return ""
    gaps = [name for name in m.re.groupindex if name.startswith("gap")]
    if not gaps:
        return m.group(0)
    return " ".join(m.group(name) or "" for name in gaps)


def _analyse(text: str) -> _Analysis:
    result = _Analysis()
    try:
        clauses = split_clauses(text)
    except (TypeError, ValueError):  # a non-string slipped through; nothing to read
        return result
    if not len(clauses):
        return result
    reading = _Reading(clauses)
    result.has_onset = any(s is Status.ACUTE for s in reading.own)
    for sign in SIGNS:
        for pattern in sign.patterns:
            if sign.kind is Kind.SELF_HARM:
                if reading.hits(pattern, sign.inside, hypotheticals=False):
                    result.self_harm.append(sign.name)
                continue
            for i in reading.hits(pattern, sign.inside):
                status = reading.statuses[i]
                if status is Status.PAST:
                    continue
                if sign.kind is Kind.ACUTE or status is Status.ACUTE or result.has_onset:
                    result.emergency.append(sign.name)
                else:
                    result.pending.append(sign.name)
    result.emergency.extend(c.name for c in COMBINATIONS if reading.combined(c))
    return result


def _combined_across(texts: Sequence[str]) -> list[str]:
    """The combined signs whose parts are spread over consecutive messages.

    Each message continues the last sentence of the one before ("my son had a seizure",
    "it has gone on for ten minutes"), so that a combination that needs one sentence can
    be met across them.
    """
    items: list[Clause] = []
    for text in texts:
        clauses = split_clauses(text).items
        if not clauses:
            continue
        base = (items[-1].sentence if items else 0) - clauses[0].sentence
        items.extend(Clause(c.text, c.sentence + base) for c in clauses)
    if not items:
        return []
    reading = _Reading(Clauses.of(tuple(items)))
    return [c.name for c in COMBINATIONS if reading.combined(c)]


def _ordered(names: Iterable[str]) -> tuple[str, ...]:
    wanted = set(names)
    return tuple(name for name in SIGN_ORDER if name in wanted)


def _conclude(self_harm: Sequence[str], emergency: Sequence[str], onset: bool) -> Assessment:
    signs = list(self_harm) + list(emergency)
    if emergency and onset:
        signs.append(SUDDEN_ONSET)
    if self_harm:
        return Assessment(Level.SELF_HARM, _ordered(signs))
    if emergency:
        return Assessment(Level.EMERGENCY, _ordered(signs))
    return Assessment(Level.NONE, ())


def assess(text: str) -> Assessment:
    """Assess one patient message for emergency red flags and self-harm.

    Args:
        text: The message as the patient typed it. Any string is accepted (empty, emoji,
            search syntax, a Rasa intent payload, very long); a non-string is treated as
            empty.

    Returns:
        The :class:`Assessment`: ``SELF_HARM`` when thoughts of suicide or self-harm are
        expressed (even alongside other signs), ``EMERGENCY`` for a neurological red flag,
        else ``NONE``. ``signs`` names what was found, plus ``"sudden_onset"`` when the
        message also says the problem is new.
    """
    if not isinstance(text, str):
        return Assessment(Level.NONE, ())
    found = _analyse(text)
    return _conclude(found.self_harm, found.emergency, found.has_onset)


def assess_conversation(texts: Sequence[str]) -> Assessment:
    """Assess all patient messages of a conversation so far.

    The conversation is urgent when any single message is. In addition, the last
    :data:`RECENT_MESSAGES` messages are read together: a sign that only counts when it
    is new (one-sided weakness or numbness, loss of vision, double vision, confusion,
    not being able to walk or find words) becomes an emergency when one of those recent
    messages says it started suddenly or recently ("it started an hour ago"), even if the
    sign itself was described in another message, and a combined sign may have its parts
    in different recent messages ("my son had a seizure", "it has gone on for ten
    minutes"; fever, stiff neck and headache in three messages). Signs described as
    long-standing ("for years", "last year") are not revived this way.

    Args:
        texts: The patient's messages, oldest first.

    Returns:
        The combined :class:`Assessment`, with the signs of every message.
    """
    strings = [t for t in texts if isinstance(t, str)]
    analyses = [_analyse(t) for t in strings]
    self_harm = [name for a in analyses for name in a.self_harm]
    emergency = [name for a in analyses for name in a.emergency]
    onset = any(a.has_onset and a.emergency for a in analyses)
    count = min(max(RECENT_MESSAGES, 0), len(analyses))
    recent = analyses[len(analyses) - count :]
    recent_onset = any(a.has_onset for a in recent)
    if recent_onset:
        pending = [name for a in recent for name in a.pending]
        if pending:
            emergency.extend(pending)
            onset = True
    if len(recent) > 1:
        across = [
            n for n in _combined_across(strings[len(strings) - count :]) if n not in emergency
        ]
        if across:
            emergency.extend(across)
            onset = onset or recent_onset
    return _conclude(self_harm, emergency, onset)


def decide(texts: Sequence[str]) -> Assessment:
    """The safety decision for the patient's recent messages in this session.

    This is the one entry point for callers that hold a session: pass the patient's own
    messages of this session (not the bot's replies), oldest first, the newest last. It is
    :func:`assess_conversation` over them: urgent when any message is, and an onset in one
    of the last :data:`RECENT_MESSAGES` messages makes a sign in another of them urgent.

    Args:
        texts: The session's patient messages, oldest first.

    Returns:
        The :class:`Assessment` to act on.
    """
    return assess_conversation(texts)
