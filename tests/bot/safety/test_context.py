"""Negation, hypotheticals and time (bot/safety/context.py), directly and through assess."""

from __future__ import annotations

import pytest

from bot.safety import Level, assess
from bot.safety.context import (
    Status,
    general_question,
    hypothetical,
    lasts_minutes,
    negated,
    statuses,
)
from bot.safety.normalise import split_clauses

E = Level.EMERGENCY
N = Level.NONE

# ---------------------------------------------------------------------------- negation


@pytest.mark.parametrize(
    "text",
    [
        "no slurred speech",
        "I hit my head but I never lost consciousness",
        "sudden headache without any weakness",
        "my face is not drooping",
        "patient denies facial droop or slurred speech",
        "headache and stiff neck but no fever",
        "I'm not having a stroke, my doctor checked",
        "no thoughts of suicide",
        "I would never hurt myself",
        "I don't want to die",
    ],
)
def test_negated_red_flags_are_not_urgent(text: str) -> None:
    assert assess(text).level is Level.NONE


@pytest.mark.parametrize(
    "text",
    [
        "no headache but my face is drooping",
        "I'm not sure what is happening, my speech is slurred",
        "I don't know why, but my left arm went numb suddenly",
        "he isn't making any sense and started slurring 20 minutes ago",
    ],
)
def test_negation_ends_at_its_clause(text: str) -> None:
    assert assess(text).level is Level.EMERGENCY


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("I did not vomit or feel drowsy after I hit my head", N),
        ("I don't have any slurred speech or face droop", N),
        ("my child has a fever, a rash that does not fade and a stiff neck", E),
        ("a headache that does not go away, a fever and a stiff neck", E),
    ],
)
def test_negated_lists_and_relative_clauses(text: str, level: Level) -> None:
    assert assess(text).level is level


@pytest.mark.parametrize(
    "text",
    [
        "my left arm has no strength since this morning",
        "her face is not moving on one side",
        "his speech is not right",
        "I was not able to move my left leg an hour ago",
        "she is not responding to me at all",
    ],
)
def test_negation_words_that_belong_to_the_sign(text: str) -> None:
    assert assess(text).level is Level.EMERGENCY


@pytest.mark.parametrize(
    "text",
    [
        "it was not sudden, my left arm has been numb",
        "my left arm is numb, it didn't start suddenly",
        "her eczema is not responding to the cream",
        "I could get double vision if I stop my eye drops",
        "my dad collapsed laughing at my joke",
        "I collapsed on the sofa after work",
        "tingling in my hands and short of breath when I panic",
    ],
)
def test_negated_onsets_conditions_and_idioms(text: str) -> None:
    assert assess(text).level is Level.NONE


# ------------------------------------------------------------------------------- onset


@pytest.mark.parametrize(
    ("text", "level"),
    [
        # Signs that need an onset.
        ("my left arm is numb", N),
        ("my left arm is numb since this morning", E),
        ("my left arm went numb 30 minutes ago", E),
        ("my left arm has been numb on and off for years", N),
        ("I have double vision", N),
        ("double vision started today", E),
        ("double vision, right now", E),
        ("I'm confused", N),
        ("all of a sudden I'm confused", E),
        # Signs that are acute by nature, unless clearly in the past.
        ("my face is drooping", E),
        ("two years ago my face was drooping for a week", N),
        ("I had a stroke in 2019 and now my face is drooping", E),
        ("had a seizure that would not stop, back in 2015", N),
        ("worst headache of my life five years ago, it was a migraine", N),
        ("I get the worst headaches of my life every month", N),
        # Explicit recent times beat long durations; long durations beat manner words.
        ("migraines for years and this morning my left arm went weak", E),
        ("I've had migraines for years and suddenly I have double vision", E),
        ("two years ago I suddenly lost vision in one eye", N),
        # Since a stroke: what a survivor lives with, unless a time says it is new; it is
        # passed on only to the clauses after it. (False alarms on real lay queries.)
        ("since the stroke my mother knows what she wants to say but the words come out wrong", N),
        ("since my stroke I slur my words", N),
        ("since his stroke yesterday his speech is slurred", E),
        ("he banged his head and has vomited twice and since the stroke he is forgetful", E),
        # A sentence that only says how often it happens speaks of the sentence before.
        (
            "worst headache ever, light hurts my eyes, i threw up. happens every couple of weeks",
            N,
        ),
        ("worst headache ever, light hurts my eyes. it started an hour ago", E),
        ("my face is drooping. I have had migraines every few weeks for years", E),
        ("my face is drooping. happens every couple of weeks, but now my speech is slurred", E),
    ],
)
def test_onset(text: str, level: Level) -> None:
    assert assess(text).level is level


# --------------------------------------------------------------------------- the helpers


@pytest.mark.parametrize(
    ("clause", "word", "inside", "expected"),
    [
        ("no slurred speech", "slurred", "", True),
        ("i am not sure but slurred", "slurred", "", False),
        ("im not sure my speech is slurred", "speech", "", False),
        ("she never had a seizure", "seizure", "", True),
        ("face is not drooping", "face", "is not", True),
        ("free of pain and numb", "numb", "", True),
        ("a rash that doesnt fade and a stiff neck", "stiff", "", False),
    ],
)
def test_negated(clause: str, word: str, inside: str, expected: bool) -> None:
    assert negated(clause, clause.index(word), inside) is expected


def test_general_questions_and_hypotheticals() -> None:
    assert general_question("does a stroke cause slurred speech")
    assert not general_question("does my slurred speech mean a stroke")
    clause = "what should i do if my face droops"
    start = clause.index("face")
    assert hypothetical(clause, start, start + len("face droops"))
    clause = "i could get double vision if i stop the drops"
    start = clause.index("double")
    assert hypothetical(clause, start, start + len("double vision"))
    assert not hypothetical("i have double vision", 7, 20)


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("seizure for 10 minutes", True),
        ("seizing for an hour", True),
        ("it lasted five minutes", True),
        ("it lasted three minutes", False),
        ("under 10 minutes", False),
        ("no time given", False),
    ],
)
def test_lasts_minutes(clause: str, expected: bool) -> None:
    assert lasts_minutes(clause, 5) is expected


def test_statuses_own_and_inherited() -> None:
    clauses = split_clauses(
        "two years ago my face was drooping, but it went away. "
        "since this morning my arm is numb and it feels heavy. my leg tingles"
    )
    own, resolved = statuses(clauses)
    assert [c.text for c in clauses.items] == [
        "two years ago my face was drooping",
        "it went away",
        "since this morning my arm is numb",
        "it feels heavy",
        "my leg tingles",
    ]
    assert own == [Status.PAST, Status.UNKNOWN, Status.ACUTE, Status.UNKNOWN, Status.UNKNOWN]
    assert resolved == [Status.PAST, Status.PAST, Status.ACUTE, Status.ACUTE, Status.UNKNOWN]


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("it started an hour ago", Status.ACUTE),
        ("it was not sudden", Status.UNKNOWN),
        ("for years", Status.PAST),
        ("every afternoon", Status.PAST),
        ("this morning, after years of it", Status.ACUTE),
        ("currently", Status.PRESENT),
    ],
)
def test_time_ladder(text: str, status: Status) -> None:
    own, _ = statuses(split_clauses(text))
    assert own[0] is status
