"""`make run` as a patient meets it, started once.

The launcher says where to talk only once a warm-up message had a real answer, so the
first patient's message is answered from the archive at once; a killed action server is
restarted while the Rasa server keeps answering with the safety advice; Ctrl-C (SIGINT to
the terminal's process group) stops everything.

`make run` is started with its set-up steps marked done (`make -o`), so a test never
installs, rebuilds the index or retrains; the model and the index must exist.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from bot.settings import PROJECT_ROOT
from tests.servers import (
    ALS,
    RESPONSES,
    SAFETY,
    free_port,
    require_model_and_index,
    response_text,
    rest_say,
    wait_for,
)

pytestmark = pytest.mark.server

MAKE_RUN = [
    "make",
    *("-o", ".venv/.installed"),
    *("-o", "models/neurobot.tar.gz"),
    *("-o", "widget/node_modules/.package-lock.json"),
    *("-o", "index"),
    "run",
]
PROBLEM = response_text("utter_technical_problem")
# The archive answer's fixed start, read from its domain.yml template ("... “{title}” ...").
ANSWER_START = " ".join(str(RESPONSES["utter_archive_answer"][0]["text"]).split("{", 1)[0].split())


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def process_table() -> dict[int, tuple[int, str]]:
    """Every process as pid -> (parent pid, command line), read from /proc."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # ended meanwhile
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        table[int(entry.name)] = (parent, command.strip())
    return table


def descendants(pid: int) -> dict[int, str]:
    """The processes below ``pid``, as pid -> command line."""
    table = process_table()
    found: dict[int, str] = {}
    parents = {pid}
    while parents:
        parents = {p for p, (parent, _) in table.items() if parent in parents and p not in found}
        found.update({p: table[p][1] for p in parents})
    return found


def action_servers(make_pid: int) -> list[int]:
    return [p for p, command in descendants(make_pid).items() if " -m actions.server " in command]


def say(url: str, sender: str, text: str) -> tuple[list[dict[str, Any]], float]:
    """One REST message: the bot's messages and the seconds they took."""
    start = time.monotonic()
    messages = rest_say(url, sender, text, timeout=60)
    return messages, time.monotonic() - start


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [" ".join(str(m.get("text", "")).split()) for m in messages]


def is_archive_answer(messages: list[dict[str, Any]]) -> bool:
    said = texts(messages)
    return len(said) >= 2 and said[0].startswith(ANSWER_START) and said[-1] == SAFETY


def test_make_run_warms_up_restarts_a_killed_action_server_and_ctrl_c_stops_all(
    tmp_path: Path,
) -> None:
    require_model_and_index()
    rasa_port, actions_port = free_port(), free_port()
    env = {
        **os.environ,
        "NEUROBOT_RASA_PORT": str(rasa_port),
        "NEUROBOT_ACTIONS_PORT": str(actions_port),
    }
    url = f"http://127.0.0.1:{rasa_port}"
    log_path = tmp_path / "make-run.log"
    with log_path.open("wb") as log:
        make = subprocess.Popen(
            MAKE_RUN,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal's job
        )

    def output() -> str:
        return log_path.read_text(errors="replace")

    def ready() -> bool:
        if make.poll() is not None:
            raise AssertionError(f"make run exited with {make.returncode}:\n{output()[-5000:]}")
        return "Press Ctrl-C" in output()

    started: dict[int, str] = {}
    try:
        wait_for(ready, 480, "the ready line")
        text = output()
        assert f"POST {url}/webhooks/rest/webhook" in text, text[-3000:]
        assert f"{url}/webhooks/widget/" in text
        warm_up = re.search(r"the warm-up message was answered in ([\d.]+) s", text)
        assert warm_up, text[-3000:]
        assert listening(rasa_port) and listening(actions_port)
        started = descendants(make.pid)

        # The first patient is answered from the archive at once (an archive answer
        # means it came before the channel guard's deadline).
        first, latency = say(url, "patient-first", ALS)
        assert is_archive_answer(first), first
        print(f"\nwarm-up {warm_up.group(1)} s; first message after ready {latency:.2f} s")

        # kill -9 the action server: the patient still gets the safety advice at once ...
        [actions] = action_servers(make.pid)
        os.kill(actions, signal.SIGKILL)
        killed = time.monotonic()
        down, latency = say(url, "patient-down", ALS)
        assert texts(down) == [PROBLEM, SAFETY]
        assert latency < 5, latency
        print(f"with the action server killed: the safety advice in {latency:.2f} s")

        # ... and an archive answer again once it has been restarted.
        def answered() -> bool:
            messages, _ = say(url, "patient-down", ALS)
            return is_archive_answer(messages)

        wait_for(answered, 60, "an archive answer after the restart")
        print(f"from kill -9 to an archive answer again: {time.monotonic() - killed:.1f} s")
        text = output()
        assert "launcher: the action server exited with code -9 (SIGKILL)" in text
        assert "launcher: restarted the action server (restart 1, pid " in text
        [restarted] = action_servers(make.pid)
        assert restarted != actions
        started.update(descendants(make.pid))

        # Ctrl-C: the terminal sends SIGINT to the whole foreground process group.
        os.killpg(make.pid, signal.SIGINT)
        make.wait(timeout=60)
        assert "stopping ..." in output()
        time.sleep(1)
        table = process_table()
        left = {p: c for p, c in started.items() if p in table and table[p][1] == c}
        assert left == {}
        assert not listening(rasa_port) and not listening(actions_port)
    finally:
        # whatever is left of its process group: nothing when the test passed
        with contextlib.suppress(ProcessLookupError):
            os.killpg(make.pid, signal.SIGKILL)
        make.wait(timeout=30)
