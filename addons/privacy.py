"""Keeps what patients type out of both servers' logs.

Rasa 3.6 logs patient text in a few places at its default level: the REST channel's
``rest.message.received.timeout`` / ``.failure`` events carry ``text=``, a typed ``/...``
payload it cannot parse is quoted in a warning ("Failed to parse arguments in line
'...'") and in the ``message.parsing.failed`` event, and rasa_sdk's exception handler
logs the request. :func:`install` puts three guards in front of every log line of the
process, in the Rasa server (addons/channels.py calls it when Rasa loads the channels) and
in the action server (actions/server.py):

- a structlog processor that replaces the value of every key that holds patient text
  (Rasa's own list of anonymisable keys, plus parse data and trackers) by ``[withheld]``;
- a logging filter, on the handlers of the root logger and of every logger with its own
  handlers, that rewrites records whose message quotes patient text (the rows of
  :data:`QUOTING`) to the row's plain description;
- ``warnings`` filters that silence the unparsable-payload warnings (they go to stderr
  through :mod:`warnings`, not through logging).

At ``DEBUG`` Rasa also logs parse data and predictions in free-form messages (for example
"Received user message '...' with intent ..."); those are not all known, so an operator
who sets ``NEUROBOT_LOG_LEVEL=DEBUG`` must treat the log as holding patient text.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import MutableMapping
from typing import Any

import structlog

WITHHELD = "[withheld]"

#: structlog event keys whose values hold patient text or what was parsed from it
#: (rasa.utils.log_utils._anonymizer's keys, plus the parse data and trackers).
TEXT_KEYS = frozenset(
    {
        "text",
        "user_text",
        "user_message",
        "message",
        "json_message",
        "response",
        "response_text",
        "parse_data",
        "parse_data_text",
        "parse_data_entities",
        "entities",
        "entity",
        "current_entity",
        "next_entity",
        "token_text",
        "slot_values",
        "slot_candidates",
        "prefilled_slots",
        "tracker",
        "tracker_latest_message",
        "rasa_event",
        "rasa_events",
        "prediction_events",
        "events",
        "states",
        "tracker_states",
        "current_states",
        "old_states",
        "successes",
        "request_body",
        "body",
    }
)

#: Log and warning messages that quote patient text: (pattern matching the message's
#: start, what the log says instead).
QUOTING: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"Failed to parse arguments in line"),
        "a typed /... payload could not be parsed (its text withheld)",
    ),
    (
        re.compile(r"Exception occurred during execution of request"),
        "an action request failed (the request withheld)",
    ),
    (
        re.compile(r"Received user message"),
        "received a user message (its text withheld)",
    ),
)


def redact_event(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> Any:
    """structlog processor: withhold the values of :data:`TEXT_KEYS`."""
    for key in TEXT_KEYS.intersection(event_dict):
        if event_dict[key] not in (None, "", [], {}):
            event_dict[key] = WITHHELD
    return event_dict


def quoted_replacement(message: str) -> str | None:
    """What the log says instead of ``message`` when it quotes patient text, else None."""
    for pattern, replacement in QUOTING:
        if pattern.match(message):
            return replacement
    return None


class PatientTextFilter(logging.Filter):
    """Rewrites log records whose message quotes patient text (never drops a record:
    the log still shows that something happened, and at which level)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler's own error path
            return True
        replacement = quoted_replacement(message)
        if replacement is not None:
            record.msg, record.args = replacement, ()
            record.exc_info = record.exc_text = None
        return True


_FILTER = PatientTextFilter()


def _handlers() -> list[logging.Handler]:
    loggers: list[logging.Logger] = [logging.getLogger()]
    loggers += [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    return [handler for logger in loggers for handler in logger.handlers]


def install() -> None:
    """Guard this process's logs (structlog, logging handlers, warnings); idempotent.

    Call it after logging is configured: handlers added later are not filtered.
    """
    processors = structlog.get_config()["processors"]
    if redact_event not in processors:
        # The configured list itself: loggers already bound (and cached) share it.
        processors.insert(0, redact_event)
    for handler in _handlers():
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
    for pattern, _ in QUOTING:
        warnings.filterwarnings("ignore", message=pattern.pattern)
