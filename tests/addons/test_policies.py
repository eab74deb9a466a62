"""The safety policy: the emergency and crisis decision, at the top priority."""

from __future__ import annotations

from typing import Any

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from addons.policies import PRIORITY, SafetyPolicy
from bot.settings import PROJECT_ROOT, load_settings

DOMAIN = Domain.load(PROJECT_ROOT / "domain.yml")
COLLAPSE = "my dad just collapsed and is not breathing"


@pytest.fixture
def policy(tmp_path: Any) -> SafetyPolicy:
    settings = load_settings({"NEUROBOT_EMERGENCY_NUMBER": "999", "NEUROBOT_CRISIS_LINE": "111"})
    return SafetyPolicy(
        SafetyPolicy.get_default_config(),
        LocalModelStorage(tmp_path),
        Resource("safety"),
        ExecutionContext(GraphSchema({})),
        settings=settings,
    )


def tracker(*turns: str | tuple[str, ...]) -> DialogueStateTracker:
    """A conversation: a text is a patient message, a pair (text, action) a message and
    the bot's answer to it, a triple adds the message's intent (else describe_symptoms,
    or the payload's); the tracker ends listening after the last message."""
    events: list[Event] = [ActionExecuted("action_session_start"), SessionStarted()]
    events.append(ActionExecuted("action_listen"))
    for turn in turns:
        text, answer, *named = (turn, "") if isinstance(turn, str) else turn
        intent = named[0] if named else "describe_symptoms"
        if text.startswith("/"):
            intent = text[1:].split("{")[0]
        events.append(UserUttered(text, {"name": intent, "confidence": 0.9}))
        if answer:
            events += [ActionExecuted(answer), ActionExecuted("action_listen")]
    return DialogueStateTracker.from_events("patient", events, slots=DOMAIN.slots)


def predicted(policy: SafetyPolicy, conversation: DialogueStateTracker) -> tuple[str | None, Any]:
    prediction = policy.predict_action_probabilities(conversation, DOMAIN)
    if max(prediction.probabilities) == 0.0:
        return None, prediction
    best = prediction.probabilities.index(max(prediction.probabilities))
    return DOMAIN.action_names_or_texts[best], prediction


@pytest.mark.parametrize(
    ("conversation", "expected"),
    [
        (["his face is drooping since 10 minutes"], "utter_emergency"),
        (["i want to end my life"], "utter_self_harm"),
        (
            ['/greet{"symptom": "face drooping"} his face is drooping since 10 minutes'],
            "utter_emergency",
        ),
        (
            [
                ("my left arm is numb and weak", "action_answer_from_archive"),
                "it started an hour ago",
            ],
            "utter_emergency",
        ),
        (["my hands tingle at night"], None),
        (["Any thoughts on a mild muscle relaxant?"], None),
        (["And what happens if I miss a dose of Saxenda?"], None),
        (["I still can't recognise my friends' faces"], None),
        ([(COLLAPSE, "utter_emergency"), ("ok, thank you", "", "thanks")], None),
        ([(COLLAPSE, "utter_emergency"), ("should I wait?", "", "affirm")], "utter_emergency"),
        (
            [
                (COLLAPSE, "utter_emergency"),
                ("/ask_full_reply", "action_show_full_reply"),
                "ok and what about my headaches",
            ],
            None,
        ),
        (
            [("I want to end my life", "utter_self_harm"), "I don't know what to do"],
            "utter_self_harm",
        ),
        (
            [("my dad just collapsed and is not breathing", "utter_emergency"), "/ask_full_reply"],
            None,
        ),
    ],
)
def test_the_decision_reads_the_words_of_the_session(
    policy: SafetyPolicy, conversation: list[Any], expected: str | None
) -> None:
    name, _ = predicted(policy, tracker(*conversation))
    assert name == expected


def test_the_emergency_comes_with_the_configured_numbers_at_the_top_priority(
    policy: SafetyPolicy,
) -> None:
    name, prediction = predicted(policy, tracker("she suddenly can't speak and her arm is weak"))
    assert name == "utter_emergency"
    assert prediction.policy_priority == PRIORITY > 6  # RulePolicy's priority
    assert prediction.events == [SlotSet("emergency_number", "999"), SlotSet("crisis_line", "111")]
    assert DOMAIN.responses["utter_emergency"][0]["text"].count("{emergency_number}") == 1


def test_the_bot_listens_after_the_emergency_message(policy: SafetyPolicy) -> None:
    conversation = tracker("his face is drooping since 10 minutes")
    conversation.update(ActionExecuted("utter_emergency"))
    assert predicted(policy, conversation)[0] == "action_listen"


def test_a_new_session_forgets_the_old_one(policy: SafetyPolicy) -> None:
    conversation = tracker(("my left arm is numb and weak", "action_answer_from_archive"))
    conversation.update_with_events(
        [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")],
        DOMAIN,
    )
    conversation.update(UserUttered("it started an hour ago", {"name": "describe_symptoms"}))
    assert predicted(policy, conversation)[0] is None
