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
from addons.cards import deliver, for_input, named
from addons.platforms.botframework import BotFrameworkChannel
from addons.platforms.facebook import FacebookChannel
from addons.platforms.handlers import Handler, check_webhook
from addons.platforms.slack import SlackChannel
from addons.platforms.telegram import TelegramChannel
from addons.platforms.twilio import TwilioChannel
from addons.policies import GUARD_URGENT_KEY, patient_messages
from addons.widget import WidgetSocketIOInput
from bot.domain import DOMAIN, response_text
from bot.guard.inbound import MAX_MESSAGE_CHARS, MAX_SCAN_CHARS, body_problem, clean, screen
from bot.guard.ratelimit import RateLimiter, retry_after, shared_limiter
from bot.names import (
    SLOT_CRISIS_LINE,
    SLOT_EMERGENCY_NUMBER,
    UTTER_DEFAULT,
    UTTER_EMERGENCY,
    UTTER_MESSAGE_TOO_LONG,
    UTTER_SAFETY_ADVICE,
    UTTER_SELF_HARM,
    UTTER_SLOW_DOWN,
    UTTER_TECHNICAL_PROBLEM,
)
from bot.safety import Level
from bot.safety.session import safety_decision
from bot.secrets import rest_token
from bot.settings import Settings, load_settings

logger = logging.getLogger(__name__)

# Rasa imports this module when it loads the channels of credentials.yml, after it has
# configured logging: from here on its log holds no patient text (addons/privacy.py).
privacy.install()

History = Callable[[str], Awaitable[list[str]]]

#: Key of a message's metadata that carries the guard's red-flag decision for a message
#: too long for the NLU (``addons/policies.py`` reads it). The guard sets or removes it
#: on every message, so no client can set it.
URGENT_KEY = GUARD_URGENT_KEY


class FallbackReplies:
    """The guard's own texts, read once from the domain's responses."""

    def __init__(self, settings: Settings, domain_path: Path = DOMAIN) -> None:
        values = {
            SLOT_EMERGENCY_NUMBER: settings.emergency_number,
            SLOT_CRISIS_LINE: settings.crisis_line,
        }
        self.emergency = response_text(UTTER_EMERGENCY, domain_path, **values)
        self.self_harm = response_text(UTTER_SELF_HARM, domain_path, **values)
        self.safety = response_text(UTTER_SAFETY_ADVICE, domain_path)
        self.problem = [response_text(UTTER_TECHNICAL_PROBLEM, domain_path), self.safety]
        self.too_long = response_text(
            UTTER_MESSAGE_TOO_LONG, domain_path, max_chars=f"{settings.max_message_chars:,}"
        )
        self.not_understood = response_text(UTTER_DEFAULT, domain_path)
        self.slow_down = response_text(UTTER_SLOW_DOWN, domain_path, **values)
        #: text -> the response it is, so that each goes out named (addons/cards.py)
        self.names = {
            self.emergency: UTTER_EMERGENCY,
            self.self_harm: UTTER_SELF_HARM,
            self.safety: UTTER_SAFETY_ADVICE,
            self.problem[0]: UTTER_TECHNICAL_PROBLEM,
            self.too_long: UTTER_MESSAGE_TOO_LONG,
            self.not_understood: UTTER_DEFAULT,
            self.slow_down: UTTER_SLOW_DOWN,
        }
        self.values = values

    def message(self, text: str) -> dict[str, Any]:
        """One of these texts as a bot message, named by its response (the emergency
        and crisis messages with their numbers, as their ``custom:`` in the domain)."""
        name = self.names[text]
        fields = {
            UTTER_EMERGENCY: {SLOT_EMERGENCY_NUMBER: self.values[SLOT_EMERGENCY_NUMBER]},
            UTTER_SELF_HARM: self.values,
        }.get(name, {})
        return named(name, text, **fields)

    def urgent(self, texts: Sequence[str]) -> list[str]:
        """The emergency or crisis message when the session's messages call for it."""
        return self.for_level(safety_decision(texts).level)

    def for_level(self, level: Level) -> list[str]:
        """The emergency or crisis message of ``level``; none for ``Level.NONE``."""
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
        await deliver(self.inner, recipient_id, message)


async def _no_history(sender_id: str) -> list[str]:
    return []


def guard(
    on_new_message: Handler,
    replies: FallbackReplies,
    timeout: float,
    max_chars: int = MAX_MESSAGE_CHARS,
    history: History = _no_history,
    limiter: RateLimiter | None = None,
) -> Handler:
    """Wrap a channel's message handler so that every message gets a reply.

    Args:
        on_new_message: The handler the Rasa server gives the channel.
        replies: The guard's texts.
        timeout: Seconds before the fallback is sent. The processing is not cancelled:
            the turn still lands in the conversation, and a late answer still reaches
            channels that push messages (socket.io, messaging apps).
        max_chars: Longer messages are refused politely before the NLU, after the
            red-flag check of their first :data:`~bot.guard.inbound.MAX_SCAN_CHARS`
            characters; one that shows red flags is processed (cut to ``max_chars``) so
            that its emergency reply is stored and counted like any other.
        history: The patient's earlier messages of the session, for the red-flag check
            of a fallback reply.
        limiter: Counts each conversation's messages; one over its limit gets a polite
            "slow down" (and the emergency message first if it shows red flags) and is
            not processed. None: the channel limits on its own (REST answers 429).
    """

    async def fallback(message: UserMessage, watched: WatchedOutput, text: str) -> None:
        forced = (message.metadata or {}).get(URGENT_KEY)
        if forced is not None:
            chosen = replies.for_level(Level(forced))
        else:
            try:
                earlier = await history(message.sender_id or "")
            except Exception as exc:
                logger.error(
                    "could not read the conversation for the fallback: %s", type(exc).__name__
                )
                earlier = []
            texts = [*earlier, text] if not earlier or earlier[-1] != text else earlier
            chosen = await asyncio.to_thread(replies.for_messages, texts)
        if watched.sent:
            return  # the real answer arrived while the fallback was being chosen
        for reply in chosen:
            await deliver(watched.inner, message.sender_id or "", replies.message(reply))

    async def store_fallback(
        message: UserMessage, watched: WatchedOutput, turn: stores.Turn, task: asyncio.Task[Any]
    ) -> None:
        # The tracker store logged what failed (addons/stores.py).
        task.add_done_callback(_log_late_failure)
        if turn.unreadable:
            # What the turn would still compute answers an empty conversation: stop it.
            # The latest message alone still decides an emergency (no store needed).
            task.cancel()
            forced = (message.metadata or {}).get(URGENT_KEY)
            urgent = (
                replies.for_level(Level(forced))
                if forced is not None
                else await asyncio.to_thread(replies.urgent, [message.text])
            )
            chosen = urgent or list(replies.problem)
            logger.error("the conversation could not be read; sending the fallback reply")
        else:
            chosen = list(replies.problem)  # answered, but the turn is not kept
            logger.error("the conversation could not be saved; sending the fallback reply")
        for reply in chosen:
            await deliver(watched.inner, message.sender_id or "", replies.message(reply))

    async def send(watched: WatchedOutput, sender: str, texts: Sequence[str]) -> None:
        for reply in texts:
            await deliver(watched.inner, sender, replies.message(reply))

    async def guarded(message: UserMessage) -> None:
        watched = WatchedOutput(for_input(message.input_channel, message.output_channel))
        message.output_channel = watched
        sender = message.sender_id or ""
        text = clean(message.text) if isinstance(message.text, str) else None
        metadata = dict(message.metadata) if isinstance(message.metadata, dict) else {}
        metadata.pop(URGENT_KEY, None)
        message.metadata = metadata or None
        if text is None or not text.strip():
            logger.warning("a message without text; asking the patient to describe again")
            await send(watched, sender, [replies.not_understood])
            return
        if limiter is not None and not limiter.allow("message", sender):
            head = text[:MAX_SCAN_CHARS]
            await send(watched, sender, await asyncio.to_thread(replies.urgent, [head]))
            await send(watched, sender, [replies.slow_down])
            return
        if len(text) > max_chars:
            # The red-flag check reads the head of the message first, off the event loop.
            logger.warning("a message of %d characters refused (cap %d)", len(text), max_chars)
            head = text[:MAX_SCAN_CHARS]
            level = (await asyncio.to_thread(safety_decision, [head])).level
            if level is Level.NONE:
                await send(watched, sender, [replies.too_long])
                return
            # processed, cut, so that the emergency is stored and counted
            message.metadata = {**metadata, URGENT_KEY: level.value}
            text = text[:max_chars]
        message.text = screen(text)
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

    #: Whether the guard counts each conversation's messages (REST answers 429 itself).
    limit_in_guard = True

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        settings = load_settings()
        limiter = shared_limiter(settings) if self.limit_in_guard else None
        replies = FallbackReplies(settings)
        app: dict[str, Any] = {}

        async def history(sender_id: str) -> list[str]:
            agent = getattr(app.get("app") and app["app"].ctx, "agent", None)
            if agent is None or not sender_id:
                return []
            tracker = await agent.tracker_store.retrieve(sender_id)
            return patient_messages(tracker) if tracker is not None else []

        wrapped = guard(
            on_new_message,
            replies,
            settings.reply_timeout,
            settings.max_message_chars,
            history,
            limiter,
        )
        blueprint: Blueprint = super().blueprint(wrapped)  # type: ignore[misc]

        @blueprint.listener("before_server_start")
        async def keep_app(server: Any, loop: Any) -> None:
            app["app"] = server

        return blueprint


def rest_body_problem(body: bytes) -> str | None:
    """What is wrong with a REST webhook body, or None when it can be processed.

    The body's size and depth are checked first (:func:`bot.guard.inbound.body_problem`).
    """
    try:
        data = json.loads(body or b"")
    except (ValueError, UnicodeDecodeError, RecursionError):
        return 'the body must be JSON: {"sender": "...", "message": "..."}'
    if not isinstance(data, dict):
        return 'the body must be a JSON object: {"sender": "...", "message": "..."}'
    sender = data.get("sender")
    if not isinstance(sender, str) or not sender.strip():
        return "'sender' must be a non-empty string naming the conversation"
    if len(sender) > MAX_SENDER_CHARS or clean(sender) != sender or not sender.isprintable():
        return f"'sender' must be printable text of at most {MAX_SENDER_CHARS} characters"
    message = data.get("message")
    if not isinstance(message, str):
        return "'message' must be a string"
    if not message.strip():
        return "'message' must not be empty"
    return None


#: Longest REST ``sender`` accepted.
MAX_SENDER_CHARS = 128

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
    is ``rest:<sender>``; the reply's ``recipient_id`` names it so.

    Limits: an address whose requests keep failing the token check gets 429 (a client
    guessing the token); each conversation's messages are counted (429 over the limit);
    a body over :data:`~bot.guard.inbound.MAX_BODY_BYTES` gets 413 and one nested too deep 400,
    before it is parsed."""

    limit_in_guard = False

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        settings = load_settings()
        token = rest_token(settings)
        limiter = shared_limiter(settings)
        blueprint = super().blueprint(on_new_message)

        def too_many(scope: str) -> HTTPResponse:
            wait = retry_after(limiter, scope)
            return response.json(
                {"error": f"too many requests; try again in {wait} seconds"},
                status=429,
                headers={"Retry-After": str(wait)},
            )

        async def check_request(request: Request) -> HTTPResponse | None:
            address = request.remote_addr or request.ip
            denied = rest_auth_problem(request.headers.get("Authorization"), token)
            if denied is not None:
                logger.warning("a REST request without the right bearer token was refused")
                if not limiter.allow("refused", address):
                    return too_many("refused")
                return response.json(
                    {"error": denied}, status=401, headers={"WWW-Authenticate": "Bearer"}
                )
            size = body_problem(request.body)
            if size is not None:
                return response.json({"error": size[1]}, status=size[0])
            problem = rest_body_problem(request.body)
            if problem is not None:
                return response.json({"error": problem}, status=400)
            sender = str(json.loads(request.body)["sender"])
            if not limiter.allow("message", REST_SENDER_PREFIX + sender):
                return too_many("message")
            return None

        check_webhook(blueprint, check_request)
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

        async def this_machine_only(request: Request) -> HTTPResponse | None:
            if _is_loopback(request.ip):
                return None
            return response.json({"error": "the terminal channel answers this machine only"}, 403)

        check_webhook(blueprint, this_machine_only)
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
