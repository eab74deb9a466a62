"""The turn's safety decision and the health-text check, on literal tables."""

from __future__ import annotations

import pytest

from bot.routing import (
    is_health_text,
    is_payload,
    route_intent,
    safety_decision,
    session_texts,
)
from bot.safety import Level


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


@pytest.mark.parametrize(
    "text",
    [
        "my hands shake when I hold a cup",
        "Any thoughts on a mild muscle relaxant?",
        "And what happens if I miss a dose of Saxenda?",
        "is Bacterial Vaginosis an STD?",
        "I twisted my knee playing football",
        "What is blepharitis?",
        "can I take atenolol with ibuprofen",
        "every time i roll over in bed the room spins",
        "I still can't recognise my friends' faces",
        "my son's writing is very messy and he can't grip his pen well",
    ],
)
def test_health_questions_are_health(text: str) -> None:
    assert is_health_text(text)


@pytest.mark.parametrize(
    "text",
    [
        "hello",
        "thanks a lot",
        "who are you",
        "tell me a joke",
        "what's the weather like tomorrow",
        "asdf qwerty",
        "what is the capital of France",
        "can you book me a taxi",
        "how much does it cost to renew my car insurance",
    ],
)
def test_other_text_is_not_health(text: str) -> None:
    assert not is_health_text(text)


@pytest.mark.parametrize(
    ("intent", "text", "routed"),
    [
        ("out_of_scope", "I twisted my knee playing football", "describe_symptoms"),
        ("nlu_fallback", "Any thoughts on a mild muscle relaxant?", "describe_symptoms"),
        ("out_of_scope", "what will the weather be like tomorrow", "out_of_scope"),
        ("nlu_fallback", "asdf qwerty", "nlu_fallback"),
        ("deny", "What antihypertensives do not cause impotence?", "describe_symptoms"),
        ("greet", "hi, my hands shake when I hold a cup", "describe_symptoms"),
        ("greet", "hello", "greet"),
        ("deny", "no thanks", "deny"),
        ("deny", "no, but my headache is back", "describe_symptoms"),
        ("greet", "Whats menigitis?", "describe_symptoms"),
        ("out_of_scope", "Can I take Zyrtec and benedryl at the same time?", "describe_symptoms"),
        ("out_of_scope", "How much melatonin should i take at night?", "describe_symptoms"),
        ("bot_challenge", "am I talking to a real doctor?", "bot_challenge"),
        ("thanks", "thank you doctor", "thanks"),
        ("ask_full_reply", "read the full reply about my headache", "ask_full_reply"),
        ("describe_symptoms", "asdf", "describe_symptoms"),
    ],
)
def test_route_intent(intent: str, text: str, routed: str) -> None:
    assert route_intent(intent, text) == routed
