"""Load and fault runs: simulated patients over REST and socket.io, numbers per profile.

``bot load`` (``python -m bot.evaluation.load``) starts each profile named by ``--profiles``
(``run``: the launcher of ``make run``; ``cluster``: :mod:`bot.serving.cluster`) on free ports
with a throw-away state dir, or talks to servers already running (``--url NAME=URL``),
and runs, against each in turn:

* **single** (``--single N``, 30): one patient sending N messages back to back over REST,
  the latency of one message when nothing else waits;

* **typing**: ``--patients`` patients (20) who start staggered over the think time and
  hold multi-turn conversations: a description of their symptoms (the questions of the
  sample archive, written by the team), then "can you show me the full reply?", then a
  thank-you, with ``--think`` seconds (5, +-50%) between messages; half over REST, half
  over socket.io (the web chat's channel, ``--transport websocket`` or ``polling``);
* **saturation** (``--saturate``): the same patients with no think time, to find the
  most messages per second;
* **memory** (``--memory N``): the resident memory (VmRSS of ``/proc/<pid>/status``) of
  every server at the start and after N more conversations sent back to back.

The profile ``bare`` is a plain Rasa bot of the same version (:mod:`bot.evaluation.baseline`:
``rasa init``'s demo, REST only, conversations in memory), started on this machine in the
same run. When it is among the profiles, the table ends with each profile's figures as a
ratio to it (single-patient p50, saturated messages per second): absolute figures move by
half with whatever else the machine runs, the ratio far less.

For each it prints latency p50 / p95 / max, messages per second and the replies that were
*lost* (no HTTP answer, an error status, a socket that dropped), *silent* (an answer
without a message), *fallback* (the technical-problem reply) or *forgotten* (a follow-up
that got "I have not shown you an archived reply yet" after an answer was shown: the
conversation's history was lost), side by side for every profile.

Fault runs (``--fault``), each during the typing run: ``kill-rasa`` kills one Rasa server
of the cluster (SIGKILL) half-way; ``redis`` and ``postgres`` cut the cluster off its
lock store or tracker store for ``--outage`` seconds (10): the profile is started with
its store behind a TCP proxy of this process, which drops every connection and refuses
new ones for that long, so the shared engines of this machine keep serving everyone
else; ``restart`` restarts the whole profile between the first and the second message of
every conversation. The log lines the servers wrote during the fault are printed.

The harness is our own (asyncio, aiohttp and python-socketio's client, all installed
with Rasa): Locust would bring gevent, which patches the standard library, into the
same environment as Rasa, and it knows nothing of socket.io or of our replies.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import queue
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from bot.archive.formats import read_archive
from bot.errors import BotError, ServiceError
from bot.evaluation import baseline
from bot.evaluation.live import ResponseMatcher
from bot.names import (
    UTTER_ARCHIVE_ANSWER,
    UTTER_FULL_REPLY,
    UTTER_NOTHING_SHOWN_YET,
    UTTER_TECHNICAL_PROBLEM,
)
from bot.secrets import rest_token
from bot.serving.cluster import DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL, free_port
from bot.settings import PROJECT_ROOT, load_settings
from bot.stats import percentile

FOLLOW_UP = "can you show me the full reply?"
THANKS = "thank you, that helps"
#: A turn's reply is over when no bot message came for this long (socket.io).
QUIET_SECONDS = 0.4
#: Seconds to wait for a reply before it counts as silent (or lost).
REPLY_TIMEOUT = 15.0
#: Seconds a profile may take to start (model loading and warm-up included).
START_SECONDS = 420.0
ANSWER = UTTER_ARCHIVE_ANSWER
FULL_REPLY = UTTER_FULL_REPLY
NOTHING_SHOWN = UTTER_NOTHING_SHOWN_YET
FALLBACK = UTTER_TECHNICAL_PROBLEM
#: Log lines worth showing after a fault (never patient text: the logs hold none at INFO).
LOG_WORDS = re.compile(
    r"error|exception|refused|unavailable|lock|exited|restart|warn|timed out|fallback|"
    r"connection|operational",
    re.I,
)
#: Library warnings printed at every start: not what happened.
NOISE = re.compile(r"Deprecat|warnings\.warn|^\s*return |^\s*$")


# --- one reply -------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """What one patient message came back with.

    Attributes:
        channel: ``rest`` or ``socketio``.
        sent: When it was sent (monotonic seconds).
        latency: Seconds to the reply's last message; None when nothing came.
        outcome: ``ok``, ``fallback``, ``silent`` or ``lost``.
        responses: The domain.yml response of each bot message.
        forgotten: A follow-up answered "nothing shown yet" although an answer was shown.
    """

    channel: str
    sent: float
    latency: float | None
    outcome: str
    responses: tuple[str | None, ...] = ()
    forgotten: bool = False


@dataclass
class Stats:
    """The replies of one run, and what they add up to."""

    replies: list[Reply] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    ended: float = 0.0
    conversations: int = 0
    events: list[str] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.replies if r.outcome == outcome)

    def summary(self) -> dict[str, Any]:
        """p50/p95/max latency (s), messages per second, counts per outcome."""
        answered = [r for r in self.replies if r.latency is not None]
        latencies = [r.latency for r in answered if r.latency is not None]
        if answered:
            first = min(r.sent for r in self.replies)
            last = max(r.sent + (r.latency or 0.0) for r in answered)
            rate = len(answered) / max(last - first, 1e-9)
        else:
            rate = 0.0
        return {
            "messages": len(self.replies),
            "conversations": self.conversations,
            "p50_s": percentile(latencies, 0.50),
            "p95_s": percentile(latencies, 0.95),
            "max_s": max(latencies, default=0.0),
            "msgs_per_s": rate,
            "lost": self.count("lost"),
            "silent": self.count("silent"),
            "fallback": self.count("fallback"),
            "forgotten": sum(1 for r in self.replies if r.forgotten),
        }


class Judge:
    """Names each bot message by its domain.yml response."""

    def __init__(self) -> None:
        self.matcher = ResponseMatcher.from_domain()

    def reply(
        self,
        channel: str,
        sent: float,
        messages: list[dict[str, Any]] | None,
        latency: float | None,
        shown: bool,
    ) -> Reply:
        if messages is None:
            return Reply(channel, sent, latency, "lost")
        if not messages:
            return Reply(channel, sent, None, "silent")
        names = self.matcher.match(messages)
        outcome = "fallback" if FALLBACK in names else "ok"
        return Reply(channel, sent, latency, outcome, names, shown and NOTHING_SHOWN in names)


# --- patients ----------------------------------------------------------------------------


def openers(limit: int = 200) -> list[str]:
    """Patients' first messages: the questions of the shipped sample archive."""
    settings = load_settings()
    records = read_archive(settings.archive_paths)
    texts = [r.question for r in records if len(r.question) < 600]
    if not texts:
        raise BotError(f"no questions in {', '.join(map(str, settings.archive_paths))}")
    return texts[:limit]


@dataclass
class Plan:
    """What the patients of one run do."""

    patients: int = 20
    conversations: int = 2
    think: float = 5.0
    channels: tuple[str, ...] = ("rest", "socketio")
    transport: str = "websocket"
    turns: tuple[str, ...] = (FOLLOW_UP, THANKS)
    #: Between turn 1 and turn 2 of every conversation: awaited once by all patients.
    between: Callable[[], Any] | None = None

    def pause(self, rng: random.Random) -> float:
        return self.think * rng.uniform(0.5, 1.5) if self.think > 0 else 0.0


class Conversation:
    """One channel's way of sending a message and reading the whole reply."""

    channel = ""

    async def open(self) -> None:
        """Connect (socket.io) or nothing (REST)."""

    async def say(self, text: str) -> tuple[list[dict[str, Any]] | None, float | None]:
        raise NotImplementedError

    async def close(self) -> None:
        """Disconnect."""


class RestConversation(Conversation):
    channel = "rest"

    def __init__(self, http: aiohttp.ClientSession, url: str, token: str, sender: str) -> None:
        self.http, self.url, self.sender = http, f"{url}/webhooks/rest/webhook", sender
        self.headers = {"Authorization": f"Bearer {token}"}

    async def say(self, text: str) -> tuple[list[dict[str, Any]] | None, float | None]:
        started = time.perf_counter()
        try:
            async with self.http.post(
                self.url,
                json={"sender": self.sender, "message": text},
                headers=self.headers,
                timeout=aiohttp.ClientTimeout(total=REPLY_TIMEOUT * 2),
            ) as answer:
                if answer.status != 200:
                    return None, None
                body = await answer.json()
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
            return None, None
        if not isinstance(body, list):
            return None, None
        return [m for m in body if isinstance(m, dict)], time.perf_counter() - started


class SocketConversation(Conversation):
    """A web chat session: signed session id kept across reconnects, as the widget does.

    python-socketio's threaded client: its asyncio client's websocket transport needs a
    newer aiohttp than Rasa 3.6 allows. Its calls run in worker threads.
    """

    channel = "socketio"

    def __init__(self, url: str, transport: str) -> None:
        import requests
        import socketio

        self.url, self.transport = url, transport
        # keeps nginx's route cookie between polling requests
        self.http = requests.Session()
        self.client = socketio.Client(
            reconnection=True,
            reconnection_delay=0.5,
            reconnection_delay_max=2,
            http_session=self.http,
            handle_sigint=False,
        )
        self.session: str | None = None
        self.confirmed = threading.Event()
        self.messages: queue.Queue[tuple[float, Any]] = queue.Queue()
        self.dropped = False
        self.client.on("connect", self._connected)
        self.client.on("disconnect", self._disconnected)
        self.client.on("session_confirm", self._confirm)
        self.client.on("bot_uttered", self._message)

    def _connected(self) -> None:
        self.confirmed.clear()
        self.client.emit("session_request", {"session_id": self.session})

    def _disconnected(self, *args: Any) -> None:
        self.dropped = True
        self.confirmed.clear()

    def _confirm(self, data: Any = None) -> None:
        if isinstance(data, str) and data:
            self.session = data
        self.confirmed.set()

    def _message(self, data: Any = None) -> None:
        self.messages.put((time.perf_counter(), data))

    def _open(self) -> None:
        # a browser's Origin; websocket-client sends one of its own (the URL's)
        headers = {"Origin": self.url} if self.transport == "polling" else {}
        self.client.connect(self.url, transports=[self.transport], headers=headers, wait_timeout=10)
        if not self.confirmed.wait(REPLY_TIMEOUT):
            raise ServiceError("no session_confirm")

    async def open(self) -> None:
        await asyncio.to_thread(self._open)

    def _say(self, text: str) -> tuple[list[dict[str, Any]] | None, float | None]:
        if not self.confirmed.wait(REPLY_TIMEOUT):
            return None, None
        while not self.messages.empty():
            self.messages.get_nowait()
        self.dropped = False
        started = time.perf_counter()
        try:
            self.client.emit("user_uttered", {"message": text})
        except Exception:  # python-socketio raises its own and the transport's errors
            return None, None
        messages: list[dict[str, Any]] = []
        last = started
        wait = REPLY_TIMEOUT
        while True:
            try:
                last, data = self.messages.get(timeout=wait)
            except queue.Empty:
                break
            messages.append(data if isinstance(data, dict) else {"custom": data})
            wait = QUIET_SECONDS
        if not messages and self.dropped:
            return None, None
        return messages, (last - started) if messages else None

    async def say(self, text: str) -> tuple[list[dict[str, Any]] | None, float | None]:
        return await asyncio.to_thread(self._say, text)

    def _close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.disconnect()
        self.http.close()

    async def close(self) -> None:
        await asyncio.to_thread(self._close)


@dataclass
class Target:
    """A running profile: where patients talk to it, its servers, its logs."""

    name: str
    url: str
    token: str
    servers: Callable[[], dict[str, int]] = dict
    logs: Sequence[Path] = ()
    kill_rasa: Callable[[], str] | None = None
    #: Talks REST only (the bare bot): every run sends over REST.
    rest_only: bool = False


async def patient(
    number: int,
    target: Target,
    plan: Plan,
    judge: Judge,
    stats: Stats,
    http: aiohttp.ClientSession,
    texts: Sequence[str],
    barrier: Gate | None,
) -> None:
    rng = random.Random(number)
    channel = plan.channels[number % len(plan.channels)]
    await asyncio.sleep(rng.uniform(0, plan.think) if plan.think > 0 else 0.0)
    run = uuid.uuid4().hex[:8]
    for turn_set in range(plan.conversations):
        sender = f"load-{run}-{number}-{turn_set}"
        chat: Conversation
        if channel == "rest":
            chat = RestConversation(http, target.url, target.token, sender)
        else:
            chat = SocketConversation(target.url, plan.transport)
        try:
            try:
                await chat.open()
            except Exception:  # a refused or failed connection: this conversation is lost
                stats.replies.append(Reply(chat.channel, time.monotonic(), None, "lost"))
                if barrier is not None:
                    await barrier.arrive(wait=False)
                continue
            stats.conversations += 1
            shown = False
            texts_now = [texts[rng.randrange(len(texts))], *plan.turns]
            for i, text in enumerate(texts_now):
                if i == 1 and barrier is not None:
                    await barrier.arrive()
                elif i > 0:
                    await asyncio.sleep(plan.pause(rng))
                sent = time.monotonic()
                messages, latency = await chat.say(text)
                reply = judge.reply(chat.channel, sent, messages, latency, shown)
                stats.replies.append(reply)
                shown = shown or ANSWER in reply.responses
        finally:
            await chat.close()
        await asyncio.sleep(plan.pause(rng))


class Gate:
    """Every patient stops after its first message; ``action`` (blocking) runs once when
    the last one arrives, then all go on. A patient whose conversation failed leaves."""

    def __init__(self, parties: int, action: Callable[[], Any]) -> None:
        self.waiting = parties
        self.action = action
        self.done = asyncio.Event()

    async def arrive(self, wait: bool = True) -> None:
        self.waiting -= 1
        if self.waiting == 0:
            await asyncio.to_thread(self.action)
            self.done.set()
        if wait:
            await self.done.wait()


async def run_load(
    target: Target, plan: Plan, fault: Callable[[], Any] | None = None, fault_at: float = 0.0
) -> Stats:
    """Run ``plan`` against ``target``; ``fault`` (a coroutine function) ``fault_at``
    seconds after the start."""
    judge = Judge()
    texts = openers()
    stats = Stats()
    barrier = Gate(plan.patients, plan.between) if plan.between is not None else None
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        tasks = [
            asyncio.create_task(patient(i, target, plan, judge, stats, http, texts, barrier))
            for i in range(plan.patients)
        ]
        injector = None
        if fault is not None:

            async def inject() -> None:
                await asyncio.sleep(fault_at)
                await fault()

            injector = asyncio.create_task(inject())
        await asyncio.gather(*tasks)
        if injector is not None:
            await injector
    stats.ended = time.monotonic()
    return stats


# --- memory ------------------------------------------------------------------------------


def rss_mib(pid: int) -> float | None:
    """Resident memory of process ``pid`` in MiB (VmRSS), None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def children(pid: int) -> list[int]:
    """Direct children of ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def memory(target: Target) -> dict[str, float]:
    """MiB resident per server of ``target``."""
    return {name: rss for name, pid in target.servers().items() if (rss := rss_mib(pid))}


# --- profiles ----------------------------------------------------------------------------


#: The profiles this command can start.
PROFILES = ("run", "cluster", "bare")
#: Rate limits a load run does not meet (``bot.guard.ratelimit``).
UNLIMITED = {
    f"NEUROBOT_RATE_{name}": "1000000/minute"
    for name in ("MESSAGES", "ADDRESS", "REFUSED", "SIGN_IN")
}


class Profile:
    """``make run``'s launcher or ``make cluster`` started as a child, on free ports.

    Args:
        name: ``run``, ``cluster`` or ``bare`` (:mod:`bot.evaluation.baseline`).
        state_dir: Its state dir (secrets, conversations, the cluster's files).
        extra_env: Variables for it (store URLs of a fault run).
    """

    def __init__(self, name: str, state_dir: Path, extra_env: dict[str, str] | None = None):
        if name not in PROFILES:
            raise BotError(f"unknown profile {name!r} ({', '.join(PROFILES)})")
        self.name = name
        self.state_dir = state_dir
        self.port = free_port()
        self.env = {
            **os.environ,
            "NEUROBOT_STATE_DIR": str(state_dir),
            # a load run is many patients from one address, some back to back: the limits
            # on anonymous use would refuse it (they are tested apart)
            **UNLIMITED,
            **(extra_env or {}),
        }
        self.cwd = PROJECT_ROOT
        self.ready_line = "is ready"
        if name == "bare":
            self.env.update(baseline.QUIET)
            self.command = []  # known once the bare bot is made (start)
            self.cwd = baseline.BARE_DIR
            self.ready_line = baseline.READY_LINE
        elif name == "run":
            self.env["NEUROBOT_RASA_PORT"] = str(self.port)
            self.env["NEUROBOT_ACTIONS_PORT"] = str(free_port())
            self.command = [sys.executable, "-m", "bot.serving.launcher"]
        else:
            self.env.setdefault("NEUROBOT_DATABASE_URL", DEFAULT_DATABASE_URL)
            self.env.setdefault("NEUROBOT_REDIS_URL", DEFAULT_REDIS_URL)
            self.command = [sys.executable, "-m", "bot.serving.cluster", "--port", str(self.port)]
        self.log = state_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start it and wait for its "ready" line.

        Raises:
            ServiceError: It exited or was not ready within :data:`START_SECONDS`.
        """
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if self.name == "bare":
            self.command = baseline.command(baseline.prepare(), self.port)
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.command, env=self.env, cwd=self.cwd, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            text = self.log.read_bytes()[offset:].decode(errors="replace")
            if self.ready_line in text:
                return
            if self.process.poll() is not None:
                raise ServiceError(f"the {self.name} profile exited: {text[-2000:]}")
            time.sleep(0.5)
        raise ServiceError(f"the {self.name} profile was not ready in {START_SECONDS:.0f} s")

    def stop(self) -> None:
        """Ctrl-C, as a person would, then wait for everything to stop."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self) -> None:
        """Stop and start again with the same state dir and databases."""
        self.stop()
        self.start()

    def cluster_state(self) -> dict[str, Any]:
        path = self.state_dir / "cluster" / "cluster.json"
        try:
            return dict(json.loads(path.read_text()))
        except (OSError, ValueError):
            return {}

    def servers(self) -> dict[str, int]:
        """Name -> pid of each server process now."""
        if self.process is None:
            return {}
        if self.name == "bare":
            return {"Rasa server": self.process.pid}
        if self.name == "cluster":
            state = self.cluster_state()
            found = {f"Rasa server {i}": s["pid"] for i, s in enumerate(state.get("rasa", []), 1)}
            found |= {
                f"action server {i}": s["pid"] for i, s in enumerate(state.get("actions", []), 1)
            }
            if state.get("nginx"):
                found["nginx"] = state["nginx"]
                found |= {f"nginx worker {i}": p for i, p in enumerate(children(state["nginx"]), 1)}
            return {k: v for k, v in found.items() if v}
        found = {}
        for pid in children(self.process.pid):
            line = command_line(pid)
            if "actions.server" in line:
                found["action server"] = pid
            elif " run " in f"{line} ":
                found["Rasa server"] = pid
        return found

    def logs(self) -> list[Path]:
        if self.name == "cluster":
            return sorted((self.state_dir / "cluster" / "logs").glob("*.log"))
        return [self.log]

    def kill_rasa(self) -> str:
        """SIGKILL the first Rasa server of the cluster; say which."""
        pid = self.servers().get("Rasa server 1")
        if not pid:
            raise ServiceError("no Rasa server to kill")
        os.kill(pid, signal.SIGKILL)
        return f"killed Rasa server 1 (pid {pid})"

    def target(self) -> Target:
        if self.name == "bare":  # its REST channel asks for no token
            return Target(self.name, self.url, "", self.servers, self.logs(), rest_only=True)
        token = rest_token(load_settings({"NEUROBOT_STATE_DIR": str(self.state_dir)}))
        return Target(
            self.name,
            self.url,
            token,
            self.servers,
            self.logs(),
            self.kill_rasa if self.name == "cluster" else None,
        )


# --- outages -----------------------------------------------------------------------------


class Proxy:
    """A TCP proxy to a database server that can play its outage.

    :meth:`down` drops every connection and stops listening (a client connecting gets
    "connection refused", as from a stopped server); :meth:`up` listens again.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.listen = free_port()
        self.server: asyncio.base_events.Server | None = None
        self.transports: set[asyncio.WriteTransport] = set()

    async def up(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.listen)

    async def down(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for transport in list(self.transports):
            transport.abort()
        self.transports.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        except OSError:
            writer.transport.abort()
            return
        pair = (writer.transport, up_writer.transport)
        self.transports.update(pair)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, ConnectionError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.transports.difference_update(pair)


def via_proxy(url: str, proxy: Proxy) -> str:
    """``url`` with its host and port replaced by the proxy's."""
    parts = urlsplit(url)
    auth = parts.netloc.rpartition("@")[0]
    netloc = f"{auth + '@' if auth else ''}127.0.0.1:{proxy.listen}"
    return urlunsplit(parts._replace(netloc=netloc))


# --- running it all ----------------------------------------------------------------------


def log_lines(paths: Sequence[Path], since: dict[Path, int], limit: int = 12) -> list[str]:
    """Lines written to ``paths`` after the offsets in ``since`` that name a problem."""
    found = []
    for path in paths:
        try:
            with path.open("rb") as handle:
                handle.seek(since.get(path, 0))
                text = handle.read().decode(errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            if LOG_WORDS.search(line) and not NOISE.search(line):
                found.append(f"{path.name}: {line.strip()[:220]}")
    # the first lines say what happened, the last how it ended
    return found if len(found) <= limit else [*found[: limit // 2], "...", *found[-limit // 2 :]]


def offsets(paths: Sequence[Path]) -> dict[Path, int]:
    return {p: p.stat().st_size for p in paths if p.exists()}


@dataclass
class Options:
    profiles: tuple[str, ...]
    urls: dict[str, str]
    plan: Plan
    saturate: bool
    saturate_messages: int
    single: int
    memory: int
    fault: str
    outage: float


def _saturation_plan(plan: Plan, messages: int) -> Plan:
    turns = max(1, round(messages / plan.patients))
    return Plan(
        patients=plan.patients,
        conversations=-(-turns // 3),
        think=0.0,
        # REST: a socket.io reply has no end marker, the client waits QUIET_SECONDS
        channels=("rest",),
    )


async def measure(profile: Profile | None, target: Target, options: Options) -> dict[str, Any]:
    """Every run the options ask for against one target."""
    results: dict[str, Any] = {"memory_start": memory(target)}
    plan = options.plan
    if target.rest_only:
        plan = dataclasses.replace(plan, channels=("rest",))
    if options.single:
        one = Plan(patients=1, conversations=-(-options.single // 3), think=0.0, channels=("rest",))
        results["single"] = (await run_load(target, one)).summary()
    events: list[str] = []
    fault = None
    fault_at = plan.think * 3 if plan.think else 5.0
    since = offsets(target.logs)
    if options.fault == "kill-rasa":
        if target.kill_rasa is None:
            raise BotError("--fault kill-rasa needs the cluster profile")
        kill = target.kill_rasa

        async def fault_kill() -> None:
            events.append(f"{time.strftime('%H:%M:%S')} {kill()}")

        fault = fault_kill
    elif options.fault == "restart":
        if profile is None:
            raise BotError("--fault restart needs a profile this command starts")

        def restart() -> None:
            events.append(f"{time.strftime('%H:%M:%S')} restarting the {profile.name} profile")
            profile.restart()
            events.append(f"{time.strftime('%H:%M:%S')} the {profile.name} profile is back")

        plan = dataclasses.replace(plan, between=restart, conversations=1)
    elif options.fault in ("redis", "postgres"):
        proxy = PROXIES[options.fault]

        async def outage() -> None:
            events.append(f"{time.strftime('%H:%M:%S')} {options.fault} down")
            await proxy.down()
            await asyncio.sleep(options.outage)
            await proxy.up()
            events.append(f"{time.strftime('%H:%M:%S')} {options.fault} back")

        fault = outage
    typing = await run_load(target, plan, fault, fault_at)
    results["typing"] = typing.summary()
    if options.fault:
        results["fault"] = {
            "events": events,
            "log": log_lines(target.logs, since),
            "after": after_fault(typing, options),
        }
    if options.saturate:
        saturation = await run_load(target, _saturation_plan(plan, options.saturate_messages))
        results["saturation"] = saturation.summary()
    if options.memory:
        many = Plan(
            patients=plan.patients,
            conversations=max(1, options.memory // plan.patients),
            think=0.0,
            channels=("rest",),
        )
        results["memory_run"] = (await run_load(target, many)).summary()
    results["memory_end"] = memory(target)
    return results


def after_fault(stats: Stats, options: Options) -> dict[str, int]:
    """Replies of the last third of the run (after the fault had ended)."""
    if not stats.replies:
        return {}
    first = min(r.sent for r in stats.replies)
    cut = first + (stats.ended - first) * 2 / 3
    late = [r for r in stats.replies if r.sent >= cut]
    return {
        "messages": len(late),
        "ok": sum(1 for r in late if r.outcome == "ok"),
        "fallback": sum(1 for r in late if r.outcome == "fallback"),
    }


PROXIES: dict[str, Proxy] = {}


def _store_proxies(fault: str) -> dict[str, str]:
    """Start the proxy a fault run needs; return the variables that point there."""
    settings = load_settings()
    if fault == "postgres":
        url = settings.database_url or DEFAULT_DATABASE_URL
        parts = urlsplit(url)
        PROXIES[fault] = Proxy(parts.hostname or "127.0.0.1", parts.port or 5432)
        return {"NEUROBOT_DATABASE_URL": via_proxy(url, PROXIES[fault])}
    if fault == "redis":
        url = settings.redis_url or DEFAULT_REDIS_URL
        parts = urlsplit(url)
        PROXIES[fault] = Proxy(parts.hostname or "127.0.0.1", parts.port or 6379)
        return {"NEUROBOT_REDIS_URL": via_proxy(url, PROXIES[fault])}
    return {}


@contextlib.contextmanager
def _state_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="neurobot-load-") as tmp:
        yield Path(tmp)


async def run_all(options: Options, out: Any = sys.stdout) -> dict[str, Any]:
    """Start (or reach) each profile in turn, measure it, stop it; return the results."""
    results: dict[str, Any] = {}
    extra = _store_proxies(options.fault) if options.fault in ("redis", "postgres") else {}
    for proxy in PROXIES.values():
        await proxy.up()
    for name, url in options.urls.items():
        target = Target(name, url.rstrip("/"), rest_token(load_settings()))
        print(f"measuring {name} at {url} ...", file=out, flush=True)
        results[name] = await measure(None, target, options)
    for name in options.profiles:
        with _state_dir() as state:
            profile = Profile(name, state, extra)
            print(f"starting the {name} profile ...", file=out, flush=True)
            started = time.monotonic()
            await asyncio.to_thread(profile.start)
            print(
                f"  ready in {time.monotonic() - started:.0f} s; measuring ...",
                file=out,
                flush=True,
            )
            try:
                results[name] = await measure(profile, profile.target(), options)
            finally:
                await asyncio.to_thread(profile.stop)
    for proxy in PROXIES.values():
        await proxy.down()
    return results


ROWS = (
    ("messages", "{:d}"),
    ("conversations", "{:d}"),
    ("p50_s", "{:.3f}"),
    ("p95_s", "{:.3f}"),
    ("max_s", "{:.3f}"),
    ("msgs_per_s", "{:.1f}"),
    ("lost", "{:d}"),
    ("silent", "{:d}"),
    ("fallback", "{:d}"),
    ("forgotten", "{:d}"),
)


def table(results: dict[str, Any]) -> str:
    """The results side by side: a column per profile, a block per run."""
    names = list(results)
    lines = []
    width = max(14, *(len(n) for n in names))
    header = f"{'':24}" + "".join(f"{n:>{width}}" for n in names)
    for run in ("single", "typing", "saturation", "memory_run"):
        if not any(run in results[n] for n in names):
            continue
        lines += ["", f"{run}:", header]
        for key, fmt in ROWS:
            cells = [fmt.format(results[n][run][key]) if run in results[n] else "-" for n in names]
            lines.append(f"  {key:22}" + "".join(f"{c:>{width}}" for c in cells))
    for moment in ("memory_start", "memory_end"):
        servers = sorted({s for n in names for s in results[n].get(moment, {})})
        if not servers:
            continue
        lines += ["", f"{moment.replace('_', ' at ')} (MiB resident):", header]
        for server in servers:
            cells = [
                f"{results[n][moment][server]:.0f}" if server in results[n].get(moment, {}) else "-"
                for n in names
            ]
            lines.append(f"  {server:22}" + "".join(f"{c:>{width}}" for c in cells))
    for n in names:
        fault = results[n].get("fault")
        if fault:
            lines += ["", f"fault on {n}:", *(f"  {e}" for e in fault["events"])]
            lines.append(f"  last third of the run: {json.dumps(fault['after'])}")
            lines += ["  log:", *(f"    {line}" for line in fault["log"] or ["(nothing)"])]
    return "\n".join(lines)


#: Figures given as a ratio to the bare bot's: (run, key, what it says).
RATIOS = (
    ("single", "p50_s", "single patient p50 (x the bare bot's; lower is better)"),
    ("saturation", "msgs_per_s", "saturated msgs/s (x the bare bot's; higher is better)"),
    ("saturation", "p95_s", "saturated p95 (x the bare bot's; lower is better)"),
)


def ratios(results: dict[str, Any], base: str = "bare") -> dict[str, dict[str, float]]:
    """Each profile's figures divided by the bare bot's of the same run (none without it)."""
    if base not in results:
        return {}
    found: dict[str, dict[str, float]] = {}
    for name, result in results.items():
        if name == base:
            continue
        for run, key, _ in RATIOS:
            mine, theirs = result.get(run, {}).get(key), results[base].get(run, {}).get(key)
            if mine is not None and theirs:
                found.setdefault(name, {})[f"{run}_{key}"] = mine / theirs
    return found


def ratio_table(found: dict[str, dict[str, float]]) -> str:
    """The ratios, a line per figure and a column per profile."""
    if not found:
        return ""
    names = list(found)
    lines = ["", "", "ratio to the bare Rasa bot of this run:"]
    for run, key, label in RATIOS:
        cells = [
            f"{found[n][f'{run}_{key}']:.2f}" if f"{run}_{key}" in found[n] else "-" for n in names
        ]
        lines.append(
            f"  {label:56}" + "".join(f"{n}={c:>6} " for n, c in zip(names, cells, strict=True))
        )
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bot load", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--profiles",
        default="run,cluster",
        help="profiles to start in turn (run, cluster, bare: a plain Rasa bot; '' for none)",
    )
    parser.add_argument(
        "--single", type=int, default=30, help="messages one patient sends back to back (0: none)"
    )
    parser.add_argument("--url", action="append", default=[], help="NAME=URL of a running bot")
    parser.add_argument("--patients", type=int, default=20)
    parser.add_argument("--conversations", type=int, default=2, help="per patient")
    parser.add_argument("--think", type=float, default=5.0, help="seconds between messages")
    parser.add_argument("--channels", default="rest,socketio")
    parser.add_argument("--transport", choices=("websocket", "polling"), default="websocket")
    parser.add_argument("--saturate", action="store_true", help="also send with no think time")
    parser.add_argument("--saturate-messages", type=int, default=100)
    parser.add_argument(
        "--memory", type=int, default=0, help="N conversations for the memory report"
    )
    parser.add_argument(
        "--fault", choices=("", "kill-rasa", "redis", "postgres", "restart"), default=""
    )
    parser.add_argument("--outage", type=float, default=10.0, help="seconds a store is down")
    parser.add_argument("--json", help="write the results to this file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``bot load``: run, print the table, write JSON."""
    args = build_parser().parse_args(argv)
    urls = dict(item.split("=", 1) for item in args.url)
    options = Options(
        profiles=tuple(p for p in args.profiles.split(",") if p),
        urls=urls,
        plan=Plan(
            patients=args.patients,
            conversations=args.conversations,
            think=args.think,
            channels=tuple(c for c in args.channels.split(",") if c),
            transport=args.transport,
        ),
        saturate=args.saturate,
        saturate_messages=args.saturate_messages,
        single=args.single,
        memory=args.memory,
        fault=args.fault,
        outage=args.outage,
    )
    try:
        results = asyncio.run(run_all(options))
    except (BotError, ServiceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    found = ratios(results)
    print(table(results) + ratio_table(found))
    if args.json:
        written = {**results, "ratio_to_bare": found} if found else results
        Path(args.json).write_text(json.dumps(written, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
