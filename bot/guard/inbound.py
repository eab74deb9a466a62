"""What every incoming patient message goes through first, whatever its channel.

The channels' guard (``addons/channels.py``) applies :func:`clean` and :func:`screen` to
each message before anything reads or stores it, so the NLU, the safety decision, the
search, the conversation store and the review queue all see the same, safe text:

- code points that cannot be stored or encoded (a lone UTF-16 surrogate such as
  ``"\\ud800"``, non-characters) become U+FFFD, the replacement character;
- invisible format characters (zero-width spaces and joiners, soft hyphens, bidi
  controls, tag characters, other control characters) are removed: ``fa\\u200bce
  dro\\u200boping`` is read as ``face drooping``;
- text shaped like an intent payload is a button of the bot only when it is one
  exactly (:func:`bot.safety.session.is_payload`); anything else is spelled out as words.

:func:`body_problem` refuses a JSON request body that is too big or too deeply nested
before it is parsed, so that one request cannot cost the server seconds.
"""

from __future__ import annotations

import re

from bot.safety.session import payload_words
from bot.settings import DEFAULTS

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_MESSAGE_CHARS",
    "MAX_SCAN_CHARS",
    "body_problem",
    "clean",
    "screen",
]

#: Default cap on the length of one patient message (``NEUROBOT_MAX_MESSAGE_CHARS``).
MAX_MESSAGE_CHARS = int(DEFAULTS["MAX_MESSAGE_CHARS"])
#: The red-flag check of an over-long message reads this many characters of it, so that
#: its cost stays in milliseconds whatever a client sends.
MAX_SCAN_CHARS = 8000
#: Largest request body of the REST channel, and largest web chat (socket.io) packet.
MAX_BODY_BYTES = 64 * 1024
#: Deepest nesting of objects and arrays a JSON body may have.
MAX_JSON_DEPTH = 32

_UNSTORABLE = re.compile("[\ud800-\udfff\ufffe\uffff]")
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000e0000-\U000e007f]"
)


def clean(text: str) -> str:
    """The message with unstorable code points replaced and invisible ones removed.

    Args:
        text: A message as a channel received it.

    Returns:
        Text that encodes as UTF-8 and shows what a reader sees.
    """
    if text.isascii() and text.isprintable():
        return text
    return _INVISIBLE.sub("", _UNSTORABLE.sub("\ufffd", text))


def screen(text: str) -> str:
    """The bot's own button payloads pass; any other ``/...`` text is read as words.

    ``/greet{"symptom": "face drooping"} his face is drooping`` or a button payload whose
    record id is a sentence would otherwise choose an intent by hand and skip the NLU and
    the safety decision's reading of words.
    """
    return payload_words(text)


def body_problem(body: bytes, max_bytes: int = MAX_BODY_BYTES) -> tuple[int, str] | None:
    """What is wrong with a JSON request body before it is parsed, or None.

    Args:
        body: The raw body.
        max_bytes: The largest body accepted.

    Returns:
        ``(413, message)`` for a body over ``max_bytes``, ``(400, message)`` for one
        nested deeper than :data:`MAX_JSON_DEPTH`; None when it may be parsed.
    """
    if len(body) > max_bytes:
        return 413, f"the body is larger than {max_bytes:,} bytes"
    if _depth(body) > MAX_JSON_DEPTH:
        return 400, f"the body nests objects or arrays deeper than {MAX_JSON_DEPTH} levels"
    return None


_STRUCTURE = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _depth(body: bytes) -> int:
    """The deepest nesting of ``[`` and ``{`` outside strings (one pass, no parsing)."""
    depth = deepest = 0
    for token in _STRUCTURE.finditer(body):
        char = token.group()[:1]
        if char in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif char in (b"]", b"}"):
            depth -= 1
    return deepest
