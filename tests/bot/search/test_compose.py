"""The three kinds of reply from one decision, on literal candidates and hits."""

from __future__ import annotations

import pytest

from bot.search.compose import ANSWER, NONE, OFFER, Reply, decide_reply, hit_decisions, reply_kind
from bot.search.index import Hit
from tests.conftest import HEADACHE, TINGLE, TWITCH


@pytest.mark.parametrize(
    ("candidates", "expected"),
    [
        ([(0.9, 0.5), (0.4, 0.4)], (ANSWER, (0,))),
        ([(0.69, 0.5), (0.4, 0.4), (0.01, 0.2), (0.3, 0.5)], (OFFER, (0, 1))),
        # the third makes the offer; the second is listed beside it on its score, the
        # first is not (its score is under the floor); the fourth is never offered
        ([(0.3, 0.1), (0.04, 0.5), (0.06, 0.24), (0.5, 0.5)], (OFFER, (1, 2))),
        # "pins and needles at night": 0.12 makes the offer, carpal tunnel (0.02) and a
        # third hit are listed on their scores
        ([(0.12, 0.6), (0.02, 0.53), (0.007, 0.51)], (OFFER, (0, 1, 2))),
        # no hit is plausible enough to make an offer: the listing floor alone is not
        ([(0.3, 0.1), (0.04, 0.5)], (NONE, ())),
        ([], (NONE, ())),
    ],
)
def test_reply_kind(
    candidates: list[tuple[float, float]], expected: tuple[str, tuple[int, ...]]
) -> None:
    assert reply_kind(candidates, cutoff=0.7, offer_probability=0.05, offer_score=0.24) == expected


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
    assert decide_reply(unsure, max_similar=3) == Reply(OFFER, offered=(TINGLE, TWITCH))
    assert hit_decisions(unsure, 3) == [OFFER, OFFER, NONE]

    nothing = hits((HEADACHE, 0.01, 0.5, False))
    assert decide_reply(nothing, max_similar=3) == Reply(NONE)
    assert hit_decisions(nothing, 3) == [NONE]
