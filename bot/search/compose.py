"""Answer composition: which hits are shown, and how a record is attributed.

Nothing here writes wording for the patient (that lives in ``domain.yml``); it only
selects and formats what the archive records.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.archive.records import Record
from bot.search.index import Hit
from bot.search.match import (
    MAX_OFFERED,
    OFFER_COSINE,
    OFFER_PROBABILITY,
    OFFER_SCORE,
    OUTSIDE_ANSWER_COSINE,
    OUTSIDE_COSINE,
    Floors,
)

#: The three kinds of reply to a health question (``bot search --json`` names them).
ANSWER = "answer"
OFFER = "offer"
NONE = "none"


@dataclass(frozen=True)
class Answer:
    """What an archive answer shows.

    Attributes:
        record: The best-matching archived record.
        score: The probability that its question asks the same as the patient's.
        similar: Further records the match decision shows, best first.
    """

    record: Record
    score: float
    similar: tuple[Record, ...]


@dataclass(frozen=True)
class Reply:
    """The kind of reply a health question gets, and what it shows.

    Attributes:
        kind: :data:`ANSWER` (one archived record, confidently), :data:`OFFER` (close
            archived questions to choose from, the bot unsure) or :data:`NONE` (no
            close match).
        answer: The answer, for :data:`ANSWER`.
        offered: The records offered, best first, for :data:`OFFER`.
    """

    kind: str
    answer: Answer | None = None
    offered: tuple[Record, ...] = ()


def reply_kind(
    candidates: Sequence[tuple[float, float, float | None]],
    cutoff: float,
    offer_probability: float = OFFER_PROBABILITY,
    offer_score: float = OFFER_SCORE,
    offer_cosine: float = OFFER_COSINE,
    max_offered: int = MAX_OFFERED,
    *,
    in_scope: bool = True,
    outside_cosine: float = OUTSIDE_COSINE,
    outside_answer_cosine: float = OUTSIDE_ANSWER_COSINE,
) -> tuple[str, tuple[int, ...]]:
    """The decision on ranked candidates: the kind of reply, and which places it shows.

    The best hit is the answer when its probability reaches ``cutoff``. Otherwise the
    bot offers close questions when one of the top ``max_offered`` hits is plausible
    (its probability reaches ``offer_probability``, its score ``offer_score`` and its
    cosine ``offer_cosine``, when the search had vectors); the list then holds every one
    of those top hits whose score reaches ``offer_score``, whatever its probability. The
    probability is that the archived question asks *the same* as the patient's; once
    the bot asks the patient to choose, a related question they can recognise by its
    title is worth its place (under "I get pins and needles in my fingers at night",
    the carpal tunnel question scores 0.53 at probability 0.02, beside a 0.12 top hit).
    Otherwise there is no close match. The evaluation applies the same function to
    labelled candidates, so what it measures is what patients meet.

    A message outside the archive's scope (``in_scope`` False: in a neurology archive,
    one that names nothing of neurology, :mod:`bot.search.scope`) is answered with
    confidence only when it nearly repeats the archived question (the best hit's cosine
    reaches ``outside_answer_cosine`` too): otherwise the bot cannot be sure that a
    neurologist's reply is what it asks for. It is offered close questions only by hits
    whose cosine reaches ``outside_cosine``, and those alone are listed.

    Args:
        candidates: Per hit, best first, its probability, its score and its cosine
            (None: the search had no vectors).
        cutoff: The answer cut-off (from ``NEUROBOT_MAX_WRONG``).
        offer_probability: Least probability of the hit that makes an offer.
        offer_score: Least score of an offered hit.
        offer_cosine: Least cosine of the hit that makes an offer.
        max_offered: Most hits offered.
        in_scope: Whether the message is within the archive's scope.
        outside_cosine: Least cosine of a hit offered to a message outside it.
        outside_answer_cosine: Least cosine of the answer to a message outside it.

    Returns:
        ``(ANSWER, (0,))``, ``(OFFER, places)`` or ``(NONE, ())``.
    """
    outside = 0.0 if in_scope else outside_cosine

    def close(cosine: float | None, floor: float) -> bool:
        return cosine is None or cosine >= floor

    if (
        candidates
        and candidates[0][0] >= cutoff
        and (in_scope or close(candidates[0][2], outside_answer_cosine))
    ):
        return ANSWER, (0,)
    top = candidates[:max_offered]
    floor = max(offer_cosine, outside)
    if not any(p >= offer_probability and s >= offer_score and close(c, floor) for p, s, c in top):
        return NONE, ()
    listed = (i for i, (_, s, c) in enumerate(top) if s >= offer_score and close(c, outside))
    return OFFER, tuple(listed)


def decide_reply(
    hits: Sequence[Hit], max_similar: int, in_scope: bool = True, floors: Floors | None = None
) -> Reply:
    """The reply to a health question from its ranked hits.

    Args:
        hits: Search hits, best first, each with its probability and the decision the
            search made (at the share of wrong answers it was given:
            :meth:`bot.search.index.ArchiveIndex.search`'s ``max_wrong``).
        max_similar: How many further hits an answer lists as similar questions.
        in_scope: Whether the message is within the archive's scope (see
            :func:`reply_kind`).
        floors: The offer's floors of the match model that decided the hits
            (:meth:`bot.search.index.ArchiveIndex.floors`; default: MiniLM's).
    """
    floors = floors or Floors()
    answer = choose_answer(hits, max_similar)
    # the search decided whether the best hit is the answer; reply_kind adds the scope
    cutoff = 0.0 if answer is not None else math.inf
    candidates = [(h.probability, h.score, h.cosine) for h in hits]
    kind, places = reply_kind(
        candidates,
        cutoff,
        floors.probability,
        floors.score,
        floors.cosine,
        in_scope=in_scope,
        outside_cosine=floors.outside_cosine,
        outside_answer_cosine=floors.outside_answer_cosine,
    )
    if kind == ANSWER and answer is not None:
        return Reply(ANSWER, answer=answer)
    if kind == OFFER:
        return Reply(OFFER, offered=tuple(hits[i].record for i in places))
    return Reply(NONE)


def hit_decisions(
    hits: Sequence[Hit], max_similar: int, in_scope: bool = True, floors: Floors | None = None
) -> list[str]:
    """Per hit, what the patient meets it as: ``answer`` (the answer or one of its
    similar questions), ``offer`` (one of the close questions) or ``none``."""
    reply = decide_reply(hits, max_similar, in_scope, floors)
    if reply.kind == ANSWER and reply.answer is not None:
        ids = {reply.answer.record.id, *(r.id for r in reply.answer.similar)}
        return [ANSWER if h.record.id in ids else NONE for h in hits]
    offered = {r.id for r in reply.offered}
    return [OFFER if h.record.id in offered else NONE for h in hits]


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


def choose_answer(hits: Sequence[Hit], max_similar: int) -> Answer | None:
    """Pick the answer from ranked hits, or None when the match decision shows none.

    The best hit is the answer when the match model (:mod:`bot.search.match`) shows it; the
    further hits it shows are the similar questions. The decision is the search's
    (:attr:`Hit.answer`, made with the match model of the index's sentence model at the
    share of wrong answers the search was given), never made a second time here.

    Args:
        hits: Search hits, best first, each with its probability and decision.
        max_similar: How many further hits to offer as similar questions.
    """
    good = shown(hits)
    if not good or good[0] is not hits[0]:
        return None
    return Answer(
        record=good[0].record,
        score=good[0].probability,
        similar=tuple(h.record for h in good[1 : 1 + max_similar]),
    )


def shown(hits: Sequence[Hit]) -> list[Hit]:
    """The hits the bot would show, best first (none unless the best hit is shown)."""
    chosen = [h for h in hits if h.answer]
    return chosen if chosen and chosen[0] is hits[0] else []


def conversation_query(messages: Sequence[str], keep: int = 3) -> str:
    """Join the patient's last ``keep`` descriptive messages into one search query."""
    recent = [m.strip() for m in messages if m and m.strip()][-keep:]
    return "\n".join(recent)
