"""Text normalisation: what a patient typed, as the lower-case clauses the signs are read in.

The text is lower-cased, accents and apostrophes are dropped (``can't`` and ``cant`` read
the same), common misspellings mended (``numbnes``, ``slured``, ``siezure``), then cut into
sentences and clauses. Clauses end at ``but``, ``however``, brackets, dashes, colons and
at ``, <new subject>`` / ``and <new subject>``. A Rasa intent payload
(``/inform{"symptom": "face drooping"} since 10 minutes``) is read as its intent name,
its JSON values and the words after it.
"""

from __future__ import annotations

import bisect
import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from bot.safety.finder import Finder

__all__ = ["Clause", "Clauses", "normalise", "payload_text", "split_clauses"]

#: Joins the clauses of a message into one string; no sign pattern matches it, so one
#: search over the joined text finds exactly what a search clause by clause would.
SEPARATOR = "\n"
# Joins sentences while they are rewritten together; no rewrite or clause break crosses it.
_SENTENCE_MARK = "\x01"

_APOSTROPHES = re.compile(r"['\u2018\u2019\u201b\u02bc\u0060\u00b4]")
_SENTENCE_END = re.compile(r"[!?;\n\r]+|\.(?!\d)")
# Brackets, dashes and colons end a clause but not the sentence.
_CLAUSE_PUNCTUATION = re.compile(r":(?!\d)|\s[-\u2013\u2014]+\s|[\u2013\u2014]|[()\[\]]")
_NOT_WORD = re.compile(r"[^a-z0-9,|]+")
_DIGIT_LETTER = re.compile(r"(\d)(?!(?:st|nd|rd|th)\b)([a-z])")
_SPACES = re.compile(r"\s+")
_PAYLOAD = re.compile(r"\s*/([A-Za-z0-9_][\w.\-]*)(?=[\s{]|$)")

# Misspellings and contractions, applied to the word stream (apostrophes already gone).
_REWRITES: tuple[tuple[Finder, str], ...] = tuple(
    (Finder(p), r)
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
    re.compile(
        r"\s*,?\s*\b(?:but|however|although|though|whereas|except|apart from|aside from|"
        r"otherwise)\b"
    ),
    re.compile(rf"\s,\s(?={_SUBJECT}\b)"),
    re.compile(rf"\s(?:,\s)?(?:and|because|cause|cos|so)\s(?={_SUBJECT}\b)"),
)


@dataclass(frozen=True)
class Clause:
    """One clause of a message.

    Attributes:
        text: Its normalised words, separated by single spaces.
        sentence: The number of the sentence it belongs to (clauses of one sentence
            share it).
    """

    text: str
    sentence: int


@dataclass(frozen=True)
class Clauses:
    """The clauses of a message, with the joined text searched in one pass.

    Attributes:
        items: The clauses, in message order.
        joined: Their texts joined by :data:`SEPARATOR`.
        starts: Where each clause's text starts in ``joined``.
    """

    items: tuple[Clause, ...]
    joined: str
    starts: tuple[int, ...]

    @classmethod
    def of(cls, items: tuple[Clause, ...]) -> Clauses:
        """Build the joined text and offsets of ``items``.

        Args:
            items: The clauses, in message order.

        Returns:
            The :class:`Clauses`.
        """
        starts: list[int] = []
        position = 0
        for clause in items:
            starts.append(position)
            position += len(clause.text) + len(SEPARATOR)
        return cls(items, SEPARATOR.join(c.text for c in items), tuple(starts))

    def __len__(self) -> int:
        return len(self.items)

    def find(self, pattern: Finder) -> Iterator[tuple[int, re.Match[str]]]:
        """Yield ``(clause number, match)`` for every match of ``pattern``, in order.

        Match positions are positions in :attr:`joined`; subtract ``starts[number]`` for a
        position in the clause. The matches in one clause are those ``finditer`` gives on
        the clause alone, because no pattern matches across :data:`SEPARATOR`.

        Args:
            pattern: A sign or context pattern.

        Yields:
            The clause number and the match.
        """
        for m in pattern.finditer(self.joined):
            yield bisect.bisect_right(self.starts, m.start()) - 1, m


def payload_text(text: str) -> str:
    """Spell out a Rasa intent payload so that all of it is read.

    ``/inform{"symptom": "face drooping"} since 10 minutes`` becomes
    ``inform: symptom: face drooping: since 10 minutes``: the intent name, every JSON key
    and value (escapes decoded, nested values included) and the words after it, each its
    own clause. Any other text is returned unchanged.

    Args:
        text: A message as received.

    Returns:
        The text to read.
    """
    head = _PAYLOAD.match(text)
    if head is None:
        return text
    parts = [head.group(1).replace("_", " ")]
    rest = text[head.end() :]
    if rest.startswith("{"):
        try:
            value, end = json.JSONDecoder().raw_decode(rest)
        except ValueError:  # not JSON after all: the raw text is read as it is
            return text
        parts.extend(_strings(value))
        rest = rest[end:]
    parts.append(rest)
    return ": ".join(parts)


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
        yield str(value)


def normalise(text: str) -> str:
    """Lower-case ``text`` and drop accents and apostrophes.

    Args:
        text: Any string.

    Returns:
        The text, lower case and ASCII where accents were, without apostrophes, with
        ``&`` as ``and`` and ``w/`` / ``w/o`` as ``with`` / ``without``.
    """
    if text.isascii():
        ascii_text = text
    else:
        # compatibility forms ("ｆａｃｅ") become plain letters; accents, zero-width and
        # bidi characters (format characters, category Cf) are dropped
        decomposed = unicodedata.normalize("NFKD", text)
        ascii_text = "".join(
            c
            for c in decomposed
            if not unicodedata.combining(c) and unicodedata.category(c) not in ("Cf", "Cs")
        )
    lowered = _APOSTROPHES.sub("", ascii_text.lower()).replace("&", " and ")
    return lowered.replace("w/o", " without ").replace("w/", " with ")


def split_clauses(text: str) -> Clauses:
    """Cut a message into normalised clauses.

    Args:
        text: The message as the patient typed it.

    Returns:
        The :class:`Clauses`, empty when the text has no words.
    """
    numbers: list[int] = []
    sentences: list[str] = []
    for number, sentence in enumerate(_SENTENCE_END.split(normalise(payload_text(text)))):
        words = _CLAUSE_PUNCTUATION.sub(" | ", sentence).replace(",", " , ")
        words = _NOT_WORD.sub(" ", words)
        words = _DIGIT_LETTER.sub(r"\1 \2", words)
        words = _SPACES.sub(" ", words).strip()
        if words:
            numbers.append(number)
            sentences.append(words)
    if not sentences:
        return Clauses.of(())
    # The sentences are rewritten as one string: a regular expression is cheap per
    # character but not per call, and a message of many short sentences is common.
    words = _SENTENCE_MARK.join(sentences)
    for rewrite, replacement in _REWRITES:
        words = rewrite.sub(replacement, words)
    words = _SENTENCE_MARK.join(f" {s} " for s in words.split(_SENTENCE_MARK))
    for brk in _CLAUSE_BREAKS:
        words = brk.sub(" | ", words)
    clauses: list[Clause] = []
    for number, sentence in zip(numbers, words.split(_SENTENCE_MARK), strict=True):
        for part in sentence.split("|"):
            clean = _SPACES.sub(" ", part.replace(",", " ")).strip()
            if clean:
                clauses.append(Clause(clean, number))
    return Clauses.of(tuple(clauses))
