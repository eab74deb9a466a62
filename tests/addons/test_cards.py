"""Each bot message named by its response, and its card sent the way each channel can take."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, OutputChannel
from rasa.core.channels.rest import QueueOutputChannel

from addons.cards import card_of, deliver, for_input
from addons.channels import FallbackReplies
from addons.widget import WidgetSocketIOOutput
from bot.settings import load_settings

CARD = {
    "response": "utter_archive_answer",
    "title": "Muscle twitching",
    "attribution": "Dr. A · Neurology",
    "excerpt": "Usually harmless.",
    "record_id": "r1",
}
BUTTONS = [{"title": "Read the full reply", "payload": "/ask_full_reply"}]


def answer() -> dict[str, Any]:
    """A bot message as Rasa's processor hands it to a channel (BotUttered.message())."""
    return {
        "text": "The most similar question ...\n\nUsually harmless.",
        "buttons": list(BUTTONS),
        "quick_replies": None,
        "custom": dict(CARD),
        "utter_action": "utter_archive_answer",
        "timestamp": 1.0,
    }


def full_reply() -> dict[str, Any]:
    return {
        "text": "The full reply to “Muscle twitching”\n\nFirst.\n\nSecond.",
        "custom": {"response": "utter_full_reply", "reply": "First.\n\nSecond."},
        "utter_action": "utter_full_reply",
    }


def no_match() -> dict[str, Any]:
    return {"text": "I could not find ...", "custom": None, "utter_action": "utter_no_match"}


class TextOnly(OutputChannel):
    """A messaging app's output: records what Rasa's send_response calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    @classmethod
    def name(cls) -> str:
        return "text-only"

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        self.calls.append(("text", text))

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        self.calls.append(("buttons", text, buttons))

    async def send_custom_json(self, recipient_id: str, json_message: Any, **kwargs: Any) -> None:
        self.calls.append(("custom", json_message))


class Sio:
    """python-socketio's server, recording emits."""

    def __init__(self) -> None:
        self.emitted: list[tuple[str, Any]] = []

    async def emit(self, event: str, data: Any, room: str | None = None, **kwargs: Any) -> None:
        self.emitted.append((event, data))


def send(output: OutputChannel, *messages: dict[str, Any]) -> None:
    async def all_of_them() -> None:
        for message in messages:
            await deliver(output, "patient", message)

    asyncio.run(all_of_them())


@pytest.mark.parametrize(
    ("message", "card"),
    [
        (answer(), CARD),
        (no_match(), {"response": "utter_no_match"}),
        ({"text": "Hi", "utter_action": "utter_greet", "custom": {}}, {"response": "utter_greet"}),
        # another kind of custom payload, or a message without a name: not ours to name
        ({"text": "Hi", "custom": {"data": 1}, "utter_action": "utter_x"}, None),
        ({"text": "Hi"}, None),
    ],
)
def test_the_card_of_a_message(message: dict[str, Any], card: dict[str, Any] | None) -> None:
    assert card_of(message) == card


def test_rest_gets_the_same_messages_as_before_the_first_with_its_card() -> None:
    output = CollectingOutputChannel()
    send(output, answer(), full_reply(), no_match())
    assert output.messages == [
        {
            "recipient_id": "patient",
            "text": "The most similar question ...\n\nUsually harmless.",
            "buttons": BUTTONS,
            "custom": CARD,
        },
        # a text without buttons is cut at blank lines, as Rasa's REST channel does
        {
            "recipient_id": "patient",
            "text": "The full reply to “Muscle twitching”",
            "custom": {"response": "utter_full_reply", "reply": "First.\n\nSecond."},
        },
        {"recipient_id": "patient", "text": "First."},
        {"recipient_id": "patient", "text": "Second."},
        {
            "recipient_id": "patient",
            "text": "I could not find ...",
            "custom": {"response": "utter_no_match"},
        },
    ]


def test_rest_streaming_gets_them_too() -> None:
    async def run() -> list[dict[str, Any]]:
        output = QueueOutputChannel()
        await deliver(output, "patient", no_match())
        return [output.messages.get_nowait() for _ in range(output.messages.qsize())]

    assert asyncio.run(run()) == [
        {
            "recipient_id": "patient",
            "text": "I could not find ...",
            "custom": {"response": "utter_no_match"},
        }
    ]


def test_the_web_chat_gets_one_event_the_card_where_stock_clients_do_not_look() -> None:
    sio = Sio()
    send(WidgetSocketIOOutput(sio, "bot_uttered"), answer(), full_reply(), no_match())
    assert sio.emitted == [
        (
            "bot_uttered",
            {
                "text": "The most similar question ...\n\nUsually harmless.",
                "buttons": BUTTONS,
                "metadata": {"custom": CARD},
            },
        ),
        (
            "bot_uttered",
            {
                "text": "The full reply to “Muscle twitching”\n\nFirst.\n\nSecond.",
                "metadata": {
                    "custom": {"response": "utter_full_reply", "reply": "First.\n\nSecond."}
                },
            },
        ),
        (
            "bot_uttered",
            {
                "text": "I could not find ...",
                "metadata": {"custom": {"response": "utter_no_match"}},
            },
        ),
    ]


def test_a_text_only_channel_gets_the_text_and_buttons_alone() -> None:
    output = TextOnly()
    send(output, answer(), full_reply(), no_match())
    assert output.calls == [
        ("buttons", "The most similar question ...\n\nUsually harmless.", BUTTONS),
        ("text", "The full reply to “Muscle twitching”\n\nFirst.\n\nSecond."),
        ("text", "I could not find ..."),
    ]


def test_a_custom_payload_of_another_kind_goes_as_rasa_sends_it() -> None:
    output = TextOnly()
    send(output, {"text": "Hi", "custom": {"data": 1}})
    assert output.calls == [("text", "Hi"), ("custom", {"data": 1})]


def test_the_guards_own_replies_are_named_with_their_numbers() -> None:
    settings = load_settings({"NEUROBOT_EMERGENCY_NUMBER": "999", "NEUROBOT_CRISIS_LINE": "0800"})
    replies = FallbackReplies(settings)
    emergency = replies.message(replies.emergency)
    assert emergency == {
        "text": replies.emergency,
        "custom": {"response": "utter_emergency", "emergency_number": "999"},
    }
    assert replies.message(replies.self_harm)["custom"] == {
        "response": "utter_self_harm",
        "emergency_number": "999",
        "crisis_line": "0800",
    }
    assert [replies.message(t)["custom"] for t in replies.problem] == [
        {"response": "utter_technical_problem"},
        {"response": "utter_safety_advice"},
    ]
    assert replies.message(replies.too_long)["custom"] == {"response": "utter_message_too_long"}
    assert replies.message(replies.not_understood)["custom"] == {"response": "utter_default"}
    assert replies.message(replies.slow_down)["custom"] == {"response": "utter_slow_down"}


def test_the_terminal_gets_rests_messages_without_cards() -> None:
    collector = CollectingOutputChannel()
    send(for_input("cmdline", collector), answer(), no_match())
    assert collector.messages == [
        {
            "recipient_id": "patient",
            "text": "The most similar question ...\n\nUsually harmless.",
            "buttons": BUTTONS,
        },
        {"recipient_id": "patient", "text": "I could not find ..."},
    ]
    assert for_input("rest", collector) is collector
