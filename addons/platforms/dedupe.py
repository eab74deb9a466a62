"""Platforms retry a webhook they think failed: each message is answered once.

Every platform gives a delivery its own id (Telegram ``update_id``, Slack ``event_id``,
Messenger ``mid``, Twilio ``MessageSid``, Bot Framework activity id) and sends the same id
again when it retries. A channel asks :meth:`SeenIds.first_time` after the request is
verified and before anything is processed; a repeated id is acknowledged with 200 and
dropped.

The ids live in the Rasa server process, in a bounded cache with expiry: they are lost on
restart and not shared between replicas. With several Rasa replicas, route each platform's
webhook to one replica (a retry must reach the replica that saw the first delivery); a
shared store (Redis ``SET key NX EX``) is the follow-up when that is not possible.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

#: Seconds an id is remembered: longer than any platform retries (Slack: minutes;
#: Telegram and Messenger: hours while the webhook fails).
SEEN_TTL = 24 * 3600.0
#: Ids remembered at most per channel; the oldest are forgotten first.
SEEN_SIZE = 100_000


class SeenIds:
    """Ids already accepted, each remembered for ``ttl`` seconds, at most ``size`` of them.

    Thread-safe; :meth:`first_time` checks and records in one step, so two concurrent
    deliveries of one id cannot both pass.
    """

    def __init__(
        self,
        ttl: float = SEEN_TTL,
        size: int = SEEN_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.size = size
        self.clock = clock
        self._expiry: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, key: str) -> bool:
        """True when ``key`` was not seen within the last ``ttl`` seconds (and record it)."""
        now = self.clock()
        with self._lock:
            # insertion order is expiry order (one ttl for all): drop the expired head
            while self._expiry and next(iter(self._expiry.values())) <= now:
                self._expiry.popitem(last=False)
            if key in self._expiry:
                return False
            self._expiry[key] = now + self.ttl
            while len(self._expiry) > self.size:
                self._expiry.popitem(last=False)
            return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._expiry)
