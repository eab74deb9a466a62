"""Tokenising and stemming shared by the index and the query side."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)
_stemmer = Stemmer.Stemmer("english")

#: Words that carry no meaning for finding a similar question: English function words
#: plus what patients write around every question ("recently", "doctor", "worried").
STOP_WORDS = frozenset(
    """
    a about above after again against all almost also am an and any anybody anyone anything
    are aren't around as ask asked asking at be became because been before being below
    between both but by can can't cannot could couldn't did didn't do does doesn't doing
    don't done down dr during each either else even ever every few for from further get
    gets getting go goes going got had hadn't has hasn't have haven't having he he's her
    here hers herself hi him himself his hello how i i'd i'm i've if in into is isn't it
    it's its itself just know let like lot lots maybe me might more most much must my
    myself need no nor not now of off often on once only or other our ours ourselves out
    over own please pretty quite rather really recently same she should shouldn't so some
    something sometimes still such than thank thanks that that's the their theirs them
    themselves then there there's these they they're this those though through thus to
    too under until up upon us very was wasn't we we're were weren't what what's when
    where which while who whom why will with won't would wouldn't yes yet you you're your
    yours yourself doctor doctors doc question questions hey dear worried worry worrying
    scared afraid concerned think thought feel feels feeling felt seem seems seemed
    symptom symptoms day days thing things kind sort anyway okay ok
    """.split()  # noqa: SIM905 - a word list reads best as text
)


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Return the Snowball (Porter 2) stem of one lower-case word."""
    return str(_stemmer.stemWord(word))


def fold(text: str) -> str:
    """Remove diacritics ("Ménière" -> "Meniere"), as the FTS5 tokenizer does."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """Split text into lower-case words without diacritics, apostrophes inside kept."""
    return _WORD.findall(fold(text.lower().replace("\u2019", "'")))


def content_stems(text: str) -> list[str]:
    """Return the stems of the words of ``text`` that are not stop words, in order."""
    return [
        stem(w.split("'")[0] if w.endswith("'s") else w) for w in words(text) if w not in STOP_WORDS
    ]
