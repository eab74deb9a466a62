"""Buttons where a platform has none (numbered options) or limits their payload size."""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence

from addons.platforms.handlers import Button
from bot.domain import response_text

#: Seconds the options sent to a sender are remembered.
OPTIONS_TTL = 3600.0


def numbered_options(buttons: Sequence[Button]) -> str:
    """The buttons as numbered options to reply with (SMS, and where titles are cut)."""
    lines = [f"{i}. {b.get('title', '')}" for i, b in enumerate(buttons, start=1)]
    return response_text("utter_choose_option") + "\n" + "\n".join(lines)


class SenderMemory:
    """Per-process memory, per sender, with expiry and a size cap."""

    def __init__(self, ttl: float = OPTIONS_TTL, size: int = 10_000) -> None:
        self.ttl = ttl
        self.size = size
        self._items: OrderedDict[str, tuple[float, list[str]]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, key: str, values: list[str]) -> None:
        with self._lock:
            self._items.pop(key, None)
            self._items[key] = (time.monotonic() + self.ttl, values)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def recall(self, key: str) -> list[str]:
        with self._lock:
            expires, values = self._items.get(key, (0.0, []))
            if expires < time.monotonic():
                self._items.pop(key, None)
                return []
            return values


class NumberedOptions:
    """The options last sent to each SMS/WhatsApp sender, to read a digit back.

    Kept in the Rasa server process: lost on restart, not shared between several Rasa
    instances, and a sender is forgotten after :data:`OPTIONS_TTL` seconds.
    """

    def __init__(self) -> None:
        self.memory = SenderMemory()

    def remember(self, sender: str, buttons: Sequence[Button]) -> None:
        self.memory.remember(sender, [str(b.get("payload", "")) for b in buttons])

    def resolve(self, sender: str, text: str | None) -> str | None:
        """The payload for a reply that is just an option's number, else the text."""
        stripped = (text or "").strip().rstrip(".)")
        if not stripped.isdigit():
            return text
        payloads = self.memory.recall(sender)
        number = int(stripped)
        if 1 <= number <= len(payloads):
            return payloads[number - 1]
        return text


class PayloadAliases:
    """Short stand-ins for payloads over a platform's size limit (Telegram: 64 bytes)."""

    PREFIX = "#p"

    def __init__(self) -> None:
        self._by_alias: OrderedDict[str, str] = OrderedDict()
        self._by_payload: dict[str, str] = {}
        self._count = 0
        self._lock = threading.Lock()

    def shorten(self, payload: str, limit: int) -> str:
        if len(payload.encode("utf-8")) <= limit:
            return payload
        compact = payload
        if "{" in payload:
            head, _, body = payload.partition("{")
            try:
                compact = head + json.dumps(json.loads("{" + body), separators=(",", ":"))
            except ValueError:
                compact = payload
            if len(compact.encode("utf-8")) <= limit:
                return compact
        with self._lock:
            if payload not in self._by_payload:
                self._count += 1
                alias = f"{self.PREFIX}{self._count}"
                self._by_payload[payload] = alias
                self._by_alias[alias] = payload
                while len(self._by_alias) > 10_000:
                    _old, full = self._by_alias.popitem(last=False)
                    self._by_payload.pop(full, None)
            return self._by_payload[payload]

    def resolve(self, text: str | None) -> str | None:
        if text and text.startswith(self.PREFIX):
            return self._by_alias.get(text, text)
        return text
