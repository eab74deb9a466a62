"""The fallback guard of every channel: fallback replies, timeouts, caps and payloads."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import yaml
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from addons.channels import URGENT_KEY, FallbackReplies, guard, rest_body_problem
from bot.guard.inbound import screen
from bot.guard.ratelimit import RateLimiter
from bot.settings import PROJECT_ROOT, Settings, load_settings

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


def test_a_sign_completed_by_the_latest_message_is_an_emergency_in_the_fallback(
    settings: Settings,
) -> None:
    async def earlier(sender_id: str) -> list[str]:
        return ["my left arm is numb and weak"]

    collector = CollectingOutputChannel()
    guarded = guard(failing, FallbackReplies(settings), 0.5, history=earlier)
    asyncio.run(guarded(UserMessage("it started an hour ago", collector, "patient")))
    expected = text_of("utter_emergency").format(emergency_number="112", crisis_line="116 123")
    assert [m["text"] for m in collector.messages] == [expected]


def test_a_timed_out_turn_is_not_cancelled(settings: Settings) -> None:
    finished: list[str] = []

    async def slow(message: UserMessage) -> None:
        await asyncio.sleep(0.3)
        finished.append(message.text or "")

    async def scenario() -> list[str]:
        collector = CollectingOutputChannel()
        guarded = guard(slow, FallbackReplies(settings), 0.05)
        await guarded(UserMessage("my hands tingle at night", collector, "patient"))
        replies = [m["text"] for m in collector.messages]
        await asyncio.sleep(0.5)
        return replies

    assert asyncio.run(scenario()) == PROBLEM
    assert finished == ["my hands tingle at night"]


def test_a_long_message_is_refused_politely_after_the_red_flag_check(settings: Settings) -> None:
    seen: list[UserMessage] = []

    async def record(message: UserMessage) -> None:
        seen.append(message)

    too_long = text_of("utter_message_too_long").format(max_chars="2,000")
    filler = "I have had headaches on and off for years. " * 60
    assert deliver(record, filler, settings) == [" ".join(too_long.split())]
    assert seen == []


def test_a_long_message_with_red_flags_is_processed_cut_so_that_its_emergency_is_stored(
    settings: Settings,
) -> None:
    seen: list[UserMessage] = []

    async def record(message: UserMessage) -> None:
        seen.append(message)

    emergency = text_of("utter_emergency").format(emergency_number="112", crisis_line="116 123")
    filler = "I have had headaches on and off for years. " * 60
    # the Rasa server stores the (cut) message; here nothing answers, so the guard's
    # fallback is the emergency message the guard decided
    assert deliver(record, filler + "Since an hour ago his face is drooping.", settings) == [
        emergency
    ]
    assert [(m.text, m.metadata) for m in seen] == [(filler[:2000], {URGENT_KEY: "emergency"})]


def test_a_client_cannot_set_the_guards_decision(settings: Settings) -> None:
    seen: list[UserMessage] = []

    async def record(message: UserMessage) -> None:
        seen.append(message)
        await message.output_channel.send_response("patient", {"text": "answer"})

    message = UserMessage("my hands tingle", CollectingOutputChannel(), "patient")
    message.metadata = {URGENT_KEY: "emergency", "channel_data": 1}
    asyncio.run(guard(record, FallbackReplies(settings), 1.0)(message))
    assert [m.metadata for m in seen] == [{"channel_data": 1}]


@pytest.mark.parametrize(
    ("received", "processed"),
    [
        ("my hands tingle \ud800 at night", "my hands tingle \ufffd at night"),
        ("fa\u200bce dro\u200boping", "face drooping"),
        ("numb\u202e arm\u2066 \ufeff", "numb arm "),
        ("tingling\x00\x07 toes", "tingling toes"),
        ("crème brûlée 我叫王小明\nline two", "crème brûlée 我叫王小明\nline two"),
    ],
)
def test_text_is_made_safe_at_the_door(received: str, processed: str, settings: Settings) -> None:
    seen: list[str] = []

    async def record(message: UserMessage) -> None:
        seen.append(message.text or "")
        await message.output_channel.send_response("patient", {"text": "answer"})

    assert deliver(record, received, settings) == ["answer"]
    assert seen == [processed]
    seen[0].encode("utf-8")  # storable


def test_a_conversation_over_its_limit_is_asked_to_slow_down_and_not_processed(
    tmp_path: Any,
) -> None:
    settings = load_settings(
        {"NEUROBOT_STATE_DIR": str(tmp_path), "NEUROBOT_RATE_MESSAGES": "2/minute"}
    )
    seen: list[str] = []

    async def record(message: UserMessage) -> None:
        seen.append(message.text or "")
        await message.output_channel.send_response(message.sender_id or "", {"text": "answer"})

    limiter = RateLimiter(settings, "memory://")
    guarded = guard(record, FallbackReplies(settings), 1.0, limiter=limiter)

    def say(text: str, sender: str = "patient") -> list[str]:
        collector = CollectingOutputChannel()
        asyncio.run(guarded(UserMessage(text, collector, sender)))
        return [m.get("text", "") for m in collector.messages]

    slow = " ".join(text_of("utter_slow_down").format(emergency_number="112").split())
    emergency = text_of("utter_emergency").format(emergency_number="112", crisis_line="116 123")
    assert say("my hands tingle") == ["answer"]
    assert say("and my feet") == ["answer"]
    assert say("also my lips") == [slow]
    # over the limit, red flags still get the emergency message first
    assert say("his face is drooping since 10 minutes") == [emergency, slow]
    assert say("my hands tingle", sender="another patient") == ["answer"]
    assert seen == ["my hands tingle", "and my feet", "my hands tingle"]


@pytest.mark.parametrize("text", ["", "   ", None])
def test_a_message_without_text_gets_a_polite_reply(text: Any, settings: Settings) -> None:
    assert deliver(answering, text, settings) == [" ".join(text_of("utter_default").split())]


@pytest.mark.parametrize(
    ("typed", "processed"),
    [
        ("/ask_full_reply", "/ask_full_reply"),
        ('/ask_similar_question{"record_id": "t2"}', '/ask_similar_question{"record_id": "t2"}'),
        ("/restart", "/restart"),
        (
            '/greet{"symptom": "face drooping"} his face is drooping since 10 minutes',
            "greet symptom face drooping his face is drooping since 10 minutes",
        ),
        ("/session_start", "session start"),
        ("/emergency", "emergency"),
        (
            '/ask_similar_question{"record_id": "t2", "x": 1}',
            "ask similar question record id t2 x 1",
        ),
        (
            '/ask_full_reply{"record_id": "my dad\'s face is drooping"}',
            "ask full reply record id my dad's face is drooping",
        ),
        (
            '/feedback_unhelpful{"record_id": "John Smith 0912-345-678"}',
            "feedback unhelpful record id John Smith 0912-345-678",
        ),
        ("my head hurts / since Monday", "my head hurts / since Monday"),
    ],
)
def test_only_the_bots_own_button_payloads_choose_an_intent(typed: str, processed: str) -> None:
    assert screen(typed) == processed


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"sender": "p1", "message": "my hands tingle"}', None),
        (b"not json", "the body must be JSON"),
        (b'[{"sender": "p1", "message": "hi"}]', "the body must be a JSON object"),
        (b'{"message": "hi"}', "'sender' must be a non-empty string"),
        (b'{"sender": 7, "message": "hi"}', "'sender' must be a non-empty string"),
        (b'{"sender": "p1", "message": 42}', "'message' must be a string"),
        (b'{"sender": "p1", "message": ["a"]}', "'message' must be a string"),
        (b'{"sender": "p1", "message": {"a": 1}}', "'message' must be a string"),
        (b'{"sender": "p1", "message": "  "}', "'message' must not be empty"),
        (b'{"sender": "p1"}', "'message' must be a string"),
        (b'{"sender": "p1\\ud800", "message": "hi"}', "'sender' must be printable text"),
        (b'{"sender": "' + b"x" * 200 + b'", "message": "hi"}', "'sender' must be printable"),
        (b"[" * 5000 + b"]" * 5000, "the body must be JSON"),
    ],
)
def test_a_malformed_rest_body_is_named(body: bytes, problem: str | None) -> None:
    found = rest_body_problem(body)
    if problem is None:
        assert found is None
    else:
        assert found is not None and found.startswith(problem)
