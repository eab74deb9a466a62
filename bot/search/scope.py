"""Whether a patient's message is about the nervous system: the scope of a neurology archive.

A neurology archive holds replies about the brain, nerves and muscles. A message about a
sprained knee or bleeding gums still shares words with some archived question ("knee"
with a foot-drop question, "brush my teeth" with trigeminal neuralgia), and the match
model, which reads how far the best candidate stands out from the others, can find it
plausible. :func:`is_neurological` says whether the message names anything of neurology
(``bot/search/neuro_words.yml``, read through the search vocabulary so that a patient's
"hand fell asleep" counts as paresthesia); a message that names nothing of it is decided
with a stricter floor on the sentence cosine (:data:`bot.search.match.OUTSIDE_COSINE`),
so only an archived question that means nearly the same is answered or offered. The
lexicon errs towards neurology; what it misses (a patient's own words for a rare sign)
still reaches its record when the sentences are close.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from bot.errors import ConfigError
from bot.search.query import analyze
from bot.search.vocabulary import Vocabulary, load_vocabulary
from bot.settings import SCOPES
from bot.text import stem, words

__all__ = [
    "ANY",
    "NEUROLOGY",
    "NEURO_WORDS_PATH",
    "NeuroLexicon",
    "in_scope",
    "is_neurological",
    "load_lexicon",
]

NEURO_WORDS_PATH = Path(__file__).with_name("neuro_words.yml")

#: The scopes an archive can have (``NEUROBOT_SCOPE``): a neurology archive decides a
#: message outside neurology with the stricter floor; a general archive does not.
NEUROLOGY, ANY = SCOPES


@dataclass(frozen=True)
class NeuroLexicon:
    """``neuro_words.yml``, stemmed: words, phrases, place-and-symptom pairs, prefixes."""

    stems: frozenset[str]
    phrases: tuple[tuple[str, ...], ...]
    pairs: tuple[tuple[frozenset[str], frozenset[str]], ...]
    prefixes: tuple[str, ...]

    def names(self, stem_: str) -> bool:
        """Whether one stem is a word of neurology (listed, or with a listed prefix)."""
        return stem_ in self.stems or stem_.startswith(self.prefixes)


def _stems(text: str) -> list[str]:
    return [stem(w) for w in words(text)]


@lru_cache(maxsize=4)
def load_lexicon(path: Path = NEURO_WORDS_PATH) -> NeuroLexicon:
    """Read the lexicon of neurology.

    Raises:
        ConfigError: The file is missing or not in that form; the message names it.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        lines = data["words"]
        return NeuroLexicon(
            stems=frozenset(s for line in lines for s in _stems(line)),
            phrases=tuple(tuple(_stems(p)) for p in data["phrases"] if _stems(p)),
            pairs=tuple(
                (frozenset(_stems(p["places"])), frozenset(_stems(p["symptoms"])))
                for p in data.get("pairs") or []
            ),
            prefixes=tuple(str(p).lower() for p in data.get("prefixes") or []),
        )
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(
            f"cannot read the neurology lexicon {path}: expected 'words:', 'phrases:', "
            f"'pairs:' and 'prefixes:' ({exc})"
        ) from exc


def is_neurological(
    text: str, lexicon: NeuroLexicon | None = None, vocabulary: Vocabulary | None = None
) -> bool:
    """Whether a message names anything of neurology.

    True when it holds a word of the lexicon (or one with its prefixes), one of its
    phrases, a place of the body with a word of what it does there ("my head is
    pounding", "my eyelid droops"), or a word whose search-vocabulary group holds a word
    of the lexicon ("hand fell asleep": paresthesia).

    Args:
        text: The patient's message (any characters).
        lexicon: The lexicon (default: ``bot/search/neuro_words.yml``).
        vocabulary: The search vocabulary (default: the team's).
    """
    lexicon = lexicon or load_lexicon()
    stems = _stems(text)
    if any(lexicon.names(s) for s in stems):
        return True
    padded = f" {' '.join(stems)} "
    if any(f" {' '.join(p)} " in padded for p in lexicon.phrases):
        return True
    present = set(stems)
    if any(present & places and present & symptoms for places, symptoms in lexicon.pairs):
        return True
    concepts = analyze(text, vocabulary or load_vocabulary())
    return any(
        lexicon.names(phrase[0]) for c in concepts for phrase in c.phrases if len(phrase) == 1
    )


def in_scope(text: str, scope: str) -> bool:
    """Whether a message is within an archive's scope (``NEUROBOT_SCOPE``): every
    message is within ``any``; within ``neurology``, one that :func:`is_neurological`."""
    return scope != NEUROLOGY or is_neurological(text)
