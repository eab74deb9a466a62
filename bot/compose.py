"""Answer composition: which hits are shown, and how a record is attributed.

Nothing here writes wording for the patient (that lives in ``domain.yml``); it only
selects and formats what the archive records.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.index import Hit
from bot.records import Record


@dataclass(frozen=True)
class Answer:
    """What an archive answer shows.

    Attributes:
        record: The best-matching archived record.
        score: Its match score.
        similar: Further records above the threshold, best first.
    """

    record: Record
    score: float
    similar: tuple[Record, ...]


def attribution(record: Record) -> str:
    """Who replied, from which department and source, and when, as the archive says.

    Parts the archive does not record are left out, never filled in.
    """
    parts = [record.responder, record.department, record.source, record.reply_date]
    return " · ".join(p for p in parts if p)


def excerpt(text: str, limit: int) -> str:
    """The beginning of a reply, cut at a sentence (or word) boundary near ``limit``."""
    flat = re.sub(r"\s+", " ", text).strip()
    if len(flat) <= limit:
        return flat
    window = flat[:limit]
    cut = max(window.rfind(". "), window.rfind("? "), window.rfind("! "))
    if cut >= limit // 2:
        return window[: cut + 1]
    return window.rsplit(" ", 1)[0].rstrip(",;:") + " …"


def choose_answer(hits: Sequence[Hit], threshold: float, max_similar: int) -> Answer | None:
    """Pick the answer from ranked hits, or None when no hit reaches the threshold.

    Args:
        hits: Search hits, best first.
        threshold: Lowest score shown as an answer.
        max_similar: How many further hits to offer as similar questions.
    """
    good = [h for h in hits if h.score >= threshold]
    if not good:
        return None
    return Answer(
        record=good[0].record,
        score=good[0].score,
        similar=tuple(h.record for h in good[1 : 1 + max_similar]),
    )


def conversation_query(messages: Sequence[str], keep: int = 3) -> str:
    """Join the patient's last ``keep`` descriptive messages into one search query."""
    recent = [m.strip() for m in messages if m and m.strip()][-keep:]
    return "\n".join(recent)
