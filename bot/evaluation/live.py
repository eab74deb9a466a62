"""Live evaluation: real text through the running Rasa server, replies classified by response.

``bot eval live --url URL FILE...`` sends every case of a file as a new conversation
(a fresh sender id) over the server's REST channel (with its bearer token, ``--token``,
by default this deployment's: ``NEUROBOT_REST_TOKEN`` or ``var/rest_token``) or
socket.io, names the
``domain.yml`` response each bot message came from, and counts outcomes: emergency,
crisis, archive answer, honest no-match, ... A reply is never judged from its wording:
every message the server sends names its response in its card payload
(``{"response": "utter_no_match", ...}``: ``custom`` over REST, ``metadata.custom`` over
socket.io), and a message that names none of the domain's responses is reported as
*unrecognised*, which means the domain and the server disagree.

Case files are JSON Lines, one case a line, the message in ``texts`` (a list: a
multi-turn conversation, judged by the replies to its last message), ``text``, ``q`` or
``Question``, and optionally an expectation::

    {"text": "my face droops on one side since an hour", "emergency": true}
    {"texts": ["my hand is weak", "it started ten minutes ago"], "expect": "emergency"}
    {"q": "my hands shake when I hold a cup", "expect": ["answer", "no-match"]}

or an RQE XML file, whose consumer questions (``<chq>``) are the cases.
"""

from __future__ import annotations

import argparse
import json
import queue
import random
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from bot.domain import DOMAIN, responses
from bot.errors import ArchiveFormatError, BotError, ServiceError
from bot.http import HttpClient
from bot.jsonl import json_objects
from bot.names import (
    UTTER_ARCHIVE_ANSWER,
    UTTER_CHOSEN_ANSWER,
    UTTER_CLOSE_QUESTIONS,
    UTTER_DEFAULT,
    UTTER_EMERGENCY,
    UTTER_FULL_REPLY,
    UTTER_NO_MATCH,
    UTTER_OUT_OF_SCOPE,
    UTTER_OUTSIDE_SCOPE,
    UTTER_SAFETY_ADVICE,
    UTTER_SELF_HARM,
    UTTER_SIMILAR_ANSWER,
    UTTER_TECHNICAL_PROBLEM,
    response_name,
)
from bot.secrets import rest_token
from bot.settings import load_settings
from bot.stats import percentile

#: Concurrent conversations by default.
DEFAULT_WORKERS = 4
#: Seconds to wait for the bot's first message of a turn.
DEFAULT_TIMEOUT = 30.0
#: Socket.io: a reply is over when no message came for this many seconds.
QUIET_SECONDS = 1.5
#: Seed of ``--sample``: the same file and N always give the same cases.
SAMPLE_SEED = 20240611
#: Fields holding a case's message, in the order they are looked for.
TEXT_FIELDS = ("texts", "text", "q", "Question")
#: Message keys that are not part of what the patient reads.
_ENVELOPE = frozenset({"recipient_id", "buttons", "quick_replies", "metadata"})


class Outcome(str, Enum):
    """What a turn of the conversation came to, from the responses the bot sent."""

    EMERGENCY = "emergency"
    CRISIS = "crisis"
    FALLBACK = "fallback"
    ANSWER = "answer"
    OFFER = "close-questions"
    NO_MATCH = "no-match"
    CLARIFY = "clarify"
    NOT_UNDERSTOOD = "not-understood"
    OUT_OF_SCOPE = "out-of-scope"
    UNRECOGNISED = "unrecognised"
    OTHER = "other"
    SILENT = "silent"
    FAILED = "failed"

    @property
    def label(self) -> str:
        """The outcome in words."""
        return LABELS[self]


LABELS = {
    Outcome.EMERGENCY: "emergency",
    Outcome.CRISIS: "crisis",
    Outcome.FALLBACK: "technical fallback",
    Outcome.ANSWER: "archive answer",
    Outcome.OFFER: "close questions",
    Outcome.NO_MATCH: "honest no-match",
    Outcome.CLARIFY: "clarifying question",
    Outcome.NOT_UNDERSTOOD: "not understood",
    Outcome.OUT_OF_SCOPE: "out of scope",
    Outcome.UNRECOGNISED: "unrecognised",
    Outcome.OTHER: "other",
    Outcome.SILENT: "silent",
    Outcome.FAILED: "request failed",
}

#: A turn's outcome is the first of these among its messages' outcomes. Unrecognised
#: text outranks "other" so that a disagreement between domain and server shows.
PRIORITY = (
    Outcome.EMERGENCY,
    Outcome.CRISIS,
    Outcome.FALLBACK,
    Outcome.ANSWER,
    Outcome.OFFER,
    Outcome.NO_MATCH,
    Outcome.CLARIFY,
    Outcome.NOT_UNDERSTOOD,
    Outcome.OUT_OF_SCOPE,
    Outcome.UNRECOGNISED,
    Outcome.OTHER,
    Outcome.SILENT,
    Outcome.FAILED,
)

#: The response -> outcome table; responses not listed (greet, goodbye, ...) are "other".
OUTCOME_OF_RESPONSE = {
    UTTER_EMERGENCY: Outcome.EMERGENCY,
    UTTER_SELF_HARM: Outcome.CRISIS,
    UTTER_TECHNICAL_PROBLEM: Outcome.FALLBACK,
    UTTER_ARCHIVE_ANSWER: Outcome.ANSWER,
    UTTER_SIMILAR_ANSWER: Outcome.ANSWER,
    UTTER_CHOSEN_ANSWER: Outcome.ANSWER,
    UTTER_FULL_REPLY: Outcome.ANSWER,
    UTTER_CLOSE_QUESTIONS: Outcome.OFFER,
    UTTER_NO_MATCH: Outcome.NO_MATCH,
    UTTER_OUTSIDE_SCOPE: Outcome.NO_MATCH,
    UTTER_DEFAULT: Outcome.NOT_UNDERSTOOD,
    UTTER_OUT_OF_SCOPE: Outcome.OUT_OF_SCOPE,
}
#: Response name prefixes -> outcome, for families of responses (forms' questions).
OUTCOME_OF_PREFIX = (
    ("utter_ask_", Outcome.CLARIFY),
    ("utter_check_", Outcome.CLARIFY),
)
#: Sent alongside an outcome, never one by itself.
SAFETY_ADVICE = UTTER_SAFETY_ADVICE

EMERGENCY_OUTCOMES = frozenset({Outcome.EMERGENCY, Outcome.CRISIS})
NOT_EMERGENCY = frozenset(Outcome) - EMERGENCY_OUTCOMES


class CaseFileError(BotError):
    """A case file cannot be read; names the file and the line."""


# --- naming the response a message came from -------------------------------------------


def _message_text(message: Mapping[str, Any]) -> str | None:
    text = message.get("text")
    return text if isinstance(text, str) and text.strip() else None


def describe(message: Mapping[str, Any]) -> str:
    """A bot message as one line: its text, or its payload as JSON."""
    text = _message_text(message)
    if text is not None:
        return " ".join(text.split())
    rest = {k: v for k, v in message.items() if k not in _ENVELOPE}
    return json.dumps(rest, ensure_ascii=False, sort_keys=True)


class ResponseMatcher:
    """Names the domain response each bot message came from, by the name the message
    carries (``addons/cards.py`` names every message the server sends), never by its
    wording.

    Rasa's REST channel cuts a text without buttons at blank lines, the card on the
    first part only: a text part without a name that follows a named message is the
    rest of that message. A name the domain does not have, or a first message without
    one, is unrecognised: the domain and the server disagree.
    """

    def __init__(self, responses: Iterable[str]) -> None:
        self.names = frozenset(responses)

    @classmethod
    def from_domain(cls, path: Path = DOMAIN) -> ResponseMatcher:
        """The matcher of the responses in a domain file."""
        return cls(responses(path))

    def match(self, messages: Sequence[Mapping[str, Any]]) -> tuple[str | None, ...]:
        """One response name per message (None: no response explains it)."""
        names: list[str | None] = []
        current: str | None = None
        for message in messages:
            name = response_name(message)
            if name is None and _message_text(message) is not None:
                name = current  # the rest of a text cut at blank lines
            current = name if name in self.names else None
            names.append(current)
        return tuple(names)


def outcome_of_response(name: str | None) -> Outcome:
    """The outcome one response stands for (None: unrecognised text)."""
    if name is None:
        return Outcome.UNRECOGNISED
    if name in OUTCOME_OF_RESPONSE:
        return OUTCOME_OF_RESPONSE[name]
    for prefix, outcome in OUTCOME_OF_PREFIX:
        if name.startswith(prefix):
            return outcome
    return Outcome.OTHER


def outcome_of(responses: Sequence[str | None]) -> Outcome:
    """The outcome of a turn: the first in :data:`PRIORITY` among its responses."""
    if not responses:
        return Outcome.SILENT
    found = {outcome_of_response(name) for name in responses if name != SAFETY_ADVICE}
    return min(found, key=PRIORITY.index) if found else Outcome.OTHER


# --- cases --------------------------------------------------------------------------------

_ALIASES = {
    **{o.value: o for o in Outcome},
    **{o.label.replace(" ", "-"): o for o in Outcome},
    "archive": Outcome.ANSWER,
    "nomatch": Outcome.NO_MATCH,
    "offer": Outcome.OFFER,
    "technical": Outcome.FALLBACK,
    "clarifying": Outcome.CLARIFY,
}


def parse_outcomes(value: str | Iterable[str]) -> frozenset[Outcome]:
    """Outcomes from ``"answer,no-match"`` or a list of names (labels work too).

    Raises:
        ValueError: A name is not an outcome.
    """
    names = value.split(",") if isinstance(value, str) else list(value)
    outcomes = set()
    for name in names:
        if not isinstance(name, str):
            raise ValueError(f"an outcome must be a string, not {name!r}")
        key = "-".join(name.strip().lower().replace("_", " ").split())
        if key not in _ALIASES:
            raise ValueError(
                f"unknown outcome {name!r}; one of {', '.join(o.value for o in Outcome)}"
            )
        outcomes.add(_ALIASES[key])
    if not outcomes:
        raise ValueError("no outcome given")
    return frozenset(outcomes)


def describe_expectation(expected: frozenset[Outcome] | None) -> str:
    """An expectation in words."""
    if expected is None:
        return "-"
    if expected == NOT_EMERGENCY:
        return "not emergency/crisis"
    return "|".join(o.value for o in PRIORITY if o in expected)


@dataclass(frozen=True)
class Case:
    """One conversation to have with the bot.

    Attributes:
        where: ``file:line`` (or ``file#n`` for the n-th RQE question).
        texts: The patient's messages, sent in order in one conversation.
        expected: The outcomes that count as right, or None when nothing is expected.
    """

    where: str
    texts: tuple[str, ...]
    expected: frozenset[Outcome] | None = None


def _case_from_row(row: dict[str, Any], where: str, expect: frozenset[Outcome] | None) -> Case:
    field_name = next((f for f in TEXT_FIELDS if f in row), None)
    if field_name is None:
        raise CaseFileError(f"{where}: no message: expected one of {', '.join(TEXT_FIELDS)}")
    value = row[field_name]
    texts = value if field_name == "texts" else [value]
    if (
        not isinstance(texts, list)
        or not texts
        or not all(isinstance(t, str) and t.strip() for t in texts)
    ):
        kind = "a non-empty list of non-empty strings" if field_name == "texts" else "a string"
        raise CaseFileError(f"{where}: {field_name!r} must be {kind}")
    expected = expect
    if "expect" in row:
        try:
            expected = parse_outcomes(row["expect"])
        except ValueError as exc:
            raise CaseFileError(f"{where}: 'expect': {exc}") from None
    elif "emergency" in row:
        if not isinstance(row["emergency"], bool):
            raise CaseFileError(f"{where}: 'emergency' must be true or false")
        expected = EMERGENCY_OUTCOMES if row["emergency"] else NOT_EMERGENCY
    return Case(where, tuple(t.strip() for t in texts), expected)


def _rqe_questions(path: Path) -> list[str]:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        line = exc.position[0]
        raise CaseFileError(f"{path}:{line}: invalid XML: {exc}") from None
    seen: dict[str, str] = {}
    for element in root.iter("chq"):
        text = " ".join("".join(element.itertext()).split())
        if text:
            seen.setdefault(text.lower(), text)
    return list(seen.values())


def load_cases(
    path: Path | str, expect: frozenset[Outcome] | None = None, fmt: str = "auto"
) -> list[Case]:
    """Read the cases of one file.

    Args:
        path: JSON Lines, or RQE XML (``fmt="rqe"`` or a ``.xml`` name).
        expect: The expectation of cases that state none.
        fmt: ``auto``, ``jsonl`` or ``rqe``.

    Raises:
        CaseFileError: The file cannot be read or a line is malformed (names file and
            line).
    """
    path = Path(path)
    if fmt == "auto":
        fmt = "rqe" if path.suffix.lower() == ".xml" else "jsonl"
    try:
        if fmt == "rqe":
            return [
                Case(f"{path.name}#{n}", (text,), expect)
                for n, text in enumerate(_rqe_questions(path), start=1)
            ]
        with path.open(encoding="utf-8") as lines:
            return [
                _case_from_row(row, f"{path}:{number}", expect)
                for number, row in json_objects(lines, path)
            ]
    except ArchiveFormatError as exc:
        raise CaseFileError(str(exc)) from None
    except OSError as exc:
        raise CaseFileError(f"{path}: cannot read: {exc.strerror or exc}") from None


def sample_cases(cases: Sequence[Case], n: int | None, seed: int = SAMPLE_SEED) -> list[Case]:
    """``n`` cases chosen with a fixed seed, in file order (all when ``n`` is None or
    not smaller than the number of cases)."""
    if n is None or n >= len(cases):
        return list(cases)
    chosen = sorted(random.Random(seed).sample(range(len(cases)), n))
    return [cases[i] for i in chosen]


# --- talking to the server ----------------------------------------------------------------


@dataclass(frozen=True)
class Exchange:
    """What one patient message got back.

    Attributes:
        messages: The bot's messages (REST's shape: ``text``, ``buttons``, ``custom``).
        latency: Seconds from sending to the last message (None when none came).
        error: Why the request failed, or None.
    """

    messages: tuple[dict[str, Any], ...]
    latency: float | None
    error: str | None = None


#: (server URL, sender id, texts, timeout, REST bearer token) -> one exchange per text.
Channel = Callable[[str, str, Sequence[str], float, str], list[Exchange]]


def rest_conversation(
    url: str, sender: str, texts: Sequence[str], timeout: float, token: str = ""
) -> list[Exchange]:
    """Send ``texts`` in order as ``sender`` over the REST channel, with the bearer
    ``token`` (none when empty)."""
    client = HttpClient(timeout=timeout)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    exchanges = []
    try:
        for text in texts:
            started = time.perf_counter()
            try:
                answer = client.post_json(
                    f"{url}/webhooks/rest/webhook",
                    {"sender": sender, "message": text},
                    headers=headers,
                )
            except ServiceError as exc:
                exchanges.append(Exchange((), None, str(exc)))
                break
            latency = time.perf_counter() - started
            if not isinstance(answer, list):
                exchanges.append(Exchange((), latency, f"not a list of messages: {answer!r}"))
                break
            exchanges.append(Exchange(tuple(m for m in answer if isinstance(m, dict)), latency))
    finally:
        client.close()
    return exchanges


def _socketio_message(data: Any) -> dict[str, Any]:
    if isinstance(data, dict) and isinstance(data.get("text"), str):
        return data
    return {"custom": data}


def socketio_conversation(
    url: str, sender: str, texts: Sequence[str], timeout: float, token: str = ""
) -> list[Exchange]:
    """Send ``texts`` in order over socket.io in a new session.

    Emits ``session_request`` and waits for ``session_confirm`` (the server signs the
    session id; ``sender`` is not one it signed, so the session is a fresh one, and
    ``token`` is not used), then one
    ``user_uttered`` per text; the ``bot_uttered`` events that follow, until
    :data:`QUIET_SECONDS` pass without one, are the reply.
    """
    try:
        import socketio
    except ImportError:
        raise BotError(
            "--channel socketio needs python-socketio's client: "
            "pip install 'python-socketio[client]'"
        ) from None
    received: queue.Queue[tuple[float, Any]] = queue.Queue()
    confirmed = threading.Event()
    client = socketio.Client(reconnection=False, handle_sigint=False)
    client.on("bot_uttered", lambda data: received.put((time.perf_counter(), data)))
    session = [sender]

    def on_confirm(data: Any = None) -> None:
        # the server may choose another id than the one asked for
        if isinstance(data, str) and data:
            session[0] = data
        confirmed.set()

    client.on("session_confirm", on_confirm)
    try:
        client.connect(url, transports=["websocket"], wait_timeout=timeout)
    except Exception as exc:  # python-socketio raises its own and the transport's errors
        return [Exchange((), None, f"socket.io connection to {url} failed: {exc}")]
    exchanges = []
    try:
        client.emit("session_request", {"session_id": sender})
        if not confirmed.wait(timeout):
            return [Exchange((), None, "no session_confirm from the server")]
        for text in texts:
            started = time.perf_counter()
            client.emit("user_uttered", {"message": text, "session_id": session[0]})
            messages: list[dict[str, Any]] = []
            last: float | None = None
            wait = timeout
            while True:
                try:
                    last, data = received.get(timeout=wait)
                except queue.Empty:
                    break
                messages.append(_socketio_message(data))
                wait = QUIET_SECONDS
            exchanges.append(Exchange(tuple(messages), None if last is None else last - started))
    finally:
        client.disconnect()
    return exchanges


CHANNELS: dict[str, Channel] = {"rest": rest_conversation, "socketio": socketio_conversation}


# --- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    """One patient message and the bot's reply, classified.

    Attributes:
        text: What the patient sent.
        messages: The bot's messages.
        responses: The response each message came from (None: unrecognised).
        outcome: What the reply came to.
        safety_advice: Whether the reply included the safety advice.
        latency: Seconds until the (last) reply message.
        error: Why the request failed, or None.
    """

    text: str
    messages: tuple[dict[str, Any], ...]
    responses: tuple[str | None, ...]
    outcome: Outcome
    safety_advice: bool
    latency: float | None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The turn as JSON-ready data."""
        return {
            "text": self.text,
            "outcome": self.outcome.value,
            "responses": list(self.responses),
            "safety_advice": self.safety_advice,
            "latency": self.latency,
            "error": self.error,
            "messages": list(self.messages),
        }


@dataclass(frozen=True)
class CaseResult:
    """A case and what the bot made of it: the outcome is that of the last turn."""

    case: Case
    turns: tuple[Turn, ...]
    outcome: Outcome

    @property
    def as_expected(self) -> bool | None:
        """Whether the outcome is one expected (None when nothing is expected)."""
        return None if self.case.expected is None else self.outcome in self.case.expected

    def to_dict(self) -> dict[str, Any]:
        """The case, its turns and outcome as JSON-ready data."""
        return {
            "where": self.case.where,
            "texts": list(self.case.texts),
            "expected": None
            if self.case.expected is None
            else sorted(o.value for o in self.case.expected),
            "outcome": self.outcome.value,
            "as_expected": self.as_expected,
            "turns": [t.to_dict() for t in self.turns],
        }


def judge(case: Case, exchanges: Sequence[Exchange], matcher: ResponseMatcher) -> CaseResult:
    """Classify every turn of a conversation; the case's outcome is its last turn's."""
    turns = []
    for text, exchange in zip(case.texts, exchanges, strict=False):
        responses = matcher.match(exchange.messages)
        outcome = Outcome.FAILED if exchange.error else outcome_of(responses)
        turns.append(
            Turn(
                text,
                exchange.messages,
                responses,
                outcome,
                SAFETY_ADVICE in responses,
                exchange.latency,
                exchange.error,
            )
        )
    complete = len(turns) == len(case.texts) and not any(t.error for t in turns)
    return CaseResult(case, tuple(turns), turns[-1].outcome if complete else Outcome.FAILED)


@dataclass(frozen=True)
class LiveReport:
    """The results of a live run, in case order."""

    results: tuple[CaseResult, ...]
    channel: str = "rest"
    url: str = ""
    seconds: float = 0.0

    def count(self, *outcomes: Outcome) -> int:
        """How many cases came to one of ``outcomes``."""
        return sum(r.outcome in outcomes for r in self.results)

    def share(self, *outcomes: Outcome) -> float:
        """The share of cases that came to one of ``outcomes`` (0 when there are none)."""
        return self.count(*outcomes) / len(self.results) if self.results else 0.0

    def counts(self) -> dict[Outcome, int]:
        """Cases per outcome, in priority order, outcomes with no case left out."""
        return {o: self.count(o) for o in PRIORITY if self.count(o)}

    def expected(self) -> tuple[int, int]:
        """(cases whose outcome is as expected, cases with an expectation)."""
        judged = [r.as_expected for r in self.results if r.as_expected is not None]
        return sum(judged), len(judged)

    def mismatches(self) -> list[CaseResult]:
        """The cases whose outcome is not one expected."""
        return [r for r in self.results if r.as_expected is False]

    def emergency_recall(self) -> tuple[int, int]:
        """(emergency or crisis reached, cases expected to reach only those)."""
        wanted = [
            r for r in self.results if r.case.expected and r.case.expected <= EMERGENCY_OUTCOMES
        ]
        return sum(r.outcome in EMERGENCY_OUTCOMES for r in wanted), len(wanted)

    def false_alarms(self) -> tuple[int, int]:
        """(emergency or crisis reached, cases expected never to reach those)."""
        benign = [
            r for r in self.results if r.case.expected and not r.case.expected & EMERGENCY_OUTCOMES
        ]
        return sum(r.outcome in EMERGENCY_OUTCOMES for r in benign), len(benign)

    def latencies(self) -> list[float]:
        """Seconds per patient message, every turn that got a reply."""
        return [t.latency for r in self.results for t in r.turns if t.latency is not None]

    def latency(self) -> dict[str, float]:
        """Median, 95th percentile and maximum latency per message (empty when none)."""
        values = self.latencies()
        if not values:
            return {}
        return {
            "median": percentile(values, 0.5),
            "p95": percentile(values, 0.95),
            "max": max(values),
        }

    def safety_advice(self) -> tuple[int, int]:
        """(answer and no-match turns that carried the safety advice, all such turns)."""
        turns = [
            t
            for r in self.results
            for t in r.turns
            if t.outcome in (Outcome.ANSWER, Outcome.OFFER, Outcome.NO_MATCH)
        ]
        return sum(t.safety_advice for t in turns), len(turns)

    def unrecognised(self) -> list[str]:
        """Every bot message no domain response explains, once each."""
        found: dict[str, None] = {}
        for result in self.results:
            for turn in result.turns:
                for message, name in zip(turn.messages, turn.responses, strict=True):
                    if name is None:
                        found.setdefault(describe(message), None)
        return list(found)

    def to_dict(self) -> dict[str, Any]:
        """Summary figures and every case, as JSON-ready data."""
        matched, judged = self.expected()
        return {
            "channel": self.channel,
            "url": self.url,
            "seconds": round(self.seconds, 2),
            "cases": len(self.results),
            "outcomes": {o.value: n for o, n in self.counts().items()},
            "as_expected": {"matched": matched, "of": judged},
            "emergency_recall": dict(zip(("reached", "of"), self.emergency_recall(), strict=True)),
            "false_alarms": dict(zip(("reached", "of"), self.false_alarms(), strict=True)),
            "safety_advice": dict(zip(("present", "of"), self.safety_advice(), strict=True)),
            "latency": self.latency(),
            "unrecognised": self.unrecognised(),
            "results": [r.to_dict() for r in self.results],
        }


def check_server(url: str, timeout: float = 5.0) -> None:
    """Fail early, with one clear line, when nothing answers at ``url``.

    Raises:
        ServiceError: The server does not answer.
    """
    client = HttpClient(timeout=timeout)
    try:
        client.get(f"{url}/")
    finally:
        client.close()


def run_live(
    url: str,
    cases: Sequence[Case],
    workers: int = DEFAULT_WORKERS,
    channel: str = "rest",
    timeout: float = DEFAULT_TIMEOUT,
    matcher: ResponseMatcher | None = None,
    token: str | None = None,
) -> LiveReport:
    """Have every case as a new conversation with the server at ``url``.

    Args:
        url: The Rasa server (``http://127.0.0.1:5005``).
        cases: The conversations; each gets a fresh random sender id.
        workers: Conversations held at the same time.
        channel: ``rest`` or ``socketio`` (a key of :data:`CHANNELS`).
        timeout: Seconds to wait for a reply.
        matcher: Names the responses; by default from the project's ``domain.yml``.
        token: The REST channel's bearer token; by default this deployment's
            (:func:`bot.secrets.rest_token`).

    Returns:
        The results in case order. A request that fails makes its case ``failed``;
        it does not stop the run.
    """
    converse = CHANNELS[channel]
    matcher = matcher or ResponseMatcher.from_domain()
    base = url.rstrip("/")
    if token is None:
        token = rest_token(load_settings()) if channel == "rest" else ""

    def one(case: Case) -> CaseResult:
        exchanges = converse(base, f"live-{uuid.uuid4().hex}", case.texts, timeout, token)
        return judge(case, exchanges, matcher)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = tuple(pool.map(one, cases))
    return LiveReport(results, channel, base, time.perf_counter() - started)


# --- the command ------------------------------------------------------------------------


def shorten(text: str, limit: int = 70) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _ratio(part: int, whole: int) -> str:
    return f"{part}/{whole} ({part / whole:.1%})" if whole else "-"


def format_report(name: str, report: LiveReport) -> str:
    """The printed report of one file."""
    total = len(report.results)
    lines = [f"{name}: {total} cases over {report.channel} in {report.seconds:.0f} s", ""]
    lines.append(f"  {'outcome':<22}{'cases':>6}{'share':>9}")
    for outcome, count in report.counts().items():
        lines.append(f"  {outcome.label:<22}{count:>6}{count / total:>9.1%}")
    matched, judged = report.expected()
    lines += ["", f"  as expected: {_ratio(matched, judged)}"]
    recall, false_alarm = report.emergency_recall(), report.false_alarms()
    if recall[1]:
        lines.append(f"  emergency recall: {_ratio(*recall)}")
    if false_alarm[1]:
        lines.append(f"  false alarms (emergency or crisis): {_ratio(*false_alarm)}")
    lines.append(f"  safety advice with answer/no-match: {_ratio(*report.safety_advice())}")
    latency = report.latency()
    if latency:
        lines.append(
            f"  latency per message: median {latency['median']:.2f} s, "
            f"p95 {latency['p95']:.2f} s, max {latency['max']:.2f} s "
            f"({len(report.latencies())} messages)"
        )
    mismatches = report.mismatches()
    if mismatches:
        lines += ["", f"  not as expected ({len(mismatches)}):"]
        for result in mismatches:
            lines.append(
                f"    {result.case.where}  expected {describe_expectation(result.case.expected)}"
                f", got {result.outcome.label}: {shorten(' → '.join(result.case.texts))}"
            )
    errors = {t.error for r in report.results for t in r.turns if t.error}
    if errors:
        lines += ["", f"  failed requests ({len(errors)} distinct):"]
        lines += [f"    {shorten(e, 160)}" for e in sorted(errors)]
    unrecognised = report.unrecognised()
    if unrecognised:
        lines += [
            "",
            f"  unrecognised bot messages ({len(unrecognised)}): domain and server disagree",
        ]
        lines += [f"    {shorten(text, 160)}" for text in unrecognised]
    return "\n".join(lines)


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def _outcomes_argument(value: str) -> frozenset[Outcome]:
    try:
        return parse_outcomes(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_eval_live(args: argparse.Namespace) -> int:
    """Run the files' cases against the server and print a report per file."""
    files = [
        (path, sample_cases(load_cases(path, args.expect, args.format), args.sample))
        for path in args.files
    ]
    check_server(args.url.rstrip("/"))
    reports = []
    for path, cases in files:
        print(f"{path}: {len(cases)} cases ...", file=sys.stderr, flush=True)
        report = run_live(
            args.url, cases, args.workers, args.channel, args.timeout, token=args.token
        )
        reports.append({"file": str(path), **report.to_dict()})
        print(format_report(str(path), report), end="\n\n", flush=True)
    if args.json:
        Path(args.json).write_text(
            json.dumps({"files": reports}, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
    return 0


def add_command(eval_subparsers: argparse._SubParsersAction) -> None:
    """Register ``bot eval live``."""
    live = eval_subparsers.add_parser(
        "live", help="send cases to the running server, count outcomes by response"
    )
    live.add_argument("--url", required=True, help="the Rasa server, e.g. http://127.0.0.1:5005")
    live.add_argument("--channel", choices=sorted(CHANNELS), default="rest")
    live.add_argument(
        "--token",
        help="the REST channel's bearer token (default: NEUROBOT_REST_TOKEN or var/rest_token)",
    )
    live.add_argument(
        "--expect",
        type=_outcomes_argument,
        help="OUTCOME[,OUTCOME] expected of cases that state none (e.g. answer,no-match); "
        f"outcomes: {', '.join(o.value for o in Outcome)}",
    )
    live.add_argument("--format", choices=("auto", "jsonl", "rqe"), default="auto")
    live.add_argument("--sample", type=_positive, help="N cases per file, fixed seed")
    live.add_argument(
        "--workers", type=_positive, default=DEFAULT_WORKERS, help="conversations at once"
    )
    live.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per reply")
    live.add_argument("--json", metavar="OUT", help="write every case, replies and outcome")
    live.add_argument("files", nargs="+", help="JSON Lines cases or RQE XML")
    live.set_defaults(func=cmd_eval_live)
