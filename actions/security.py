"""What closes rasa_sdk's action server: the shared secret, size caps, plain errors.

rasa_sdk 3.6.2 answers anyone (``/actions`` lists the actions, ``/webhook`` runs one on
whatever tracker it is sent), inflates a deflate body without a limit, and answers an
exception with HTTP 500 holding ``request_body``, the whole tracker with every message the
patient typed (which the Rasa server then logs). :func:`secure` changes that on the app
rasa_sdk builds; actions/server.py applies it before the server starts.
"""

from __future__ import annotations

import hmac
import logging
import zlib
from http import HTTPStatus

from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)

#: Largest request body read (a tracker of a long conversation is a few hundred kB).
MAX_BODY_BYTES = 1_000_000
#: Largest body a compressed request may inflate to.
MAX_INFLATED_BYTES = 4_000_000
#: Paths answered without the token: they hold no data.
OPEN_PATHS = frozenset({"/health"})
#: Content encodings whose inflated size is checked (rasa_sdk inflates ``deflate``).
COMPRESSED = frozenset({"deflate", "gzip"})


def presented_token(request: Request) -> str:
    """The token a request carries: ``Authorization: Bearer <token>`` (what endpoints.yml
    sends), or the ``token`` query parameter (Rasa's ``action_endpoint: token:``)."""
    scheme, _, value = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return str(request.args.get("token") or "")


def token_matches(presented: str, expected: str) -> bool:
    """Constant-time comparison; an empty expected token matches nothing."""
    return bool(expected) and hmac.compare_digest(presented.encode(), expected.encode())


def inflates_within(body: bytes, limit: int) -> bool | None:
    """Whether a zlib or gzip ``body`` inflates to at most ``limit`` bytes.

    Inflates at most ``limit + 1`` bytes, so a bomb costs no more than the limit.

    Returns:
        True or False; None when ``body`` is not zlib or gzip data at all.
    """
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)  # zlib or gzip header
    try:
        inflated = inflater.decompress(body, limit + 1)
    except zlib.error:
        return None
    return len(inflated) <= limit


def plain(status: int) -> HTTPResponse:
    """A JSON error that names the status only: never the request, never a message."""
    return response.json({"error": HTTPStatus(status).phrase}, status=status)


def secure(
    app: Sanic,
    token: str,
    max_body: int = MAX_BODY_BYTES,
    max_inflated: int = MAX_INFLATED_BYTES,
) -> Sanic:
    """Close rasa_sdk's ``app``: the token on every path but ``/health``, size caps,
    errors without the request.

    Args:
        app: The app of ``rasa_sdk.endpoint.create_app`` (before it runs).
        token: The shared secret the Rasa server sends (``bot.secrets.actions_token``).
        max_body: Largest request body; a larger one gets 413 before it is read further.
        max_inflated: Largest inflated size of a deflate or gzip body; 413 above it.

    Returns:
        The same app.
    """
    if not token:
        raise ValueError("the action server needs a token")
    app.config.REQUEST_MAX_SIZE = max_body

    @app.middleware("request")
    async def require_token(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS:
            return None
        if not token_matches(presented_token(request), token):
            logger.warning("%s %s refused: no valid token", request.method, request.path)
            return HTTPResponse(status=401, headers={"WWW-Authenticate": "Bearer"})
        return None

    @app.middleware("request")
    async def cap_inflated_size(request: Request) -> HTTPResponse | None:
        encoding = (request.headers.get("Content-Encoding") or "").strip().lower()
        if encoding not in COMPRESSED or not request.body:
            return None
        fits = inflates_within(request.body, max_inflated)
        if fits is None:
            return plain(400)
        if not fits:
            logger.warning(
                "%s %s refused: inflates past %d bytes", request.method, request.path, max_inflated
            )
            return plain(413)
        return None

    # Replaces rasa_sdk's handler (the same key): it logged the request and answered
    # with the request body.
    @app.exception(Exception)
    async def plain_error(request: Request | None, exception: Exception) -> HTTPResponse:
        where = f"{request.method} {request.path}" if request is not None else "a request"
        if isinstance(exception, SanicException):
            status = int(getattr(exception, "status_code", 500) or 500)
            logger.warning("%s answered %d (%s)", where, status, type(exception).__name__)
            return plain(status)
        logger.error("%s failed with %s; answered 500", where, type(exception).__name__)
        return plain(500)

    return app
