"""Slack (``/webhooks/slack/webhook``; Events API and interactivity).

Every request must carry Slack's v0 signature (``X-Slack-Signature``, HMAC-SHA256 of
``v0:<timestamp>:<body>`` with the signing secret) and an ``X-Slack-Request-Timestamp``
within 5 minutes of the server's clock; otherwise 400 and nothing is read. Slack retries
an event it thinks failed (``X-Slack-Retry-Num``) with the same ``event_id``: a repeated
event is acknowledged (200, ``X-Slack-No-Retry: 1``) and not processed again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from http import HTTPStatus
from typing import Any

from rasa.core.channels.channel import OutputChannel
from rasa.core.channels.slack import SlackBot, SlackInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from slack_sdk.web.async_client import AsyncWebClient

from addons.platforms.dedupe import SeenIds
from addons.platforms.handlers import Button, Handler, PlatformInput, check_webhook
from addons.platforms.text import shorten, split_text

logger = logging.getLogger(__name__)

SLACK_LIMIT = 3000  # a section block's text; a plain message may hold 40,000
SLACK_BUTTON_LIMIT = 75
#: Seconds a request's timestamp may differ from the server's clock (Slack's advice).
SLACK_WINDOW = 300


def signature_valid(
    secret: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    now: float | None = None,
) -> bool:
    """Whether a request is signed by Slack (v0) and its timestamp is within the window."""
    if not secret or not timestamp or not timestamp.isdigit() or not signature:
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > SLACK_WINDOW:
        return False
    digest = hmac.new(secret.encode("utf-8"), f"v0:{timestamp}:".encode() + body, hashlib.sha256)
    return hmac.compare_digest(f"v0={digest.hexdigest()}".encode(), signature.encode("utf-8"))


def delivery_key(content_type: str | None, body: bytes, form: Any) -> str | None:
    """The id Slack repeats when it retries: ``event_id`` of an event, ``trigger_id`` of
    an interaction; None when there is none."""
    try:
        if content_type == "application/json":
            data = json.loads(body or b"null")
            key = data.get("event_id") if isinstance(data, dict) else None
        elif content_type == "application/x-www-form-urlencoded":
            payload = json.loads(form.get("payload") or "null")
            key = payload.get("trigger_id") if isinstance(payload, dict) else None
        else:
            return None
    except (ValueError, UnicodeDecodeError):
        return None
    return key if isinstance(key, str) and key else None


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


class SlackChannel(PlatformInput, SlackInput):
    """Slack input (``/webhooks/slack/webhook``; Events API and interactivity)."""

    limit = SLACK_LIMIT

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        blueprint = super().blueprint(on_new_message)
        seen = SeenIds()

        async def verify(request: Request) -> HTTPResponse | None:
            if not signature_valid(
                self.slack_signing_secret,
                request.body,
                request.headers.get("X-Slack-Request-Timestamp"),
                request.headers.get("X-Slack-Signature"),
            ):
                logger.warning("Slack request without a valid signature or timestamp refused")
                return response.text(
                    "Message is not properly signed with a valid X-Slack-Signature header",
                    status=HTTPStatus.BAD_REQUEST,
                )
            content_type = request.headers.get("content-type")
            form = request.form if content_type == "application/x-www-form-urlencoded" else {}
            key = delivery_key(content_type, request.body, form)
            if key is not None and not seen.first_time(key):
                logger.info(
                    "Slack delivery %s repeated (retry %s); already answered",
                    key,
                    request.headers.get("X-Slack-Retry-Num", "-"),
                )
                return response.text("", headers={"X-Slack-No-Retry": "1"})
            return None

        check_webhook(blueprint, verify)
        return blueprint

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
