"""The assessment as callers use it: conversations, decide, payloads, odd and long text."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.safety import RECENT_MESSAGES, Assessment, Level, assess, assess_conversation, decide

# -------------------------------------------------------------------------- conversation


def test_conversation_is_urgent_when_any_message_is() -> None:
    result = assess_conversation(["hello", "my face is drooping", "thanks"])
    assert result.level is Level.EMERGENCY
    assert result.signs == ("face_droop",)


def test_conversation_joins_onset_and_sign_across_recent_messages() -> None:
    assert assess("my left arm is numb").level is Level.NONE
    result = assess_conversation(["my left arm is numb", "it started about an hour ago"])
    assert result == Assessment(Level.EMERGENCY, ("one_sided_weakness", "sudden_onset"))
    onset_first = assess_conversation(["it came on suddenly", "I have double vision"])
    assert onset_first.level is Level.EMERGENCY


def test_conversation_does_not_join_old_or_chronic_messages() -> None:
    far_apart = ["my left arm is numb", "ok", "thanks", "bye", "it started an hour ago"]
    assert assess_conversation(far_apart).level is Level.NONE
    chronic = ["my left arm has been numb for years", "I had a headache this morning"]
    assert assess_conversation(chronic).level is Level.NONE


def test_conversation_self_harm_precedence_and_empty() -> None:
    result = assess_conversation(["I want to die", "my face is drooping"])
    assert result.level is Level.SELF_HARM
    assert assess_conversation([]) == Assessment(Level.NONE, ())


def test_urgent_property() -> None:
    assert not Assessment(Level.NONE).urgent
    assert Assessment(Level.EMERGENCY, ("face_droop",)).urgent
    assert Assessment(Level.SELF_HARM, ("suicidal_thoughts",)).urgent


# -------------------------------------------------------------------------- robustness


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\x00",
        "((((",
        "*" * 10000,
        "\U0001f600\U0001f9e0\U0001f4a5",
        'NEAR("a" "b")',
        "face:droop OR (slurred AND speech) -weakness",
        "\\d+[a-z]*?(?:x)|^$",
        "   \n\t  ",
        "|||,,,;;;...---",
        "é" * 5000,
        "no " * 3000 + "slurred",
        "and my " * 5000,
        "my left arm is weak suddenly " * 2000,
    ],
)
def test_assess_never_raises(text: str) -> None:
    result = assess(text)
    assert isinstance(result, Assessment)
    assert isinstance(result.level, Level)
    assert all(isinstance(sign, str) for sign in result.signs)
    assert assess_conversation([text, text]).level in tuple(Level)


def test_bot_safety_does_not_import_rasa() -> None:
    code = (
        "import sys, bot.safety; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('rasa', 'rasa_sdk')]; "
        "sys.exit(1 if bad else 0)"
    )
    root = Path(__file__).resolve().parents[3]
    completed = subprocess.run([sys.executable, "-c", code], cwd=root, check=False)
    assert completed.returncode == 0


# --------------------------------------------------------------------------------- decide


def test_decide_is_the_conversation_assessment() -> None:
    texts = ["my left arm is numb", "it started about an hour ago"]
    assert decide(texts) == assess_conversation(texts)
    assert decide(texts) == Assessment(Level.EMERGENCY, ("one_sided_weakness", "sudden_onset"))
    assert decide([]) == Assessment(Level.NONE, ())
    assert decide(["hello", "I want to die"]).level is Level.SELF_HARM
    assert RECENT_MESSAGES == 3


# -------------------------------------------------------------------- buttons and payloads


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '/greet{"symptom": "face drooping"} his face is drooping since 10 minutes',
            Assessment(Level.EMERGENCY, ("face_droop", "sudden_onset")),
        ),
        ('/greet{"symptom": "face drooping"}', Assessment(Level.EMERGENCY, ("face_droop",))),
        ("/greet his speech is slurred", Assessment(Level.EMERGENCY, ("speech_difficulty",))),
        (
            '/inform{"symptoms": ["left arm numb", "since this morning"]}',
            Assessment(Level.EMERGENCY, ("one_sided_weakness", "sudden_onset")),
        ),
        (
            '/inform{"note": "I want to kill myself"}',
            Assessment(Level.SELF_HARM, ("suicidal_thoughts",)),
        ),
        (
            '/inform{"symptom": "sl\\u0075rred speech"}',
            Assessment(Level.EMERGENCY, ("speech_difficulty",)),
        ),
        ('/greet{broken json "face drooping"', Assessment(Level.EMERGENCY, ("face_droop",))),
        ('/greet{"symptom": "headache"} for years', Assessment(Level.NONE, ())),
        ("/greet", Assessment(Level.NONE, ())),
        ('/affirm{"x": {"y": [1, null, true]}}', Assessment(Level.NONE, ())),
    ],
)
def test_rasa_payloads_are_read_whole(text: str, expected: Assessment) -> None:
    assert assess(text) == expected


# ------------------------------------------------------------------------- long messages


def test_a_sign_anywhere_in_a_long_message_is_found() -> None:
    filler = "I have had a mild tension headache on and off, mostly after work. " * 240
    assert len(filler) > 15_000
    assert assess(filler) == Assessment(Level.NONE, ())
    for text in (
        "his face is drooping. " + filler,
        filler + "his face is drooping",
        filler[:8000] + " his face is drooping. " + filler[8000:],
    ):
        assert assess(text) == Assessment(Level.EMERGENCY, ("face_droop",))
    late_onset = "my left arm is numb. " + filler + " it started an hour ago."
    assert assess(late_onset).level is Level.EMERGENCY
