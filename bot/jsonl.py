"""Reading JSON Lines: one object per non-blank line, errors naming file and line."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from bot.errors import ArchiveFormatError


def json_objects(lines: Iterable[str], where: Path | str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line number, object)`` for every non-blank line.

    Args:
        lines: The lines (an open file, or a list of strings).
        where: The file's name, for error messages.

    Raises:
        ArchiveFormatError: A line is not valid JSON or not a JSON object; it names
            ``where`` and the line number.
    """
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise ArchiveFormatError(where, number, f"invalid JSON: {exc}") from None
        if not isinstance(row, dict):
            raise ArchiveFormatError(where, number, "each line must be a JSON object")
        yield number, row
