"""The three kinds of reply from one decision, on literal candidates and hits."""

from __future__ import annotations

import pytest

from bot.search.compose import ANSWER, NONE, OFFER, Reply, decide_reply, hit_decisions, reply_kind
from bot.search.index import Hit
from tests.conftest import HEADACHE, TINGLE, TWITCH


@pytest.mark.parametrize(
    ("candidates", "expected"),
    [
        ([(0.9, 0.5, None), (0.4, 0.4, None)], (ANSWER, (0,))),
        (
            [(0.69, 0.5, None), (0.4, 0.4, None), (0.01, 0.2, None), (0.3, 0.5, None)],
            (OFFER, (0, 1)),
        ),
        # the third makes the offer; the second is listed beside it on its score, the
        # first is not (its score is under the floor); the fourth is never offered
        (
            [(0.3, 0.1, None), (0.04, 0.5, None), (0.06, 0.24, None), (0.5, 0.5, None)],
            (OFFER, (1, 2)),
        ),
        # "pins and needles at night": 0.12 makes the offer, carpal tunnel (0.02) and a
        # third hit are listed on their scores
        ([(0.12, 0.6, 0.55), (0.02, 0.53, 0.5), (0.007, 0.51, 0.5)], (OFFER, (0, 1, 2))),
        # no hit is plausible enough to make an offer: the listing floor alone is not
        ([(0.3, 0.1, None), (0.04, 0.5, None)], (NONE, ())),
        # "a passport appointment for my baby": a shared word, not a shared meaning
        ([(0.62, 0.4, 0.3), (0.02, 0.2, 0.2)], (NONE, ())),
        # the same hit close in meaning makes the offer
        ([(0.62, 0.4, 0.45), (0.02, 0.2, 0.2)], (OFFER, (0,))),
        # a plausible hit makes the offer, a word-only hit beside it is listed on its score
        ([(0.02, 0.5, 0.2), (0.2, 0.3, 0.41)], (OFFER, (0, 1))),
        ([], (NONE, ())),
    ],
)
def test_reply_kind(
    candidates: list[tuple[float, float, float | None]], expected: tuple[str, tuple[int, ...]]
) -> None:
    assert (
        reply_kind(
            candidates, cutoff=0.7, offer_probability=0.05, offer_score=0.24, offer_cosine=0.4
        )
        == expected
    )


def hits(*rows: tuple[object, float, float, bool]) -> list[Hit]:
    return [Hit(r, score=s, probability=p, answer=a) for r, p, s, a in rows]  # type: ignore[arg-type]


def test_decide_reply_and_per_hit_decisions() -> None:
    sure = hits((TWITCH, 0.95, 0.6, True), (TINGLE, 0.1, 0.3, True), (HEADACHE, 0.0, 0.1, False))
    reply = decide_reply(sure, max_similar=3)
    assert reply.kind == ANSWER and reply.answer is not None
    assert (reply.answer.record, reply.answer.similar) == (TWITCH, (TINGLE,))
    assert hit_decisions(sure, 3) == [ANSWER, ANSWER, NONE]

    unsure = hits(
        (TINGLE, 0.4, 0.35, False), (TWITCH, 0.12, 0.3, False), (HEADACHE, 0.2, 0.1, False)
    )
    # once a plausible hit makes the offer, the top 3 are listed at the shipped score
    # floor (0: the scope keeps questions of other specialties out, bot.search.scope)
    assert decide_reply(unsure, max_similar=3) == Reply(OFFER, offered=(TINGLE, TWITCH, HEADACHE))
    assert hit_decisions(unsure, 3) == [OFFER, OFFER, OFFER]

    nothing = hits((HEADACHE, 0.01, 0.5, False))
    assert decide_reply(nothing, max_similar=3) == Reply(NONE)
    assert hit_decisions(nothing, 3) == [NONE]

    # another sentence model's floors: a higher probability and score floor
    from bot.search.match import Floors

    strict = Floors(probability=0.3, score=0.32, cosine=0.0, outside_cosine=0.5)
    assert decide_reply(unsure, max_similar=3, floors=strict) == Reply(OFFER, offered=(TINGLE,))
    assert hit_decisions(unsure, 3, floors=Floors(probability=0.5)) == [NONE, NONE, NONE]


@pytest.mark.parametrize(
    ("candidates", "expected"),
    [
        # outside the scope a best hit far in meaning is neither the answer nor offered;
        # the second, close in meaning, is offered, alone
        ([(0.9, 0.5, 0.42), (0.3, 0.3, 0.5), (0.01, 0.3, 0.2)], (OFFER, (1,))),
        # close in meaning: offered, not answered
        ([(0.9, 0.5, 0.46), (0.3, 0.3, 0.5)], (OFFER, (0, 1))),
        # it nearly repeats the archived question: answered
        ([(0.9, 0.5, 0.93), (0.3, 0.3, 0.5)], (ANSWER, (0,))),
        # "my gums bleed" against "trigeminal neuralgia": nothing close in meaning
        ([(0.27, 0.26, 0.17), (0.1, 0.3, 0.21)], (NONE, ())),
        # without vectors the outside floors cannot apply: answered as within the scope
        ([(0.9, 0.5, None)], (ANSWER, (0,))),
    ],
)
def test_reply_kind_outside_the_scope(
    candidates: list[tuple[float, float, float | None]], expected: tuple[str, tuple[int, ...]]
) -> None:
    decided = reply_kind(
        candidates,
        0.7,
        0.05,
        0.24,
        0.0,
        in_scope=False,
        outside_cosine=0.45,
        outside_answer_cosine=0.6,
    )
    assert decided == expected
    # the same candidates within the scope: the floors of the offer alone
    assert reply_kind(candidates, 0.7, 0.05, 0.24, 0.0)[0] == (
        ANSWER if candidates[0][0] >= 0.7 else OFFER
    )


def test_decide_reply_outside_the_scope_needs_hits_close_in_meaning() -> None:
    from dataclasses import replace

    from bot.search.match import OUTSIDE_ANSWER_COSINE, OUTSIDE_COSINE

    far, near = OUTSIDE_COSINE - 0.1, OUTSIDE_COSINE + 0.05
    sure = [
        replace(h, cosine=c)
        for h, c in zip(
            hits((TWITCH, 0.95, 0.6, True), (TINGLE, 0.3, 0.3, True)), (far, near), strict=True
        )
    ]
    assert decide_reply(sure, max_similar=3).kind == ANSWER
    assert decide_reply(sure, max_similar=3, in_scope=False) == Reply(OFFER, offered=(TINGLE,))
    assert hit_decisions(sure, 3, in_scope=False) == [NONE, OFFER]
    # both close in meaning: both offered, neither answered with confidence
    close = [replace(h, cosine=near) for h in sure]
    assert decide_reply(close, max_similar=3, in_scope=False) == Reply(
        OFFER, offered=(TWITCH, TINGLE)
    )
    # the message nearly repeats the best hit's question: answered
    repeat = [replace(sure[0], cosine=OUTSIDE_ANSWER_COSINE), sure[1]]
    reply = decide_reply(repeat, max_similar=3, in_scope=False)
    assert reply.kind == ANSWER and reply.answer is not None and reply.answer.record == TWITCH
