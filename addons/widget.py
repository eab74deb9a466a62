"""The demo web widget, served by the Rasa server itself.

``addons.widget.WidgetChannel`` (listed in ``credentials.yml``) serves the files of
``widget/`` at ``/webhooks/widget/``, same origin as the socket.io channel the page talks
to. The socket.io client comes from ``widget/node_modules`` (``npm ci`` in ``widget/``);
nothing is fetched from a CDN. The channel receives no messages itself; it also serves
``config.json``: the disclaimer, read from ``domain.yml``, and the emergency number. The
page draws each bot message by the response it names (``addons/cards.py``), never by its
wording; its own labels are data attributes of ``index.html``. Another site embeds the
chat with one script tag (``widget.js`` then loads the page's markup, its style and the
socket.io client from this channel; ``widget/README.md``).

``WidgetSocketIOInput`` is Rasa's socket.io channel with these changes:

* **Session ids the client cannot choose, that end.** On ``session_request`` the server
  hands out ``<random id>.<time>.<signature>`` (HMAC-SHA256 with
  ``NEUROBOT_SESSION_SECRET`` or ``var/session_secret``); the page keeps it and sends it
  back after a reload. The time is renewed while the patient chats (a new
  ``session_confirm`` at most once a minute); an id whose signature does not verify, or
  that was idle longer than ``NEUROBOT_SESSION_IDLE_MINUTES``, gets a fresh session
  (the page then starts a new conversation). The server remembers which
  session each socket joined, and ``user_uttered`` always goes to that session: a
  ``session_id`` in the payload is ignored. So no socket can join, read or write
  another patient's conversation without holding that conversation's signed id.
  (Rasa's ``jwt_key`` would only check a token when the socket connects; it does not
  tie the token to a session, and it needs a login service to hand out tokens.)
* **Origins.** A browser connection is accepted only from ``NEUROBOT_ALLOWED_ORIGINS``
  (default: the server's own origin, ``http://127.0.0.1:PORT`` and
  ``http://localhost:PORT``); Rasa's server accepts every origin.
* A bot message goes out as one ``bot_uttered`` event, text whole (Rasa's cuts it at
  every blank line, which tears an answer card apart): ``{"text", "buttons",
  "metadata": {"custom": <card>}}``. The card (``{"response": "utter_archive_answer",
  "title": ...}``) is what our page draws; a stock client such as rasa-webchat 1.0.1
  ignores ``metadata`` and shows the text and buttons (it shows nothing for a message
  with any other key beside ``text`` and ``buttons``, such as ``custom`` or
  ``quick_replies``).
* **CORS once.** python-engineio answers a socket.io request's CORS itself (for the
  allowed origins only); Sanic-CORS (``rasa run --cors``) is told to leave those
  responses alone, else the ``Access-Control-Allow-Origin`` header comes twice and
  browsers refuse the response.
* A ``user_uttered`` payload that is not an object, or a message that is not text,
  reaches the guard as an empty message (Rasa's handler would fail in silence).
* **Limits.** A packet over :data:`bot.guard.inbound.MAX_BODY_BYTES` closes the socket before it
  is read; an address over ``NEUROBOT_RATE_ADDRESS`` (messages and new sessions) gets
  the "slow down" reply, nothing processed (:mod:`bot.guard.ratelimit`).
* ``enter_room`` is awaited: with python-socketio >= 5.9 it is a coroutine, which
  Rasa 3.6 never awaits, so the socket would never join its session's room.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import inspect
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage, decode_bearer_token
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sanic_cors.core import SANIC_CORS_EVALUATED
from socketio import AsyncServer

from addons.cards import named
from addons.platforms.handlers import Handler
from bot.domain import DOMAIN, response_text
from bot.guard.inbound import MAX_BODY_BYTES
from bot.guard.ratelimit import shared_limiter
from bot.names import UTTER_DISCLAIMER, UTTER_SLOW_DOWN
from bot.secrets import session_secret
from bot.settings import PROJECT_ROOT, Settings, load_settings

logger = logging.getLogger(__name__)


WIDGET_DIR = PROJECT_ROOT / "widget"
SOCKET_IO_CLIENT = WIDGET_DIR / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"

#: The files served, by URL name: nothing else under widget/ is reachable.
FILES: dict[str, tuple[Path, str]] = {
    "index.html": (WIDGET_DIR / "index.html", "text/html; charset=utf-8"),
    "widget.js": (WIDGET_DIR / "widget.js", "text/javascript; charset=utf-8"),
    "widget.css": (WIDGET_DIR / "widget.css", "text/css; charset=utf-8"),
    "socket.io.min.js": (SOCKET_IO_CLIENT, "text/javascript; charset=utf-8"),
}

#: The random part of a session id (also the conversation's id in the tracker store).
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
#: Bytes of randomness in a new session id (128 bits).
SESSION_BYTES = 16
#: A confirmed session is signed again (its time renewed) after this many seconds.
RENEW_SECONDS = 60.0
#: Put before the id when it is signed, so that the key signs nothing else by mistake.
_SIGNED_AS = b"neurobot web chat session:"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "style-src 'self'; script-src 'self'; frame-ancestors 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def page_config(domain_path: Path = DOMAIN, settings: Settings | None = None) -> dict[str, Any]:
    """What the page needs from the domain and the settings: the disclaimer and the
    emergency number (its status lines name it while the server cannot be reached)."""
    settings = settings or load_settings()
    return {
        "disclaimer": " ".join(response_text(UTTER_DISCLAIMER, domain_path).split()),
        "emergency_number": settings.emergency_number,
    }


def _signature(key: bytes, session_id: str, issued: str) -> str:
    signed = _SIGNED_AS + f"{session_id}.{issued}".encode()
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def signed_session(key: bytes, session_id: str, now: float | None = None) -> str:
    """``session_id`` signed with the time it was last used: ``<id>.<time>.<signature>``."""
    issued = format(int(time.time() if now is None else now), "x")
    return f"{session_id}.{issued}.{_signature(key, session_id, issued)}"


def new_session(key: bytes, now: float | None = None) -> tuple[str, str]:
    """A fresh session: its id and the signed id the page keeps."""
    session_id = secrets.token_urlsafe(SESSION_BYTES)
    return session_id, signed_session(key, session_id, now)


def verified_session(
    key: bytes, signed: Any, idle_seconds: float | None = None, now: float | None = None
) -> str | None:
    """The session id inside ``signed`` when its signature is ``key``'s and it was used
    within ``idle_seconds`` (any time when None), else None."""
    if not isinstance(signed, str) or signed.count(".") != 2:
        return None
    session_id, issued, signature = signed.split(".")
    if not SESSION_ID.fullmatch(session_id) or not re.fullmatch(r"[0-9a-f]{1,12}", issued):
        return None
    expected = _signature(key, session_id, issued)
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        return None
    age = (time.time() if now is None else now) - int(issued, 16)
    if idle_seconds is not None and age > idle_seconds:
        return None
    return session_id


def origin_check(settings: Settings) -> Callable[[str | None, Mapping[str, Any]], bool]:
    """engine.io's ``cors_allowed_origins`` callable: whether a browser's ``Origin`` may
    connect. ``settings.origins``, with the server's own origins on the port the
    connection came in on (``rasa run --port`` is not in the settings)."""

    def allowed(origin: str | None, environ: Mapping[str, Any]) -> bool:
        if not origin:
            return False
        conn_info = getattr(environ.get("sanic.request"), "conn_info", None)
        port = getattr(conn_info, "server_port", 0) or settings.rasa_port
        allowed_origins = dataclasses.replace(settings, rasa_port=port).origins
        if origin.rstrip("/") in allowed_origins:
            return True
        logger.warning("refused a socket.io connection from origin %r", origin[:200])
        return False

    return allowed


async def _awaited(result: Any) -> None:
    if inspect.isawaitable(result):
        await result


def bot_event(
    text: str, buttons: list[dict[str, Any]] | None = None, card: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The ``bot_uttered`` event of one bot message: ``text``, ``buttons`` when there are
    any, and the card under ``metadata.custom`` (where stock clients do not look)."""
    event: dict[str, Any] = {"text": text.strip()}
    if buttons:
        event["buttons"] = [{"title": b["title"], "payload": b["payload"]} for b in buttons]
    if card is not None:
        event["metadata"] = {"custom": card}
    return event


class WidgetSocketIOOutput(SocketIOOutput):
    """One ``bot_uttered`` event per bot message, text whole, buttons and card attached."""

    async def send_card(
        self, recipient_id: str, message: dict[str, Any], card: dict[str, Any]
    ) -> None:
        buttons = message.get("buttons") or message.get("quick_replies")
        await self._send_message(
            recipient_id, bot_event(str(message.get("text") or ""), buttons, card)
        )

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._send_message(recipient_id, bot_event(text))

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self._send_message(recipient_id, bot_event(text, buttons))

    async def send_quick_replies(
        self, recipient_id: str, text: str, quick_replies: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies)


class WidgetSocketIOInput(SocketIOInput):
    """Rasa's socket.io channel (``/socket.io``) with signed session ids, checked origins
    and ``WidgetSocketIOOutput``."""

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        settings = load_settings()
        key = session_secret(settings).encode()
        idle = settings.session_idle_minutes * 60
        limiter = shared_limiter(settings)
        number = settings.emergency_number
        slow_down = named(UTTER_SLOW_DOWN, response_text(UTTER_SLOW_DOWN, emergency_number=number))
        slow_down_event = bot_event(slow_down["text"], card=slow_down["custom"])
        sio = AsyncServer(
            async_mode="sanic",
            cors_allowed_origins=origin_check(settings),
            # a bigger packet closes the socket before anything reads it
            max_http_buffer_size=MAX_BODY_BYTES,
        )
        handle_request = sio.eio.handle_request

        async def cors_once(request: Request, *args: Any) -> Any:
            # python-engineio sets the CORS headers (allowed origins only): Sanic-CORS,
            # which adds its own to every response, skips a request marked evaluated
            setattr(request.ctx, SANIC_CORS_EVALUATED, "1")
            return await handle_request(request, *args)

        # before the blueprint attaches the server's route to the app
        sio.eio.handle_request = cors_once
        blueprint = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio
        namespace = self.namespace
        # socket id -> the session it joined and when it was last signed; every message
        # of the socket goes there
        joined: dict[str, tuple[str, float]] = {}
        # socket id -> the client's address, for the per-address limit
        addresses: dict[str, str] = {}

        @blueprint.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        async def confirm(sid: str, session_id: str) -> None:
            now = time.time()
            joined[sid] = (session_id, now)
            signed = signed_session(key, session_id, now)
            await sio.emit("session_confirm", signed, room=sid, namespace=namespace)

        async def join(sid: str, signed: Any) -> str | None:
            session_id = verified_session(key, signed, idle) if self.session_persistence else None
            if session_id is None:
                if not limiter.allow("address", addresses.get(sid, "")):
                    return None
                session_id = new_session(key)[0]
            earlier = joined.get(sid)
            # recorded before the first await: a message right behind the request must
            # find it
            joined[sid] = (session_id, time.time())
            if earlier is not None and earlier[0] != session_id:
                await _awaited(sio.leave_room(sid, earlier[0], namespace=namespace))
            await _awaited(sio.enter_room(sid, session_id, namespace=namespace))
            await confirm(sid, session_id)
            return session_id

        async def connect(sid: str, environ: Any, auth: Any = None) -> bool:
            request = environ.get("sanic.request") if isinstance(environ, dict) else None
            addresses[sid] = str(getattr(request, "remote_addr", "") or getattr(request, "ip", ""))
            if not self.jwt_key:  # as Rasa's: a JWT is required only when configured
                return True
            token = auth.get("token") if isinstance(auth, dict) else None
            return bool(token and decode_bearer_token(token, self.jwt_key, self.jwt_algorithm))

        async def session_request(sid: str, data: Any = None) -> None:
            await join(sid, data.get("session_id") if isinstance(data, dict) else None)

        async def disconnect(sid: str, *reason: Any) -> None:
            joined.pop(sid, None)
            addresses.pop(sid, None)

        async def user_uttered(sid: str, data: Any = None) -> Any:
            if not limiter.allow("address", addresses.get(sid, "")):
                await sio.emit(self.bot_message_evt, slow_down_event, room=sid)
                return None
            current = joined.get(sid)
            session_id = current[0] if current else await join(sid, None)
            if session_id is None:
                await sio.emit(self.bot_message_evt, slow_down_event, room=sid)
                return None
            if current and time.time() - current[1] > RENEW_SECONDS:
                await confirm(sid, session_id)  # the page keeps the renewed id
            text = data.get("message") if isinstance(data, dict) else None
            message = UserMessage(
                text if isinstance(text, str) else "",
                WidgetSocketIOOutput(sio, self.bot_message_evt),
                session_id,
                input_channel=self.name(),
            )
            return await on_new_message(message)

        sio.on("connect", namespace=namespace)(connect)
        sio.on("session_request", namespace=namespace)(session_request)
        sio.on("disconnect", namespace=namespace)(disconnect)
        sio.on(self.user_message_evt, namespace=namespace)(user_uttered)
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
