"""Blocking calls to the messaging platforms' APIs, off the Rasa server's event loop.

The client libraries Rasa uses for Messenger (``fbmessenger``), Twilio (``twilio``) and
the Bot Framework (``requests``) block. Called from the async output channels as Rasa
does, one slow platform API would hold the whole Rasa server, every patient on every
channel, and the guard's reply deadline with it. :func:`call_platform` runs such a call
in a small pool of threads of its own (so a hung platform cannot take the threads the
server needs for anything else) and waits at most :data:`PLATFORM_TIMEOUT` seconds; the
HTTP request itself carries the same timeout, so no thread hangs for long either.

Slack (``slack_sdk``'s async client) and Telegram (``aiogram``) are asynchronous already.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Seconds a platform API call may take, waiting for it and inside its HTTP request.
PLATFORM_TIMEOUT = 10.0
#: Threads for platform calls in one Rasa server.
PLATFORM_THREADS = 8

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


class PlatformTimeout(Exception):
    """A platform API call took longer than its deadline (it was given up)."""


def _threads() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=PLATFORM_THREADS, thread_name_prefix="neurobot-platform"
            )
        return _pool


async def call_platform(
    what: str,
    function: Callable[..., T],
    *args: Any,
    deadline: float = PLATFORM_TIMEOUT,
    **kwargs: Any,
) -> T:
    """Run ``function(*args, **kwargs)`` in the platform threads, waiting at most
    ``deadline`` seconds, without blocking the event loop.

    Args:
        what: The platform and call, for the log ("Twilio message").
        function: The blocking call; give its own HTTP timeout in ``kwargs``.
        deadline: Seconds to wait.

    Returns:
        What ``function`` returned.

    Raises:
        PlatformTimeout: It took longer (logged; the thread ends with the request's own
            timeout).
        Exception: Whatever ``function`` raised.
    """
    loop = asyncio.get_running_loop()
    future = loop.run_in_executor(_threads(), functools.partial(function, *args, **kwargs))
    try:
        return await asyncio.wait_for(future, deadline)
    except asyncio.TimeoutError:
        logger.error("the %s call took longer than %.0f s; given up", what, deadline)
        raise PlatformTimeout(what) from None
