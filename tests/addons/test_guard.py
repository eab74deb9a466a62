"""The fallback guard of every channel, and the red-flag intent override."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import yaml
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.shared.nlu.training_data.message import Message

from addons.channels import FallbackReplies, guard
from addons.triage import RedFlagIntentOverride
from bot.settings import PROJECT_ROOT, Settings

RESPONSES = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())["responses"]


def text_of(name: str) -> str:
    return str(RESPONSES[name][0]["text"]).strip()


def deliver(handler: Any, text: str, settings: Settings, timeout: float = 0.5) -> list[str]:
    collector = CollectingOutputChannel()
    guarded = guard(handler, FallbackReplies(settings), timeout)
    asyncio.run(guarded(UserMessage(text, collector, "patient")))
    return [m.get("text", "") for m in collector.messages]


async def silent(message: UserMessage) -> None:
    return None


async def failing(message: UserMessage) -> None:
    raise RuntimeError("action server unreachable")


async def hanging(message: UserMessage) -> None:
    await asyncio.sleep(60)


async def answering(message: UserMessage) -> None:
    await message.output_channel.send_response("patient", {"text": "an archive answer"})


PROBLEM = [text_of("utter_technical_problem"), text_of("utter_safety_advice")]


@pytest.mark.parametrize("handler", [silent, failing, hanging])
def test_a_failure_still_gets_an_apology_and_the_safety_advice(
    handler: Any, settings: Settings
) -> None:
    started = time.monotonic()
    assert deliver(handler, "my hands tingle at night", settings) == PROBLEM
    assert time.monotonic() - started < 2


def test_a_failure_on_an_emergency_gets_the_emergency_message(settings: Settings) -> None:
    expected = text_of("utter_emergency").format(emergency_number="112", crisis_line="116 123")
    assert deliver(failing, "his face is drooping since 10 minutes ago", settings) == [expected]
    assert "112" in expected


def test_a_failure_on_self_harm_gets_the_crisis_line(settings: Settings) -> None:
    [reply] = deliver(hanging, "I want to kill myself", settings)
    assert "116 123" in reply and reply.startswith(text_of("utter_self_harm")[:30])


def test_a_normal_answer_passes_through_untouched(settings: Settings) -> None:
    assert deliver(answering, "my hands tingle", settings) == ["an archive answer"]


def message(text: str, intent: str) -> Message:
    return Message(
        data={
            "text": text,
            "intent": {"name": intent, "confidence": 0.93},
            "intent_ranking": [{"name": intent, "confidence": 0.93}],
        }
    )


@pytest.mark.parametrize(
    ("text", "predicted", "expected"),
    [
        ("hi, my mum's face suddenly droops and her speech is slurred", "greet", "emergency"),
        ("thanks, I want to end my life", "thanks", "self_harm"),
        ("my eyelid has twitched for weeks", "describe_symptoms", "describe_symptoms"),
        ("hello", "greet", "greet"),
    ],
)
def test_red_flags_override_the_predicted_intent(text: str, predicted: str, expected: str) -> None:
    [result] = RedFlagIntentOverride().process([message(text, predicted)])
    assert result.get("intent")["name"] == expected
    assert result.get("intent_ranking")[0]["name"] == expected
