"""Messenger, Twilio and Bot Framework calls leave the event loop free (platforms/calls.py).

Each output channel sends to a loopback stand-in of its platform's API that takes a
second to answer; meanwhile a ticker on the same event loop must keep ticking (it
cannot while a blocking call holds the loop). No Rasa server is started.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from addons.platforms import calls
from addons.platforms.botframework import BotFrameworkOutputChannel
from addons.platforms.calls import PlatformTimeout, call_platform
from addons.platforms.facebook import MessengerOutputChannel, messenger_client
from addons.platforms.twilio import TwilioOutputChannel
from tests.platforms import Recorded, StandIn

SLOW = 1.0
TWILIO_SID = "AC" + "0" * 32


def slowly(status: int, body: Any) -> Callable[[Recorded], tuple[int, Any]]:
    def respond(_: Recorded) -> tuple[int, Any]:
        time.sleep(SLOW)
        return status, body

    return respond


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    server = StandIn()
    server.route("/fb/", slowly(200, {"recipient_id": "1", "message_id": "m"}))
    server.route("/twilio/", slowly(201, {"sid": "SM" + "1" * 32, "status": "queued"}))
    server.route("/bf/token", slowly(200, {"access_token": "bf-token", "expires_in": 3600}))
    server.route("/bf/service/", slowly(200, {"id": "activity-1"}))
    yield server
    server.close()


def ticks_during(send: Callable[[], Awaitable[None]]) -> tuple[int, float]:
    """Run ``send()`` with a 50 ms ticker beside it: the ticks and the seconds it took."""

    async def main() -> tuple[int, float]:
        ticks = 0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                await asyncio.sleep(0.05)
                ticks += 1

        task = asyncio.ensure_future(ticker())
        started = time.monotonic()
        await send()
        took = time.monotonic() - started
        done.set()
        await task
        return ticks, took

    return asyncio.run(main())


def assert_loop_was_free(ticks: int, took: float, calls_made: int) -> None:
    assert took >= SLOW * calls_made
    # a blocked loop would tick about once; a free one every 50 ms
    assert ticks >= int(took / 0.05) // 2, (ticks, took)


def test_messenger_sends_off_the_event_loop(stand_in: StandIn) -> None:
    channel = MessengerOutputChannel(messenger_client("page-token", f"{stand_in.url}/fb"))
    ticks, took = ticks_during(lambda: channel.send_text_message("1234", "Hello there"))
    [sent] = stand_in.received("/fb/me/messages")
    assert sent.json["recipient"] == {"id": "1234"}
    assert sent.json["message"] == {"text": "Hello there"}
    assert_loop_was_free(ticks, took, 1)


def test_messenger_sender_actions_and_elements_off_the_event_loop(stand_in: StandIn) -> None:
    channel = MessengerOutputChannel(messenger_client("page-token", f"{stand_in.url}/fb"))

    async def send() -> None:
        await channel.send_action("1234", "typing_on")
        await channel.send_elements("1234", [{"title": "t", "buttons": [{"title": "b"}]}])

    ticks, took = ticks_during(send)
    bodies = [r.json for r in stand_in.received("/fb/me/messages")]
    assert bodies[0]["sender_action"] == "typing_on"
    assert bodies[1]["message"]["attachment"]["payload"] == {
        "template_type": "generic",
        "elements": [{"title": "t", "buttons": [{"title": "b", "type": "postback"}]}],
    }
    assert_loop_was_free(ticks, took, 2)


def test_twilio_sends_off_the_event_loop(stand_in: StandIn) -> None:
    channel = TwilioOutputChannel(
        TWILIO_SID, "auth-token", "+15550001111", api_url=f"{stand_in.url}/twilio"
    )
    assert channel.http_client.timeout == calls.PLATFORM_TIMEOUT
    ticks, took = ticks_during(lambda: channel.send_text_message("+15552223333", "Hello"))
    [sent] = stand_in.received(f"/twilio/2010-04-01/Accounts/{TWILIO_SID}/Messages.json")
    assert sent.form == {"To": "+15552223333", "From": "+15550001111", "Body": "Hello"}
    assert_loop_was_free(ticks, took, 1)


def test_twilio_refusal_is_logged_without_number_or_text(
    stand_in: StandIn, caplog: pytest.LogCaptureFixture
) -> None:
    stand_in.routes.insert(
        0, ("/twilio/", lambda r: (400, {"code": 21211, "message": "bad To +15552223333"}))
    )
    channel = TwilioOutputChannel(
        TWILIO_SID, "auth-token", "+15550001111", api_url=f"{stand_in.url}/twilio"
    )
    with caplog.at_level(logging.ERROR):
        asyncio.run(channel.send_text_message("+15552223333", "private words"))
    assert "Twilio refused a message (HTTP 400, error 21211)" in caplog.text
    assert "+1555222" not in caplog.text and "private" not in caplog.text


def test_bot_framework_token_and_message_off_the_event_loop(stand_in: StandIn) -> None:
    from rasa.core.channels.botframework import BotFramework

    BotFramework.token_expiration_date = datetime.datetime.now()  # no cached token
    inner = BotFramework(
        "app-id", "app-password", {"id": "conv-1"}, "bot-1", f"{stand_in.url}/bf/service"
    )
    channel = BotFrameworkOutputChannel.from_output(inner, f"{stand_in.url}/bf/token", 4000)
    ticks, took = ticks_during(lambda: channel.send_text_message("user-1", "Hello"))
    assert len(stand_in.received("/bf/token")) == 1
    [sent] = stand_in.received("/bf/service/v3/conversations/conv-1/activities")
    assert sent.headers["Authorization"] == "Bearer bf-token"
    assert sent.json["text"] == "Hello"
    assert_loop_was_free(ticks, took, 2)


def test_a_call_past_its_deadline_is_given_up_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = threading.Event()

    def hangs() -> str:
        release.wait(5)
        return "late"

    async def main() -> float:
        started = time.monotonic()
        with pytest.raises(PlatformTimeout):
            await call_platform("Example message", hangs, deadline=0.2)
        return time.monotonic() - started

    with caplog.at_level(logging.ERROR):
        took = asyncio.run(main())
    release.set()
    assert 0.2 <= took < 1.0
    assert "the Example message call took longer than 0 s; given up" in caplog.text


def test_a_messenger_send_past_its_deadline_does_not_fail_the_turn(
    stand_in: StandIn, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    original = call_platform

    async def short(what: str, function: Any, *args: Any, **kwargs: Any) -> Any:
        return await original(what, function, *args, **{**kwargs, "deadline": 0.2})

    monkeypatch.setattr("addons.platforms.facebook.call_platform", short)
    channel = MessengerOutputChannel(messenger_client("page-token", f"{stand_in.url}/fb"))
    with caplog.at_level(logging.ERROR):
        _, took = ticks_during(lambda: channel.send_text_message("1234", "Hello"))
    assert took < SLOW
    assert "the Messenger message call took longer than 0 s; given up" in caplog.text
