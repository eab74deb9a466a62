"""Facebook Messenger (``/webhooks/facebook/webhook``).

A POST must carry ``X-Hub-Signature-256`` (HMAC-SHA256 of the body with the app secret);
the older SHA-1 ``X-Hub-Signature`` alone is refused (403), as is a wrong signature.
Meta redelivers a batch it thinks failed: a message whose ``mid`` was already accepted
is not processed again, and a delivery holding nothing new is acknowledged with 200.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from fbmessenger import MessengerClient
from fbmessenger.attachments import Image
from fbmessenger.elements import Text as FBText
from fbmessenger.quick_replies import QuickReplies, QuickReply
from fbmessenger.sender_actions import SenderAction
from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.facebook import FacebookInput, Messenger, MessengerBot
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from addons.platforms.calls import PLATFORM_TIMEOUT, PlatformTimeout, call_platform
from addons.platforms.dedupe import SeenIds
from addons.platforms.handlers import Button, Handler, PlatformInput
from addons.platforms.options import numbered_options
from addons.platforms.text import shorten, split_text

logger = logging.getLogger(__name__)

MESSENGER_LIMIT = 2000
MESSENGER_TITLE_LIMIT = 20  # a quick reply's title


def hub_signature_valid(secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    """Check ``X-Hub-Signature-256`` (``sha256=<hex>``); SHA-1 is not accepted."""
    method, _, signature = (headers.get("X-Hub-Signature-256") or "").partition("=")
    if not secret or method != "sha256" or not signature:
        return False
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.strip().lower().encode("utf-8"))


def message_id(event: Mapping[str, Any]) -> str | None:
    """The ``mid`` of a messaging event (a message or a postback), or None."""
    for kind in ("message", "postback"):
        part = event.get(kind)
        if isinstance(part, dict) and isinstance(part.get("mid"), str) and part["mid"]:
            return str(part["mid"])
    return None


def without_seen(payload: Any, seen: SeenIds) -> tuple[Any, int]:
    """The payload without the messaging events already accepted, and how many remain."""
    if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
        return payload, 1
    remaining = 0
    entries = []
    for entry in payload["entry"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("messaging"), list):
            continue
        events = []
        for event in entry["messaging"]:
            key = message_id(event) if isinstance(event, dict) else None
            if key is None or seen.first_time(key):
                events.append(event)
            else:
                logger.info("Messenger message %s delivered again; already answered", key)
        remaining += len(events)
        entries.append({**entry, "messaging": events})
    return {**payload, "entry": entries}, remaining


def messenger_client(page_access_token: str, api_url: str | None) -> MessengerClient:
    client = MessengerClient(page_access_token)
    if api_url:
        client.graph_url = api_url.rstrip("/")
    return client


class MessengerOutputChannel(MessengerBot):
    """Messenger output: split long texts, buttons as quick replies (titles of at most
    20 characters; when one is cut, the full titles are listed as numbered options).

    Every Graph API call runs off the event loop with a timeout
    (:func:`addons.platforms.calls.call_platform`); a failed or timed-out call is logged
    and the turn goes on, as a refused send does in fbmessenger.
    """

    def __init__(self, client: MessengerClient, limit: int = MESSENGER_LIMIT) -> None:
        super().__init__(client)
        self.limit = limit

    async def post(self, recipient_id: str, payload: Any) -> None:
        """Send one message payload to the Graph API, off the event loop."""
        try:
            await call_platform(
                "Messenger message",
                self.messenger_client.send,
                payload,
                recipient_id,
                "RESPONSE",
                timeout=PLATFORM_TIMEOUT,
            )
        except PlatformTimeout:
            pass
        except Exception as exc:
            logger.error("sending a Messenger message failed: %s", type(exc).__name__)

    async def send_action(self, recipient_id: str, sender_action: str) -> None:
        try:
            await call_platform(
                "Messenger sender action",
                self.messenger_client.send_action,
                SenderAction(sender_action).to_dict(),
                recipient_id,
                timeout=PLATFORM_TIMEOUT,
            )
        except PlatformTimeout:
            pass
        except Exception as exc:
            logger.error("sending a Messenger sender action failed: %s", type(exc).__name__)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        for part in split_text(text, self.limit):
            await self.post(recipient_id, FBText(text=part).to_dict())

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self.post(recipient_id, Image(url=image).to_dict())

    async def send_elements(
        self, recipient_id: str, elements: Iterable[dict[str, Any]], **kwargs: Any
    ) -> None:
        elements = list(elements)
        for element in elements:
            if "buttons" in element:
                self._add_postback_info(element["buttons"])
        payload = {
            "attachment": {
                "type": "template",
                "payload": {"template_type": "generic", "elements": elements},
            }
        }
        await self.post(recipient_id, payload)

    async def send_custom_json(self, recipient_id: str, json_message: Any, **kwargs: Any) -> None:
        messages = json_message if isinstance(json_message, list) else [json_message]
        for message in messages:
            if isinstance(message, dict) and "sender" in message:
                recipient_id = message.pop("sender", {}).pop("id", recipient_id)
                break
        await self.post(recipient_id, json_message)

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
            await self.post(recipient_id, FBText(text=part).to_dict())
        replies = QuickReplies(
            quick_replies=[
                QuickReply(title=title, payload=str(b["payload"]))
                for title, b in zip(titles, buttons, strict=True)
            ]
        )
        await self.post(recipient_id, FBText(text=last, quick_replies=replies).to_dict())

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


class FacebookChannel(PlatformInput, FacebookInput):
    """Facebook Messenger input (``/webhooks/facebook/webhook``)."""

    limit = MESSENGER_LIMIT

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        fb_webhook = Blueprint("fb_webhook", __name__)
        seen = SeenIds()

        @fb_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @fb_webhook.route("/webhook", methods=["GET"])
        async def token_verification(request: Request) -> HTTPResponse:
            expected = (self.fb_verify or "").encode("utf-8")
            given = (request.args.get("hub.verify_token") or "").encode("utf-8")
            if expected and hmac.compare_digest(given, expected):
                return response.text(request.args.get("hub.challenge") or "")
            logger.warning("invalid Messenger verify token")
            return response.text("failure, invalid token", status=HTTPStatus.FORBIDDEN)

        @fb_webhook.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            if not hub_signature_valid(self.fb_secret, request.body, request.headers):
                logger.warning("Messenger request without a valid X-Hub-Signature-256 refused")
                return response.text("not validated", status=HTTPStatus.FORBIDDEN)
            payload, remaining = without_seen(request.json, seen)
            if not remaining:
                return response.text("success")
            messenger = NeurobotMessenger(
                self.fb_access_token, on_new_message, self.api_url, self.limit
            )
            await messenger.handle(payload, self.get_metadata(request))
            return response.text("success")

        return fb_webhook

    def get_output_channel(self) -> OutputChannel:
        return MessengerOutputChannel(
            messenger_client(self.fb_access_token, self.api_url), self.limit
        )
