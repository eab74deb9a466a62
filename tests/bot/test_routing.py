"""The health-text check and intent routing, on literal tables."""

from __future__ import annotations

import pytest

from bot.routing import is_health_text, route_intent


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
