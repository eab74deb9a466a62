"""Twilio SMS and WhatsApp (``/webhooks/twilio/webhook``).

Requests must carry a valid ``X-Twilio-Signature`` (Rasa does not check it), computed
over ``webhook_url`` (the public URL configured at Twilio; the request's own URL when not
set); otherwise 403. A repeated ``MessageSid`` (Twilio's retry, or a replay of a signed
request) is acknowledged with an empty TwiML answer and not processed again. Buttons are
sent as numbered options; a digit coming back is mapped to the option's payload.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from rasa.core.channels.channel import OutputChannel
from rasa.core.channels.twilio import TwilioInput, TwilioOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator

from addons.platforms.calls import PLATFORM_TIMEOUT, PlatformTimeout, call_platform
from addons.platforms.dedupe import SeenIds
from addons.platforms.handlers import Button, Handler, PlatformInput, check_webhook, rewrite_text
from addons.platforms.options import NumberedOptions, numbered_options
from addons.platforms.text import split_text

logger = logging.getLogger(__name__)

TWILIO_LIMIT = 1600
#: An answer that sends nothing back (the reply goes out through the API).
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'

#: Options last sent to each SMS/WhatsApp sender, in this process.
TWILIO_OPTIONS = NumberedOptions()


class TwilioOutputChannel(TwilioOutput):
    """Twilio output (SMS and WhatsApp): split long texts, buttons as numbered options.

    Each message is sent off the event loop with a timeout
    (:func:`addons.platforms.calls.call_platform`); a refused or timed-out message is
    logged (the error code, never the number or the text) and the turn goes on.
    """

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
        # the twilio client's HTTP requests wait forever by default
        self.http_client = TwilioHttpClient(timeout=PLATFORM_TIMEOUT)
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

    async def _send_message(self, message_data: dict[str, Any]) -> Any:
        try:
            return await call_platform("Twilio message", self.messages.create, **message_data)
        except PlatformTimeout:
            return None
        except TwilioRestException as exc:
            logger.error("Twilio refused a message (HTTP %s, error %s)", exc.status, exc.code)
        except Exception as exc:
            logger.error("sending a Twilio message failed: %s", type(exc).__name__)
        return None

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


class TwilioChannel(PlatformInput, TwilioInput):
    """Twilio input for SMS and WhatsApp (``/webhooks/twilio/webhook``)."""

    whatsapp_number: str | None = None
    webhook_url: str | None = None
    limit = TWILIO_LIMIT

    def configure(self, credentials: Mapping[str, Any]) -> None:
        super().configure(credentials)
        self.whatsapp_number = credentials.get("whatsapp_number") or None
        self.webhook_url = credentials.get("webhook_url") or None

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
        seen = SeenIds()

        async def verify(request: Request) -> HTTPResponse | None:
            if not self.signature_valid(request):
                logger.warning("Twilio request without a valid X-Twilio-Signature")
                return response.text("invalid signature", status=HTTPStatus.FORBIDDEN)
            sid = request.form.get("MessageSid")
            if sid and not seen.first_time(sid):
                logger.info("Twilio message %s delivered again; already answered", sid)
                return response.text(EMPTY_TWIML, content_type="text/xml")
            return None

        check_webhook(blueprint, verify)
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
