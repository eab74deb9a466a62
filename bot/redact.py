"""Personal details out of patients' text before the review queue stores or shows it.

Four kinds are redacted, each found by one row of :data:`FINDERS`:

* **phone numbers**: Google's libphonenumber (the ``phonenumbers`` package) finds numbers
  written in the ways of several countries (:data:`PHONE_REGIONS`, and any number
  starting with ``+``); a match needs at least 7 digits, so doses, blood pressures,
  ages and years are left alone;
* **e-mail addresses**: a pattern of the address syntax;
* **dates of birth**: any full date (day, month and year, in figures or with the month's
  name), and a year or date after a birth cue ("born in 1984", "DOB: 1984-03-02"). A month
  and year ("since March 2021") is onset, which a doctor needs, and is kept;
* **names**: the places where patients write a name: after an introduction ("my name
  is", "I'm Anna,"), a title (Mr, Mrs, Dr ...), a relative ("my son Tom") or a closing
  ("Thanks, Anna"). A capitalised word elsewhere is not taken for a name: medical
  eponyms (Parkinson, Bell's palsy, Guillain-Barré) must stay readable.

No library found names reliably here: Presidio and scrubadub need a spaCy or NLTK
model that cannot be downloaded at run time, and a list of first names hides eponyms
and ordinary words ("May", "Will", "Bell"). Redaction errs towards hiding: a doctor
reading "[name]" loses little.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import phonenumbers

#: What a redacted span becomes, by kind.
PLACEHOLDERS = {
    "phone": "[phone]",
    "email": "[email]",
    "birth_date": "[date of birth]",
    "name": "[name]",
}
#: Countries whose national number formats are recognised without a ``+`` prefix.
PHONE_REGIONS = ("US", "GB", "DE", "FR", "IN", "AU")
#: Fewer digits than this are not a phone number (a dose, an age, a year).
MIN_PHONE_DIGITS = 7


@dataclass(frozen=True)
class Span:
    """One personal detail found in a text.

    Attributes:
        kind: One of :data:`PLACEHOLDERS`.
        start: Offset of its first character.
        end: Offset after its last character.
    """

    kind: str
    start: int
    end: int


# A run of digits with the separators phone numbers are written with; a run of
# MIN_PHONE_DIGITS or more digits is what a phone finder must look at.
_DIGIT_RUN = re.compile(r"\+?\d(?:[\s().\-/]{0,3}\d){" + str(MIN_PHONE_DIGITS - 1) + ",}")


def find_phones(text: str) -> Iterator[Span]:
    """Phone numbers, national formats of :data:`PHONE_REGIONS` or international.

    The regions are tried in turn until every run of :data:`MIN_PHONE_DIGITS` or more
    digits is covered (one or two passes for most texts, not six).
    """
    runs = [m.span() for m in _DIGIT_RUN.finditer(text)]
    if not runs:
        return
    found: list[Span] = []
    for region in PHONE_REGIONS:
        for match in phonenumbers.PhoneNumberMatcher(
            text, region, leniency=phonenumbers.Leniency.POSSIBLE
        ):
            if sum(c.isdigit() for c in match.raw_string) >= MIN_PHONE_DIGITS:
                found.append(Span("phone", match.start, match.end))
        if all(any(f.start <= a and b <= f.end for f in found) for a, b in runs):
            break
    yield from found


_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def find_emails(text: str) -> Iterator[Span]:
    """E-mail addresses."""
    for match in _EMAIL.finditer(text):
        yield Span("email", match.start(), match.end())


_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_YEAR = r"(?:19|20)\d{2}"
_FULL_DATE = re.compile(
    "|".join(
        (
            rf"\b{_DAY}[./-](?:1[0-2]|0?[1-9])[./-](?:{_YEAR}|\d{{2}})\b",  # 02/03/1984
            rf"\b(?:1[0-2]|0?[1-9])[./-]{_DAY}[./-]{_YEAR}\b",  # 03/22/1984
            rf"\b{_YEAR}[./-](?:1[0-2]|0?[1-9])[./-]{_DAY}\b",  # 1984-03-02
            rf"\b{_DAY}\s+(?:of\s+)?{_MONTH},?\s+{_YEAR}\b",  # 2nd of March 1984
            rf"\b{_MONTH}\s+{_DAY},?\s+{_YEAR}\b",  # March 2, 1984
        )
    ),
    re.IGNORECASE,
)
_BIRTH_CUE = re.compile(
    r"\b(?:born|birth(?:day|date)?|d\.?o\.?b\.?|date of birth)\b[\s:,-]*(?:(?:on|in|is|was)\s+)*",
    re.IGNORECASE,
)
_PARTIAL_DATE = re.compile(
    rf"(?:{_DAY}\s+(?:of\s+)?{_MONTH}|{_MONTH}\s+{_DAY}|{_MONTH})?,?\s*{_YEAR}\b|{_DAY}\s+(?:of\s+)?{_MONTH}\b|{_MONTH}\s+{_DAY}\b",
    re.IGNORECASE,
)


def find_birth_dates(text: str) -> Iterator[Span]:
    """Full dates, and a year or date that follows a birth cue."""
    for match in _FULL_DATE.finditer(text):
        yield Span("birth_date", match.start(), match.end())
    for cue in _BIRTH_CUE.finditer(text):
        after = _PARTIAL_DATE.match(text, cue.end())
        if after and after.group().strip():
            yield Span("birth_date", after.start(), after.end())


# A name: one to three capitalised words (Anna, O'Neill, Jean-Luc, van der Berg is cut).
_WORD = r"[A-Z][a-zà-ÿ]*(?:['’-][A-Z]?[a-zà-ÿ]+)*"
_NAME = rf"{_WORD}(?:\s+{_WORD}){{0,2}}"
# After "my name is", people type in lower case too: one or two words of letters.
_TYPED_NAME = r"[A-Za-zà-ÿ'’-]+(?:\s+(?!(?:and|i|im|from|but|age|aged)\b)[A-Za-zà-ÿ'’-]+)?"
_RELATIVE = (
    r"(?:son|daughter|husband|wife|partner|mother|mom|mum|father|dad|brother|sister|"
    r"friend|boyfriend|girlfriend|fiancée?|grand(?:mother|father|son|daughter|ma|pa)|"
    r"child|baby|aunt|uncle|cousin|nephew|niece|neighbou?r|colleague|boss)"
)
#: Words that follow the cues without being names (compared in lower case).
_NOT_NAME_WORDS = (
    "i im i'm the a an and but so not very really just also still now today yesterday "
    "worried scared sorry afraid tired sick fine ok okay here there doctor dr has had is "
    "was who which that this it he she they we can could would should will do does did "
    "sir madam mr mrs ms miss please having getting feeling suffering on at in back when "
    "if after before tomorrow later soon"
)
NOT_NAMES = frozenset(_NOT_NAME_WORDS.split())
_NAME_CUES = (
    # my name is Anna / my name's anna smith / I am called Anna / call me Anna
    re.compile(
        rf"\b(?:my\s+name\s+is|my\s+name's|name's|i\s+am\s+called|i'm\s+called|call\s+me)"
        rf"\s+(?P<name>{_TYPED_NAME})",
        re.IGNORECASE,
    ),
    # I'm Anna, 34 / I am Anna and ... / this is Anna.
    re.compile(
        rf"\b(?:[Ii]'m|[Ii]\s+am|[Tt]his\s+is|[Ii]m)\s+(?P<name>{_NAME})(?=\s*(?:,|\.|!|\band\b|\d|$))"
    ),
    # Mr Smith / Dr. Anna Jones / Mrs O'Neill
    re.compile(
        rf"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Doctor|Prof|Professor|Sister|Nurse)\.?\s+(?P<name>{_NAME})"
    ),
    # my son Tom / my husband, John, ... / my daughter's name is Lily
    re.compile(rf"\b(?i:my|our)\s+(?i:{_RELATIVE})(?:'s\s+(?i:name\s+is))?,?\s+(?P<name>{_NAME})"),
    # Thanks, Anna / Regards,\nJohn Smith / Best wishes - Anna (at the end of the text)
    re.compile(
        rf"\b(?i:thanks|thank\s+you|many\s+thanks|regards|kind\s+regards|best\s+wishes|best|"
        rf"cheers|sincerely|yours(?:\s+sincerely|\s+truly)?|love|from)\s*[,!.:-]?\s*"
        rf"(?P<name>{_NAME})\s*[.!]?\s*$"
    ),
    # a last line that is only a name: "...\nAnna" / "- John Smith"
    re.compile(rf"\n\s*[-–—]?\s*(?P<name>{_NAME})\s*[.!]?\s*$"),
)


def find_names(text: str) -> Iterator[Span]:
    """Names where patients write them (introductions, titles, relatives, closings)."""
    for pattern in _NAME_CUES:
        for match in pattern.finditer(text):
            offset = match.start("name")
            kept: list[re.Match[str]] = []
            for word in re.finditer(r"\S+", match.group("name")):
                if word.group().lower().strip(",.") in NOT_NAMES:
                    break
                kept.append(word)
            if kept:
                yield Span("name", offset + kept[0].start(), offset + kept[-1].end())


#: One row per kind of personal detail: adding a kind is a finder and a placeholder.
#: Where two finds start at the same place, the earlier row names the span (a date
#: such as 12.05.1990 also reads as a phone number).
FINDERS: tuple[Callable[[str], Iterator[Span]], ...] = (
    find_emails,
    find_birth_dates,
    find_phones,
    find_names,
)


def find(text: str) -> list[Span]:
    """Every personal detail found, sorted, overlapping spans merged (the first kind
    found at a place names the merged span)."""
    found = [(s, rank) for rank, finder in enumerate(FINDERS) for s in finder(text)]
    spans = [s for s, _ in sorted(found, key=lambda f: (f[0].start, f[1], -f[0].end))]
    merged: list[Span] = []
    for span in spans:
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            merged[-1] = Span(last.kind, last.start, max(last.end, span.end))
        else:
            merged.append(span)
    return merged


def redact(text: str) -> str:
    """The text with names, phone numbers, e-mail addresses and dates of birth replaced
    by placeholders (``[name]``, ``[phone]``, ``[email]``, ``[date of birth]``).

    Args:
        text: What a patient wrote.

    Returns:
        The redacted text; text without personal details comes back unchanged.
    """
    out: list[str] = []
    at = 0
    for span in find(text):
        out.append(text[at : span.start])
        out.append(PLACEHOLDERS[span.kind])
        at = span.end
    out.append(text[at:])
    return "".join(out)
