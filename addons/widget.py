"""The demo web widget, served by the Rasa server itself.

``addons.widget.WidgetChannel`` (listed in ``credentials.yml``) serves the files of
``widget/`` at ``/webhooks/widget/``, same origin as the socket.io channel the page talks
to. The socket.io client comes from ``widget/node_modules`` (``npm ci`` in ``widget/``);
nothing is fetched from a CDN. The channel receives no messages itself; it also serves
``config.json``: the disclaimer and the openings of the safety advice and emergency
messages, read from ``domain.yml`` so that the page has no text of its own to keep in step.

``WidgetSocketIOInput`` is Rasa's socket.io channel with two changes:

* a bot message goes out as one ``bot_uttered`` event, text whole (Rasa's cuts it at
  every blank line, which tears an answer card apart), with ``buttons`` and the same as
  ``quick_replies``;
* a ``user_uttered`` payload that is not an object, or a message that is not text,
  reaches the guard as an empty message (Rasa's handler would fail in silence);
* ``session_request`` awaits ``enter_room``: with python-socketio >= 5.9 it is a
  coroutine, which Rasa 3.6 never awaits, so with ``session_persistence: true`` the
  socket never joins its session's room and no bot message reaches the page. A session
  id sent by the page is used only when it looks like one we hand out.
"""

from __future__ import annotations

import inspect
import re
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from addons.responses import DOMAIN, response_text
from bot.settings import PROJECT_ROOT, load_settings

Handler = Callable[[UserMessage], Awaitable[Any]]

WIDGET_DIR = PROJECT_ROOT / "widget"
SOCKET_IO_CLIENT = WIDGET_DIR / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"

#: The files served, by URL name: nothing else under widget/ is reachable.
FILES: dict[str, tuple[Path, str]] = {
    "index.html": (WIDGET_DIR / "index.html", "text/html; charset=utf-8"),
    "widget.js": (WIDGET_DIR / "widget.js", "text/javascript; charset=utf-8"),
    "widget.css": (WIDGET_DIR / "widget.css", "text/css; charset=utf-8"),
    "socket.io.min.js": (SOCKET_IO_CLIENT, "text/javascript; charset=utf-8"),
}

SESSION_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "style-src 'self'; script-src 'self'; frame-ancestors 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def opening(text: str) -> str:
    """The first sentence of a response, up to its first placeholder."""
    text = " ".join(text.split()).split("{")[0]
    match = re.match(r".+?[.!?](?=\s|$)", text)
    return (match.group(0) if match else text).strip()


def page_config(domain_path: Path = DOMAIN) -> dict[str, Any]:
    """What the page needs from the domain and the settings."""

    def text(name: str) -> str:
        return " ".join(response_text(name, domain_path).split())

    settings = load_settings()
    return {
        "disclaimer": text("utter_disclaimer"),
        "safety": [opening(text("utter_safety_advice"))],
        "emergency": [opening(text("utter_emergency")), opening(text("utter_self_harm"))],
        "emergency_number": settings.emergency_number,
    }


class WidgetSocketIOOutput(SocketIOOutput):
    """One ``bot_uttered`` event per bot message, text whole, buttons attached."""

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._send_message(recipient_id, {"text": text.strip()})

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        options = [{"title": b["title"], "payload": b["payload"]} for b in buttons]
        quick = [{"content_type": "text", **o} for o in options]
        await self._send_message(
            recipient_id, {"text": text.strip(), "buttons": options, "quick_replies": quick}
        )

    async def send_quick_replies(
        self, recipient_id: str, text: str, quick_replies: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies)


class WidgetSocketIOInput(SocketIOInput):
    """Rasa's socket.io channel (``/socket.io``) sending through ``WidgetSocketIOOutput``."""

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        async def whole_messages(message: UserMessage) -> Any:
            inner = message.output_channel
            if isinstance(inner, SocketIOOutput):
                message.output_channel = WidgetSocketIOOutput(inner.sio, inner.bot_message_evt)
            return await on_new_message(message)

        blueprint = super().blueprint(whole_messages)
        sio = self.sio
        assert sio is not None

        async def session_request(sid: str, data: dict[str, Any] | None) -> None:
            wanted = (data or {}).get("session_id")
            valid = isinstance(wanted, str) and SESSION_ID.fullmatch(wanted)
            session_id = wanted if valid else uuid.uuid4().hex
            if self.session_persistence:
                entered = sio.enter_room(sid, session_id, namespace=self.namespace)
                if inspect.isawaitable(entered):
                    await entered
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

        # replaces Rasa's handler of the same event
        sio.on("session_request", namespace=self.namespace)(session_request)

        # Rasa's handler fails on a payload that is not an object or a message that is
        # not text (the patient would hear nothing); give it what it expects, and the
        # guard answers an empty message politely.
        rasa_handler = sio.handlers[self.namespace or "/"][self.user_message_evt]

        async def user_uttered(sid: str, data: Any) -> Any:
            payload = dict(data) if isinstance(data, dict) else {}
            if not isinstance(payload.get("message"), str):
                payload["message"] = ""
            return await rasa_handler(sid, payload)

        sio.on(self.user_message_evt, namespace=self.namespace)(user_uttered)
        return blueprint

    def get_output_channel(self) -> WidgetSocketIOOutput | None:
        if self.sio is None:
            return None
        return WidgetSocketIOOutput(self.sio, self.bot_message_evt)


class WidgetChannel(InputChannel):
    """Serves the demo page at ``/webhooks/widget/``."""

    @classmethod
    def name(cls) -> str:
        return "widget"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        widget = Blueprint("neurobot_widget", __name__)

        async def serve(name: str) -> HTTPResponse:
            path, content_type = FILES[name]
            if not path.is_file():
                hint = " (run `npm ci` in widget/)" if path == SOCKET_IO_CLIENT else ""
                return response.text(f"{name} is missing{hint}", status=404)
            return await response.file(path, mime_type=content_type, headers=SECURITY_HEADERS)

        @widget.route("/", methods=["GET"])
        async def index(request: Request) -> HTTPResponse:
            if not request.path.endswith("/"):
                return response.redirect(request.path + "/")
            return await serve("index.html")

        config = page_config()

        @widget.route("/config.json", methods=["GET"])
        async def page(_: Request) -> HTTPResponse:
            return response.json(config, headers={"Cache-Control": "no-cache"})

        @widget.route("/<name:str>", methods=["GET"])
        async def static(_: Request, name: str) -> HTTPResponse:
            name = name or "index.html"
            if name not in FILES:
                return response.text("not found", status=404)
            return await serve(name)

        return widget
