"""The health-text check and intent routing, on literal tables."""

from __future__ import annotations

import pytest

from bot.guard.topic import is_health_text, route_intent


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


@pytest.mark.parametrize(
    ("intent", "text"),
    [
        ("goodbye", "Can i have sex while taking cyclogest (progesterone)?"),
        ("out_of_scope", "How are baby and adult cartilage different?"),
        ("out_of_scope", "Is Lipitor better than Crestor?"),
        ("goodbye", "is it ok for my son to take Benadryl before a long flight"),
        ("out_of_scope", "how long does it take to recover from a tonsil removal"),
        ("nlu_fallback", "he's on 20 mg a day, is that a lot?"),
        ("out_of_scope", "Is it safe to stop Wellbutrin suddenly?"),
        ("bot_challenge", "what are the best exercises for a torn rotator cuff"),
        ("affirm", "yes, and how often should she have a mammogram?"),
        ("out_of_scope", "what is the difference between eczema and psoriasis"),
        ("out_of_scope", "Can apixaban be crushed?"),
        ("thanks", "thanks. is PTSD linked to IBS?"),
        ("goodbye", "a 60 year old man taking fish oil, anything to watch for?"),
    ],
)
def test_questions_beyond_neurology_reach_the_archive(intent: str, text: str) -> None:
    """Medicines (brands too), procedures and body parts outside neurology get the
    archive's answer or its honest no-match, never goodbye or "did not understand"."""
    assert route_intent(intent, text) == "describe_symptoms"


@pytest.mark.parametrize(
    ("intent", "text"),
    [
        ("greet", "hi"),
        ("greet", "hey, I'm back"),
        ("goodbye", "thanks, bye"),
        ("goodbye", "i'll come back another time"),
        ("goodbye", "good night, take care"),
        ("thanks", "thank you so much for taking the time"),
        ("deny", "no, that doesn't fit"),
        ("bot_challenge", "are you a bot?"),
        ("bot_challenge", "am I talking to a real person"),
        ("out_of_scope", "my phone screen is cracked"),
        ("out_of_scope", "can you examine my essay"),
        ("out_of_scope", "what is the capital of Indonesia"),
    ],
)
def test_small_talk_keeps_its_intent(intent: str, text: str) -> None:
    assert route_intent(intent, text) == intent
