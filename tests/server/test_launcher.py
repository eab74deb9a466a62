"""`make run`'s launcher: both servers up, then Ctrl-C (SIGINT) stops both."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from bot.launcher import MODEL
from bot.settings import PROJECT_ROOT
from tests.channels.harness import free_port

pytestmark = pytest.mark.server


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_launcher_prints_where_to_talk_and_ctrl_c_stops_both_servers() -> None:
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make model` first")
    rasa_port, actions_port = free_port(), free_port()
    env = {
        **os.environ,
        "NEUROBOT_RASA_PORT": str(rasa_port),
        "NEUROBOT_ACTIONS_PORT": str(actions_port),
    }
    launcher = subprocess.Popen(
        [sys.executable, "-m", "bot.launcher"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    output = []
    try:
        assert launcher.stdout is not None
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            line = launcher.stdout.readline()
            output.append(line)
            if "Press Ctrl-C" in line or not line:
                break
        text = "".join(output)
        assert f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook" in text, text
        assert f"http://127.0.0.1:{rasa_port}/webhooks/widget/" in text
        assert listening(rasa_port) and listening(actions_port)
        launcher.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert launcher.wait(timeout=60) == 0
        time.sleep(1)
        assert not listening(rasa_port) and not listening(actions_port)
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
