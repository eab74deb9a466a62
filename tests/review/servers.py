"""The real servers with conversations in a SQLite tracker store, for the review tests.

Like tests/channels/harness.py's :class:`Servers`, plus: a temporary state dir, the
conversations in Rasa's SQLTrackerStore on a temporary SQLite file (the endpoints file
written by bot.serving.store, as `make run` does), a copy of the archive index (the
tests import into it), and a known operator credential.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from bot.secrets import rest_token
from bot.serving.launcher import (
    action_server_command,
    rasa_server_command,
    server_env,
    stop,
    wait_until_up,
    warm_up,
)
from bot.serving.store import write_endpoints
from bot.settings import PROJECT_ROOT, load_settings
from tests.channels.harness import free_port, require_model_and_index, rest_say

REVIEW_TOKEN = "review-token-of-the-test-suite"


class ReviewServers:
    """Action server and Rasa server on free ports, conversations in SQLite."""

    def __init__(self, root: Path) -> None:
        base = require_model_and_index()
        self.root = root
        self.state = root / "state"
        self.index = root / "archive.sqlite3"
        shutil.copyfile(base.db_path, self.index)
        self.variables = {
            "NEUROBOT_DB": str(self.index),
            "NEUROBOT_STATE_DIR": str(self.state),
            "NEUROBOT_DATABASE_URL": "",
            "NEUROBOT_REDIS_URL": "",
            "NEUROBOT_RASA_PORT": str(free_port()),
            "NEUROBOT_ACTIONS_PORT": str(free_port()),
            "NEUROBOT_REPLY_TIMEOUT": "5",
            "NEUROBOT_REVIEW_TOKEN": REVIEW_TOKEN,
        }
        self.settings = load_settings({**os.environ, **self.variables})
        self.env = {**server_env(self.settings), **self.variables}
        # the warm-up sends this deployment's token (bot.secrets.rest_token)
        self.env["NEUROBOT_REST_TOKEN"] = rest_token(load_settings())
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.rasa_port}"

    def start(self) -> None:
        endpoints = write_endpoints(self.settings)
        log = (self.root / "actions.log").open("ab")
        actions = subprocess.Popen(
            action_server_command(self.settings),
            env=self.env,
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(actions)
        wait_until_up(f"http://127.0.0.1:{self.settings.actions_port}/health", actions, 120)
        command = rasa_server_command(self.settings, endpoints=endpoints)
        rasa_log = self.root / "rasa.log"
        rasa = subprocess.Popen(
            command,
            env=self.env,
            cwd=PROJECT_ROOT,
            stdout=rasa_log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        self.processes.append(rasa)
        try:
            wait_until_up(f"{self.url}/webhooks/rest/", rasa, 300)
            warm_up(self.url, processes=[actions, rasa])
        except Exception:
            print(rasa_log.read_text(errors="replace")[-5000:])
            self.stop()
            raise

    def say(self, sender: str, text: str) -> list[dict[str, Any]]:
        """One message over REST; the bot's messages."""
        return rest_say(self.url, sender, text, token=self.env["NEUROBOT_REST_TOKEN"])

    def bot(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the ``bot`` command against this deployment."""
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", *args],
            env=self.env,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def stop(self) -> None:
        stop(self.processes)
        self.processes = []
