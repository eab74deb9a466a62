"""Emergency red-flag assessment of patient messages.

Every patient message goes through :func:`assess` before anything else happens. It looks
for the neurological signs that need an ambulance now (stroke signs, a seizure that does
not stop, a thunderclap headache, meningitis signs, ...) and for thoughts of self-harm,
which take precedence. It is rule based (plain :mod:`re`), deterministic and never raises.

How a message is read:

1. The text is normalised: lower case, accents and apostrophes dropped (``can't`` and
   ``cant`` read the same), common misspellings mended (``numbnes``, ``slured``,
   ``siezure``), then cut into sentences and clauses. Clauses end at ``but``,
   ``however``, brackets, dashes, and at ``, <new subject>`` / ``and <new subject>``.
2. Each sign pattern is searched clause by clause. A match is dropped when a negation
   (``no``, ``not``, ``never``, ``without``, ``denies``, ...) stands before it in the
   same clause, or when the clause is a general question or a hypothetical ("what are
   the signs of", "how do I know if someone", "scared of", "what should I do if").
3. Each clause gets a time status: *acute* (``suddenly``, ``an hour ago``, ``since this
   morning``, ``right now``), *past or chronic* (``two years ago``, ``last year``, ``for
   months``, ``on and off``, ``every afternoon``) or neither. A clause without a marker
   takes the status of the nearest clause of its sentence that has one. Explicit times
   ("this morning") beat long durations ("for years"), which beat soft times ("today"),
   which beat frequency words ("sometimes"), which beat manner words ("suddenly").
4. Signs that are acute by nature (face droop, slurred speech, worst-ever headache,
   seizure that will not stop, unconscious) are emergencies unless their clause is past
   or chronic. Signs that are only alarming when new (one-sided weakness or numbness,
   loss of vision, double vision, confusion, not being able to walk or find words) need
   an acute marker in their clause or, failing that, anywhere in the message.
5. Combined signs (head injury with drowsiness or vomiting, fever and stiff neck with a
   headache, a rash or light hurting the eyes, weakness with trouble breathing or
   swallowing, back pain with loss of bladder control or saddle numbness, a seizure with
   "over 5 minutes" / "won't stop" / "one after another" / "hasn't woken up") need all
   their parts, each not negated and not past.

Self-harm phrases are never discounted as past or chronic: a false alarm there costs
little, a miss a great deal.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import ArchiveFormatError
from bot.jsonl import json_objects

__all__ = [
    "RECENT_MESSAGES",
    "Assessment",
    "Level",
    "TriageReport",
    "assess",
    "assess_conversation",
    "evaluate_triage",
]

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


# --------------------------------------------------------------------------- sign names

FACE_DROOP = "face_droop"
ONE_SIDED_WEAKNESS = "one_sided_weakness"
SPEECH_DIFFICULTY = "speech_difficulty"
VISION_LOSS = "vision_loss"
DOUBLE_VISION = "double_vision"
THUNDERCLAP_HEADACHE = "thunderclap_headache"
PROLONGED_SEIZURE = "prolonged_seizure"
UNRESPONSIVE = "unresponsive"
HEAD_INJURY = "head_injury"
MENINGITIS_SIGNS = "meningitis_signs"
SPREADING_WEAKNESS = "spreading_weakness"
CAUDA_EQUINA = "cauda_equina"
SUDDEN_CONFUSION = "sudden_confusion"
CANNOT_WALK = "cannot_walk"
COLLAPSE = "collapse"
SUSPECTED_STROKE = "suspected_stroke"
EXPLICIT_EMERGENCY = "explicit_emergency"
SUDDEN_ONSET = "sudden_onset"
SUICIDAL_THOUGHTS = "suicidal_thoughts"
SELF_INJURY = "self_injury"
OVERDOSE = "overdose"

_SIGN_ORDER = (
    SUICIDAL_THOUGHTS,
    SELF_INJURY,
    OVERDOSE,
    EXPLICIT_EMERGENCY,
    SUSPECTED_STROKE,
    FACE_DROOP,
    ONE_SIDED_WEAKNESS,
    SPEECH_DIFFICULTY,
    VISION_LOSS,
    DOUBLE_VISION,
    THUNDERCLAP_HEADACHE,
    PROLONGED_SEIZURE,
    UNRESPONSIVE,
    HEAD_INJURY,
    MENINGITIS_SIGNS,
    SPREADING_WEAKNESS,
    CAUDA_EQUINA,
    SUDDEN_CONFUSION,
    CANNOT_WALK,
    COLLAPSE,
    SUDDEN_ONSET,
)


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


# ------------------------------------------------------------------------ normalisation

_APOSTROPHES = re.compile(r"['\u2018\u2019\u201b\u02bc\u0060\u00b4]")
_SENTENCE_END = re.compile(r"[!?;\n\r]+|\.(?!\d)")
# Brackets, dashes and colons end a clause but not the sentence.
_CLAUSE_PUNCTUATION = re.compile(r":(?!\d)|\s[-\u2013\u2014]+\s|[\u2013\u2014]|[()\[\]]")
_NOT_WORD = re.compile(r"[^a-z0-9,|]+")
_DIGIT_LETTER = re.compile(r"(\d)(?!(?:st|nd|rd|th)\b)([a-z])")
_SPACES = re.compile(r"\s+")

# Misspellings and contractions, applied to the word stream (apostrophes already gone).
_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (_rx(p), r)
    for p, r in (
        (r"\bcan not\b|\bcannot\b|\bcnt\b|\bcan t\b", "cant"),
        (r"\bcould not\b", "couldnt"),
        (r"\bwill not\b|\bwon t\b", "wont"),
        (r"\bdo not\b", "dont"),
        (r"\bdoes not\b", "doesnt"),
        (r"\bdid not\b", "didnt"),
        (r"\bis not\b", "isnt"),
        (r"\bare not\b", "arent"),
        (r"\bwas not\b", "wasnt"),
        (r"\bhas not\b", "hasnt"),
        (r"\bhave not\b", "havent"),
        (r"\bi am\b", "im"),
        (r"\b(?:not|isnt|wasnt|arent|werent|im not) able to\b", "unable to"),
        (r"\bwanna\b", "want to"),
        (r"\bgonna\b", "going to"),
        (r"\bmy ?self\b|\bmeself\b|\bmyslef\b|\bmysefl\b", "myself"),
        (r"\bnum+b?n[ei]s+\b|\bnumbess\b|\bnumnes+\b", "numbness"),
        (r"\bnum\b", "numb"),
        (r"\bweak?n[ea]s+\b|\bweekness?\b|\bweaknes\b|\bweakniss\b", "weakness"),
        (
            r"\b(feels?|felt|is|was|went|gone|very|so|really|getting|gotten|became|goes|"
            r"arm|leg|hand|side) week\b",
            r"\1 weak",
        ),
        (
            r"\b(?:siezures?|seziures?|sezures?|seisures?|seizers?|seazures?|ceasures?|"
            r"seizuers?|seizurs?|siezurs?|seizur)\b",
            "seizure",
        ),
        (r"\bsiezing\b|\bseazing\b", "seizing"),
        (
            r"\bhead ?ach\b|\bhed ?ache\b|\bhead ?ake\b|\bhead ?ace\b|\bhaed ?ache\b|"
            r"\bheadahce\b|\bheadche\b|\bhadache\b|\bhead ache\b|\bheadaches?\b",
            "headache",
        ),
        (r"\bvison\b|\bvisoin\b|\bvission\b|\bvisiom\b|\bvisiion\b", "vision"),
        (r"\bdubble\b|\bdoubel\b|\bduble\b", "double"),
        (r"\bspeach\b|\bspeeh\b|\bspech\b", "speech"),
        (r"\beye sight\b", "eyesight"),
        (r"\bun ?con?s?c?i?ous\b|\bunconsc?ius\b|\bunconcsious\b", "unconscious"),
        (r"\bcon?s?c?iousness\b|\bconsciousnes\b", "consciousness"),
        (r"\bconfus+ed\b|\bconfued\b|\bconfuzed\b|\bconfsued\b", "confused"),
        (r"\bconfus+ion\b|\bconfution\b", "confusion"),
        (r"\bstorke\b|\bstrok\b|\bstroek\b|\bstrock\b|\bstroak\b", "stroke"),
        (r"\ba stoke\b", "a stroke"),
        (r"\bdiz+(?:ey|ie|y)\b", "dizzy"),
        (r"\bsuddenly\b|\bsu+d+e?n+t?(?:ly|ley|lly|y)\b", "suddenly"),
        (r"\bwierd\b", "weird"),
        (r"\bhrs?\b", "hours"),
        (r"\bmins?\b", "minutes"),
        (r"\bsecs?\b", "seconds"),
    )
)

_SUBJECT = (
    r"(?:i|im|ive|id|my|he|hes|his|she|shes|her|they|theyre|their|we|it|its|this|that|"
    r"now|today|tonight|then|suddenly|since|yesterday|there|theres)"
)
_CLAUSE_BREAKS: tuple[re.Pattern[str], ...] = (
    _rx(
        r"\s*,?\s*\b(?:but|however|although|though|whereas|except|apart from|aside from|"
        r"otherwise)\b"
    ),
    _rx(rf"\s,\s(?={_SUBJECT}\b)"),
    _rx(rf"\s(?:,\s)?(?:and|because|cause|cos|so)\s(?={_SUBJECT}\b)"),
)


@dataclass(frozen=True)
class _Clause:
    text: str
    sentence: int


def _normalise(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_text = "".join(c for c in decomposed if not unicodedata.combining(c))
    lowered = _APOSTROPHES.sub("", ascii_text.lower()).replace("&", " and ")
    return lowered.replace("w/o", " without ").replace("w/", " with ")


def _clauses(text: str) -> list[_Clause]:
    clauses: list[_Clause] = []
    for number, sentence in enumerate(_SENTENCE_END.split(_normalise(text))):
        words = _CLAUSE_PUNCTUATION.sub(" | ", sentence).replace(",", " , ")
        words = _NOT_WORD.sub(" ", words)
        words = _DIGIT_LETTER.sub(r"\1 \2", words)
        words = _SPACES.sub(" ", words).strip()
        if not words:
            continue
        for rewrite, replacement in _REWRITES:
            words = rewrite.sub(replacement, words)
        words = f" {words} "
        for brk in _CLAUSE_BREAKS:
            words = brk.sub(" | ", words)
        for part in words.split("|"):
            clean = _SPACES.sub(" ", part.replace(",", " ")).strip()
            if clean:
                clauses.append(_Clause(clean, number))
    return clauses


# ---------------------------------------------------------------- negation, hypotheticals


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


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
_LOOKBACK_CHARS = 240


def _is_cue(words: Sequence[str], i: int) -> bool:
    word = words[i]
    if word == "free":
        return i + 1 < len(words) and words[i + 1] == "of"
    if word == "negative":
        return i + 1 < len(words) and words[i + 1] == "for"
    if word not in _NEGATION_CUES:
        return False
    return not (i + 1 < len(words) and words[i + 1] in _PSEUDO_NEGATION_NEXT)


def _negated(clause: str, start: int, inside: str = "") -> bool:
    """Whether a negation cue governs the match at ``start``.

    ``inside`` is the text between the parts of a match ("face *is not* drooping"), where
    a cue negates too; the sign's own words ("no strength", "not able to") are not passed.
    """
    # Only a short window before the match matters; slicing keeps long messages linear.
    window_start = max(0, start - _LOOKBACK_CHARS)
    before = clause[window_start:start].split()
    if window_start > 0:
        before = before[1:]  # the first word may be cut in half
    words = before + clause[start : start + _LOOKBACK_CHARS].split()[:1]
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


_HYPOTHETICAL = _rx(
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
_MODAL = _rx(r"\b(?:could|would|might|may|can|will)\b")
_CONDITION_AFTER = _rx(r"(?: \w+){0,6}? (?:if|unless)\b")
_QUESTION_START = _rx(
    r"^(?:what|whats|how|can|could|does|do|is|are|should|which|why|when|where|who|will|would|"
    r"may|might)\b"
)
_PERSONAL = _rx(
    r"\b(?:i|im|ive|id|ill|me|my|mine|myself|he|hes|him|his|she|shes|her|hers|we|our|us|"
    r"they|theyre|their|them|mum|mom|mother|dad|father|husband|wife|son|daughter|grandma|"
    r"grandmother|grandad|grandpa|grandfather|nan|brother|sister|partner|friend|baby|child|"
    r"boyfriend|girlfriend|uncle|aunt|neighbou?r|patient)\b"
)


def _general_question(clause: str) -> bool:
    """A question about signs in general: "does a stroke cause slurred speech"."""
    return bool(_QUESTION_START.search(clause)) and not _PERSONAL.search(clause)


def _hypothetical(clause: str, start: int, end: int) -> bool:
    before = clause[max(0, start - _LOOKBACK_CHARS) : start]
    if _HYPOTHETICAL.search(before):
        return True
    # "I could get double vision if I stop the drops": a modal before, a condition after.
    return bool(_MODAL.search(before) and _CONDITION_AFTER.match(clause, end))


# --------------------------------------------------------------------------- time status

_NUM = (
    r"(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|"
    r"twenty|thirty|forty|fifty|a few|few|a couple of|couple of|a couple|several|half an?)"
)
_DAYS = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"

#: Explicit, recent times: the strongest sign that something is happening now.
_STRONG_ACUTE = _rx(
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
_WEAK_ACUTE = _rx(
    rf"\b(?:today|tonight|yesterday|earlier)\b|\b(?:{_NUM} )?days? ago\b|"
    rf"\bfor (?:the (?:last|past) )?(?:{_NUM} )(?:minutes?|hours?|days?)\b|\bfor hours\b|"
    rf"\b(?:in|over|within|during) (?:the )?(?:last|past) (?:{_NUM} )?days?\b|"
    rf"\bsince (?:{_DAYS}|the weekend)\b|\bon {_DAYS}\b"
)
#: Long ago, or going on for a long time.
_STRONG_PAST = _rx(
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
    r"\bevery (?:\w+ )?(?:week|month|year)\b"
)
#: Frequency and gradual change: it keeps happening, so it is not new.
_WEAK_PAST = _rx(
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
_MANNER_ONSET = _rx(
    r"\bsuddenly\b|\bsudden\b|\ball of a sudden\b|\bout of (?:nowhere|the blue)\b|\babrupt\w*|"
    r"\bwithout (?:any )?warning\b|\b(?:in|within) (?:a few |a couple of |a |one )?seconds?\b|"
    r"\binstant\w*|\ball at once\b|"
    r"\bcame on (?:\w+ )?(?:fast|quickly|rapidly|at once|suddenly)\b|"
    r"\bnew (?:onset|symptoms?|weakness|numbness|problem)\b|\bfor the first time\b|"
    r"\bfirst time (?:ever|in my life)\b|"
    r"\bnever (?:had|happened|felt|experienced) (?:\w+ ){0,3}?(?:before|like this)\b"
)
#: Present tense markers keep a clause from inheriting "two years ago" from its sentence.
_PRESENT = _rx(r"\b(?:now|currently|at the moment|at present)\b")


class _Status(enum.Enum):
    ACUTE = "acute"
    PAST = "past"
    PRESENT = "present"
    UNKNOWN = "unknown"


def _onset_negated(clause: str, start: int) -> bool:
    # Only a cue close before an onset negates it ("wasnt sudden", "not since this
    # morning"); "no" and "without" negate nouns, so "no strength since this morning" keeps
    # its onset unless "no" comes right before it ("no sudden change").
    before = clause[max(0, start - _LOOKBACK_CHARS) : start].split()[-_ONSET_NEGATION_WINDOW:]
    for back, word in enumerate(reversed(before), start=1):
        if word in _NEGATION_STOPS:
            break
        if word in _NEGATION_CUES and (back == 1 or word not in _NOUN_NEGATIONS):
            return True
    return False


def _first_unnegated(pattern: re.Pattern[str], clause: str) -> bool:
    return any(not _onset_negated(clause, m.start()) for m in pattern.finditer(clause))


def _own_status(clause: str) -> _Status:
    ladder = (
        (_STRONG_ACUTE, _Status.ACUTE),
        (_STRONG_PAST, _Status.PAST),
        (_WEAK_ACUTE, _Status.ACUTE),
        (_WEAK_PAST, _Status.PAST),
        (_MANNER_ONSET, _Status.ACUTE),
    )
    for pattern, status in ladder:
        if status is _Status.ACUTE and _first_unnegated(pattern, clause):
            return status
        if status is _Status.PAST and pattern.search(clause):
            return status
    if _PRESENT.search(clause):
        return _Status.PRESENT
    return _Status.UNKNOWN


def _statuses(clauses: Sequence[_Clause]) -> tuple[list[_Status], list[_Status]]:
    """Return each clause's own status and its status after inheritance."""
    own = [_own_status(c.text) for c in clauses]
    marked = (_Status.ACUTE, _Status.PAST)
    previous: list[_Status | None] = []
    last: _Status | None = None
    for i, clause in enumerate(clauses):
        if i and clauses[i - 1].sentence != clause.sentence:
            last = None
        previous.append(last)
        if own[i] in marked:
            last = own[i]
    following: list[_Status | None] = [None] * len(clauses)
    last = None
    for i in range(len(clauses) - 1, -1, -1):
        if i + 1 < len(clauses) and clauses[i + 1].sentence != clauses[i].sentence:
            last = None
        following[i] = last
        if own[i] in marked:
            last = own[i]
    resolved = [
        (previous[i] or following[i] or own[i]) if own[i] is _Status.UNKNOWN else own[i]
        for i in range(len(clauses))
    ]
    return own, resolved


# ------------------------------------------------------------------------- sign patterns

_SIDE = r"(?:left|right|lft|rigth|one|1)"
_BODY = (
    rf"(?:{_SIDE} (?:side|arm|leg|hand|foot|half|face|cheek)|"
    rf"(?:my|his|her|their|the|one|your) (?:{_SIDE} )?(?:whole )?(?:arm|leg|hand|face|side)|"
    r"half (?:of )?(?:my |his |her |the )?(?:body|face)|one side|"
    r"side of (?:my|his|her|the) (?:body|face))"
)
_WEAK = (
    r"(?:weak|weakness|weaker|weakened|numb|numbness|paraly[sz]\w*|heavy|heaviness|limp|"
    r"floppy|dead|useless|lifeless|no strength|"
    r"(?:no|lost|losing|lost all|lost the|loss of) (?:strength|feeling|sensation|power|"
    r"movement|control|use)|(?:cant|couldnt|unable to|not able to|wont) "
    r"(?:move|lift|raise|feel|use|grip|hold|control))"
)
_DROOP = (
    r"(?:dro+p\w*|sag\w*|lopsided|crooked|uneven|twisted|slant\w*|skew\w*|"
    r"(?:fallen|fell|hanging|gone|slipped) down|(?:not|isnt|wont|doesnt|cant) mov\w*)"
)
_FACE = (
    r"(?:face|facial|mouth|lip|lips|smile|cheek|side of (?:my|his|her|the) face|"
    r"corner of (?:my|his|her|the) mouth)"
)
_HEADACHE = r"(?:headache|head pain|pain in (?:my|the|his|her) head|migraine)"
_SEVERE = (
    r"(?:severe|intense|excruciating|agoni[sz]ing|terrible|horrible|horrendous|blinding|"
    r"splitting|massive|crushing|extreme|unbearable|violent|awful|huge|explosive|worst|"
    r"really bad|very bad|so bad|incredible|insane|crazy|enormous|shocking)"
)
_THUNDER_ONSET = _rx(
    r"\bsuddenly\b|\bsudden\b|\ball of a sudden\b|\bout of (?:nowhere|the blue)\b|"
    r"\b(?:in|within) (?:a few |a couple of |a |one )?seconds?\b|\bin a second\b|"
    r"\binstant\w*|\ball at once\b|\blike a (?:bolt|light switch|switch|thunder\w*)\b|"
    r"\bwithin (?:a |one )minute\b|\bwithout (?:any )?warning\b|\babrupt\w*"
)
_STROKE = (
    r"(?:stroke|tia|mini stroke|ministroke|brain (?:bleed|haemorrhage|hemorrhage|attack)|"
    r"bleed (?:on|in) the brain|transient isch(?:a)?emic attack)"
)
# "not responding to treatment" is about a drug; "not responding to me" is about a person.
_NOT_TO_A_DRUG = (
    r"(?! to (?!(?:me|us|him|her|them|my|his|our|their|anyone|anything|voices?|touch|pain|"
    r"name|questions|calls?|shouting|shaking|people)\b))"
)
_PERSON = (
    r"(?:he|she|they|it|baby|child|son|daughter|husband|wife|dad|mum|mom|father|mother|"
    r"grandma|grandpa|grandad|grandmother|grandfather|nan|partner|friend|brother|sister|"
    r"boyfriend|girlfriend|patient|man|woman)"
)


@dataclass(frozen=True)
class _Rule:
    name: str
    pattern: re.Pattern[str]
    inherent: bool  # acute by nature; otherwise needs an onset
    inside: bool = True  # a negation between its parts negates too: "face *is not* drooping"


def _rules(name: str, inherent: bool, *patterns: str, inside: bool = True) -> list[_Rule]:
    return [_Rule(name, _rx(p), inherent, inside) for p in patterns]


_SIMPLE_RULES: tuple[_Rule, ...] = (
    *_rules(
        CANNOT_WALK,
        True,
        r"\b(?:cant|couldnt|unable to) (?:stand|walk|get up)(?: up)? at all\b",
        inside=False,
    ),
    *_rules(
        EXPLICIT_EMERGENCY,
        True,
        r"\b(?:need|needs|call|calling|called|get|send|phone|ring) (?:for )?(?:an |the )?"
        r"ambulance\b|\b(?:this|it) is an emergency\b|\bits an emergency\b|"
        r"\bmedical emergency\b",
        inside=False,
    ),
    *_rules(
        PROLONGED_SEIZURE,
        False,
        r"\b(?:first|1st) (?:\w+ ){0,2}?(?:seizure|fit|convulsion)\b|"
        r"\b(?:seizure|fit|convulsion) for the (?:very )?first time\b",
    ),
    *_rules(
        SUSPECTED_STROKE,
        True,
        rf"\b(?:having|think(?:ing)? (?:\w+ ){{0,4}}?(?:having|had|has|is having)|"
        rf"(?:im|i am) (?:\w+ )?(?:having))(?: \w+)? (?:a |an )?(?:small |mini |minor |"
        rf"another |massive |big |second )?{_STROKE}\b",
    ),
    *_rules(
        SUSPECTED_STROKE,
        False,
        rf"\b(?:had|has|suffered|suffering|just had)(?: \w+)? (?:a |an )?(?:small |mini |"
        rf"minor |another |massive |big |second )?{_STROKE}\b",
    ),
    *_rules(
        FACE_DROOP,
        True,
        rf"\b{_FACE}\b(?P<gap>(?: \w+){{0,4}}?) {_DROOP}",
        rf"\b(?:droo+p\w*|sag\w*|lopsided|crooked|uneven|twisted|slant\w*|skew\w*)"
        rf"(?P<gap>(?: \w+){{0,2}}?) {_FACE}\b",
        r"\bfacial (?:droop\w*|palsy|paralysis|weakness)\b",
        r"\b(?:cant|couldnt|unable to) (?:smile|close (?:his|her|my|one|their) eye)\b",
    ),
    *_rules(
        ONE_SIDED_WEAKNESS,
        False,
        rf"\b{_BODY}\b(?P<gap>(?: \w+){{0,5}}?) {_WEAK}\b",
        rf"\b{_WEAK}(?P<gap>(?: \w+){{0,4}}?) {_BODY}\b",
        r"\bhemiplegi\w*|\bhemipares\w*",
    ),
    *_rules(
        SPEECH_DIFFICULTY,
        True,
        r"\bslur+(?:e?d|ing|s|y|red|ring)?\b",
        r"\b(?:garbled|jumbled|gibberish|incoherent)\b",
        r"\btalking (?:nonsense|rubbish|funny|weird|strange|drunk|gibberish)\b",
        r"\b(?:speech|speaking|talking|voice|words)\b(?P<gap>(?: \w+){0,3}?) "
        r"(?:slur\w*|weird|strange|funny|odd|wrong|off|gone|garbled|messed up|mumbled|unclear|"
        r"not right|isnt right|thick|drunk|jumbled|mixed up|muddled|backwards)\b",
        r"\b(?:lost|losing|loss of|lose) (?:my |his |her |the |their )?(?:speech|ability to "
        r"(?:speak|talk))\b",
        r"\b(?:mixing|mixed|muddling|muddled) up (?:my |his |her |their )?words\b",
    ),
    *_rules(
        SPEECH_DIFFICULTY,
        False,
        r"\b(?:cant|couldnt|unable to|not able to|struggling to|struggle to|trouble|difficulty|"
        r"hard to|wont|cant really|barely) (?:speak|speaking|talk|talking|get (?:my |the |his |"
        r"her )?words out|say (?:a|any) words?|form words|make sense)\b(?! (?:to|with|about|"
        r"english|french|spanish|german|in public)\b)",
        r"\b(?:cant|couldnt|unable to|not able to|struggling to|struggle to|trouble|difficulty|"
        r"hard to) (?:find|get|remember|think of|finding|getting) (?:the |my |his |her )?"
        r"(?:right )?words?\b",
        r"\b(?:aphasia|dysphasia|dysarthria)\b",
        inside=False,
    ),
    *_rules(
        VISION_LOSS,
        False,
        r"\b(?:lost|losing|lose|loss of|gone) (?P<gap>(?:\w+ ){0,2}?)(?:vision|sight|eyesight)\b",
        r"\b(?:vision|sight|eyesight)\b(?P<gap>(?: \w+){0,3}?) (?:gone|went|go|goes|going|"
        r"turned|is|has|was) (?:\w+ )?(?:black|dark|dim|blank|grey|gray|out|off|white)\b",
        r"\b(?:went|gone|go|going|am|is|was) blind\b|\bblind in (?:one|my|the|his|her|left|"
        r"right)\b",
        r"\b(?:black|dark|grey|gray) (?:curtain|shade|shadow)\b|\bcurtain (?:came|coming|come|"
        r"fell|falling|over|across|down)\b",
        r"\bhalf (?:of )?(?:my |his |her |the )?(?:vision|visual field|sight)\b",
    ),
    *_rules(
        VISION_LOSS,
        False,
        r"\b(?:cant|couldnt|unable to|not able to) see (?:out of|from|with|through|anything|"
        r"properly|clearly|at all|a thing|on (?:the|my|his|her) (?:left|right))\b",
        inside=False,
    ),
    *_rules(
        DOUBLE_VISION,
        False,
        r"\b(?:double|doubled) (?:vision|sight|images?)\b",
        r"\bseeing (?:double|two of (?:everything|things)|2 of (?:everything|things)|"
        r"everything twice)\b|\bsee double\b|\bdiplopia\b|\beverything (?:looks|is|appears) "
        r"(?:double|doubled)\b",
    ),
    *_rules(
        THUNDERCLAP_HEADACHE,
        True,
        rf"\b(?:worst|most \w+|biggest|strongest|hardest) (?:\w+ ){{0,2}}?{_HEADACHE}"
        r"(?: \w+){0,4}? (?:(?:of|in) (?:my|his|her|their) (?:\w+ )?life|ever|imaginable|"
        r"possible)\b",
        rf"\bworst ever {_HEADACHE}\b",
        r"\bhead\w*(?: \w+){0,6}? worst pain\b|\bworst pain(?: \w+){0,8}? head\b",
        rf"\bnever (?:had|felt|experienced|known) (?:\w+ ){{0,3}}?{_HEADACHE}(?: \w+){{0,2}}? "
        rf"(?:like (?:this|it)|this (?:bad|severe|painful|intense)|so (?:bad|severe)|as bad)\b",
        r"\bthunder ?clap\b",
        rf"\b(?:{_HEADACHE}|head)\b(?: \w+){{0,6}}? like (?:\w+ ){{0,3}}?(?:hit|struck|kicked|"
        r"smacked|whacked|punched|shot|hammer\w*|bat|bomb|explo\w*|lightning|thunder|bolt|"
        r"gunshot|bullet|axe|brick)\b",
        r"\blike (?:being|been|getting|i was|i got|i had been|someone|something|a) (?:\w+ ){0,3}?"
        r"(?:hit|struck|kicked|smacked|whacked|punched|shot)\b(?: \w+){0,5}? (?:head|skull)\b",
        r"\b(?:head|skull|brain)\b(?: \w+){0,4}? explod\w*|\bexplo\w*(?: \w+){0,3}? (?:head|"
        r"skull|brain)\b",
        inside=False,
    ),
    *_rules(
        UNRESPONSIVE,
        True,
        r"\b(?:unconscious|unresponsive|unrousable|unarousable)\b",
        r"\bout cold\b",
        inside=True,
    ),
    *_rules(
        UNRESPONSIVE,
        True,
        rf"\bnot (?:responding|responsive|waking|rousable|conscious|breathing)\b{_NOT_TO_A_DRUG}",
        r"\b(?:cant|couldnt|unable to) (?:wake|rouse|arouse) (?:him|her|them|my|up my|the)\b",
        rf"\b{_PERSON}\b(?: \w+){{0,4}}? (?:wont|isnt|doesnt|hasnt|cant|couldnt|cant be|"
        r"cannot be|still hasnt|still isnt|is still not|has not) (?:\w+ )?(?:wake|waking|"
        rf"woken|respond|responding|come round|coming round|come to|come around)\b{_NOT_TO_A_DRUG}",
        r"\b(?:stopped|isnt|no longer) breathing\b",
        r"\bpassed out and (?:\w+ ){0,2}?(?:wont|isnt|hasnt|not|cant|still)\b",
        inside=False,
    ),
    *_rules(
        SUDDEN_CONFUSION,
        False,
        r"\b(?:confused|confusion|disorient\w*|muddled|bewildered|delirious|delirium)\b(?! "
        r"(?:about|by|with|as to|whether|why|what|how|if|on|regarding|over|between|at|when)\b)",
        inside=True,
    ),
    *_rules(
        SUDDEN_CONFUSION,
        False,
        r"\b(?:doesnt|dont|didnt) (?:know|recogni[sz]e) (?:where (?:he|she|they|i) (?:is|am|"
        r"are|was|were)|me|us|his|her|my|their|anyone|who|what day|what year)\b",
        r"\b(?:not|isnt|arent|wasnt|werent) making (?:any )?sense\b|\bmaking no sense\b",
        inside=False,
    ),
    *_rules(
        CANNOT_WALK,
        False,
        r"\b(?:cant|couldnt|unable to|not able to|can no longer|could no longer|can barely|"
        r"couldnt even) (?:walk|stand|stand up|bear weight|put weight|get up (?:off|from) the "
        r"floor)\b(?! (?:the|it|this|that|him|her|them|being|people|my|when|how|noise|light)\b)",
        r"\blegs? (?:\w+ ){0,2}?(?:gave way|gave out|give way|giving way|collapsed|buckled|"
        r"went from under|stopped working|wont (?:work|hold))\b",
        inside=False,
    ),
    *_rules(
        COLLAPSE,
        True,
        rf"\b(?:{_PERSON}|i|just|suddenly)\b(?P<gap>(?: \w+){{0,2}}?) collaps\w*\b"
        r"(?! (?:on|onto|into|in) (?:the |my |a )?(?:sofa|couch|bed|chair|armchair)\b"
        r"| (?:laughing|with laughter|in (?:fits of )?(?:laughter|giggles))\b)",
    ),
)

# Parts of the combined signs.
_SEIZURE = _rx(
    r"\bseizures?\b|\bseizing\b|\bconvuls\w*|\bstatus epilepticus\b|\bepileptic fit\b|"
    r"\b(?:a|the|another|this|his|her|having|had|in a|big|bad|tonic clonic) fits?\b|"
    r"\bfits? (?:for|over|since|that|which)\b|\b(?:still|been|is|keeps?|was) fitting\b|"
    r"\bfitting (?:for|since|now|non ?stop|again|still)\b|\b(?:shaking|jerking)\b"
)
_MINUTES = _rx(
    r"\b(\d+|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|"
    r"forty five|fifty|sixty) (?:\+ )?minutes?\b|\b(?:an|half an|\d+|one|two) hours?\b"
)
_MINUTES_TOO_SHORT = _rx(r"\b(?:less than|under|within|only|just|barely|fewer than)\s*$")
_NUMBER_WORDS = {"five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}
_SEIZURE_GOES_ON = _rx(
    r"\b(?:wont|doesnt|isnt|not|hasnt|havent|didnt|wouldnt|never) (?:\w+ )?(?:stop|stopping|"
    r"stopped|end|ending|ended|ease|settle|settling)\b|"
    r"\b(?:still|keeps?|keep on|kept|continu\w*|constant\w*|non ?stop|nonstop|ongoing|been going|"
    r"going on)(?: \w+){0,2}? (?:seiz\w*|fitting|fits?|convuls\w*|shaking|jerking|going|"
    r"happening|having (?:them|seizures|fits))\b|"
    r"\bone after (?:another|the other|the next)\b|\bback to back\b|\bin a row\b|"
    # a seizure happening now: "is having a seizure", "hes seizing right now"
    r"\b(?:is|are|am|hes|shes|theyre|im) (?:having|in the middle of) (?:a|an) "
    r"(?:seizure|fit|convulsion)\b|\b(?:is|are|hes|shes) (?:seizing|fitting|convulsing)\b|"
    r"\bcluster\w*|\bstatus epilepticus\b|"
    r"\b(?:second|third|fourth|fifth|2nd|3rd|4th|5th|another|\d+|two|three|four|several|"
    r"multiple|many) (?:seizures?|fits?) (?:today|tonight|in (?:an|the last|one|\d+|a few) "
    r"(?:hour|hours)|this (?:morning|afternoon|evening)|without|before)\b"
)
_NOT_WAKING = _rx(
    r"\b(?:not|hasnt|hadnt|isnt|wont|cant|couldnt|didnt|doesnt|havent|never|still not) "
    r"(?:\w+ ){0,2}?(?:woken|woke|wake|waking|come round|came round|coming round|come to|"
    r"came to|come around|regained|responding|respond)\b"
)
_HEAD_TRAUMA = _rx(
    r"\b(?:hit|hits|hitting|banged|bang|bumped|bump|smacked|smashed|struck|knocked|whacked|"
    r"cracked|injured|hurt|slammed) (?:\w+ ){0,2}?(?:head|skull)\b|"
    r"\b(?:hit|struck|punched|kicked|knocked|whacked|smacked) (?:\w+ ){0,3}?(?:on|in|to) "
    r"(?:the|his|her|my|their) head\b|"
    r"\bhead (?:injury|injuries|trauma|knock|bump|wound|first)\b|"
    r"\b(?:car|road|traffic|bike|motorbike|motorcycle|cycling|skiing) (?:accident|crash|"
    r"collision)\b|"
    r"\bblow (?:to|on) (?:the|his|her|my|their) head\b|\bconcuss\w*|"
    r"\bfell (?:\w+ ){0,3}?(?:on|onto) (?:his|her|my|their|the) head\b|"
    r"\bhead (?:hit|hitting|struck|smashed|slammed|banged)\b|"
    r"\b(?:i|he|she|they|we|got|get|gets|was|were|been|being) (?:\w+ )?knocked "
    r"(?:out|unconscious)\b"
)
_HEAD_COMPANION = _rx(
    r"\bdrows\w*|\bsleepy\b|\bsleepiness\b|\bcant (?:stay|keep (?:his |her |my )?eyes) "
    r"(?:awake|open)\b|\bhard to (?:keep|stay) awake\b|\bkeeps? (?:falling|nodding) "
    r"(?:asleep|off)\b|\bvomm?it\w*|\bthrow\w* up\b|\bthrew up\b|\bpuk\w*|"
    r"\b(?:being|been|was|is) sick\b|\bsick (?:twice|again|several|three|\d+)\b|"
    r"\bconfus(?:ed|ion)\b(?! (?:about|by|with|as to|whether)\b)|\bdisorient\w*|"
    r"\bnot making sense\b|\b(?:doesnt|dont) know where\b|\bunconscious\b|"
    r"\bknocked (?:out|unconscious)\b|\bpassed out\b|\bblacked out\b|\bblack out\b|"
    r"\b(?:lost|losing|loss of) consciousness\b|\bout cold\b|\bfainted\b|\bseizures?\b|"
    r"\bfit\b|\bslurr?\w*|\bdazed\b|\bgroggy\b|\bwont wake\b"
)
_FEVER = _rx(
    r"\bfever\w*|\bhigh (?:temperature|temp)\b|\b(?:a|running a|got a|has a|have a) "
    r"(?:temperature|temp)\b|\b(?:temperature|temp) of\b|\bburning up\b|"
    r"\b(?:3[89]|40)(?: \d)? ?(?:c|degrees)\b|\b10[0-4](?: \d)? ?(?:f|degrees)\b|"
    r"\bhot and shiver\w*|\bchills\b|\brigors\b|\bfeel\w* (?:very |really |so )?(?:hot|feverish)\b"
)
_STIFF_NECK = _rx(
    r"\bstiff\w* (?:\w+ )?neck\b|\bneck\b(?P<gap>(?: \w+){0,3}?) stiff\w*|\bneck stiffness\b|"
    r"\b(?:cant|unable to|hurts to|painful to) (?:bend|move|turn|touch|lower|tilt|put) "
    r"(?:\w+ ){0,3}?(?:neck|chin|head) (?:forward|down|to (?:my|his|her|the) chest)\b|"
    r"\bchin to (?:my|his|her|the) chest\b"
)
# With fever and a stiff neck: a headache, a rash or light hurting the eyes.
_MENINGITIS_THIRD = _rx(
    rf"\b{_HEADACHE}\b|\bhead (?:hurts|is pounding|pounding|is killing|is splitting|pain)\b|"
    r"\brash\b|\b(?:purple|red|dark) (?:spots|blotches|marks|dots)\b|\bphotophobi\w*|"
    r"\blight (?:\w+ )?(?:hurts|hurting|bothers|painful)\b|"
    r"\b(?:cant|couldnt) (?:stand|bear|look at) (?:the |bright )?lights?\b"
)
_SEVERE_HEADACHE = _rx(
    rf"\b{_SEVERE}(?: \w+){{0,2}}? {_HEADACHE}\b|\b{_HEADACHE}\b(?: \w+){{0,3}}? {_SEVERE}\b"
)
_LIMB_WEAKNESS = _rx(
    # Not tingling or numbness: with breathlessness they are as often a panic attack.
    r"\b(?:weak|weakness|weaker|weakened|paraly[sz]\w*|floppy|heavy|"
    r"(?:cant|couldnt) (?:walk|stand|lift|move))\b"
)
_SPREADING = _rx(
    r"\b(?:legs?|arms?|limbs?|body|feet|foot|hands?|face|thighs?|knees?|spread\w*|moving up|"
    r"moved up|creep\w*|climb\w*|ascend\w*|getting worse|worse|progress\w*|weaker)\b"
)
_BREATH_SWALLOW = _rx(
    r"\b(?:trouble|difficulty|difficulties|problems?|struggl\w*|hard|harder|hard time|cant|"
    r"couldnt|unable to|not able to|can barely|barely|labou?red) (?:\w+ ){0,2}?(?:breath\w*|"
    r"swallow\w*)\b|\bshort(?:ness)? of breath\b|\bbreathless\w*|\bchoking\b|"
    r"\bcant catch (?:my|his|her) breath\b"
)
_BACK = _rx(
    r"\bback ?pain\b|\bbackache\b|\bback ache\b|\bback (?:\w+ )?(?:hurts|hurting|pain|"
    r"problems?|injury|is agony|agony|spasm)\b|\blower back\b|\blumbar\b|\bsciatica\b|"
    r"\b(?:slipped|herniated|bulging|prolapsed) disc\b|\bdisc (?:prolapse|bulge|herniation)\b|"
    r"\bbad back\b|\b(?:my|his|her) back\b"
)
_CONTINENCE = _rx(
    r"\b(?:lost|losing|loss of|lose|no|cant|couldnt) (?:\w+ ){0,2}?control (?:of|over) "
    r"(?:my |his |her |the )?(?:bladder|bowels?|pee|wee|urine|toilet)\b|"
    r"\b(?:cant|couldnt|unable to|not able to) control (?:my |his |her )?(?:bladder|bowels?|"
    r"pee|wee|urine)\b|\b(?:bladder|bowel|urinary|faecal|fecal) (?:incontinence|accidents?)\b|"
    r"\bincontinen\w*|\b(?:wet|peed|pissed|weed|soiled|pooed|pooped|messed) (?:myself|himself|"
    r"herself|themselves|my pants|my trousers|the bed|his pants|her pants)\b|"
    r"\b(?:cant|couldnt|unable to|not able to) (?:pee|wee|urinate|pass urine|empty (?:my|his|"
    r"her) bladder)\b|\bhavent (?:peed|weed|urinated|passed urine)\b|\burinary retention\b"
)
_LEGS_GONE = _rx(
    r"\b(?:cant|couldnt|unable to|not able to) (?:feel|move|lift) (?:\w+ ){0,2}?legs?\b|"
    r"\blegs? (?:went|gone|have gone|are|is|going) (?:numb|dead|limp|floppy)\b"
)
_SADDLE_AREA = (
    r"(?:groin|genitals?|bottom|buttocks?|bum|butt|between (?:my|his|her) legs|inner thighs?|"
    r"private parts?|privates|back passage|anus|perineum|saddle(?: area)?|crotch)"
)
_SADDLE = _rx(
    r"\bsaddle\b(?P<gap1>(?: \w+){0,2}?) (?:numb\w*|anaesthesia|anesthesia|tingl\w*)\b|"
    rf"\bnumb\w*(?P<gap2>(?: \w+){{0,4}}?) {_SADDLE_AREA}\b|"
    rf"\b{_SADDLE_AREA}\b(?P<gap3>(?: \w+){{0,3}}?) (?:numb\w*|no feeling|tingl\w*)\b|"
    r"\bcant feel (?:\w+ ){0,3}?(?:groin|genitals?|bottom|bum|private|toilet paper|"
    r"when i wipe|wiping)\b"
)

# Self-harm: never discounted as past or chronic.
_SELF_HARM_RULES: tuple[_Rule, ...] = (
    *_rules(
        SUICIDAL_THOUGHTS,
        True,
        r"\bsui?c[iy]?d(?:e|es|al|el|ality|ial)\b",
        r"\b(?:kill|killing|kil|end|ending|take|taking|took) (?:myself|my own life|my life)\b"
        r"(?! (?:laughing|with laughter|at (?:the )?(?:gym|work)|working|over|trying|to|back)\b)",
        r"\bkms\b|\bunalive\w*",
        r"\b(?:want|wanted|wanting|wish|wished|like|ready|plan|planning|longing) (?:\w+ ){0,2}?"
        r"(?:to )?die\b",
        r"\bwish (?:i was|i were|id|i could be|to be|i had) (?:dead|never been born)\b",
        r"\bbetter off (?:dead|without me)\b|\b(?:easier|happier) (?:off )?without me\b",
        r"\bend(?:ing)? it all\b|\bend everything\b",
    ),
    *_rules(
        SUICIDAL_THOUGHTS,
        True,
        r"\b(?:dont|didnt|do not) want to (?:live|be alive|be here any ?more|go on|exist|wake up)"
        r"\b",
        r"\b(?:no|not any|isnt a|dont see a|cant see a|cant see any) (?:reason|point) (?:in |to )?"
        r"(?:living|live|going on|being alive|carry on|carrying on)\b",
        r"\b(?:life|living) (?:is |isnt |is not |is no longer |aint )?(?:not )?worth "
        r"(?:living|it anymore|it any more)\b|\bnot worth living\b",
        inside=False,
    ),
    *_rules(
        SUICIDAL_THOUGHTS,
        True,
        r"\bbetter off (?:\w+ ){0,2}?without me\b",
        r"\b(?:feel like|thinking (?:of|about)|want to|going to|ready to|might|about to) "
        r"(?:just )?end(?:ing)? it\b(?! (?:with|between)\b)",
        r"\b(?:whats|what is) the point (?:of|in) (?:living|life|going on|being alive|"
        r"carrying on)\b",
        r"\b(?:go to sleep|fall asleep|sleep|close my eyes) and (?:never|not) wake (?:up)?\b",
        r"\bcant (?:go on|carry on) (?:like this|any ?more)\b(?! with\b)",
        r"\bwant (?:it|this|everything|the pain)(?: all)? to (?:stop|end) for good\b",
        r"\b(?:written|wrote|writing|write|left) (?:\w+ ){0,2}?(?:goodbye|suicide|farewell) "
        r"(?:letters?|notes?|messages?)\b",
        inside=False,
    ),
    *_rules(
        SUICIDAL_THOUGHTS,
        True,
        r"\b(?:want|wanted|wish|wishing) to disappear (?:forever|for good|and never come back)\b",
        r"\b(?:no one|nobody|noone) would (?:care|notice|miss me) if i (?:was|were|am) gone\b",
        r"\b(?:might|going to|will|could|want to|scared i (?:will|might|could)) do something "
        r"(?:stupid |bad )?to myself\b",
        inside=False,
    ),
    *_rules(
        SELF_INJURY,
        True,
        r"\bself ?harm\w*|\bself ?injur\w*|\bharm(?:ing)? myself\b",
        r"\b(?:want|wanted|urge|urges|tempted|thinking|thoughts|thought|think|going to|plan|"
        r"like|keep|kept|been|started|start|might|will|could|cant stop|should|need to|feel "
        r"like) (?:\w+ ){0,3}?(?:hurt|hurting|cut|cutting|burn|burning|punish|punishing|"
        r"starve|starving) myself\b",
        r"\b(?:hurt|cut|burn|burnt|burned) myself (?:on purpose|deliberately|intentionally)\b",
    ),
    *_rules(
        OVERDOSE,
        True,
        r"\b(?:want|going to|thinking|thought|thoughts|plan|planning|tempted|urge|might|will) "
        r"(?:\w+ ){0,3}?(?:overdos\w*|od)\b",
        r"\b(?:take|taking|took|swallow|swallowed|swallowing|taken) (?:all|every one|the whole|"
        r"a whole|the rest|loads|lots|handfuls?|a handful) (?:of )?(?:my |the |these |those |"
        r"his |her )?(?:pills|tablets|meds|medication|medicine|bottle|packet|box)\b",
        r"\b(?:saved|saving|stockpiled|stockpiling|hoarded|hoarding|collected|collecting) "
        r"(?:up )?(?:\w+ )?(?:pills|tablets|meds|medication|painkillers)\b|"
        r"\b(?:pills|tablets|meds|painkillers) (?:saved|stockpiled|hoarded) up\b",
        r"\b(?:took|taken|take|taking|just took|swallowed) (?:an |a )?(?:deliberate )?"
        r"(?:overdose|od)\b(?!(?: \w+){0,4} (?:by mistake|by accident|accidentally)\b)",
    ),
)


# -------------------------------------------------------------------------------- engine


@dataclass
class _Analysis:
    self_harm: list[str] = field(default_factory=list)
    emergency: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    has_onset: bool = False


@dataclass(frozen=True)
class _Hit:
    clause: int
    start: int
    end: int


def _hits(
    pattern: re.Pattern[str],
    clauses: Sequence[_Clause],
    inside: bool = True,
    hypotheticals: bool = True,
) -> list[_Hit]:
    """Return the first affirmed, non-hypothetical match of ``pattern`` in each clause."""
    found: list[_Hit] = []
    for i, clause in enumerate(clauses):
        general: bool | None = None
        for m in pattern.finditer(clause.text):
            if m.end() == m.start() or _negated(clause.text, m.start(), _inside(m, inside)):
                continue
            if hypotheticals:
                if general is None:
                    general = _general_question(clause.text)
                if general or _hypothetical(clause.text, m.start(), m.end()):
                    continue
            found.append(_Hit(i, m.start(), m.end()))
            break
    return found


def _inside(m: re.Match[str], inside: bool) -> str:
    """The words a negation may hide between: the named gaps, else the whole match."""
    if not inside:
        return ""
    gaps = [name for name in m.re.groupindex if name.startswith("gap")]
    if not gaps:
        return m.group(0)
    return " ".join(m.group(name) or "" for name in gaps)


def _live(hits: Iterable[_Hit], statuses: Sequence[_Status]) -> list[_Hit]:
    return [h for h in hits if statuses[h.clause] is not _Status.PAST]


def _long_seizure(clause: str) -> bool:
    for m in _MINUTES.finditer(clause):
        if _MINUTES_TOO_SHORT.search(clause[: m.start()]):
            continue
        amount = m.group(1)
        if amount is None:  # an hour, two hours
            return True
        value = int(amount) if amount.isdigit() else _NUMBER_WORDS.get(amount, 10)
        if value >= 5:
            return True
    return False


def _combined(clauses: Sequence[_Clause], statuses: Sequence[_Status]) -> list[str]:
    found: list[str] = []
    live = _live  # short name: used on every line below

    # A seizure that goes on, comes in a cluster, or after which the person does not wake.
    seizure_sentences = {
        clauses[h.clause].sentence for h in live(_hits(_SEIZURE, clauses), statuses)
    }
    if seizure_sentences:
        current = [
            i
            for i, c in enumerate(clauses)
            if c.sentence in seizure_sentences and statuses[i] is not _Status.PAST
        ]
        sentences = [clauses[i] for i in current]
        if any(_long_seizure(c.text) for c in sentences) or _hits(
            _SEIZURE_GOES_ON, sentences, False
        ):
            found.append(PROLONGED_SEIZURE)
        if _hits(_NOT_WAKING, sentences, False):
            found.append(UNRESPONSIVE)

    if live(_hits(_HEAD_TRAUMA, clauses), statuses) and live(
        _hits(_HEAD_COMPANION, clauses, False), statuses
    ):
        found.append(HEAD_INJURY)

    if all(live(_hits(p, clauses), statuses) for p in (_MENINGITIS_THIRD, _FEVER, _STIFF_NECK)):
        found.append(MENINGITIS_SIGNS)

    weak_limbs = [
        h
        for h in live(_hits(_LIMB_WEAKNESS, clauses), statuses)
        if _SPREADING.search(clauses[h.clause].text)
    ]
    if weak_limbs and live(_hits(_BREATH_SWALLOW, clauses, False), statuses):
        found.append(SPREADING_WEAKNESS)

    if (_hits(_BACK, clauses) or live(_hits(_LEGS_GONE, clauses, False), statuses)) and (
        live(_hits(_CONTINENCE, clauses, False), statuses)
        or live(_hits(_SADDLE, clauses), statuses)
    ):
        found.append(CAUDA_EQUINA)

    # A severe headache that came on suddenly, in the same sentence.
    severe = {clauses[h.clause].sentence for h in live(_hits(_SEVERE_HEADACHE, clauses), statuses)}
    if any(c.sentence in severe and _first_unnegated(_THUNDER_ONSET, c.text) for c in clauses):
        found.append(THUNDERCLAP_HEADACHE)
    return found


def _analyse(text: str) -> _Analysis:
    result = _Analysis()
    try:
        clauses = _clauses(text)
    except (TypeError, ValueError):  # a non-string slipped through; nothing to read
        return result
    if not clauses:
        return result
    own, statuses = _statuses(clauses)
    result.has_onset = any(s is _Status.ACUTE for s in own)

    for rule in _SELF_HARM_RULES:
        if _hits(rule.pattern, clauses, rule.inside, hypotheticals=False):
            result.self_harm.append(rule.name)

    for rule in _SIMPLE_RULES:
        for hit in _hits(rule.pattern, clauses, rule.inside):
            status = statuses[hit.clause]
            if status is _Status.PAST:
                continue
            if rule.inherent or status is _Status.ACUTE or result.has_onset:
                result.emergency.append(rule.name)
            else:
                result.pending.append(rule.name)
    result.emergency.extend(_combined(clauses, statuses))
    return result


def _ordered(names: Iterable[str]) -> tuple[str, ...]:
    wanted = set(names)
    return tuple(name for name in _SIGN_ORDER if name in wanted)


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
            search syntax, very long); a non-string is treated as empty.

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
    sign itself was described in another message. Signs described as long-standing
    ("for years", "last year") are not revived this way.

    Args:
        texts: The patient's messages, oldest first.

    Returns:
        The combined :class:`Assessment`, with the signs of every message.
    """
    analyses = [_analyse(t) for t in texts if isinstance(t, str)]
    self_harm = [name for a in analyses for name in a.self_harm]
    emergency = [name for a in analyses for name in a.emergency]
    onset = any(a.has_onset and a.emergency for a in analyses)
    recent = analyses[-RECENT_MESSAGES:] if RECENT_MESSAGES > 0 else []
    if any(a.has_onset for a in recent):
        pending = [name for a in recent for name in a.pending]
        if pending:
            emergency.extend(pending)
            onset = True
    return _conclude(self_harm, emergency, onset)


# ---------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class TriageReport:
    """How :func:`assess` does on a labelled table of messages.

    Attributes:
        total: Number of labelled messages.
        emergencies: How many of them are labelled emergencies.
        recall: Share of labelled emergencies that were assessed as urgent (1.0 when the
            table has none).
        false_alarm_rate: Share of non-emergencies assessed as urgent (0.0 when the table
            has none).
        missed: The emergencies that were not flagged, in file order.
        false_alarms: The non-emergencies that were flagged, in file order.
    """

    total: int
    emergencies: int
    recall: float
    false_alarm_rate: float
    missed: tuple[str, ...]
    false_alarms: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        """Return the report as plain JSON-ready values.

        Returns:
            A dict with the same keys as the attributes; tuples become lists.
        """
        return {
            "total": self.total,
            "emergencies": self.emergencies,
            "recall": self.recall,
            "false_alarm_rate": self.false_alarm_rate,
            "missed": list(self.missed),
            "false_alarms": list(self.false_alarms),
        }


def _read_triage(path: Path) -> list[tuple[str, bool]]:
    rows: list[tuple[str, bool]] = []
    with path.open(encoding="utf-8") as handle:
        try:
            records = list(json_objects(handle, path))
        except ArchiveFormatError as exc:
            raise ValueError(f"{path}, line {exc.line}: {exc.message}") from None
        for number, record in records:
            text, emergency = record.get("text"), record.get("emergency")
            if not isinstance(text, str):
                raise ValueError(f"{path}, line {number}: 'text' must be a string")
            if not isinstance(emergency, bool):
                raise ValueError(f"{path}, line {number}: 'emergency' must be true or false")
            rows.append((text, emergency))
    return rows


def evaluate_triage(path: Path) -> TriageReport:
    """Run :func:`assess` over a labelled JSON Lines table and measure it.

    Each non-blank line is ``{"text": "...", "emergency": true|false}``. ``SELF_HARM``
    counts as an emergency.

    Args:
        path: The ``.jsonl`` file.

    Returns:
        The :class:`TriageReport`.

    Raises:
        ValueError: A line is not JSON or lacks a string ``text`` or boolean ``emergency``;
            the message names the file and the line number.
        OSError: The file cannot be read.
    """
    rows = _read_triage(Path(path))
    missed: list[str] = []
    false_alarms: list[str] = []
    emergencies = 0
    for text, emergency in rows:
        urgent = assess(text).urgent
        if emergency:
            emergencies += 1
            if not urgent:
                missed.append(text)
        elif urgent:
            false_alarms.append(text)
    benign = len(rows) - emergencies
    return TriageReport(
        total=len(rows),
        emergencies=emergencies,
        recall=(emergencies - len(missed)) / emergencies if emergencies else 1.0,
        false_alarm_rate=len(false_alarms) / benign if benign else 0.0,
        missed=tuple(missed),
        false_alarms=tuple(false_alarms),
    )
