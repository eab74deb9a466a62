"""Input channels that never leave a patient in silence.

Rasa 3.6 logs and swallows a failing custom action (action server down, raising, or
hanging for minutes) and then sends the patient nothing. Every channel here wraps the
handler the Rasa server gives it: the message is processed with a deadline
(``NEUROBOT_REPLY_TIMEOUT``); if processing fails, times out, or ends having sent
nothing, the patient gets a fallback reply straight from the channel: the emergency
message when the deterministic red-flag check fires, otherwise an apology and the
safety advice. The texts are the responses of ``domain.yml``.

Wrapping the channel (not a policy or the processor) is the one place that sees every
failure, including a hung action server, and still holds the patient's output channel.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.console import CmdlineInput
from rasa.core.channels.rest import RestInput
from sanic import Blueprint

from addons.messaging import (
    BotFrameworkChannel,
    FacebookChannel,
    SlackChannel,
    TelegramChannel,
    TwilioChannel,
)
from addons.responses import DOMAIN, response_text
from addons.widget import WidgetSocketIOInput
from bot.safety import Level, assess
from bot.settings import Settings, load_settings

logger = logging.getLogger(__name__)

Handler = Callable[[UserMessage], Awaitable[Any]]


class FallbackReplies:
    """The fallback texts, read once from the domain's responses."""

    def __init__(self, settings: Settings, domain_path: Path = DOMAIN) -> None:
        values = {
            "emergency_number": settings.emergency_number,
            "crisis_line": settings.crisis_line,
        }
        self.emergency = response_text("utter_emergency", domain_path, **values)
        self.self_harm = response_text("utter_self_harm", domain_path, **values)
        self.problem = [
            response_text("utter_technical_problem", domain_path),
            response_text("utter_safety_advice", domain_path),
        ]

    def for_message(self, text: str) -> list[str]:
        """The fallback for one patient message (emergency first when red flags show)."""
        level = assess(text).level
        if level is Level.SELF_HARM:
            return [self.self_harm]
        if level is Level.EMERGENCY:
            return [self.emergency]
        return list(self.problem)


class WatchedOutput(OutputChannel):
    """Passes every message on to the real output channel and counts them."""

    def __init__(self, inner: OutputChannel) -> None:
        self.inner = inner
        self.sent = 0

    @classmethod
    def name(cls) -> str:
        return "watched"

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.inner, attribute)

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        self.sent += 1
        await self.inner.send_response(recipient_id, message)


def guard(on_new_message: Handler, replies: FallbackReplies, timeout: float) -> Handler:
    """Wrap a channel's message handler so that every message gets a reply."""

    async def guarded(message: UserMessage) -> None:
        watched = WatchedOutput(message.output_channel)
        message.output_channel = watched
        try:
            await asyncio.wait_for(on_new_message(message), timeout)
        except asyncio.TimeoutError:
            logger.error("no reply within %.1f s; sending the fallback reply", timeout)
        except Exception:
            logger.exception("processing a message failed; sending the fallback reply")
        if watched.sent == 0:
            logger.warning("the bot sent nothing for a message; sending the fallback reply")
            for text in replies.for_message(message.text or ""):
                await watched.inner.send_response(message.sender_id or "", {"text": text})

    return guarded


class GuardMixin:
    """Put before a Rasa input channel class to guard its handler."""

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        settings = load_settings()
        replies = FallbackReplies(settings)
        wrapped = guard(on_new_message, replies, settings.reply_timeout)
        return super().blueprint(wrapped)  # type: ignore[misc]


class GuardedRestInput(GuardMixin, RestInput):
    """REST channel (``/webhooks/rest/webhook``) with the fallback guard."""


class GuardedCmdlineInput(GuardMixin, CmdlineInput):
    """Terminal conversations (``make shell``) with the fallback guard."""


# Messaging platforms (addons/messaging.py), switched on by `python -m addons.messaging`.
class GuardedTelegramInput(GuardMixin, TelegramChannel):
    """Telegram (``/webhooks/telegram/webhook``) with the fallback guard."""


class GuardedSlackInput(GuardMixin, SlackChannel):
    """Slack (``/webhooks/slack/webhook``) with the fallback guard."""


class GuardedFacebookInput(GuardMixin, FacebookChannel):
    """Facebook Messenger (``/webhooks/facebook/webhook``) with the fallback guard."""


class GuardedTwilioInput(GuardMixin, TwilioChannel):
    """Twilio SMS and WhatsApp (``/webhooks/twilio/webhook``) with the fallback guard."""


class GuardedBotFrameworkInput(GuardMixin, BotFrameworkChannel):
    """Microsoft Bot Framework (``/webhooks/botframework/webhook``) with the fallback guard."""


class GuardedWidgetSocketIOInput(GuardMixin, WidgetSocketIOInput):
    """socket.io for the web widget: one event per bot message, with the fallback guard."""
