"""Fast searching for many patterns: skip a pattern whose every match needs absent text.

Python's :mod:`re` tries a pattern that starts with ``\\b`` at every position of the text,
which makes a hundred sign patterns over a 16 kB message slow. Most patterns can only
match where one of a few literal words starts (``cant``, ``couldnt``, ``unable to``); a
:class:`Finder` works those prefixes out once, from the pattern's own parse tree, and
searches only when one of them occurs in the text (a substring test, done in C).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from typing import Any

if sys.version_info >= (3, 11):
    from re import _constants as sre_constants  # type: ignore[attr-defined]
    from re import _parser as sre_parse  # type: ignore[attr-defined]
else:
    import sre_constants
    import sre_parse

__all__ = ["Finder", "literal_prefixes"]

#: Beyond this many alternative prefixes the shorter ones found so far are kept.
_MAX_PREFIXES = 64
_ZERO_WIDTH = {sre_constants.AT, sre_constants.ASSERT, sre_constants.ASSERT_NOT}
_REPEATS = {sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT}

# (prefix, complete): complete while everything read so far was literal, so that what
# follows extends the prefix.
_Prefixes = list[tuple[str, bool]]


def _extend(current: _Prefixes, following: _Prefixes) -> _Prefixes | None:
    extended: dict[str, bool] = {}
    for prefix, complete in current:
        if not complete:
            extended[prefix] = extended.get(prefix, False)
            continue
        for more, more_complete in following:
            key = prefix + more
            extended[key] = extended.get(key, False) or more_complete
    if len(extended) > _MAX_PREFIXES:
        return None
    return list(extended.items())


def _walk(items: Any) -> _Prefixes:
    current: _Prefixes = [("", True)]
    for op, av in items:
        if not any(complete for _, complete in current):
            break
        if op in _ZERO_WIDTH:
            continue
        following: _Prefixes | None
        if op is sre_constants.LITERAL:
            following = [(chr(av), True)]
        elif op is sre_constants.SUBPATTERN:
            following = _walk(av[-1])
        elif op is sre_constants.BRANCH:
            following = [p for branch in av[1] for p in _walk(branch)]
        elif op in _REPEATS and av[0] >= 1:
            low, high, item = av
            following = _walk(item)
            if not (low == high == 1):
                following = [(prefix, False) for prefix, _ in following]
        else:
            following = None
        extended = _extend(current, following) if following is not None else None
        if extended is None:
            return [(prefix, False) for prefix, _ in current]
        current = extended
    return current


def literal_prefixes(pattern: str) -> tuple[str, ...] | None:
    """The literal texts one of which every match of ``pattern`` starts with.

    Args:
        pattern: A regular expression.

    Returns:
        The prefixes, or None when a match may start with anything (or nothing).
    """
    prefixes = sorted({prefix for prefix, _ in _walk(sre_parse.parse(pattern))})
    if not prefixes or "" in prefixes:
        return None
    # A text holding "lips" holds "lip": the shortest prefixes are enough.
    shortest: list[str] = []
    for prefix in sorted(prefixes, key=len):
        if not any(prefix.startswith(kept) for kept in shortest):
            shortest.append(prefix)
    return tuple(sorted(shortest))


class Finder:
    """A compiled pattern that is only run on texts holding one of its literal prefixes.

    Args:
        pattern: The regular expression.
    """

    def __init__(self, pattern: str) -> None:
        self.pattern = re.compile(pattern)
        self.prefixes = literal_prefixes(pattern)

    def could_match(self, text: str) -> bool:
        """Whether the pattern may match somewhere in ``text`` (False: it surely does not).

        Args:
            text: The text to search.

        Returns:
            False when none of the literal prefixes occurs in ``text``.
        """
        return self.prefixes is None or any(prefix in text for prefix in self.prefixes)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        """Like :meth:`re.Pattern.finditer`, skipped when nothing could match.

        Args:
            text: The text to search.

        Returns:
            The matches, in order.
        """
        if not self.could_match(text):
            return iter(())
        return self.pattern.finditer(text)

    def sub(self, replacement: str, text: str) -> str:
        """Like :meth:`re.Pattern.sub`, skipped when nothing could match.

        Args:
            replacement: The replacement template.
            text: The text.

        Returns:
            The text with every match replaced.
        """
        return self.pattern.sub(replacement, text) if self.could_match(text) else text
