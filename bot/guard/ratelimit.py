"""Limits on anonymous use: how often one conversation or one address may ask.

The web chat is anonymous and the review page's sign-in is open to the network, so one
client could fill the conversation store, guess the operator's token, or keep the
servers busy while another patient waits for an emergency reply. Each kind of request
has a limit (one row of :data:`LIMITS`, each set by a ``NEUROBOT_RATE_*`` variable) over
a moving window, counted by the ``limits`` library: in memory for one server, in Redis
(``NEUROBOT_REDIS_URL``) when several servers share the work, so a client meets the same
limit whichever server answers. A patient typing normally never meets them.

If Redis cannot be reached, requests are let through (and the failure is logged): a
limit that fails must not silence patients.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from bot.settings import Settings

logger = logging.getLogger(__name__)

__all__ = ["LIMITS", "Limit", "RateLimiter", "retry_after", "shared_limiter"]


@dataclass(frozen=True)
class Limit:
    """One kind of limited request.

    Attributes:
        scope: What is counted, and the key it is counted by.
        setting: The :class:`~bot.settings.Settings` field that holds the limit.
        purpose: Why it exists (for the README and error messages).
    """

    scope: str
    setting: str
    purpose: str


#: Every limit, one row each.
LIMITS = (
    Limit(
        "message",
        "rate_messages",
        "messages of one conversation (a web chat session, a REST sender, a messaging user)",
    ),
    Limit(
        "address",
        "rate_address",
        "web chat messages and new web chat sessions from one address",
    ),
    Limit("refused", "rate_refused", "REST requests refused for a missing or wrong token"),
    Limit("sign_in", "rate_sign_in", "review page sign-in attempts from one address"),
)
_BY_SCOPE = {limit.scope: limit for limit in LIMITS}


class RateLimiter:
    """Counts requests per scope and key, and says when one is over its limit.

    Args:
        settings: The limits (``rate_*`` fields) and ``redis_url``: with Redis, every
            server counts in the same place (database 2 of that server, apart from the
            lock store's).
        storage_uri: Where to count, for tests (``memory://``); default from settings.
    """

    def __init__(self, settings: Settings, storage_uri: str | None = None) -> None:
        # the settings checked every value when they were loaded
        self._items = {limit.scope: parse(getattr(settings, limit.setting)) for limit in LIMITS}
        uri = storage_uri or _storage_uri(settings.redis_url)
        # the strategy holds its storage by a weak reference only: keep it alive here
        self._storage = storage_from_string(uri)
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._failing = False

    def allow(self, scope: str, key: str) -> bool:
        """Count one request of ``scope`` by ``key``; False when it is over the limit.

        Args:
            scope: One of the scopes of :data:`LIMITS`.
            key: Who is counted: a conversation id or a client address.
        """
        item = self._items[_BY_SCOPE[scope].scope]
        try:
            allowed = bool(self._limiter.hit(item, scope, key))
        except Exception as exc:  # the store is down: let the patient through
            if not self._failing:
                logger.error("rate limits cannot be counted (%s); not limiting", type(exc).__name__)
            self._failing = True
            return True
        if self._failing:
            logger.info("rate limits are counted again")
            self._failing = False
        if not allowed:
            logger.warning("a client went over the %s rate limit", scope)
        return allowed

    def reset(self, scope: str, key: str) -> None:
        """Forget the requests of ``key`` in ``scope`` (a successful sign-in)."""
        try:
            self._limiter.clear(self._items[scope], scope, key)
        except Exception as exc:
            logger.error("a rate limit could not be reset (%s)", type(exc).__name__)

    def window(self, scope: str) -> Any:
        """The limit of ``scope`` as parsed (amount and period)."""
        return self._items[scope]


@lru_cache(maxsize=4)
def shared_limiter(settings: Settings) -> RateLimiter:
    """The one limiter of this process for ``settings`` (every channel counts in it)."""
    return RateLimiter(settings)


def retry_after(limiter: RateLimiter, scope: str) -> int:
    """Seconds a client is told to wait before trying again (the window's length)."""
    return int(limiter.window(scope).get_expiry())


def _storage_uri(redis_url: str) -> str:
    """Database 2 of the lock store's Redis server, or memory without Redis."""
    if not redis_url:
        return "memory://"
    return urlsplit(redis_url)._replace(path="/2").geturl()
