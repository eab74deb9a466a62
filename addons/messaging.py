"""Messaging platforms: Telegram, Slack, Facebook Messenger, Twilio (SMS, WhatsApp) and
Microsoft Bot Framework, through Rasa's built-in connectors, minimally subclassed.

What the subclasses change:

* Long texts are split at paragraph, then sentence, then word boundaries to fit each
  platform's limit (never cut off; the safety advice is a message of its own and always
  fits). Rasa's connectors instead send every paragraph as a separate message, which
  would tear an answer card apart.
* Buttons are native where the platform has them: a Telegram inline keyboard, Messenger
  quick replies, Slack buttons, Bot Framework suggested actions. SMS and WhatsApp get
  numbered options ("Reply 1 to read the full reply, ..."); an incoming digit is mapped
  back to the payload from the options last sent to that sender. That memory lives in
  the Rasa server process: it is per process (lost on restart, not shared between
  several Rasa instances) and forgets a sender after :data:`OPTIONS_TTL` seconds.
* The platform API base URL can be set (``api_url`` in the credentials, from
  ``NEUROBOT_<PLATFORM>_API_URL``) so that tests point the connectors at a loopback
  stand-in; Bot Framework's OpenID metadata (JWT signing keys) and token URLs likewise.
* Twilio requests must carry a valid ``X-Twilio-Signature`` (Rasa does not check it);
  Messenger accepts ``X-Hub-Signature-256`` as well as the older ``X-Hub-Signature``.

Credentials: ``credentials.yml`` is static, so ``python -m addons.messaging credentials
OUT.yml`` writes a credentials file with the channels of ``credentials.yml`` (REST,
socket.io, the widget) plus every platform whose required ``NEUROBOT_*`` variables are
all set (environment first, then ``.env``). See :data:`PLATFORMS`.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import hmac
import json
import logging
import os
import re
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

import requests
import yaml
from aiogram import Bot
from aiogram.bot.api import TELEGRAM_PRODUCTION, TelegramAPIServer
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from dotenv import dotenv_values
from fbmessenger import MessengerClient
from fbmessenger.elements import Text as FBText
from fbmessenger.quick_replies import QuickReplies, QuickReply
from rasa.core.channels import botframework
from rasa.core.channels.botframework import BotFramework, BotFrameworkInput
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.facebook import FacebookInput, Messenger, MessengerBot
from rasa.core.channels.slack import SlackBot, SlackInput
from rasa.core.channels.telegram import TelegramInput, TelegramOutput
from rasa.core.channels.twilio import TwilioInput, TwilioOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from slack_sdk.web.async_client import AsyncWebClient
from twilio.request_validator import RequestValidator

from addons.responses import response_text
from bot.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

Handler = Callable[[UserMessage], Awaitable[Any]]
Button = dict[str, Any]

# Per-message limits (characters).
TELEGRAM_LIMIT = 4096
SLACK_LIMIT = 3000  # a section block's text; a plain message may hold 40,000
MESSENGER_LIMIT = 2000
MESSENGER_TITLE_LIMIT = 20  # a quick reply's title
SLACK_BUTTON_LIMIT = 75
TWILIO_LIMIT = 1600
BOTFRAMEWORK_LIMIT = 4000
TELEGRAM_CALLBACK_BYTES = 64
OPTIONS_TTL = 3600.0

# --------------------------------------------------------------------------- text


_BOUNDARIES = (r"\n[ \t]*\n", r"\n", r"(?<=[.!?…;:])\s+", r"\s+")
_JOINERS = ("\n\n", "\n", " ", " ")


def split_text(text: str, limit: int, _level: int = 0) -> list[str]:
    """Split ``text`` into parts of at most ``limit`` characters.

    Paragraphs are kept together where they fit, then sentences, then words; a word
    longer than the limit is cut. Nothing is dropped: joining the parts gives the text
    back (up to whitespace at the cuts).
    """
    text = text.strip()
    if not text:
        return []
    if len(text) <= limit:
        return [text]
    if _level == len(_BOUNDARIES):
        return [text[i : i + limit] for i in range(0, len(text), limit)]
    joiner = _JOINERS[_level]
    chunks: list[str] = []
    current = ""
    for piece in re.split(_BOUNDARIES[_level], text):
        piece = piece.strip()
        if not piece:
            continue
        if len(piece) > limit:
            if current:
                chunks.append(current)
            *done, current = split_text(piece, limit, _level + 1)
            chunks.extend(done)
            continue
        candidate = f"{current}{joiner}{piece}" if current else piece
        if len(candidate) <= limit:
            current = candidate
        else:
            chunks.append(current)
            current = piece
    if current:
        chunks.append(current)
    return chunks


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def numbered_options(buttons: Sequence[Button]) -> str:
    """The buttons as numbered options to reply with (SMS, and where titles are cut)."""
    lines = [f"{i}. {b.get('title', '')}" for i, b in enumerate(buttons, start=1)]
    return response_text("utter_choose_option") + "\n" + "\n".join(lines)


def limit_from(credentials: Mapping[str, Any], default: int) -> int:
    """The per-message limit: ``max_chars`` from the credentials, never above ``default``."""
    raw = credentials.get("max_chars")
    try:
        value = int(raw) if raw not in (None, "") else default
    except (TypeError, ValueError):
        logger.warning("max_chars %r is not a number; using %d", raw, default)
        value = default
    return max(100, min(value, default))


class SenderMemory:
    """Per-process memory, per sender, with expiry and a size cap."""

    def __init__(self, ttl: float = OPTIONS_TTL, size: int = 10_000) -> None:
        self.ttl = ttl
        self.size = size
        self._items: OrderedDict[str, tuple[float, list[str]]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, key: str, values: list[str]) -> None:
        with self._lock:
            self._items.pop(key, None)
            self._items[key] = (time.monotonic() + self.ttl, values)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def recall(self, key: str) -> list[str]:
        with self._lock:
            expires, values = self._items.get(key, (0.0, []))
            if expires < time.monotonic():
                self._items.pop(key, None)
                return []
            return values


class NumberedOptions:
    """The options last sent to each SMS/WhatsApp sender, to read a digit back."""

    def __init__(self) -> None:
        self.memory = SenderMemory()

    def remember(self, sender: str, buttons: Sequence[Button]) -> None:
        self.memory.remember(sender, [str(b.get("payload", "")) for b in buttons])

    def resolve(self, sender: str, text: str | None) -> str | None:
        """The payload for a reply that is just an option's number, else the text."""
        stripped = (text or "").strip().rstrip(".)")
        if not stripped.isdigit():
            return text
        payloads = self.memory.recall(sender)
        number = int(stripped)
        if 1 <= number <= len(payloads):
            return payloads[number - 1]
        return text


class PayloadAliases:
    """Short stand-ins for payloads over a platform's size limit (Telegram: 64 bytes)."""

    PREFIX = "#p"

    def __init__(self) -> None:
        self._by_alias: OrderedDict[str, str] = OrderedDict()
        self._by_payload: dict[str, str] = {}
        self._count = 0
        self._lock = threading.Lock()

    def shorten(self, payload: str, limit: int) -> str:
        if len(payload.encode("utf-8")) <= limit:
            return payload
        compact = payload
        if "{" in payload:
            head, _, body = payload.partition("{")
            try:
                compact = head + json.dumps(json.loads("{" + body), separators=(",", ":"))
            except ValueError:
                compact = payload
            if len(compact.encode("utf-8")) <= limit:
                return compact
        with self._lock:
            if payload not in self._by_payload:
                self._count += 1
                alias = f"{self.PREFIX}{self._count}"
                self._by_payload[payload] = alias
                self._by_alias[alias] = payload
                while len(self._by_alias) > 10_000:
                    _old, full = self._by_alias.popitem(last=False)
                    self._by_payload.pop(full, None)
            return self._by_payload[payload]

    def resolve(self, text: str | None) -> str | None:
        if text and text.startswith(self.PREFIX):
            return self._by_alias.get(text, text)
        return text


def rewrite_text(on_new_message: Handler, rewrite: Callable[[UserMessage], str | None]) -> Handler:
    """Wrap a handler so that the incoming text is rewritten first."""

    async def rewritten(message: UserMessage) -> Any:
        message.text = rewrite(message)
        return await on_new_message(message)

    return rewritten


# ----------------------------------------------------------------------- Telegram


class TelegramOutputChannel(TelegramOutput):
    """Telegram output: split long texts, inline keyboard with one button per row."""

    aliases = PayloadAliases()

    def __init__(
        self, access_token: str | None, api_url: str | None = None, limit: int = TELEGRAM_LIMIT
    ) -> None:
        server = TelegramAPIServer.from_base(api_url) if api_url else TELEGRAM_PRODUCTION
        Bot.__init__(self, access_token, server=server)
        self.limit = limit

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        for part in split_text(text, self.limit):
            await self.send_message(recipient_id, part)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[Button], **kwargs: Any
    ) -> None:
        *first, last = split_text(text, self.limit) or [""]
        for part in first:
            await self.send_message(recipient_id, part)
        keyboard = InlineKeyboardMarkup()
        for button in buttons:
            payload = self.aliases.shorten(str(button["payload"]), TELEGRAM_CALLBACK_BYTES)
            keyboard.row(InlineKeyboardButton(str(button["title"]), callback_data=payload))
        await self.send_message(recipient_id, last, reply_markup=keyboard)


class TelegramChannel(TelegramInput):
    """Telegram input (``/webhooks/telegram/webhook``)."""

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        if not credentials:
            cls.raise_missing_credentials_exception()
        assert credentials is not None
        channel = cls(
            credentials.get("access_token"),
            credentials.get("verify"),
            credentials.get("webhook_url"),
        )
        channel.api_url = credentials.get("api_url") or None
        channel.limit = limit_from(credentials, TELEGRAM_LIMIT)
        return channel

    api_url: str | None = None
    limit: int = TELEGRAM_LIMIT

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        aliases = TelegramOutputChannel.aliases
        resolved = rewrite_text(on_new_message, lambda m: aliases.resolve(m.text))
        return super().blueprint(resolved)

    def get_output_channel(self) -> TelegramOutputChannel:
        channel = TelegramOutputChannel(self.access_token, self.api_url, self.limit)

        async def register() -> None:
            try:
                await channel.set_webhook(url=self.webhook_url)
            finally:
                # the session belongs to this short-lived loop; Sanic's loop opens its own
                await channel.session.close()

        asyncio.run(register())
        return channel


# -------------------------------------------------------------------------- Slack


class SlackOutputChannel(SlackBot):
    """Slack output: split long texts, buttons as a Block Kit actions block."""

    def __init__(
        self,
        token: str,
        slack_channel: str | None = None,
        thread_id: str | None = None,
        proxy: str | None = None,
        api_url: str | None = None,
        limit: int = SLACK_LIMIT,
    ) -> None:
        super().__init__(token, slack_channel, thread_id, proxy)
        if api_url:
            self.client = AsyncWebClient(token, proxy=proxy, base_url=api_url.rstrip("/") + "/")
        self.limit = limit

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        recipient = self.slack_channel or recipient_id
        for part in split_text(text, self.limit):
            await self._post_message(channel=recipient, text=part, mrkdwn=False)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[Button], **kwargs: Any
    ) -> None:
        recipient = self.slack_channel or recipient_id
        *first, last = split_text(text, self.limit) or [" "]
        for part in first:
            await self._post_message(channel=recipient, text=part, mrkdwn=False)
        blocks = [
            {"type": "section", "text": {"type": "plain_text", "text": last}},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {
                            "type": "plain_text",
                            "text": shorten(str(b["title"]), SLACK_BUTTON_LIMIT),
                        },
                        "value": str(b["payload"]),
                        "action_id": f"option-{i}",
                    }
                    for i, b in enumerate(buttons[:25])
                ],
            },
        ]
        await self._post_message(channel=recipient, text=last, blocks=blocks)


class SlackChannel(SlackInput):
    """Slack input (``/webhooks/slack/webhook``; Events API and interactivity)."""

    api_url: str | None = None
    limit: int = SLACK_LIMIT

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        channel = super().from_credentials(credentials)
        assert isinstance(channel, SlackChannel) and credentials is not None
        channel.api_url = credentials.get("api_url") or None
        channel.limit = limit_from(credentials, SLACK_LIMIT)
        return channel

    def get_output_channel(
        self, channel: str | None = None, thread_id: str | None = None
    ) -> OutputChannel:
        return SlackOutputChannel(
            self.slack_token,
            channel or self.slack_channel,
            thread_id,
            self.proxy,
            self.api_url,
            self.limit,
        )


# ---------------------------------------------------------------------- Messenger


def messenger_client(page_access_token: str, api_url: str | None) -> MessengerClient:
    client = MessengerClient(page_access_token)
    if api_url:
        client.graph_url = api_url.rstrip("/")
    return client


class MessengerOutputChannel(MessengerBot):
    """Messenger output: split long texts, buttons as quick replies (titles of at most
    20 characters; when one is cut, the full titles are listed as numbered options)."""

    def __init__(self, client: MessengerClient, limit: int = MESSENGER_LIMIT) -> None:
        super().__init__(client)
        self.limit = limit

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        for part in split_text(text, self.limit):
            self.send(recipient_id, FBText(text=part))

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[Button], **kwargs: Any
    ) -> None:
        buttons = buttons[:13]
        titles = [str(b["title"]) for b in buttons]
        cut = any(len(t) > MESSENGER_TITLE_LIMIT for t in titles)
        if cut:
            text = f"{text.strip()}\n\n{numbered_options(buttons)}"
            titles = [
                shorten(f"{i}. {t}", MESSENGER_TITLE_LIMIT) for i, t in enumerate(titles, start=1)
            ]
        *first, last = split_text(text, self.limit) or [" "]
        for part in first:
            self.send(recipient_id, FBText(text=part))
        replies = QuickReplies(
            quick_replies=[
                QuickReply(title=title, payload=str(b["payload"]))
                for title, b in zip(titles, buttons, strict=True)
            ]
        )
        self.send(recipient_id, FBText(text=last, quick_replies=replies))

    async def send_quick_replies(
        self, recipient_id: str, text: str, quick_replies: list[Button], **kwargs: Any
    ) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies)


class NeurobotMessenger(Messenger):
    """Rasa's webhook handler, with our output channel and API URL."""

    def __init__(
        self, page_access_token: str, on_new_message: Handler, api_url: str | None, limit: int
    ) -> None:
        super().__init__(page_access_token, on_new_message)
        self.client = messenger_client(page_access_token, api_url)
        self.limit = limit

    async def _handle_user_message(
        self, text: str, sender_id: str, metadata: dict[str, Any] | None
    ) -> None:
        out_channel = MessengerOutputChannel(self.client, self.limit)
        await out_channel.send_action(sender_id, sender_action="mark_seen")
        await out_channel.send_action(sender_id, sender_action="typing_on")
        try:
            await self.on_new_message(
                UserMessage(
                    text, out_channel, sender_id, input_channel=self.name(), metadata=metadata
                )
            )
        except Exception:
            logger.exception("handling a Messenger message failed")
        finally:
            await out_channel.send_action(sender_id, sender_action="typing_off")


def hub_signature_valid(secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    """Check ``X-Hub-Signature-256`` (or, failing that, the older ``X-Hub-Signature``)."""
    for header, digest in (
        ("X-Hub-Signature-256", hashlib.sha256),
        ("X-Hub-Signature", hashlib.sha1),
    ):
        value = headers.get(header)
        if value:
            method, _, signature = value.partition("=")
            if method != digest().name:
                return False
            expected = hmac.new(secret.encode("utf-8"), body, digest).hexdigest()
            return hmac.compare_digest(expected, signature)
    return False


class FacebookChannel(FacebookInput):
    """Facebook Messenger input (``/webhooks/facebook/webhook``)."""

    api_url: str | None = None
    limit: int = MESSENGER_LIMIT

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        channel = super().from_credentials(credentials)
        assert isinstance(channel, FacebookChannel) and credentials is not None
        channel.api_url = credentials.get("api_url") or None
        channel.limit = limit_from(credentials, MESSENGER_LIMIT)
        return channel

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        fb_webhook = Blueprint("fb_webhook", __name__)

        @fb_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @fb_webhook.route("/webhook", methods=["GET"])
        async def token_verification(request: Request) -> HTTPResponse:
            if request.args.get("hub.verify_token") == self.fb_verify:
                return response.text(request.args.get("hub.challenge") or "")
            logger.warning("invalid Messenger verify token")
            return response.text("failure, invalid token", status=HTTPStatus.FORBIDDEN)

        @fb_webhook.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            if not hub_signature_valid(self.fb_secret, request.body, request.headers):
                logger.warning("Messenger request with a wrong signature; check the app secret")
                return response.text("not validated", status=HTTPStatus.FORBIDDEN)
            messenger = NeurobotMessenger(
                self.fb_access_token, on_new_message, self.api_url, self.limit
            )
            await messenger.handle(request.json, self.get_metadata(request))
            return response.text("success")

        return fb_webhook

    def get_output_channel(self) -> OutputChannel:
        return MessengerOutputChannel(
            messenger_client(self.fb_access_token, self.api_url), self.limit
        )


# ------------------------------------------------------------------------- Twilio

#: Options last sent to each SMS/WhatsApp sender, in this process.
TWILIO_OPTIONS = NumberedOptions()


class TwilioOutputChannel(TwilioOutput):
    """Twilio output (SMS and WhatsApp): split long texts, buttons as numbered options."""

    def __init__(
        self,
        account_sid: str | None,
        auth_token: str | None,
        twilio_number: str | None,
        whatsapp_number: str | None = None,
        api_url: str | None = None,
        limit: int = TWILIO_LIMIT,
        options: NumberedOptions = TWILIO_OPTIONS,
    ) -> None:
        super().__init__(account_sid, auth_token, twilio_number)
        self.whatsapp_number = whatsapp_number
        self.limit = limit
        self.options = options
        if api_url:
            self.api.base_url = api_url.rstrip("/")

    def sender_for(self, recipient_id: str) -> str | None:
        """Our number as seen by the recipient (``whatsapp:+...`` for WhatsApp)."""
        number = self.twilio_number or ""
        if recipient_id.startswith("whatsapp:"):
            number = self.whatsapp_number or number
            return number if number.startswith("whatsapp:") else f"whatsapp:{number}"
        return number

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        for part in split_text(text, self.limit):
            await self._send_message(
                {"to": recipient_id, "from_": self.sender_for(recipient_id), "body": part}
            )

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[Button], **kwargs: Any
    ) -> None:
        self.options.remember(recipient_id, buttons)
        await self.send_text_message(recipient_id, f"{text.strip()}\n\n{numbered_options(buttons)}")


class TwilioChannel(TwilioInput):
    """Twilio input for SMS and WhatsApp (``/webhooks/twilio/webhook``).

    Requests must carry a valid ``X-Twilio-Signature``, computed over ``webhook_url``
    (the public URL configured at Twilio; the request's own URL when not set).
    """

    whatsapp_number: str | None = None
    webhook_url: str | None = None
    api_url: str | None = None
    limit: int = TWILIO_LIMIT

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        channel = super().from_credentials(credentials)
        assert isinstance(channel, TwilioChannel) and credentials is not None
        channel.whatsapp_number = credentials.get("whatsapp_number") or None
        channel.webhook_url = credentials.get("webhook_url") or None
        channel.api_url = credentials.get("api_url") or None
        channel.limit = limit_from(credentials, TWILIO_LIMIT)
        return channel

    def signature_valid(self, request: Request) -> bool:
        validator = RequestValidator(self.auth_token or "")
        params = {key: values[0] for key, values in request.form.items()}
        url = self.webhook_url or request.url
        return bool(validator.validate(url, params, request.headers.get("X-Twilio-Signature", "")))

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        resolved = rewrite_text(
            on_new_message, lambda m: TWILIO_OPTIONS.resolve(m.sender_id or "", m.text)
        )
        blueprint = super().blueprint(resolved)

        @blueprint.middleware("request")
        async def check_signature(request: Request) -> HTTPResponse | None:
            if request.method == "POST" and not self.signature_valid(request):
                logger.warning("Twilio request without a valid X-Twilio-Signature")
                return response.text("invalid signature", status=HTTPStatus.FORBIDDEN)
            return None

        return blueprint

    def get_output_channel(self) -> OutputChannel:
        return TwilioOutputChannel(
            self.account_sid,
            self.auth_token,
            self.twilio_number,
            self.whatsapp_number,
            self.api_url,
            self.limit,
        )


# ------------------------------------------------------------------ Bot Framework

MICROSOFT_TOKEN_URL = f"{botframework.MICROSOFT_OAUTH2_URL}/{botframework.MICROSOFT_OAUTH2_PATH}"


class BotFrameworkOutputChannel(BotFramework):
    """Bot Framework output: split long texts, buttons as suggested actions."""

    token_url = MICROSOFT_TOKEN_URL
    limit = BOTFRAMEWORK_LIMIT

    @classmethod
    def from_output(
        cls, inner: BotFramework, token_url: str, limit: int
    ) -> BotFrameworkOutputChannel:
        channel = cls.__new__(cls)
        channel.__dict__.update(inner.__dict__)
        channel.token_url = token_url
        channel.limit = limit
        return channel

    async def _get_headers(self) -> dict[str, Any] | None:
        if BotFramework.token_expiration_date >= datetime.datetime.now():
            return BotFramework.headers
        payload = {
            "client_id": self.app_id,
            "client_secret": self.app_password,
            "grant_type": "client_credentials",
            "scope": "https://api.botframework.com/.default",
        }
        token_response = requests.post(self.token_url, data=payload, timeout=10)
        if not token_response.ok:
            logger.error("could not get a Bot Framework token")
            return None
        token = token_response.json()
        BotFramework.token_expiration_date = datetime.datetime.now() + datetime.timedelta(
            seconds=int(token["expires_in"]) - 60
        )
        BotFramework.headers = {
            "content-type": "application/json",
            "Authorization": f"Bearer {token['access_token']}",
        }
        return BotFramework.headers

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        for part in split_text(text, self.limit):
            await self.send(self.prepare_message(recipient_id, {"text": part}))

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[Button], **kwargs: Any
    ) -> None:
        *first, last = split_text(text, self.limit) or [""]
        for part in first:
            await self.send(self.prepare_message(recipient_id, {"text": part}))
        actions = [
            {"type": "postBack", "title": str(b["title"]), "value": str(b["payload"])}
            for b in buttons
        ]
        await self.send(
            self.prepare_message(
                recipient_id, {"text": last, "suggestedActions": {"actions": actions}}
            )
        )


class BotFrameworkChannel(BotFrameworkInput):
    """Bot Framework input (``/webhooks/botframework/webhook``).

    Incoming requests carry a JWT signed by Microsoft; the keys come from the OpenID
    metadata at ``openid_url`` (Microsoft's by default). Tests point ``openid_url`` and
    ``token_url`` at a loopback stand-in holding a test key: the JWT check itself (the
    signature, the audience = app id) is Rasa's, unchanged.
    """

    def __init__(
        self,
        app_id: str,
        app_password: str,
        openid_url: str = botframework.MICROSOFT_OPEN_ID_URI,
        token_url: str = MICROSOFT_TOKEN_URL,
        limit: int = BOTFRAMEWORK_LIMIT,
    ) -> None:
        self.openid_url = openid_url
        self.token_url = token_url
        self.limit = limit
        super().__init__(app_id, app_password)

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        if not credentials:
            cls.raise_missing_credentials_exception()
        assert credentials is not None
        return cls(
            credentials.get("app_id") or "",
            credentials.get("app_password") or "",
            credentials.get("openid_url") or botframework.MICROSOFT_OPEN_ID_URI,
            credentials.get("token_url") or MICROSOFT_TOKEN_URL,
            limit_from(credentials, BOTFRAMEWORK_LIMIT),
        )

    def _update_cached_jwk_keys(self) -> None:
        conf = requests.get(self.openid_url, timeout=10)
        conf.raise_for_status()
        keys = requests.get(conf.json()["jwks_uri"], timeout=10)
        keys.raise_for_status()
        self.jwt_keys = {key["kid"]: key for key in keys.json()["keys"]}
        self.jwt_update_time = datetime.datetime.now()

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        async def with_our_output(message: UserMessage) -> Any:
            if isinstance(message.output_channel, BotFramework):
                message.output_channel = BotFrameworkOutputChannel.from_output(
                    message.output_channel, self.token_url, self.limit
                )
            return await on_new_message(message)

        return super().blueprint(with_our_output)


# -------------------------------------------------------------------- credentials


@dataclass(frozen=True)
class Platform:
    """One messaging platform: its connector, and credentials from NEUROBOT_* variables.

    Attributes:
        name: The channel's name (its webhook is ``/webhooks/<name>/webhook``).
        connector: Class path written to the credentials file.
        required: Credential key -> variable; the platform is on when all are set.
        optional: Credential key -> variable, written when set.
    """

    name: str
    connector: str
    required: dict[str, str]
    optional: dict[str, str] = field(default_factory=dict)

    def credentials(self, env: Mapping[str, str]) -> dict[str, str] | None:
        """The connector's credentials, or None when a required variable is unset."""
        values = {key: env.get(var, "").strip() for key, var in self.required.items()}
        if not all(values.values()):
            return None
        for key, var in self.optional.items():
            if env.get(var, "").strip():
                values[key] = env[var].strip()
        return values


def _optional(prefix: str, **extra: str) -> dict[str, str]:
    return {"api_url": f"{prefix}_API_URL", "max_chars": f"{prefix}_MAX_CHARS", **extra}


PLATFORMS: tuple[Platform, ...] = (
    Platform(
        "telegram",
        "addons.channels.GuardedTelegramInput",
        {
            "access_token": "NEUROBOT_TELEGRAM_TOKEN",
            "verify": "NEUROBOT_TELEGRAM_BOT_NAME",
            "webhook_url": "NEUROBOT_TELEGRAM_WEBHOOK_URL",
        },
        _optional("NEUROBOT_TELEGRAM"),
    ),
    Platform(
        "slack",
        "addons.channels.GuardedSlackInput",
        {
            "slack_token": "NEUROBOT_SLACK_TOKEN",
            "slack_signing_secret": "NEUROBOT_SLACK_SIGNING_SECRET",
        },
        _optional("NEUROBOT_SLACK", slack_channel="NEUROBOT_SLACK_CHANNEL"),
    ),
    Platform(
        "facebook",
        "addons.channels.GuardedFacebookInput",
        {
            "verify": "NEUROBOT_FACEBOOK_VERIFY",
            "secret": "NEUROBOT_FACEBOOK_SECRET",
            "page-access-token": "NEUROBOT_FACEBOOK_PAGE_ACCESS_TOKEN",
        },
        _optional("NEUROBOT_FACEBOOK"),
    ),
    Platform(
        "twilio",
        "addons.channels.GuardedTwilioInput",
        {
            "account_sid": "NEUROBOT_TWILIO_ACCOUNT_SID",
            "auth_token": "NEUROBOT_TWILIO_AUTH_TOKEN",
            "twilio_number": "NEUROBOT_TWILIO_NUMBER",
        },
        _optional(
            "NEUROBOT_TWILIO",
            whatsapp_number="NEUROBOT_TWILIO_WHATSAPP_NUMBER",
            webhook_url="NEUROBOT_TWILIO_WEBHOOK_URL",
        ),
    ),
    Platform(
        "botframework",
        "addons.channels.GuardedBotFrameworkInput",
        {
            "app_id": "NEUROBOT_BOTFRAMEWORK_APP_ID",
            "app_password": "NEUROBOT_BOTFRAMEWORK_APP_PASSWORD",
        },
        {
            "openid_url": "NEUROBOT_BOTFRAMEWORK_OPENID_URL",
            "token_url": "NEUROBOT_BOTFRAMEWORK_TOKEN_URL",
            "max_chars": "NEUROBOT_BOTFRAMEWORK_MAX_CHARS",
        },
    ),
)


def environment() -> dict[str, str]:
    """``.env`` of the project root, overridden by the process environment."""
    merged = {k: v for k, v in dotenv_values(PROJECT_ROOT / ".env").items() if v is not None}
    merged.update(os.environ)
    return merged


def build_credentials(
    env: Mapping[str, str], base: Path = PROJECT_ROOT / "credentials.yml"
) -> dict[str, Any]:
    """The channels of ``base`` plus every platform whose variables are all set."""
    credentials: dict[str, Any] = yaml.safe_load(base.read_text(encoding="utf-8")) or {}
    for platform in PLATFORMS:
        values = platform.credentials(env)
        if values is not None:
            credentials[platform.connector] = values
    return credentials


def write_credentials(path: Path, env: Mapping[str, str]) -> list[str]:
    """Write the credentials file; return the names of the platforms switched on."""
    credentials = build_credentials(env)
    header = "# Generated by `python -m addons.messaging credentials`; do not edit.\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + yaml.safe_dump(credentials, sort_keys=False), encoding="utf-8")
    os.chmod(path, 0o600)  # it holds tokens
    return [p.name for p in PLATFORMS if p.connector in credentials]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m addons.messaging credentials OUT.yml``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2 or args[0] != "credentials":
        print("usage: python -m addons.messaging credentials OUT.yml", file=sys.stderr)
        return 2
    names = write_credentials(Path(args[1]), environment())
    print(f"messaging channels on: {', '.join(names) or 'none'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
