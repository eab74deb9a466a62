"""The turn's safety decision over the session's messages, on literal tables."""

from __future__ import annotations

import pytest

from bot.safety import Level
from bot.safety.session import (
    is_payload,
    is_small_talk,
    payload_words,
    safety_decision,
    session_texts,
)


@pytest.mark.parametrize(
    ("texts", "level"),
    [
        (["my husband's face is drooping on one side since 20 minutes"], Level.EMERGENCY),
        (["I want to end my life"], Level.SELF_HARM),
        (["my left arm is numb and weak", "it started an hour ago"], Level.EMERGENCY),
        (["my left arm is numb and weak"], Level.NONE),
        (
            ["my left arm has been numb and weak for two years", "it started an hour ago"],
            Level.NONE,
        ),
        (["my face suddenly droops since this morning", "ok, thank you"], Level.NONE),
        (["my face suddenly droops since this morning", "/ask_full_reply"], Level.NONE),
        (
            ["my face suddenly droops since this morning", "his face is still drooping now"],
            Level.EMERGENCY,
        ),
        (["hello", "/greet", "i want to kill myself"], Level.SELF_HARM),
        (["my hands tingle at night"], Level.NONE),
        ([], Level.NONE),
        (["", "   "], Level.NONE),
    ],
)
def test_safety_decision(texts: list[str], level: Level) -> None:
    assert safety_decision(texts).level is level


@pytest.mark.parametrize(
    ("intent", "level"),
    [
        ("affirm", Level.EMERGENCY),
        ("describe_symptoms", Level.EMERGENCY),
        ("nlu_fallback", Level.EMERGENCY),
        (None, Level.EMERGENCY),
        ("thanks", Level.NONE),
        ("goodbye", Level.NONE),
        ("ask_full_reply", Level.NONE),
    ],
)
def test_the_message_right_after_an_emergency_reply_gets_it_again_unless_it_moves_on(
    intent: str | None, level: Level
) -> None:
    texts = ["my dad just collapsed", "should I wait?"]
    assert safety_decision(texts, previous=Level.EMERGENCY, intent=intent).level is level
    assert safety_decision(texts, intent=intent).level is Level.NONE


def test_an_old_message_outside_the_recent_window_is_not_combined() -> None:
    texts = [
        "my left arm is numb and weak",
        "I sleep badly",
        "I drink coffee",
        "it started an hour ago",
    ]
    assert safety_decision(texts).level is Level.NONE


@pytest.mark.parametrize(
    ("text", "payload"),
    [
        ("/ask_full_reply", True),
        ('/ask_similar_question{"record_id": "t2"}', True),
        ('/greet{"symptom": "face drooping"} his face is drooping', False),
        ('/ask_full_reply{"record_id": "2_GARD_QA/0000242-1"}', True),
        ('/feedback_unhelpful{"record_id": "John Smith 0912-345-678"}', False),
        ('/ask_full_reply{"record_id": "a b"}', False),
        ("/describe_symptoms", False),
        ("my head / neck hurt", False),
    ],
)
def test_is_payload(text: str, payload: bool) -> None:
    assert is_payload(text) is payload


def test_session_texts_leave_out_payloads_and_blanks() -> None:
    assert session_texts(["hi", "", "/ask_full_reply", " my feet tingle "]) == [
        "hi",
        "my feet tingle",
    ]


FACE = "my dad's face is drooping and his speech is slurred since 10 minutes"


@pytest.mark.parametrize(
    "payload",
    [
        f'/ask_full_reply{{"record_id": "{FACE}"}}',
        f'/ask_similar_question{{"record_id": "{FACE}"}}',
        f'/feedback_unhelpful{{"record_id": "{FACE}"}}',
        f'/restart{{"record_id": "{FACE}"}}',
        f'/greet{{"symptom": "{FACE}"}}',
        f'/ask_full_reply{{"record_id": "sample-1", "note": "{FACE}"}}',
    ],
)
def test_an_emergency_inside_a_payload_is_read(payload: str) -> None:
    assert safety_decision([payload]).level is Level.EMERGENCY


@pytest.mark.parametrize(
    "text",
    [
        "fa\u200bce dro\u200boping and slurred speech since 10 minutes",
        "face\u00addrooping and slurred speech since 10 minutes",
        "\uff46\uff41\uff43\uff45 drooping and slurred speech since 10 minutes",
        "face \u202edrooping\u202c and slurred speech since 10 minutes",
    ],
)
def test_invisible_and_look_alike_characters_do_not_hide_an_emergency(text: str) -> None:
    assert safety_decision([text]).level is Level.EMERGENCY


@pytest.mark.parametrize(
    "between",
    [
        ["ok"],
        ["ok", "thanks"],
        ["hmm", "ok thank you very much", "\N{THUMBS UP SIGN}"],
    ],
)
def test_small_talk_between_a_sign_and_its_onset_does_not_hide_it(between: list[str]) -> None:
    texts = ["my left arm is numb and weak", *between, "it started an hour ago"]
    assert safety_decision(texts).level is Level.EMERGENCY


@pytest.mark.parametrize(
    ("text", "small"),
    [
        ("ok", True),
        ("Thanks!!", True),
        ("ok thank you very much", True),
        ("\N{THUMBS UP SIGN}", True),
        ("it started an hour ago", False),
        ("just now", False),
        ("my arm is weak", False),
    ],
)
def test_is_small_talk(text: str, small: bool) -> None:
    assert is_small_talk(text) is small


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (f'/ask_full_reply{{"record_id": "{FACE}"}}', f"ask full reply record id {FACE}"),
        ('/greet{"symptom": "numb"} and more', "greet symptom numb and more"),
        ("/restart", "/restart"),
        ("/whatever", "whatever"),
        ('/ask_full_reply{"record_id": "sample-1"}', '/ask_full_reply{"record_id": "sample-1"}'),
        ("my head / neck hurt", "my head / neck hurt"),
    ],
)
def test_payload_words(text: str, words: str) -> None:
    assert payload_words(text) == words
