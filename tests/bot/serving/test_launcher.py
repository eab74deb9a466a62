"""The launcher's plain parts: the warm-up check, the back-off and the supervisor.

No Rasa here: the warm-up talks to a loopback stand-in, the supervisor to tiny Python
processes. tests/server/test_launcher.py runs the real thing through `make run`.
"""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bot.errors import ServiceError
from bot.serving import launcher
from bot.serving.launcher import (
    Backoff,
    Supervised,
    is_real_answer,
    server_env,
    warm_up,
    write_credentials,
)
from bot.settings import load_settings


def named(name: str, text: str, **fields: Any) -> dict[str, Any]:
    """A bot message as REST sends it, naming its response."""
    return {"recipient_id": "r", "text": text, **fields, "custom": {"response": name}}


PROBLEM = named("utter_technical_problem", "Sorry, something broke.")
ADVICE = named("utter_safety_advice", "See a neurologist.")


@pytest.mark.parametrize(
    ("messages", "real"),
    [
        ([named("utter_archive_answer", "The most similar ...", buttons=[]), ADVICE], True),
        ([named("utter_no_match", "Nothing close enough."), {"text": "more of it"}], True),
        ([PROBLEM, ADVICE], False),
        ([ADVICE, PROBLEM], False),
        # named by the card, never by the wording
        ([{"text": "Sorry, something broke."}], False),
        ([{"text": "The most similar question ..."}], False),
        ([], False),
        ({"error": "not a list"}, False),
        (None, False),
    ],
)
def test_is_real_answer(messages: Any, real: bool) -> None:
    assert is_real_answer(messages) is real


@pytest.mark.parametrize(
    ("previous", "uptime", "delay"),
    [
        (None, 0.0, 1.0),
        (1.0, 0.5, 2.0),
        (2.0, 3.0, 4.0),
        (16.0, 10.0, 30.0),
        (30.0, 10.0, 30.0),
        (30.0, 60.0, 1.0),  # ran healthy for a minute: start again from the first delay
    ],
)
def test_backoff_doubles_up_to_the_cap_and_resets_after_a_stable_run(
    previous: float | None, uptime: float, delay: float
) -> None:
    assert Backoff(first=1.0, cap=30.0, stable=60.0).next_delay(previous, uptime) == delay


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def exits_with(code: int) -> list[str]:
    return [sys.executable, "-c", f"raise SystemExit({code})"]


def test_an_exited_server_is_restarted_after_its_delay_and_each_restart_is_logged() -> None:
    clock, logged, restarted = Clock(), [], []
    server = Supervised("test server", exits_with(3), {}, log=logged.append, clock=clock)
    server.on_restart = restarted.append
    server.start().wait(timeout=30)

    server.check()
    assert logged == ["the test server exited with code 3; restarting it in 1 s"]
    clock.now += 0.5
    server.check()  # the delay has not passed yet
    assert server.restarts == 0
    clock.now += 0.5
    server.check()
    assert server.restarts == 1 and restarted == [server]
    assert server.process is not None
    assert logged[1] == f"restarted the test server (restart 1, pid {server.process.pid})"

    server.process.wait(timeout=30)
    clock.now += 0.2  # exited again at once: the delay doubles
    server.check()
    assert logged[2] == "the test server exited with code 3; restarting it in 2 s"


def test_a_killed_server_is_logged_with_its_signal() -> None:
    logged: list[str] = []
    server = Supervised(
        "test server",
        [sys.executable, "-c", "import time; time.sleep(30)"],
        {},
        log=logged.append,
        clock=Clock(),
    )
    server.start().kill()  # what `kill -9` does
    assert server.process is not None
    server.process.wait(timeout=30)
    server.check()
    assert logged == ["the test server exited with code -9 (SIGKILL); restarting it in 1 s"]


def test_a_running_server_is_left_alone() -> None:
    logged: list[str] = []
    server = Supervised(
        "test server",
        [sys.executable, "-c", "import time; time.sleep(30)"],
        {},
        log=logged.append,
    )
    process = server.start()
    try:
        server.check()
        assert logged == [] and server.process is process
    finally:
        process.kill()
        process.wait(timeout=30)


class StandIn:
    """A REST webhook that answers the given replies in turn, then the last one again."""

    def __init__(self, replies: list[Any]) -> None:
        self.replies = replies
        self.received: list[dict[str, Any]] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                stand_in.received.append(json.loads(self.rfile.read(length)))
                index = min(len(stand_in.received), len(stand_in.replies)) - 1
                body = json.dumps(stand_in.replies[index]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def stand_in(request: pytest.FixtureRequest) -> Iterator[StandIn]:
    running = StandIn(request.param)
    yield running
    running.server.shutdown()
    running.server.server_close()


FALLBACK = [PROBLEM, ADVICE]
ANSWER = [named("utter_archive_answer", "The archive says ..."), ADVICE]


@pytest.mark.parametrize("stand_in", [[FALLBACK, FALLBACK, ANSWER]], indirect=True)
def test_warm_up_retries_until_a_real_answer_with_a_reserved_sender_each_time(
    stand_in: StandIn,
) -> None:
    took = warm_up(stand_in.url, seconds=30, message="my hand is numb")
    assert 0 < took < 30
    assert [m["message"] for m in stand_in.received] == ["my hand is numb"] * 3
    senders = [m["sender"] for m in stand_in.received]
    assert all(s.startswith("neurobot-warmup-") for s in senders)
    assert len(set(senders)) == 3


@pytest.mark.parametrize("stand_in", [[FALLBACK]], indirect=True)
def test_warm_up_gives_up_after_its_bound(stand_in: StandIn) -> None:
    with pytest.raises(ServiceError, match="no real answer to the warm-up message within 2 s"):
        warm_up(stand_in.url, seconds=2)


def test_warm_up_stops_when_a_server_exits() -> None:
    process = subprocess.Popen(exits_with(4))
    process.wait(timeout=30)
    with pytest.raises(ServiceError, match="exited with code 4"):
        warm_up("http://127.0.0.1:9", seconds=30, processes=[process])


def test_credentials_are_private_before_the_command_writes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "var" / "credentials.yml"
    settings = load_settings({"NEUROBOT_STATE_DIR": str(tmp_path / "var")})
    seen: dict[str, Any] = {}
    real_run = subprocess.run

    def run(command: list[str], **kwargs: Any) -> Any:
        seen["mode"] = stat.S_IMODE(path.stat().st_mode)
        seen["umask"] = kwargs.get("umask")
        return real_run(command, **kwargs)

    monkeypatch.setattr(launcher.subprocess, "run", run)
    write_credentials(path, server_env(settings))
    assert seen == {"mode": 0o600, "umask": 0o077}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "addons.channels.GuardedRestInput" in path.read_text()
