"""Microsoft Bot Framework (``/webhooks/botframework/webhook``).

Every POST carries a JWT from the Bot Framework connector service (``Authorization:
Bearer ...``). It is accepted only when all of these hold, else 401 and nothing is read:

* it names its key (``kid``) and is signed with RS256 by that key, one of those published
  in the OpenID metadata at ``openid_url`` (Microsoft's by default; the keys are fetched
  at start, daily, and again, at most every 5 minutes, when an unknown ``kid`` appears);
* the issuer is ``https://api.botframework.com`` (Bot Framework Emulator tokens, which
  come from other issuers and keys, are not accepted);
* the audience is our app id; it has not expired (5 minutes of clock skew allowed);
* its ``serviceurl`` claim equals the activity's ``serviceUrl``, which must be https:
  replies, with our access token, go to that URL. ``http://`` on a loopback host is
  allowed only with ``allow_loopback_http`` (``NEUROBOT_BOTFRAMEWORK_ALLOW_LOOPBACK_HTTP``),
  for the tests' stand-in.

A malformed token is a 401 like any other, never a 500. A repeated activity id in the same
conversation (the connector's retry) is acknowledged with 200 and not processed again.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import re
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests
from jwt.algorithms import RSAAlgorithm
from rasa.core.channels import botframework
from rasa.core.channels.botframework import BotFramework, BotFrameworkInput
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from addons.platforms.calls import PLATFORM_TIMEOUT, PlatformTimeout, call_platform
from addons.platforms.dedupe import SeenIds
from addons.platforms.handlers import Button, Handler, check_webhook
from addons.platforms.text import limit_from, split_text

logger = logging.getLogger(__name__)

BOTFRAMEWORK_LIMIT = 4000
MICROSOFT_TOKEN_URL = f"{botframework.MICROSOFT_OAUTH2_URL}/{botframework.MICROSOFT_OAUTH2_PATH}"
#: Who issues the tokens of the Bot Framework connector service.
ISSUERS = ("https://api.botframework.com",)
ALGORITHMS = ("RS256",)
#: Seconds of clock difference allowed on ``exp`` and ``nbf`` (Microsoft's advice).
CLOCK_SKEW = 300
#: Seconds between two fetches of the signing keys caused by an unknown ``kid``.
KEYS_RETRY = 300.0
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
_BEARER = re.compile(r"Bearer\s+(\S+)\s*", re.IGNORECASE)


class Refused(Exception):
    """A request that is not from the Bot Framework; the message says why (no secrets)."""


def token_claims(
    authorization: str | None,
    key_for: Callable[[str], Mapping[str, Any] | None],
    app_id: str,
    issuers: tuple[str, ...] = ISSUERS,
) -> dict[str, Any]:
    """The verified claims of the request's bearer token.

    Args:
        authorization: The ``Authorization`` header.
        key_for: The published JWK for a key id, or None when unknown.
        app_id: Our app id, the token's required audience.
        issuers: The accepted issuers.

    Raises:
        Refused: No, a malformed, or an unacceptable token.
    """
    if not app_id:
        raise Refused("no app id configured")
    match = _BEARER.fullmatch(authorization or "")
    if not match:
        raise Refused("no bearer token")
    token = match.group(1)
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise Refused("malformed token") from exc
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise Refused("token without kid")
    if header.get("alg") not in ALGORITHMS:
        raise Refused("token not signed with RS256")
    jwk = key_for(kid)
    if jwk is None:
        raise Refused("token signed by an unknown key")
    try:
        key = RSAAlgorithm.from_jwk(dict(jwk))
        claims = jwt.decode(
            token,
            key=key,  # type: ignore[arg-type]
            algorithms=list(ALGORITHMS),
            audience=app_id,
            issuer=list(issuers),
            leeway=CLOCK_SKEW,
            options={"require": ["exp", "iss", "aud"]},
        )
    except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
        raise Refused(f"token not valid ({type(exc).__name__})") from exc
    return dict(claims)


def check_service_url(
    activity: Any, claims: Mapping[str, Any], allow_loopback_http: bool = False
) -> None:
    """Check that the activity's ``serviceUrl`` is the token's and safe to send replies to.

    Raises:
        Refused: It is missing, differs from the token's ``serviceurl`` claim, or is not
            https (http on a loopback host only with ``allow_loopback_http``).
    """
    url = activity.get("serviceUrl") if isinstance(activity, dict) else None
    if not isinstance(url, str) or not url:
        raise Refused("activity without serviceUrl")
    claimed = claims.get("serviceurl", claims.get("serviceUrl"))
    if not isinstance(claimed, str) or claimed.rstrip("/") != url.rstrip("/"):
        raise Refused("serviceUrl differs from the token's")
    parts = urlsplit(url)
    loopback = parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS
    if parts.scheme != "https" and not (allow_loopback_http and loopback):
        raise Refused("serviceUrl is not https")


def activity_key(activity: Any) -> str | None:
    """The id the connector repeats when it retries an activity, or None."""
    if not isinstance(activity, dict) or not isinstance(activity.get("id"), str):
        return None
    conversation = activity.get("conversation")
    conversation_id = conversation.get("id") if isinstance(conversation, dict) else ""
    return f"{conversation_id}\n{activity['id']}"


def switched_on(value: Any) -> bool:
    """Whether a credentials flag (``1``, ``true``, ``yes``, ``on``) is set."""
    return str(value or "").strip().lower() in {"1", "true", "yes", "on"}


class BotFrameworkOutputChannel(BotFramework):
    """Bot Framework output: split long texts, buttons as suggested actions.

    The token request and every message run off the event loop with a timeout
    (:func:`addons.platforms.calls.call_platform`); a refused or timed-out message is
    logged (the HTTP status, never the text) and the turn goes on.
    """

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
        try:
            token_response = await call_platform(
                "Bot Framework token",
                requests.post,
                self.token_url,
                data=payload,
                timeout=PLATFORM_TIMEOUT,
            )
        except (PlatformTimeout, requests.RequestException) as exc:
            logger.error("could not get a Bot Framework token: %s", type(exc).__name__)
            return None
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

    async def send(self, message_data: dict[str, Any]) -> None:
        uri = f"{self.global_uri}conversations/{self.conversation['id']}/activities"
        headers = await self._get_headers()
        try:
            answer = await call_platform(
                "Bot Framework message",
                requests.post,
                uri,
                headers=headers,
                data=json.dumps(message_data),
                timeout=PLATFORM_TIMEOUT,
            )
        except PlatformTimeout:
            return
        except requests.RequestException as exc:
            logger.error("sending a Bot Framework message failed: %s", type(exc).__name__)
            return
        if not answer.ok:
            logger.error("the Bot Framework refused a message (HTTP %d)", answer.status_code)

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

    The signing keys come from the OpenID metadata at ``openid_url`` (Microsoft's by
    default). Tests point ``openid_url`` and ``token_url`` at a loopback stand-in holding
    a test key, and set ``allow_loopback_http`` for its http ``serviceUrl``.
    """

    def __init__(
        self,
        app_id: str,
        app_password: str,
        openid_url: str = botframework.MICROSOFT_OPEN_ID_URI,
        token_url: str = MICROSOFT_TOKEN_URL,
        limit: int = BOTFRAMEWORK_LIMIT,
        allow_loopback_http: bool = False,
    ) -> None:
        self.openid_url = openid_url
        self.token_url = token_url
        self.limit = limit
        self.allow_loopback_http = allow_loopback_http
        self._keys_tried = 0.0
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
            switched_on(credentials.get("allow_loopback_http")),
        )

    def _update_cached_jwk_keys(self) -> None:
        conf = requests.get(self.openid_url, timeout=10)
        conf.raise_for_status()
        keys = requests.get(conf.json()["jwks_uri"], timeout=10)
        keys.raise_for_status()
        self.jwt_keys = {key["kid"]: key for key in keys.json()["keys"] if "kid" in key}
        self.jwt_update_time = datetime.datetime.now()

    def key_for(self, kid: str) -> Mapping[str, Any] | None:
        """The published key ``kid``; the keys are fetched again daily, and when ``kid``
        is unknown (at most every :data:`KEYS_RETRY` seconds)."""
        now = datetime.datetime.now()
        stale = now - self.jwt_update_time > datetime.timedelta(days=1)
        unknown = kid not in self.jwt_keys
        if stale or (unknown and now.timestamp() - self._keys_tried > KEYS_RETRY):
            self._keys_tried = now.timestamp()
            try:
                self._update_cached_jwk_keys()
            except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
                logger.warning("could not fetch the Bot Framework keys: %s", type(exc).__name__)
        key = self.jwt_keys.get(kid)
        return key if isinstance(key, Mapping) else None

    def verify(self, authorization: str | None, activity: Any) -> None:
        """Check a webhook request (token, then ``serviceUrl``).

        Raises:
            Refused: It is not from the Bot Framework connector service.
        """
        claims = token_claims(authorization, self.key_for, self.app_id)
        check_service_url(activity, claims, self.allow_loopback_http)

    def _validate_auth(self, auth_header: str | None) -> HTTPResponse | None:
        # Rasa's own check, run after our middleware: the same strict token check
        try:
            token_claims(auth_header, self.key_for, self.app_id)
        except Refused:
            return response.text("Could not validate JWT token.", status=HTTPStatus.UNAUTHORIZED)
        return None

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        async def with_our_output(message: UserMessage) -> Any:
            if isinstance(message.output_channel, BotFramework):
                message.output_channel = BotFrameworkOutputChannel.from_output(
                    message.output_channel, self.token_url, self.limit
                )
            return await on_new_message(message)

        blueprint = super().blueprint(with_our_output)
        seen = SeenIds()

        async def verify(request: Request) -> HTTPResponse | None:
            try:
                activity = request.json
            except Exception:
                activity = None
            try:
                await asyncio.to_thread(self.verify, request.headers.get("Authorization"), activity)
            except Refused as refused:
                logger.warning("Bot Framework request refused: %s", refused)
                return response.text(
                    "Could not validate JWT token.", status=HTTPStatus.UNAUTHORIZED
                )
            key = activity_key(activity)
            if key is not None and not seen.first_time(key):
                logger.info("Bot Framework activity delivered again; already answered")
                return response.text("success")
            return None

        check_webhook(blueprint, verify)
        return blueprint
