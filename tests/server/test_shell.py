"""`make shell`'s terminal channel, driven through a pseudo-terminal like a person would.

The action server is deliberately absent: the guarded terminal channel must still answer
with the apology and the safety advice.
"""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import time

import pytest
import yaml

from bot.serving.launcher import MODEL, rasa_server_command, server_env
from bot.settings import PROJECT_ROOT, load_settings
from tests.servers import free_port

pytestmark = pytest.mark.server

RESPONSES = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())["responses"]
ESCAPES = re.compile(rb"\x1b\[[0-9;?]*[a-zA-Z]")


class Terminal:
    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            command, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=PROJECT_ROOT
        )
        os.close(slave)
        self.screen = b""

    def text(self) -> str:
        return ESCAPES.sub(b"", self.screen).decode(errors="replace")

    def wait_for(self, needle: str, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.process.poll() is None:
            ready, _, _ = select.select([self.master], [], [], 0.5)
            if ready:
                try:
                    self.screen += os.read(self.master, 65536)
                except OSError:
                    break
            if needle in " ".join(self.text().split()):
                return True
        return False

    def type(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\r")

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        os.close(self.master)


def test_the_terminal_channel_answers_with_the_safety_advice_when_actions_are_down() -> None:
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make model` first")
    settings = load_settings(
        {"NEUROBOT_RASA_PORT": str(free_port()), "NEUROBOT_ACTIONS_PORT": str(free_port())}
    )
    env = {**server_env(settings), "TERM": "xterm", "COLUMNS": "200"}
    command = [*rasa_server_command(settings), "--connector", "addons.channels.GuardedCmdlineInput"]
    terminal = Terminal(command, env)
    try:
        assert terminal.wait_for("Your input", 300), terminal.text()[-2000:]
        terminal.type("my feet tingle at night for months")
        advice = " ".join(str(RESPONSES["utter_safety_advice"][0]["text"]).split())
        apology = " ".join(str(RESPONSES["utter_technical_problem"][0]["text"]).split())
        assert terminal.wait_for(advice, 30), terminal.text()[-2000:]
        assert apology in " ".join(terminal.text().split())
    finally:
        terminal.close()
