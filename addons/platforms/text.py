"""Texts cut to fit a platform: split at natural boundaries, never dropped."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

logger = logging.getLogger(__name__)

_BOUNDARIES = (r"\n[ \t]*\n", r"\n", r"(?<=[.!?…;:])\s+", r"\s+")
_JOINERS = ("\n\n", "\n", " ", " ")


def split_text(text: str, limit: int, _level: int = 0) -> list[str]:
    """Split ``text`` into parts of at most ``limit`` characters.

    Paragraphs are kept together where they fit, then sentences, then words; a word
    longer than the limit is cut. Nothing is dropped: joining the parts gives the text
    back (up to whitespace at the cuts).
    """
    text = text.strip()
    if not text:
        return []
    if len(text) <= limit:
        return [text]
    if _level == len(_BOUNDARIES):
        return [text[i : i + limit] for i in range(0, len(text), limit)]
    joiner = _JOINERS[_level]
    chunks: list[str] = []
    current = ""
    for piece in re.split(_BOUNDARIES[_level], text):
        piece = piece.strip()
        if not piece:
            continue
        if len(piece) > limit:
            if current:
                chunks.append(current)
            *done, current = split_text(piece, limit, _level + 1)
            chunks.extend(done)
            continue
        candidate = f"{current}{joiner}{piece}" if current else piece
        if len(candidate) <= limit:
            current = candidate
        else:
            chunks.append(current)
            current = piece
    if current:
        chunks.append(current)
    return chunks


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def limit_from(credentials: Mapping[str, Any], default: int) -> int:
    """The per-message limit: ``max_chars`` from the credentials, never above ``default``."""
    raw = credentials.get("max_chars")
    try:
        value = int(raw) if raw not in (None, "") else default
    except (TypeError, ValueError):
        logger.warning("max_chars %r is not a number; using %d", raw, default)
        value = default
    return max(100, min(value, default))
