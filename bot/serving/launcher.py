"""Starts the action server and the Rasa server, warms them up and keeps them running.

Used by ``make run`` (both servers), ``make shell`` (action server plus ``rasa shell``)
and the server tests. It only starts processes and talks HTTP; it does not import Rasa.

Before the servers start it writes the Rasa server's endpoints file from the settings
(conversations in SQLite under ``var/`` or PostgreSQL, locks in Redis when configured:
:mod:`bot.serving.store`) and deletes the conversations older than the retention.

``make run`` says where to talk to the bot only once a warm-up message has had a real
answer: the first message loads the dialogue model's graphs and the sentence model,
which takes longer than the reply deadline, and the first patient should not pay for
it. After that, a server that exits is restarted with an exponential back-off while the
other keeps answering (while the action server is down, the channel guard sends the
technical-problem reply and the safety advice). Only Ctrl-C or SIGTERM stops both.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.database import WARM_UP_SENDER
from bot.errors import BotError, ServiceError
from bot.http import HttpClient
from bot.names import UTTER_TECHNICAL_PROBLEM, response_name
from bot.secrets import actions_token, rest_token, write_private
from bot.serving import store
from bot.settings import PROJECT_ROOT, Settings, load_settings

MODEL = PROJECT_ROOT / "models" / "neurobot.tar.gz"

# A symptom description without red flags: it goes through NLU, the dialogue policies and
# the archive search (sentence model included), the way a patient's first message does.
WARM_UP_MESSAGE = (
    "For a few weeks the muscles in my arms have been twitching and my left hand "
    "sometimes feels weaker. What could cause this?"
)
# How the REST channel stores them (addons.channels.REST_SENDER_PREFIX + sender): the
# start deletes the previous runs' warm-up conversations.
WARM_UP_CONVERSATION = "rest:" + WARM_UP_SENDER
WARM_UP_SECONDS = 180.0
#: While the servers run, the retention is applied again this often (seconds), so that a
#: message older than the limit goes even when nobody restarts the bot.
PRUNE_EVERY = 3600.0
# One try may wait while the model loads with the server's event loop blocked.
WARM_UP_TRY_SECONDS = 60.0

Log = Callable[[str], None]


def log_to_stderr(message: str) -> None:
    """Write one launcher message to stderr, where the servers also log."""
    print(f"launcher: {message}", file=sys.stderr, flush=True)


def server_env(settings: Settings, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for both servers: the settings exported, as endpoints.yml reads them.

    Exports the action server's token (``NEUROBOT_ACTIONS_TOKEN``, generated into
    ``var/actions_token`` on first use when unset) and the log level.
    """
    env = dict(os.environ if base is None else base)
    env["NEUROBOT_ACTIONS_URL"] = settings.actions_url
    env["NEUROBOT_DB"] = str(settings.db_path)
    # endpoints.yml sends it; the action server refuses every call without it
    env["NEUROBOT_ACTIONS_TOKEN"] = actions_token(settings)
    # Rasa reads LOG_LEVEL when no -v / -vv / --quiet is given (it has no flag for ERROR)
    env["LOG_LEVEL"] = settings.log_level
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def rasa_bin() -> str:
    """The ``rasa`` executable next to this Python."""
    return str(Path(sys.executable).with_name("rasa"))


def action_server_command(settings: Settings) -> list[str]:
    """Command line of the action server: rasa_sdk's app closed by :mod:`actions.server`
    (the token on every call, on ``settings.host`` only)."""
    return [
        sys.executable,
        "-m",
        "actions.server",
        "--host",
        settings.host,
        "--port",
        str(settings.actions_port),
        "--log-level",
        settings.log_level,
    ]


def rasa_server_command(
    settings: Settings,
    model: Path = MODEL,
    credentials: Path = PROJECT_ROOT / "credentials.yml",
    endpoints: Path | None = None,
) -> list[str]:
    """Command line of the Rasa server (channels from ``credentials``), on
    ``settings.host``, CORS for ``settings.origins`` only.

    ``endpoints`` is the file :func:`prepare_conversations` wrote (action server,
    tracker store, lock store); by default the project's ``endpoints.yml``, which names
    the action server only (conversations in memory).
    """
    return [
        rasa_bin(),
        "run",
        "--model",
        str(model),
        "--interface",
        settings.host,
        "--port",
        str(settings.rasa_port),
        "--endpoints",
        str(endpoints or PROJECT_ROOT / "endpoints.yml"),
        "--credentials",
        str(credentials),
        "--cors",
        *settings.origins,
    ]


def prepare_conversations(settings: Settings, log: Log = log_to_stderr) -> Path:
    """Write the Rasa server's endpoints file and apply the retention, before start.

    Conversations live in the SQLite file under the state dir (created 0600) or in
    ``NEUROBOT_DATABASE_URL``; locks in Redis when ``NEUROBOT_REDIS_URL`` is set
    (:mod:`bot.serving.store`). Conversations older than ``NEUROBOT_RETENTION_DAYS`` are
    deleted first; a database that cannot be reached is logged and the start goes on
    (the Rasa server waits for it).

    Returns:
        The endpoints file (``<state_dir>/endpoints.yml``).

    Raises:
        ConfigError: A store URL is unusable, or the file cannot be written.
    """
    path = store.write_endpoints(settings)
    log(store.describe(settings))
    try:
        removed = store.prune(settings)
        warm_ups = store.forget(settings, WARM_UP_CONVERSATION)
    except ServiceError as exc:
        log(f"retention not applied: {exc}")
    else:
        kept = (
            f"older than {settings.retention_days} days"
            if settings.retention_days > 0
            else "(retention 0: kept forever)"
        )
        log(
            f"retention: removed {removed.events} event(s) {kept} "
            f"({removed.conversations} conversation(s) whole) and {warm_ups} "
            "warm-up conversation(s)"
        )
    return path


def write_credentials(path: Path, env: Mapping[str, str]) -> None:
    """Run ``python -m addons.messaging credentials PATH``: the file holds platform
    tokens, so it is created private (0600) before the command writes into it, and the
    command runs with umask 077 in case it replaces the file.

    Raises:
        subprocess.CalledProcessError: The command failed.
    """
    write_private(path, "")
    subprocess.run(
        [sys.executable, "-m", "addons.messaging", "credentials", str(path)],
        env=dict(env),
        cwd=PROJECT_ROOT,
        check=True,
        umask=0o077,
    )


def apply_retention(settings: Settings) -> None:
    """Delete what is older than the retention, logging what was removed (never raises)."""
    try:
        removed = store.prune(settings)
    except BotError as exc:
        log_to_stderr(f"retention not applied: {exc}")
        return
    if removed.events:
        log_to_stderr(f"retention: removed {removed.events} event(s) older than the limit")


def wait_until_up(url: str, process: subprocess.Popen[bytes], seconds: float) -> None:
    """Poll ``url`` until it answers; fail early if the process exits.

    Raises:
        ServiceError: The process ended or ``seconds`` passed first.
    """
    client = HttpClient(timeout=2.0)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise ServiceError(f"process for {url} exited with code {process.returncode}")
            try:
                client.get(url)
                return
            except ServiceError:
                time.sleep(0.5)
    finally:
        client.close()
    raise ServiceError(f"{url} did not answer within {seconds:.0f} s")


def is_real_answer(messages: Any) -> bool:
    """Whether a REST reply is the bot's own answer rather than the channel's fallback,
    by the responses its messages name (their card payloads), never by their wording.

    Returns:
        True for a non-empty reply whose first message names a response and none of
        whose messages is ``utter_technical_problem``: an archive answer or the honest
        no-match both count.
    """
    if not isinstance(messages, list) or not messages:
        return False
    names = [response_name(m) if isinstance(m, dict) else None for m in messages]
    return names[0] is not None and UTTER_TECHNICAL_PROBLEM not in names


def warm_up(
    base_url: str,
    seconds: float = WARM_UP_SECONDS,
    processes: Sequence[subprocess.Popen[bytes]] = (),
    message: str = WARM_UP_MESSAGE,
) -> float:
    """Send a symptom description over REST until the bot gives it a real answer.

    Until the dialogue model and the sentence model are loaded, the channel guard
    answers with the technical-problem fallback; a refused connection (a server still
    starting) is retried too. Each try has its own reserved sender id
    (``neurobot-warmup-...``), so no try waits on an earlier try's conversation. Each
    carries the REST channel's bearer token (:func:`bot.secrets.rest_token`).

    Args:
        base_url: The Rasa server, e.g. ``http://127.0.0.1:5005``.
        seconds: How long to keep trying.
        processes: Servers whose exit ends the warm-up at once.
        message: The patient-like message to send.

    Returns:
        Seconds from the first try to the first real answer.

    Raises:
        ServiceError: A process exited, or no real answer came within ``seconds``.
    """
    url = f"{base_url}/webhooks/rest/webhook"
    headers = {"Authorization": f"Bearer {rest_token(load_settings())}"}
    start = time.monotonic()
    deadline = start + seconds
    last = "nothing"
    client = HttpClient(timeout=WARM_UP_TRY_SECONDS)
    try:
        while time.monotonic() < deadline:
            for process in processes:
                if process.poll() is not None:
                    raise ServiceError(
                        f"a server exited with code {process.returncode} during the warm-up"
                    )
            sender = WARM_UP_SENDER + uuid.uuid4().hex[:12]
            remaining = max(1.0, min(WARM_UP_TRY_SECONDS, deadline - time.monotonic()))
            try:
                reply = client.post_json(
                    url, {"sender": sender, "message": message}, timeout=remaining, headers=headers
                )
            except ServiceError as exc:
                last = str(exc)
            else:
                if is_real_answer(reply):
                    return time.monotonic() - start
                last = f"the reply {reply!r:.200}"
            time.sleep(1.0)
    finally:
        client.close()
    raise ServiceError(f"no real answer to the warm-up message within {seconds:.0f} s ({last})")


@dataclass(frozen=True)
class Backoff:
    """Delays before restarting a server that exited: 1 s, 2 s, 4 s, ... up to ``cap``.

    Attributes:
        first: The delay after a first exit, and after an exit that follows a stable run.
        cap: The longest delay.
        stable: A server that ran at least this many seconds before it exited counts as
            having been healthy: its back-off starts again from ``first``.
    """

    first: float = 1.0
    cap: float = 30.0
    stable: float = 60.0

    def next_delay(self, previous: float | None, uptime: float) -> float:
        """The delay before the next restart.

        Args:
            previous: The delay before the last restart; None when there was none.
            uptime: Seconds the server ran before it exited.
        """
        if previous is None or uptime >= self.stable:
            return self.first
        return min(previous * 2, self.cap)


def _exit_status(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"code {code} ({signal.Signals(-code).name})"
        except ValueError:
            pass
    return f"code {code}"


class Supervised:
    """One server process, restarted with a back-off whenever it exits.

    Call :meth:`check` regularly: it notices an exit, logs it with the exit code and
    schedules the restart, and restarts the server once the delay has passed.

    Args:
        name: What the log calls it ("action server").
        command: Its command line.
        env: Its environment.
        health_url: A URL that answers once it is up (for the restart hook).
        backoff: The delays between restarts.
        log: Where restarts are reported.
        clock: Seconds, monotonic (tests pass a fake).
    """

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        env: Mapping[str, str],
        health_url: str = "",
        backoff: Backoff = Backoff(),
        log: Log = log_to_stderr,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.command = list(command)
        self.env = dict(env)
        self.health_url = health_url
        self.backoff = backoff
        self.log = log
        self.clock = clock
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self.on_restart: Callable[[Supervised], None] | None = None
        self._started = 0.0
        self._delay: float | None = None
        self._restart_at: float | None = None

    def start(self) -> subprocess.Popen[bytes]:
        """Start the server process (its output goes to the launcher's)."""
        self.process = subprocess.Popen(self.command, env=self.env, cwd=PROJECT_ROOT)
        self._started = self.clock()
        return self.process

    def check(self) -> None:
        """Notice an exit and schedule a restart; restart once the delay has passed."""
        now = self.clock()
        if self._restart_at is None:
            if self.process is None or self.process.poll() is None:
                return
            self._delay = self.backoff.next_delay(self._delay, now - self._started)
            self._restart_at = now + self._delay
            self.log(
                f"the {self.name} exited with {_exit_status(self.process.returncode)}; "
                f"restarting it in {self._delay:g} s"
            )
        elif now >= self._restart_at:
            self._restart_at = None
            self.restarts += 1
            process = self.start()
            self.log(f"restarted the {self.name} (restart {self.restarts}, pid {process.pid})")
            if self.on_restart is not None:
                self.on_restart(self)


def warm_up_in_background(base_url: str, seconds: float = 300.0) -> Callable[[Supervised], None]:
    """A restart hook that warms the bot up again in a thread.

    The thread waits until the restarted server answers its health URL, sends the
    warm-up message until it gets a real answer, and logs how long that took, so the
    next patient meets warm servers and the log says when real answers are back.

    Args:
        base_url: The Rasa server the warm-up message goes to.
        seconds: How long each of the two waits may take.
    """

    def hook(server: Supervised) -> None:
        process = server.process

        def run() -> None:
            try:
                if server.health_url and process is not None:
                    wait_until_up(server.health_url, process, seconds)
                took = warm_up(base_url, seconds)
            except ServiceError as exc:
                server.log(f"after restarting the {server.name}: {exc}")
            else:
                server.log(f"the bot answers again after the {server.name} restart ({took:.1f} s)")

        threading.Thread(
            target=run, name=f"warm-up after {server.name} restart", daemon=True
        ).start()

    return hook


def stop(processes: Sequence[subprocess.Popen[bytes]]) -> None:
    """Stop processes politely (SIGINT, then SIGTERM, then SIGKILL)."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Start the servers; with ``--shell``, hold a ``rasa shell`` conversation instead."""
    parser = argparse.ArgumentParser(prog="python -m bot.serving.launcher")
    parser.add_argument("--shell", action="store_true", help="talk in the terminal")
    args = parser.parse_args(argv)
    settings = load_settings()
    env = server_env(settings)
    servers: list[Supervised] = []
    # Ctrl-C and a service manager's SIGTERM both stop both servers, even when the
    # launcher was started with SIGINT ignored (as a background job of a script).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        endpoints = prepare_conversations(settings)
        print(f"starting the action server on port {settings.actions_port} ...", flush=True)
        actions = Supervised(
            "action server",
            action_server_command(settings),
            env,
            health_url=f"http://{settings.local_host}:{settings.actions_port}/health",
        )
        servers.append(actions)
        actions_process = actions.start()
        wait_until_up(actions.health_url, actions_process, 120)
        if args.shell:
            # `rasa shell` with the guarded terminal channel: the same console, and the
            # same fallback guard as every other channel.
            command = [
                *rasa_server_command(settings, endpoints=endpoints),
                "--connector",
                "addons.channels.GuardedCmdlineInput",
            ]
            return subprocess.call(command, env=env, cwd=PROJECT_ROOT)
        # credentials.yml plus the messaging platforms whose NEUROBOT_* variables are set
        credentials = PROJECT_ROOT / "var" / "credentials.yml"
        write_credentials(credentials, env)
        print(f"starting the Rasa server on port {settings.rasa_port} ...", flush=True)
        base = f"http://{settings.local_host}:{settings.rasa_port}"
        rasa = Supervised(
            "Rasa server",
            rasa_server_command(settings, credentials=credentials, endpoints=endpoints),
            env,
            health_url=f"{base}/webhooks/rest/",
        )
        servers.append(rasa)
        rasa_process = rasa.start()
        wait_until_up(rasa.health_url, rasa_process, 300)
        print("warming up (loading the models with a first message) ...", flush=True)
        took = warm_up(base, processes=[actions_process, rasa_process])
        token_hint = (
            "$NEUROBOT_REST_TOKEN"
            if settings.rest_token
            else f"$(cat {settings.state_dir / 'rest_token'})"
        )
        print(
            f"\nThe bot is ready (the warm-up message was answered in {took:.1f} s). "
            "Talk to it:\n"
            f"  REST:      POST {base}/webhooks/rest/webhook "
            '{"sender": "me", "message": "..."}\n'
            f"             with the header 'Authorization: Bearer {token_hint}'\n"
            f"  web chat:  {base}/webhooks/widget/\n"
            f"  socket.io: {base}/socket.io\n"
            "Press Ctrl-C to stop both servers.\n",
            flush=True,
        )
        hook = warm_up_in_background(base)
        for server in servers:
            server.on_restart = hook
        next_prune = time.monotonic() + PRUNE_EVERY
        while True:
            for server in servers:
                server.check()
            if time.monotonic() >= next_prune:
                next_prune = time.monotonic() + PRUNE_EVERY
                apply_retention(settings)
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
        return 0
    except (BotError, subprocess.CalledProcessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        stop([server.process for server in servers if server.process is not None])


if __name__ == "__main__":
    sys.exit(main())
