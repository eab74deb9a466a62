"""The one harness for real servers, on free ports with a temporary state dir: the action
server and `rasa run` as `make run` starts them, `make run`'s launcher itself, and the
cluster profile behind nginx.

Used by every test that talks to real servers (tests/server, tests/security,
tests/channels, tests/browser, tests/cluster): through the ``servers`` fixture of
tests/conftest.py, or :func:`running_servers` where a fixture needs its own. What the
servers answer (the domain's wording) is read here too, once.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from bot.http import HttpClient
from bot.secrets import rest_token
from bot.serving.launcher import (
    MODEL,
    action_server_command,
    rasa_server_command,
    server_env,
    stop,
    wait_until_up,
    warm_up,
)
from bot.serving.store import write_endpoints
from bot.settings import PROJECT_ROOT, Settings, load_settings

if TYPE_CHECKING:
    from bot.evaluation.load import Profile, Proxy, Target

# ------------------------------------------------------------- what the servers answer

RESPONSES = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())["responses"]
ALS = (
    "Recently I have muscle twitching all over, sometimes my left hand feels weaker. "
    "Could it be ALS?"
)


def response_text(name: str, **values: str) -> str:
    """A domain response's text, whitespace collapsed, ``{placeholders}`` filled."""
    return " ".join(str(RESPONSES[name][0]["text"]).split()).format_map(values)


SAFETY = response_text("utter_safety_advice")
CARD_START = "The most similar question in the archive is “"
FULL_START = "The full reply to “"

# ---------------------------------------------------------------------------- helpers


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: Callable[[], Any], seconds: float = 30.0, what: str = "") -> Any:
    """Poll until ``condition()`` is truthy; return its value."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what or condition}")


def require_model_and_index() -> Settings:
    """This checkout's settings; fails the test when the model or the index is missing."""
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make model` first")
    settings = load_settings()
    if not settings.db_path.exists():
        pytest.fail(f"no archive index at {settings.db_path}: run `make index` first")
    return settings


def rest_headers(token: str | None = None) -> dict[str, str]:
    """The REST channel's ``Authorization`` header (by default this deployment's token)."""
    return {"Authorization": f"Bearer {rest_token(load_settings()) if token is None else token}"}


def rest_say(
    url: str, sender: str, text: str, timeout: float = 30, token: str | None = None
) -> list[dict[str, Any]]:
    """Send one message to the REST channel at ``url`` with the bearer ``token`` (by
    default this deployment's) and return the bot's messages."""
    client = HttpClient(timeout=timeout)
    try:
        answer = client.post_json(
            f"{url}/webhooks/rest/webhook",
            {"sender": sender, "message": text},
            headers=rest_headers(token),
        )
    finally:
        client.close()
    assert isinstance(answer, list)
    return answer


def tail(path: Path, chars: int = 5000) -> str:
    """The end of a log file ('' when there is none)."""
    return path.read_text(errors="replace")[-chars:] if path.exists() else ""


#: Rate limits no test meets by accident; the limits themselves are tested with servers
#: of their own (tests/security/test_hostile_input.py).
GENEROUS_RATES = {
    "NEUROBOT_RATE_MESSAGES": "1000/minute",
    "NEUROBOT_RATE_ADDRESS": "10000/minute",
    "NEUROBOT_RATE_REFUSED": "1000/minute",
    "NEUROBOT_RATE_SIGN_IN": "1000/minute",
}

#: The operator credential of the review tests' servers.
REVIEW_TOKEN = "review-token-of-the-test-suite"
#: The review tests' servers: conversations in SQLite (the queue reads them), an index of
#: their own (a test imports a doctor's reply into it), a known operator credential.
REVIEW_SERVERS: dict[str, Any] = {
    "conversations": True,
    "own_index": True,
    "variables": {"NEUROBOT_REVIEW_TOKEN": REVIEW_TOKEN},
}

# ------------------------------------------------------------- action server + rasa run


class Servers:
    """The action server and the Rasa server, started as the launcher starts them.

    Args:
        root: A folder of the test's own: the logs (``actions.log``, ``rasa.log``), the
            state dir (``state/``: generated secrets, conversations) and, with
            ``own_index``, the index copy.
        credentials: The Rasa server's credentials file (default the project's).
        reply_timeout: ``NEUROBOT_REPLY_TIMEOUT``, seconds.
        variables: More ``NEUROBOT_*`` variables, for the settings and both servers
            (they win over :data:`GENEROUS_RATES`).
        conversations: Keep conversations in the SQLite tracker store of the state dir
            (the endpoints file written by :mod:`bot.serving.store`, as `make run`
            does); otherwise the project's endpoints.yml (conversations in memory).
        own_index: Serve a copy of the archive index (a test may import into it).
        origins: Web origins allowed besides the Rasa server's own.
    """

    def __init__(
        self,
        root: Path,
        *,
        credentials: Path | None = None,
        reply_timeout: float = 5.0,
        variables: Mapping[str, str] | None = None,
        conversations: bool = False,
        own_index: bool = False,
        origins: Sequence[str] = (),
    ) -> None:
        base = require_model_and_index()
        self.logs = root
        self.state = root / "state"
        self.index = base.db_path
        if own_index:
            self.index = root / "archive.sqlite3"
            shutil.copyfile(base.db_path, self.index)
        rasa_port = free_port()
        #: the REST channel's bearer token, the same for the servers and the tests
        self.rest_token = os.environ.get("NEUROBOT_REST_TOKEN") or rest_token(load_settings())
        self.variables = {
            "NEUROBOT_DB": str(self.index),
            "NEUROBOT_STATE_DIR": str(self.state),
            "NEUROBOT_RASA_PORT": str(rasa_port),
            "NEUROBOT_ACTIONS_PORT": str(free_port()),
            "NEUROBOT_REPLY_TIMEOUT": str(reply_timeout),
            "NEUROBOT_REST_TOKEN": self.rest_token,
            **GENEROUS_RATES,
            **(variables or {}),
        }
        if origins:
            own = f"http://127.0.0.1:{rasa_port}"
            self.variables["NEUROBOT_ALLOWED_ORIGINS"] = ",".join((own, *origins))
        if conversations:
            # the SQLite file of the state dir, whatever this shell's environment says
            self.variables.update({"NEUROBOT_DATABASE_URL": "", "NEUROBOT_REDIS_URL": ""})
        self.settings = load_settings(self.variables)
        self.env = {**server_env(self.settings), **self.variables}
        self.credentials = credentials or PROJECT_ROOT / "credentials.yml"
        #: the Rasa server's endpoints file; None: the project's (conversations in memory)
        self.endpoints = write_endpoints(self.settings) if conversations else None
        self.actions: subprocess.Popen[bytes] | None = None
        self.rasa: subprocess.Popen[bytes] | None = None
        self.warm_up_seconds = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.rasa_port}"

    def start(self) -> None:
        """Start both servers; return once a warm-up message had a real answer. On a
        failure the end of both logs is printed (pytest shows it) and both are stopped."""
        try:
            self.actions = self._spawn(action_server_command(self.settings), "actions.log")
            wait_until_up(
                f"http://127.0.0.1:{self.settings.actions_port}/health", self.actions, 120
            )
            command = rasa_server_command(
                self.settings, credentials=self.credentials, endpoints=self.endpoints
            )
            self.rasa = self._spawn(command, "rasa.log")
            wait_until_up(f"{self.url}/webhooks/rest/", self.rasa, 300)
            # as `make run` does: the first message loads the models, which can take
            # longer than the reply deadline on a cold machine
            self.warm_up_seconds = warm_up(self.url, processes=[self.actions, self.rasa])
        except Exception:
            for name in ("actions.log", "rasa.log"):
                print(f"--- {name}\n{tail(self.logs / name)}")
            self.stop()
            raise

    def _spawn(self, command: list[str], log: str) -> subprocess.Popen[bytes]:
        with (self.logs / log).open("ab") as output:
            return subprocess.Popen(
                command, env=self.env, cwd=PROJECT_ROOT, stdout=output, stderr=subprocess.STDOUT
            )

    def say(self, sender: str, text: str) -> list[dict[str, Any]]:
        """Send one message over REST and return the bot's messages."""
        return rest_say(self.url, sender, text, token=self.rest_token)

    def bot(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the ``bot`` command against this deployment (its settings, its index)."""
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", *args],
            env=self.env,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def stop_rasa(self) -> None:
        if self.rasa is not None:
            stop([self.rasa])

    def stop(self) -> None:
        stop([p for p in (self.rasa, self.actions) if p is not None])


@contextmanager
def running_servers(root: Path, **options: Any) -> Iterator[Servers]:
    """:class:`Servers` started in ``root`` with ``options``, stopped on leaving."""
    servers = Servers(root, **options)
    try:
        servers.start()
        yield servers
    finally:
        servers.stop()


# ---------------------------------------------------------------- make run's launcher


class Launcher:
    """``python -m bot.serving.launcher`` (what `make run` runs) with free ports, the
    state dir ``state`` and a fixed REST token; ``variables`` are more settings."""

    TOKEN = "persistence-test-token-0123456789"

    def __init__(self, state: Path, **variables: str) -> None:
        index = require_model_and_index().db_path
        self.env = {
            **os.environ,
            "NEUROBOT_STATE_DIR": str(state),
            "NEUROBOT_DB": str(index),
            "NEUROBOT_RASA_PORT": str(free_port()),
            "NEUROBOT_ACTIONS_PORT": str(free_port()),
            "NEUROBOT_REST_TOKEN": self.TOKEN,
            "NEUROBOT_REPLY_TIMEOUT": "5",
            **variables,
        }
        self.log = state / "launcher.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.env['NEUROBOT_RASA_PORT']}"

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def start(self) -> None:
        """Start the launcher; return once it printed its ready line."""
        offset = len(self.output())
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot.serving.launcher"],
                cwd=PROJECT_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

        def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"the launcher exited:\n{self.output()[-5000:]}")
            return "Press Ctrl-C" in self.output()[offset:]

        wait_for(ready, 420, "the launcher's ready line")

    def stop(self) -> None:
        """SIGTERM, as a service manager stops it; it must exit cleanly."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            assert self.process.wait(timeout=90) == 0, self.output()[-3000:]
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()

    def say(self, sender: str, text: str) -> list[dict[str, Any]]:
        return rest_say(self.url, sender, text, timeout=60, token=self.TOKEN)


# -------------------------------------------------------------------- the cluster


#: The Redis database of the cluster tests.
REDIS_DB = 5


class Loop:
    """An event loop in a thread, holding the store proxies for the whole module."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)

    async def outage(self, proxy: Proxy, seconds: float) -> None:
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(proxy.down(), self.loop))
        await asyncio.sleep(seconds)
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(proxy.up(), self.loop))

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


class Cluster:
    """A running cluster profile, its store proxies and its own copy of the index."""

    def __init__(self, profile: Profile, proxies: dict[str, Proxy], loop: Loop, db: Path):
        self.profile, self.proxies, self.loop, self.db = profile, proxies, loop, db
        self.target: Target = profile.target()

    def logs_since(self, offsets: dict[Path, int]) -> str:
        text = []
        for path in self.profile.logs():
            with path.open("rb") as handle:
                handle.seek(offsets.get(path, 0))
                text.append(handle.read().decode(errors="replace"))
        return "\n".join(text)

    def offsets(self) -> dict[Path, int]:
        return {p: p.stat().st_size for p in self.profile.logs()}


@contextmanager
def running_cluster(state: Path) -> Iterator[Cluster]:
    """The cluster profile (two Rasa servers, two action servers, nginx) started on free
    ports in ``state``, with a throw-away PostgreSQL database and Redis db 5, each reached
    through a proxy a test can cut off; stopped and dropped on leaving."""
    import redis
    import sqlalchemy as sa

    from bot.evaluation.load import Profile, Proxy, via_proxy
    from bot.serving.cluster import DEFAULT_DATABASE_URL

    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        pytest.fail("nginx is not installed: run `make nginx-deps`")
    settings = require_model_and_index()
    # the cluster's own copy of the index, so that a test can replace it
    db = state / "archive.sqlite3"
    shutil.copy(settings.db_path, db)
    for sidecar in settings.db_path.parent.glob(settings.db_path.name + ".*"):
        shutil.copy(sidecar, state / sidecar.name)
    name = f"neurobot_test_{uuid.uuid4().hex[:8]}"
    base = DEFAULT_DATABASE_URL.rsplit("/", 1)[0]
    loop = Loop()
    proxies = {"postgres": Proxy("127.0.0.1", 5432), "redis": Proxy("127.0.0.1", 6379)}
    for proxy in proxies.values():
        loop.run(proxy.up())
    env = {
        "NEUROBOT_DB": str(db),
        "NEUROBOT_DATABASE_URL": via_proxy(f"{base}/{name}", proxies["postgres"]),
        "NEUROBOT_REDIS_URL": via_proxy(f"redis://127.0.0.1:6379/{REDIS_DB}", proxies["redis"]),
        "NEUROBOT_DENSE": "on",
    }
    profile = Profile("cluster", state, env)
    try:
        profile.start()
        yield Cluster(profile, proxies, loop, db)
    finally:
        profile.stop()
        for proxy in proxies.values():
            loop.run(proxy.down())
        loop.close()
        admin = sa.create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        redis.Redis(db=REDIS_DB).flushdb()
