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
import hmac
import ipaddress
import json
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.console import CmdlineInput
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from addons import privacy, stores
from addons.platforms.botframework import BotFrameworkChannel
from addons.platforms.facebook import FacebookChannel
from addons.platforms.handlers import Handler, is_webhook_post
from addons.platforms.slack import SlackChannel
from addons.platforms.telegram import TelegramChannel
from addons.platforms.twilio import TwilioChannel
from addons.policies import patient_messages
from addons.responses import DOMAIN, response_text
from addons.widget import WidgetSocketIOInput
from bot.routing import MAX_MESSAGE_CHARS, safety_decision
from bot.safety import Level
from bot.secrets import rest_token
from bot.settings import Settings, load_settings

logger = logging.getLogger(__name__)

# Rasa imports this module when it loads the channels of credentials.yml, after it has
# configured logging: from here on its log holds no patient text (addons/privacy.py).
privacy.install()

History = Callable[[str], Awaitable[list[str]]]

#: Payloads of the bot's own buttons (and Rasa's restart); any other ``/...`` is read as
#: words, so typed text cannot choose an intent.
BUTTON_INTENTS = frozenset(
    {"ask_full_reply", "ask_similar_question", "feedback_helpful", "feedback_unhelpful", "restart"}
)
_BUTTON = re.compile(r"/([A-Za-z_]+)(\{\s*\"record_id\"\s*:\s*\"[^\"{}]{1,200}\"\s*\})?")


class FallbackReplies:
    """The guard's own texts, read once from the domain's responses."""

    def __init__(self, settings: Settings, domain_path: Path = DOMAIN) -> None:
        values = {
            "emergency_number": settings.emergency_number,
            "crisis_line": settings.crisis_line,
        }
        self.emergency = response_text("utter_emergency", domain_path, **values)
        self.self_harm = response_text("utter_self_harm", domain_path, **values)
        self.safety = response_text("utter_safety_advice", domain_path)
        self.problem = [response_text("utter_technical_problem", domain_path), self.safety]
        self.too_long = response_text(
            "utter_message_too_long", domain_path, max_chars=f"{settings.max_message_chars:,}"
        )
        self.not_understood = response_text("utter_default", domain_path)

    def urgent(self, texts: Sequence[str]) -> list[str]:
        """The emergency or crisis message when the session's messages call for it."""
        level = safety_decision(texts).level
        if level is Level.SELF_HARM:
            return [self.self_harm]
        if level is Level.EMERGENCY:
            return [self.emergency]
        return []

    def for_messages(self, texts: Sequence[str]) -> list[str]:
        """The fallback for a turn (emergency first when red flags show)."""
        return self.urgent(texts) or list(self.problem)


class WatchedOutput(OutputChannel):
    """Passes every message on to the real output channel and counts them; drops them
    once the turn's conversation could not be read (they answer an empty one)."""

    def __init__(self, inner: OutputChannel, turn: stores.Turn | None = None) -> None:
        self.inner = inner
        self.sent = 0
        self.turn = turn

    @classmethod
    def name(cls) -> str:
        return "watched"

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.inner, attribute)

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        if self.turn is not None and self.turn.unreadable:
            return
        self.sent += 1
        await self.inner.send_response(recipient_id, message)


async def _no_history(sender_id: str) -> list[str]:
    return []


def screen_payload(text: str) -> str:
    """Let through the button payloads the bot hands out; read any other ``/...`` as words.

    ``/greet{"symptom": "face drooping"} his face is drooping`` would otherwise set the
    intent by hand and skip the NLU; as plain words it is read like anything typed (the
    safety decision reads the words either way).
    """
    stripped = text.strip()
    if not stripped.startswith("/"):
        return text
    match = _BUTTON.fullmatch(stripped)
    if match and match.group(1) in BUTTON_INTENTS:
        return stripped
    return stripped.lstrip("/ ") or stripped


def guard(
    on_new_message: Handler,
    replies: FallbackReplies,
    timeout: float,
    max_chars: int = MAX_MESSAGE_CHARS,
    history: History = _no_history,
) -> Handler:
    """Wrap a channel's message handler so that every message gets a reply.

    Args:
        on_new_message: The handler the Rasa server gives the channel.
        replies: The guard's texts.
        timeout: Seconds before the fallback is sent. The processing is not cancelled:
            the turn still lands in the conversation, and a late answer still reaches
            channels that push messages (socket.io, messaging apps).
        max_chars: Longer messages are refused politely before the NLU (after the
            red-flag check, which reads them whole).
        history: The patient's earlier messages of the session, for the red-flag check
            of a fallback reply.
    """

    async def fallback(message: UserMessage, watched: WatchedOutput, text: str) -> None:
        try:
            earlier = await history(message.sender_id or "")
        except Exception as exc:
            logger.error("could not read the conversation for the fallback: %s", type(exc).__name__)
            earlier = []
        texts = [*earlier, text] if not earlier or earlier[-1] != text else earlier
        chosen = await asyncio.to_thread(replies.for_messages, texts)
        if watched.sent:
            return  # the real answer arrived while the fallback was being chosen
        for reply in chosen:
            await watched.inner.send_response(message.sender_id or "", {"text": reply})

    async def store_fallback(
        message: UserMessage, watched: WatchedOutput, turn: stores.Turn, task: asyncio.Task[Any]
    ) -> None:
        # The tracker store logged what failed (addons/stores.py).
        task.add_done_callback(_log_late_failure)
        if turn.unreadable:
            # What the turn would still compute answers an empty conversation: stop it.
            # The latest message alone still decides an emergency (no store needed).
            task.cancel()
            urgent = await asyncio.to_thread(replies.urgent, [message.text])
            chosen = urgent or list(replies.problem)
            logger.error("the conversation could not be read; sending the fallback reply")
        else:
            chosen = list(replies.problem)  # answered, but the turn is not kept
            logger.error("the conversation could not be saved; sending the fallback reply")
        for reply in chosen:
            await watched.inner.send_response(message.sender_id or "", {"text": reply})

    async def guarded(message: UserMessage) -> None:
        watched = WatchedOutput(message.output_channel)
        message.output_channel = watched
        sender = message.sender_id or ""
        text = message.text
        if not isinstance(text, str) or not text.strip():
            logger.warning("a message without text; asking the patient to describe again")
            await watched.inner.send_response(sender, {"text": replies.not_understood})
            return
        if len(text) > max_chars:
            # The red-flag check reads the whole message first, off the event loop.
            logger.warning("a message of %d characters refused (cap %d)", len(text), max_chars)
            for reply in await asyncio.to_thread(replies.urgent, [text]):
                await watched.inner.send_response(sender, {"text": reply})
            await watched.inner.send_response(sender, {"text": replies.too_long})
            return
        message.text = screen_payload(text)
        # The task copies the context: the tracker store records into this turn.
        turn = watched.turn = stores.Turn()
        token = stores.TURN.set(turn)
        try:
            task = asyncio.ensure_future(on_new_message(message))
        finally:
            stores.TURN.reset(token)
        unreadable = asyncio.ensure_future(turn.failed.wait())
        done, _ = await asyncio.wait(
            {task, unreadable}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        unreadable.cancel()
        if turn.unreadable or (turn.unsaved and task in done):
            await store_fallback(message, watched, turn, task)
            return
        if task in done:
            error = task.exception()
            if error is not None:
                logger.error(
                    "processing a message failed (%s); sending the fallback reply",
                    type(error).__name__,
                )
        else:
            logger.error("no reply within %.1f s; sending the fallback reply", timeout)
            task.add_done_callback(_log_late_failure)
        if watched.sent == 0:
            logger.warning("the bot sent nothing for a message; sending the fallback reply")
            await fallback(message, watched, message.text)

    return guarded


def _log_late_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("a late turn failed: %s", type(task.exception()).__name__)


class GuardMixin:
    """Put before a Rasa input channel class to guard its handler."""

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        settings = load_settings()
        replies = FallbackReplies(settings)
        app: dict[str, Any] = {}

        async def history(sender_id: str) -> list[str]:
            agent = getattr(app.get("app") and app["app"].ctx, "agent", None)
            if agent is None or not sender_id:
                return []
            tracker = await agent.tracker_store.retrieve(sender_id)
            return patient_messages(tracker) if tracker is not None else []

        wrapped = guard(
            on_new_message, replies, settings.reply_timeout, settings.max_message_chars, history
        )
        blueprint: Blueprint = super().blueprint(wrapped)  # type: ignore[misc]

        @blueprint.listener("before_server_start")
        async def keep_app(server: Any, loop: Any) -> None:
            app["app"] = server

        return blueprint


def rest_body_problem(body: bytes) -> str | None:
    """What is wrong with a REST webhook body, or None when it can be processed."""
    try:
        data = json.loads(body or b"")
    except (ValueError, UnicodeDecodeError):
        return 'the body must be JSON: {"sender": "...", "message": "..."}'
    if not isinstance(data, dict):
        return 'the body must be a JSON object: {"sender": "...", "message": "..."}'
    sender = data.get("sender")
    if not isinstance(sender, str) or not sender.strip():
        return "'sender' must be a non-empty string naming the conversation"
    message = data.get("message")
    if not isinstance(message, str):
        return "'message' must be a string"
    if not message.strip():
        return "'message' must not be empty"
    return None


#: The REST channel's conversations are stored as ``rest:<sender>``: whatever ``sender``
#: a REST caller posts, it never names another channel's conversation (a WhatsApp number,
#: a Telegram chat, a web chat session).
REST_SENDER_PREFIX = "rest:"

_NO_TOKEN = (
    "this API needs the header 'Authorization: Bearer <token>' with the value of "
    "NEUROBOT_REST_TOKEN (or of var/rest_token when it is not set)"
)
_WRONG_TOKEN = "the bearer token is not the one of this server"


def rest_auth_problem(authorization: str | None, token: str) -> str | None:
    """What is wrong with a REST request's ``Authorization`` header, or None when it
    carries ``token`` (compared in constant time)."""
    scheme, _, given = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return _NO_TOKEN
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        return _WRONG_TOKEN
    return None


class GuardedRestInput(GuardMixin, RestInput):
    """REST channel (``/webhooks/rest/webhook``) with the fallback guard, for a trusted
    backend: a request without the bearer token gets a 401, a malformed body a 400, each
    with a JSON error saying what is wrong, and nothing is processed. The conversation
    is ``rest:<sender>``; the reply's ``recipient_id`` names it so."""

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        token = rest_token(load_settings())
        blueprint = super().blueprint(on_new_message)

        @blueprint.middleware("request")
        async def check_request(request: Request) -> HTTPResponse | None:
            if not is_webhook_post(request):
                return None
            denied = rest_auth_problem(request.headers.get("Authorization"), token)
            if denied is not None:
                logger.warning("a REST request without the right bearer token was refused")
                return response.json(
                    {"error": denied}, status=401, headers={"WWW-Authenticate": "Bearer"}
                )
            problem = rest_body_problem(request.body)
            return None if problem is None else response.json({"error": problem}, status=400)

        return blueprint

    async def _extract_sender(self, req: Request) -> str | None:
        sender = await super()._extract_sender(req)
        return None if sender is None else REST_SENDER_PREFIX + sender

    def _extract_input_channel(self, req: Request) -> str:
        # the body's ``input_channel`` would let a caller pass for another channel
        return self.name()


class GuardedCmdlineInput(GuardMixin, CmdlineInput):
    """Terminal conversations (``make shell``) with the fallback guard.

    ``rasa shell``'s console posts to its own server's ``/webhooks/rest/webhook`` without
    our bearer token, so this channel needs none: it is opened only by ``--connector`` in
    ``make shell`` (never listed in ``credentials.yml``), and it answers requests from
    this machine only.
    """

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        blueprint = super().blueprint(on_new_message)

        @blueprint.middleware("request")
        async def this_machine_only(request: Request) -> HTTPResponse | None:
            if not is_webhook_post(request) or _is_loopback(request.ip):
                return None
            return response.json({"error": "the terminal channel answers this machine only"}, 403)

        return blueprint


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


# Messaging platforms (addons/platforms/), switched on by `python -m addons.messaging`.
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
