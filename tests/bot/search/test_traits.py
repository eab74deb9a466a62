"""Traits a question states (side of the body, whose question, onset) and conflicts."""

from __future__ import annotations

import pytest

from bot.search.index import ArchiveIndex
from bot.search.query import trait_conflicts, traits
from bot.text import content_stems
from tests.conftest import TWITCH


def stated(text: str) -> dict[str, frozenset[str]]:
    return traits(content_stems(text))


def test_traits_read_side_age_and_onset() -> None:
    assert stated("My left hand went numb suddenly, my son says") == {
        "side": frozenset({"left"}),
        "age": frozenset({"child"}),
        "onset": frozenset({"sudden"}),
    }
    assert stated("My grandfather has had a weak right leg since birth") == {
        "side": frozenset({"right"}),
        "age": frozenset({"older"}),
        "onset": frozenset({"lifelong"}),
    }
    assert stated("Headache every afternoon behind the eyes") == {}


@pytest.mark.parametrize(
    ("patient", "record", "conflicts"),
    [
        ("left arm weak since this morning, it came on suddenly", "right arm weak since birth", 2),
        ("my daughter has headaches", "headaches in an elderly man", 1),
        # a trait only one of them states is no conflict
        ("my left hand tingles", "hand tingles at night", 0),
        # both sides named by the record: the patient's side is among them
        ("my left hand tingles", "tingling in the left and right hands", 0),
    ],
)
def test_trait_conflicts(patient: str, record: str, conflicts: int) -> None:
    assert trait_conflicts(stated(patient), stated(record)) == conflicts


def test_candidates_carry_the_conflicts(index: ArchiveIndex) -> None:
    # the tiny archive's twitching question is about a weaker *left* hand
    found = index.candidates("muscles twitch and my right hand is weak")
    assert found is not None
    candidates, _ = found
    records = index._records([c.rowid for c in candidates])
    by_id = {records[c.rowid].id: c.signals.conflicts for c in candidates}
    assert by_id[TWITCH.id] == 1
    same_side = index.candidates("muscles twitch and my left hand is weak")
    assert same_side is not None
    assert {c.signals.conflicts for c in same_side[0]} == {0}
