"""Context of a match: negation, general questions and hypotheticals, and time.

A sign's match is dropped when a negation (``no``, ``not``, ``never``, ``without``,
``denies``, ...) stands before it in the same clause, or when the clause is a general
question or a hypothetical ("what are the signs of", "how do I know if someone", "scared
of", "what should I do if").

Each clause also gets a time status: *acute* (``suddenly``, ``an hour ago``, ``since this
morning``, ``right now``), *past or chronic* (``two years ago``, ``last year``, ``for
months``, ``on and off``, ``every afternoon``) or neither. A clause without a marker takes
the status of the nearest clause of its sentence that has one. Explicit times ("this
morning") beat long durations ("for years"), which beat soft times ("today"), which beat
frequency words ("sometimes"), which beat manner words ("suddenly").
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence

from bot.safety.finder import Finder
from bot.safety.normalise import Clause, Clauses

__all__ = [
    "LOOKBACK_CHARS",
    "Status",
    "first_unnegated",
    "general_question",
    "hypothetical",
    "lasts_minutes",
    "negated",
    "onset_clauses",
    "statuses",
]


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


# ------------------------------------------------------------------------------- negation

_NEGATION_CUES = _wordset(
    "no not never without denies deny denied didnt dont doesnt isnt wasnt arent werent "
    "hasnt havent hadnt nor neither none nothing nobody almost nearly"
)
_PSEUDO_NEGATION_NEXT = _wordset(
    "sure certain idea longer only just know understand matter doubt wonder clue kidding "
    "joke realise realize remember expect one even"
)
_NEGATION_STOPS = _wordset("but however although though yet now still then")
# "no fever and stiff neck" lists; "isnt making sense and started talking gibberish" does not.
_NEW_PREDICATE = _wordset(
    "started starting start starts is was has had have keeps keep kept went got became "
    "seems seemed looks looked feels felt suddenly also cant couldnt wont began begun then "
    "now are were"
)
_RELATIVE_PRONOUNS = _wordset("that which who whose")
_RELATIVE_CLAUSE_WORDS = 3
_NEGATION_WINDOW = 8
_ONSET_NEGATION_WINDOW = 3
_NOUN_NEGATIONS = _wordset("no without none nothing nobody nor neither")
#: How far before a match (in characters) negations and hypotheticals are looked for;
#: a bounded window keeps long messages linear.
LOOKBACK_CHARS = 240


def _is_cue(words: Sequence[str], i: int) -> bool:
    word = words[i]
    if word == "free":
        return i + 1 < len(words) and words[i + 1] == "of"
    if word == "negative":
        return i + 1 < len(words) and words[i + 1] == "for"
    if word not in _NEGATION_CUES:
        return False
    return not (i + 1 < len(words) and words[i + 1] in _PSEUDO_NEGATION_NEXT)


def negated(clause: str, start: int, inside: str = "") -> bool:
    """Whether a negation cue governs the match at ``start``.

    Args:
        clause: The clause's text.
        start: Where the match starts in it.
        inside: The text between the parts of a match ("face *is not* drooping"), where a
            cue negates too; the sign's own words ("no strength", "not able to") are not
            passed.

    Returns:
        True when the match is negated.
    """
    window_start = max(0, start - LOOKBACK_CHARS)
    before = clause[window_start:start].split()
    if window_start > 0:
        before = before[1:]  # the first word may be cut in half
    words = before + clause[start : start + LOOKBACK_CHARS].split()[:1]
    for back in range(1, min(_NEGATION_WINDOW, len(before)) + 1):
        i = len(before) - back
        if words[i] in _NEGATION_STOPS:
            break
        if words[i] == "and" and i + 1 < len(words) and words[i + 1] in _NEW_PREDICATE:
            break
        if _is_cue(words, i):
            # "didnt vomit or feel drowsy" is one negated list, but in "a rash that doesnt
            # fade and a stiff neck" the negation belongs to the short relative clause.
            relative = i > 0 and words[i - 1] in _RELATIVE_PRONOUNS
            return not (relative and back > _RELATIVE_CLAUSE_WORDS)
    between = inside.split()
    return any(_is_cue(between, i) for i in range(len(between)))


# ---------------------------------------------------------- questions and hypotheticals

_HYPOTHETICAL = re.compile(
    r"^if\b|\bwhat if\b|\bif (?:someone|somebody|anyone|a person|people|you|your|one|they|"
    r"a patient|a child|a baby)\b|\b(?:could|would|might|may|will) (?:\w+ ){0,4}?if\b|"
    r"(?<!as )\bif (?:i|he|she|they|we) (?:ever|were|was|should|suddenly|develop\w*|get|got|"
    r"started?|starts)\b|\b(?:do|happens|should i do|should you do|should we do|"
    r"to do|would happen|do you do|does it mean|call \w+|go to \w+) (?:if|when)\b|"
    r"\bin case\b|\bsuppos\w*|\bhypothetical\w*|\bimagine\b|"
    r"\bhow (?:do|can|would|could|will|should|does|did) (?:i|you|we|one|someone|somebody|"
    r"people|a person) (?:know|tell|recogni[sz]e|spot|identify|notice|check)\b|"
    r"\bhow to (?:tell|know|recogni[sz]e|spot|identify)\b|"
    r"\b(?:what are|what is|whats|know|learn|list|tell me|recogni[sz]e|common|typical|early|"
    r"warning|main|usual|first) (?:the )?(?:signs?|symptoms?)\b|"
    r"\b(?:signs?|symptoms?) (?:of|for) (?:a |an )?\w+ (?:like|such as|include|including|"
    r"are|is)\b|\bred flags?\b|\blook out for\b|\bwatch (?:out )?for\b|\bbe aware of\b|"
    r"\b(?:scared|afraid|frightened|terrified|fear|fears|fearful|paranoid|phobia) (?:of|about)\b|"
    r"\b(?:worried|anxious|nervous|concerned) about (?:having|getting|another|ever)\b|"
    r"\b(?:risk|risks|chance|chances|likelihood|odds) (?:of|that)\b|\bprevent\w*|\bavoid\w*|"
    r"\b(?:learn|learning|read|reading) about\b|\bleaflet\b|\barticle\b|\bexplain\b"
)
_MODAL = re.compile(r"\b(?:could|would|might|may|can|will)\b")
_CONDITION_AFTER = re.compile(r"(?: \w+){0,6}? (?:if|unless)\b")
_QUESTION_START = re.compile(
    r"^(?:what|whats|how|can|could|does|do|is|are|should|which|why|when|where|who|will|would|"
    r"may|might)\b"
)
_PERSONAL = re.compile(
    r"\b(?:i|im|ive|id|ill|me|my|mine|myself|he|hes|him|his|she|shes|her|hers|we|our|us|"
    r"they|theyre|their|them|mum|mom|mother|dad|father|husband|wife|son|daughter|grandma|"
    r"grandmother|grandad|grandpa|grandfather|nan|brother|sister|partner|friend|baby|child|"
    r"boyfriend|girlfriend|uncle|aunt|neighbou?r|patient)\b"
)


def general_question(clause: str) -> bool:
    """Whether a clause is a question about signs in general.

    Args:
        clause: The clause's text.

    Returns:
        True for "does a stroke cause slurred speech": a question that names nobody.
    """
    return bool(_QUESTION_START.search(clause)) and not _PERSONAL.search(clause)


def hypothetical(clause: str, start: int, end: int) -> bool:
    """Whether the match from ``start`` to ``end`` is only imagined or asked about.

    Args:
        clause: The clause's text.
        start: Where the match starts.
        end: Where it ends.

    Returns:
        True after "what if", "scared of", "what are the signs of", ... and for "I could
        get double vision if I stop the drops" (a modal before, a condition after).
    """
    before = clause[max(0, start - LOOKBACK_CHARS) : start]
    if _HYPOTHETICAL.search(before):
        return True
    return bool(_MODAL.search(before) and _CONDITION_AFTER.match(clause, end))


# ----------------------------------------------------------------------------------- time

_NUM = (
    r"(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|"
    r"twenty|thirty|forty|fifty|a few|few|a couple of|couple of|a couple|several|half an?)"
)
_DAYS = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"

#: Explicit, recent times: the strongest sign that something is happening now.
_STRONG_ACUTE = Finder(
    rf"\b(?:{_NUM} )?(?:seconds?|minutes?|hours?|hr) ago\b|"
    rf"\b(?:in|over|within|during) (?:the )?(?:last|past) (?:{_NUM} )?(?:minutes?|hours?|hour)\b|"
    r"\bsince (?:this (?:morning|afternoon|evening)|last night|yesterday|breakfast|lunch|"
    r"lunchtime|dinner|tea|noon|midnight|earlier|i woke|waking|i got up|getting up|"
    r"\d+ ?(?:am|pm|oclock)?|an hour|half an hour)\b|"
    r"\b(?:this|earlier this) (?:morning|afternoon|evening)\b|\blast night\b|\bovernight\b|"
    r"\b(?:just now|right now)\b|\bwoke (?:\w+ )?up\b|\b(?:woken|waking) up (?:with|and|to)\b|"
    r"\b\d+ ?(?:am|pm|oclock)\b|"
    r"\b(?:just|has just|have just|only just) (?:started|happened|began|begun|come on|came on|"
    r"gone|went|turned|become|noticed)\b"
)
#: Softer recent times: today, yesterday, a few days, "for an hour".
_WEAK_ACUTE = Finder(
    rf"\b(?:today|tonight|yesterday|earlier)\b|\b(?:{_NUM} )?days? ago\b|"
    rf"\bfor (?:the (?:last|past) )?(?:{_NUM} )(?:minutes?|hours?|days?)\b|\bfor hours\b|"
    rf"\b(?:in|over|within|during) (?:the )?(?:last|past) (?:{_NUM} )?days?\b|"
    rf"\bsince (?:{_DAYS}|the weekend)\b|\bon {_DAYS}\b"
)
#: Long ago, or going on for a long time.
_STRONG_PAST = Finder(
    rf"\b(?:{_NUM} )?(?:weeks?|months?|years?|yrs?|decades?) ago\b|"
    r"\blast (?:week|month|year|summer|winter|spring|autumn|fall|christmas|easter)\b|"
    r"\b(?:in|from|since|back in|during) (?:19|20)\d\d\b|\bback in\b|"
    r"\bas a (?:child|kid|teen\w*|baby|toddler|student)\b|"
    r"\bwhen (?:i|he|she) (?:was|were) (?:a |an )?(?:young\w*|little|small|child|kid|teen\w*|"
    r"baby|\d+|pregnant|at school|in school|at university|in college|student)\b|"
    r"\b(?:years|months) back\b|\blong ago\b|\ba while (?:ago|back)\b|\bin the past\b|"
    r"\bpreviously\b|\bhistory of\b|\bused to\b|\bsince (?:childhood|birth|i was)\b|"
    r"\b(?:all|most of) (?:my|his|her) life\b|\b(?:my|his|her) whole life\b|"
    rf"\bfor (?:the (?:last|past) )?(?:{_NUM} )?(?:weeks?|months?|years?|decades?)\b|"
    r"\bfor (?:ages|a long time|a while|some time|so long|as long as)\b|"
    r"\b(?:weeks|months|years|decades) of\b|"
    rf"\b(?:over|in|during) (?:the )?(?:last|past) (?:{_NUM} )?(?:weeks|months|years)\b|"
    r"\bsince (?:last|the) (?:week|month|year)\b|\bchronic\w*\b|\blifelong\b|"
    r"\bevery (?:\w+ ){0,2}?(?:weeks?|months?|years?)\b"
)
#: Frequency and gradual change: it keeps happening, so it is not new.
_WEAK_PAST = Finder(
    r"\bevery (?:day|night|morning|afternoon|evening|time|now and then|so often|few)\b|"
    r"\b(?:daily|nightly)\b|\bmost (?:days|nights|mornings|evenings)\b|"
    r"\b(?:on and off|off and on)\b|\bintermittent\w*|\bcomes? and goes?\b|\brecurr\w*|"
    r"\b(?:always|usually|often|sometimes|occasionally|regularly|frequently)\b|"
    r"\bnow and (?:then|again)\b|\bfrom time to time\b|\bevery so often\b|\bwhenever\b|"
    r"\bwhen (?:i|im|he|she|hes|shes) (?:sleep|lie|sit|type|lean|cross|exercise|run|stand|"
    r"walk|read|wake|get|am|feel|m|is)\b|\bwhen im\b|"
    r"\bgradual\w*|\bslowly\b|\bover time\b|\bat night\b|"
    r"\bin the (?:mornings|evenings|afternoons)\b|\btends? to\b|\bkeeps? coming back\b"
)
#: How it started: meaningful, but weaker than any explicit time.
_MANNER_ONSET = Finder(
    r"\bsuddenly\b|\bsudden\b|\ball of a sudden\b|\bout of (?:nowhere|the blue)\b|\babrupt\w*|"
    r"\bwithout (?:any )?warning\b|\b(?:in|within) (?:a few |a couple of |a |one )?seconds?\b|"
    r"\binstant\w*|\ball at once\b|"
    r"\bcame on (?:\w+ )?(?:fast|quickly|rapidly|at once|suddenly)\b|"
    r"\bnew (?:onset|symptoms?|weakness|numbness|problem)\b|\bfor the first time\b|"
    r"\bfirst time (?:ever|in my life)\b|"
    r"\bnever (?:had|happened|felt|experienced) (?:\w+ ){0,3}?(?:before|like this)\b"
)
#: After a stroke: what a stroke survivor lives with, unless a time says it is new. The
#: weakest marker of all ("since his stroke yesterday", "suddenly" still count), and
#: passed on only to the clauses after it: "he banged his head and is vomiting, and since
#: the stroke ..." keeps its head injury.
_AFTER_STROKE = Finder(r"\bsince (?:the|my|his|her|their|a) (?:stroke|tia|mini stroke)\b")
#: A sentence that only says how often "it" happens ("happens every couple of weeks")
#: speaks of the sentence before it.
_RECURRENCE = re.compile(
    r"^(?:and )?(?:(?:it|this|that|they|these|which|the (?:\w+ )?attacks?) )?"
    r"(?:happens|happen|comes|come|keeps happening|occurs|occur|recurs)\b"
)
#: Present tense markers keep a clause from inheriting "two years ago" from its sentence.
_PRESENT = Finder(r"\b(?:now|currently|at the moment|at present)\b")

# A duration of a seizure: "10 minutes", "an hour"; "under 5 minutes" is too short.
_MINUTES = re.compile(
    r"\b(\d+|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|"
    r"forty five|fifty|sixty) (?:\+ )?minutes?\b|\b(?:an|half an|\d+|one|two) hours?\b"
)
_MINUTES_TOO_SHORT = re.compile(r"\b(?:less than|under|within|only|just|barely|fewer than)\s*$")
_NUMBER_WORDS = {"five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}
_LONG_NUMBER_WORD = 10  # the other number words _MINUTES knows are ten or more


class Status(enum.Enum):
    """The time status of a clause."""

    ACUTE = "acute"
    PAST = "past"
    PRESENT = "present"
    UNKNOWN = "unknown"


_LADDER: tuple[tuple[Finder, Status], ...] = (
    (_STRONG_ACUTE, Status.ACUTE),
    (_STRONG_PAST, Status.PAST),
    (_WEAK_ACUTE, Status.ACUTE),
    (_WEAK_PAST, Status.PAST),
    (_MANNER_ONSET, Status.ACUTE),
)


def _onset_negated(clause: str, start: int) -> bool:
    # Only a cue close before an onset negates it ("wasnt sudden", "not since this
    # morning"); "no" and "without" negate nouns, so "no strength since this morning" keeps
    # its onset unless "no" comes right before it ("no sudden change").
    before = clause[max(0, start - LOOKBACK_CHARS) : start].split()[-_ONSET_NEGATION_WINDOW:]
    for back, word in enumerate(reversed(before), start=1):
        if word in _NEGATION_STOPS:
            break
        if word in _NEGATION_CUES and (back == 1 or word not in _NOUN_NEGATIONS):
            return True
    return False


def first_unnegated(pattern: Finder, clause: str) -> bool:
    """Whether ``pattern`` (an onset, like "suddenly") occurs in a clause unnegated.

    Args:
        pattern: An onset pattern.
        clause: The clause's text.

    Returns:
        True when one match has no negation cue right before it ("wasnt sudden").
    """
    return any(not _onset_negated(clause, m.start()) for m in pattern.finditer(clause))


def onset_clauses(pattern: Finder, clauses: Clauses) -> set[int]:
    """The numbers of the clauses where :func:`first_unnegated` holds, in one search.

    Args:
        pattern: An onset pattern.
        clauses: The message's clauses.

    Returns:
        The clause numbers.
    """
    found: set[int] = set()
    for i, m in clauses.find(pattern):
        if i not in found and not _onset_negated(
            clauses.items[i].text, m.start() - clauses.starts[i]
        ):
            found.add(i)
    return found


def lasts_minutes(clause: str, at_least: int) -> bool:
    """Whether a clause gives a duration of at least ``at_least`` minutes (up to ten).

    Args:
        clause: The clause's text.
        at_least: The shortest duration that counts, in minutes.

    Returns:
        True for "for 10 minutes", "an hour", "eight minutes"; False for "under 10
        minutes".
    """
    for m in _MINUTES.finditer(clause):
        if _MINUTES_TOO_SHORT.search(clause[: m.start()]):
            continue
        amount = m.group(1)
        if amount is None:  # an hour, two hours
            return True
        value = int(amount) if amount.isdigit() else _NUMBER_WORDS.get(amount, _LONG_NUMBER_WORD)
        if value >= at_least:
            return True
    return False


def _own_statuses(clauses: Clauses) -> list[Status]:
    own: list[Status | None] = [None] * len(clauses)
    for pattern, status in _LADDER:
        if status is Status.ACUTE:
            matched = onset_clauses(pattern, clauses)
        else:
            matched = {i for i, _ in clauses.find(pattern)}
        for i in matched:
            if own[i] is None:
                own[i] = status
    present = {i for i, _ in clauses.find(_PRESENT)}
    return [
        s if s is not None else (Status.PRESENT if i in present else Status.UNKNOWN)
        for i, s in enumerate(own)
    ]


def statuses(clauses: Clauses) -> tuple[list[Status], list[Status]]:
    """Each clause's own time status, and its status after inheritance.

    A clause without a marker of its own takes the status of the nearest clause before
    it in its sentence that has one, else of the nearest one after it. A sentence that
    only says how often it happens ("happens every couple of weeks") makes the unmarked
    clauses of the sentence before it past or chronic too.

    Args:
        clauses: The message's clauses.

    Returns:
        The own statuses and the resolved statuses, one per clause.
    """
    items: Sequence[Clause] = clauses.items
    own = _own_statuses(clauses)
    forward_only: set[int] = set()
    for i, _ in clauses.find(_AFTER_STROKE):
        if own[i] in (Status.UNKNOWN, Status.PRESENT):
            own[i] = Status.PAST
            forward_only.add(i)
    marked = (Status.ACUTE, Status.PAST)
    previous: list[Status | None] = []
    last: Status | None = None
    for i, clause in enumerate(items):
        if i and items[i - 1].sentence != clause.sentence:
            last = None
        previous.append(last)
        if own[i] in marked:
            last = own[i]
    following: list[Status | None] = [None] * len(items)
    last = None
    for i in range(len(items) - 1, -1, -1):
        if i + 1 < len(items) and items[i + 1].sentence != items[i].sentence:
            last = None
        following[i] = last
        if own[i] in marked and i not in forward_only:
            last = own[i]
    resolved = [
        (previous[i] or following[i] or own[i]) if own[i] is Status.UNKNOWN else own[i]
        for i in range(len(items))
    ]
    for i, clause in enumerate(items):
        starts_sentence = i > 0 and items[i - 1].sentence != clause.sentence
        if starts_sentence and own[i] is Status.PAST and _RECURRENCE.match(clause.text):
            before = items[i - 1].sentence
            for j in range(i - 1, -1, -1):
                if items[j].sentence != before:
                    break
                if resolved[j] is Status.UNKNOWN:
                    resolved[j] = Status.PAST
    return own, resolved
