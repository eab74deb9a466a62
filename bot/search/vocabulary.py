"""The team's lay-to-clinical vocabulary: groups of phrases that mean the same for search."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import yaml

from bot.errors import ConfigError
from bot.text import content_stems

DEFAULT_PATH = Path(__file__).with_name("vocabulary.yml")

Phrase = tuple[str, ...]


@dataclass(frozen=True)
class Vocabulary:
    """Phrase groups, stemmed, with a lookup from each phrase to its group."""

    groups: tuple[tuple[Phrase, ...], ...]
    group_of: dict[Phrase, int]

    @cached_property
    def longest(self) -> int:
        """Length in stems of the longest phrase (computed once: every search asks)."""
        return max((len(p) for p in self.group_of), default=1)

    @classmethod
    def from_groups(cls, groups: Iterable[Sequence[str]]) -> Vocabulary:
        """Build a vocabulary from groups of plain phrases (stemmed here)."""
        stemmed: list[tuple[Phrase, ...]] = []
        group_of: dict[Phrase, int] = {}
        for group in groups:
            phrases: list[Phrase] = []
            for text in group:
                phrase = tuple(content_stems(str(text)))
                if phrase and phrase not in phrases and phrase not in group_of:
                    phrases.append(phrase)
            if len(phrases) < 2:
                continue
            for phrase in phrases:
                group_of[phrase] = len(stemmed)
            stemmed.append(tuple(phrases))
        return cls(groups=tuple(stemmed), group_of=group_of)


@lru_cache(maxsize=4)
def load_vocabulary(path: Path = DEFAULT_PATH) -> Vocabulary:
    """Read a vocabulary file (``groups:`` a list of lists of phrases).

    Raises:
        ConfigError: The file is missing or not in that form; the message names it.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read vocabulary {path}: {exc}") from exc
    groups = data.get("groups") if isinstance(data, dict) else None
    if not isinstance(groups, list) or not all(isinstance(g, list) for g in groups):
        raise ConfigError(f"{path}: expected 'groups:' holding lists of phrases")
    return Vocabulary.from_groups(groups)
