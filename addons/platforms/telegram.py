"""Telegram (``/webhooks/telegram/webhook``).

Telegram sends the secret token given to ``setWebhook`` in the header
``X-Telegram-Bot-Api-Secret-Token`` of every update: an update without it, or with
another, is refused with 403 and not read. The token is ``NEUROBOT_TELEGRAM_SECRET_TOKEN``
or, when that is unset, generated once into ``<state dir>/telegram_secret_token``. The
webhook is registered with it at start; ``/webhooks/telegram/set_webhook`` (which
re-registers) needs the REST bearer token. A retried update (same ``update_id``) is
acknowledged and not processed again; a button press is acknowledged to Telegram
(``answerCallbackQuery``) so that the client stops showing a spinner.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from aiogram import Bot
from aiogram.bot import api
from aiogram.bot.api import TELEGRAM_PRODUCTION, TelegramAPIServer
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from rasa.core.channels.telegram import TelegramInput, TelegramOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from addons.platforms.dedupe import SeenIds
from addons.platforms.handlers import Button, Handler, PlatformInput, check_webhook, rewrite_text
from addons.platforms.options import PayloadAliases
from addons.platforms.text import split_text
from bot import secrets
from bot.errors import ConfigError
from bot.settings import load_settings

logger = logging.getLogger(__name__)

TELEGRAM_LIMIT = 4096
TELEGRAM_CALLBACK_BYTES = 64
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SECRET_VARIABLE = "NEUROBOT_TELEGRAM_SECRET_TOKEN"
#: What Telegram accepts as a secret token.
_SECRET_FORMAT = re.compile(r"[A-Za-z0-9_-]{1,256}")


def secret_token(configured: str | None) -> str:
    """The webhook's secret token: ``configured``, else the one generated in the state dir.

    Raises:
        ConfigError: The configured value is not 1-256 characters of ``A-Z a-z 0-9 _ -``.
    """
    token = (configured or "").strip() or secrets.load_or_create(
        load_settings().state_dir / "telegram_secret_token"
    )
    if not _SECRET_FORMAT.fullmatch(token):
        raise ConfigError(f"{SECRET_VARIABLE} must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
    return token


def secret_valid(expected: str, received: str | None) -> bool:
    """Whether the update's secret-token header is ours (constant-time comparison)."""
    return bool(expected) and hmac.compare_digest(
        (received or "").encode("utf-8"), expected.encode("utf-8")
    )


def bearer_valid(expected: str, authorization: str | None) -> bool:
    """Whether ``Authorization`` is ``Bearer <expected>`` (constant-time comparison)."""
    scheme, _, token = (authorization or "").partition(" ")
    return (
        bool(expected)
        and scheme.lower() == "bearer"
        and hmac.compare_digest(token.strip().encode("utf-8"), expected.encode("utf-8"))
    )


def update_key(update: Any) -> str | None:
    """The id Telegram repeats when it retries an update, or None."""
    if isinstance(update, dict) and isinstance(update.get("update_id"), int):
        return str(update["update_id"])
    return None


class TelegramOutputChannel(TelegramOutput):
    """Telegram output: split long texts, inline keyboard with one button per row."""

    aliases = PayloadAliases()

    def __init__(
        self, access_token: str | None, api_url: str | None = None, limit: int = TELEGRAM_LIMIT
    ) -> None:
        server = TelegramAPIServer.from_base(api_url) if api_url else TELEGRAM_PRODUCTION
        Bot.__init__(self, access_token, server=server)
        self.limit = limit

    async def register_webhook(self, url: str | None, secret: str) -> bool:
        """``setWebhook`` with the secret token (aiogram 2.15 has no parameter for it)."""
        payload = {"url": url or "", "secret_token": secret}
        return bool(await self.request(api.Methods.SET_WEBHOOK, payload))

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


class TelegramChannel(PlatformInput, TelegramInput):
    """Telegram input (``/webhooks/telegram/webhook``)."""

    limit = TELEGRAM_LIMIT
    secret: str = ""

    def configure(self, credentials: Mapping[str, Any]) -> None:
        super().configure(credentials)
        self.secret = secret_token(credentials.get("secret_token"))

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        aliases = TelegramOutputChannel.aliases
        resolved = rewrite_text(on_new_message, lambda m: aliases.resolve(m.text))
        blueprint = super().blueprint(resolved)
        seen = SeenIds()
        pending: set[asyncio.Task[Any]] = set()

        @blueprint.middleware("request")
        async def operator_only(request: Request) -> HTTPResponse | None:
            if request.path.rstrip("/").endswith("/set_webhook"):
                return await self.set_webhook_by_operator(request)
            return None

        async def verify(request: Request) -> HTTPResponse | None:
            if not secret_valid(self.secret, request.headers.get(SECRET_HEADER)):
                logger.warning("Telegram update without the webhook's secret token refused")
                return response.text("invalid secret token", status=HTTPStatus.FORBIDDEN)
            update = request.json
            key = update_key(update)
            if key is not None and not seen.first_time(key):
                logger.info("Telegram update %s delivered again; already answered", key)
                return response.text("success")
            query = update.get("callback_query") if isinstance(update, dict) else None
            if isinstance(query, dict) and query.get("id"):
                task = asyncio.ensure_future(self.acknowledge(str(query["id"])))
                pending.add(task)
                task.add_done_callback(pending.discard)
            return None

        check_webhook(blueprint, verify)
        return blueprint

    async def set_webhook_by_operator(self, request: Request) -> HTTPResponse:
        """``/set_webhook``: re-register the webhook (with the secret token), for the
        operator only (``Authorization: Bearer <REST token>``)."""
        if not bearer_valid(
            secrets.rest_token(load_settings()), request.headers.get("Authorization")
        ):
            logger.warning("set_webhook without the REST bearer token refused")
            return response.text(
                "unauthorized",
                status=HTTPStatus.UNAUTHORIZED,
                headers={"WWW-Authenticate": "Bearer"},
            )
        channel = TelegramOutputChannel(self.access_token, self.api_url, self.limit)
        try:
            registered = await channel.register_webhook(self.webhook_url, self.secret)
        except Exception as exc:
            logger.warning("Telegram setWebhook failed: %s", type(exc).__name__)
            registered = False
        finally:
            await channel.session.close()
        if registered:
            return response.text("Webhook setup successful")
        return response.text("Invalid webhook", status=HTTPStatus.BAD_GATEWAY)

    async def acknowledge(self, query_id: str) -> None:
        """Tell Telegram a button press arrived (its client stops the spinner)."""
        channel = TelegramOutputChannel(self.access_token, self.api_url, self.limit)
        try:
            await channel.answer_callback_query(query_id)
        except Exception as exc:
            logger.info("answerCallbackQuery failed: %s", type(exc).__name__)
        finally:
            await channel.session.close()

    def get_output_channel(self) -> TelegramOutputChannel:
        channel = TelegramOutputChannel(self.access_token, self.api_url, self.limit)

        async def register() -> None:
            try:
                await channel.register_webhook(self.webhook_url, self.secret)
            finally:
                # the session belongs to this short-lived loop; Sanic's loop opens its own
                await channel.session.close()

        asyncio.run(register())
        return channel
