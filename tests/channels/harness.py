"""Start the real action server and `rasa run` with a given credentials file.

Shared by the channel and browser tests. Uses the helpers of :mod:`bot.serving.launcher`, as
tests/server/test_rest.py does; only the credentials file differs.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

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
from bot.settings import PROJECT_ROOT, Settings, load_settings

RESPONSES = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())["responses"]
ALS = (
    "Recently I have muscle twitching all over, sometimes my left hand feels weaker. "
    "Could it be ALS?"
)


def response_text(name: str, **values: str) -> str:
    return " ".join(str(RESPONSES[name][0]["text"]).split()).format_map(values)


SAFETY = response_text("utter_safety_advice")
CARD_START = "The most similar question in the archive is “"
FULL_START = "The full reply to “"


def free_port() -> int:
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
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make model` first")
    settings = load_settings()
    if not settings.db_path.exists():
        pytest.fail(f"no archive index at {settings.db_path}: run `make index` first")
    return settings


def generate_credentials(path: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """Run ``python -m addons.messaging credentials`` as the launcher does."""
    clean = {
        k: v
        for k, v in server_env(load_settings()).items()
        if not k.startswith(
            (
                "NEUROBOT_TELEGRAM",
                "NEUROBOT_SLACK",
                "NEUROBOT_FACEBOOK",
                "NEUROBOT_TWILIO",
                "NEUROBOT_BOTFRAMEWORK",
            )
        )
    }
    subprocess.run(
        [sys.executable, "-m", "addons.messaging", "credentials", str(path)],
        env={**clean, **env},
        cwd=PROJECT_ROOT,
        check=True,
        timeout=120,
    )
    loaded = yaml.safe_load(path.read_text())
    assert isinstance(loaded, dict)
    return loaded


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


#: Rate limits no test meets by accident.
GENEROUS_RATES = {
    "NEUROBOT_RATE_MESSAGES": "1000/minute",
    "NEUROBOT_RATE_ADDRESS": "10000/minute",
    "NEUROBOT_RATE_REFUSED": "1000/minute",
    "NEUROBOT_RATE_SIGN_IN": "1000/minute",
}


class Servers:
    """The action server and the Rasa server, on free ports."""

    def __init__(
        self,
        log_dir: Path,
        credentials: Path = PROJECT_ROOT / "credentials.yml",
        reply_timeout: float = 5.0,
        extra_env: Mapping[str, str] | None = None,
        endpoints: Path | None = None,
    ) -> None:
        base = require_model_and_index()
        self.settings = load_settings(
            {
                "NEUROBOT_DB": str(base.db_path),
                "NEUROBOT_RASA_PORT": str(free_port()),
                "NEUROBOT_ACTIONS_PORT": str(free_port()),
                "NEUROBOT_REPLY_TIMEOUT": str(reply_timeout),
            }
        )
        self.env = server_env(self.settings)
        # the REST channel's bearer token, the same for the servers and the tests
        self.rest_token = self.env.get("NEUROBOT_REST_TOKEN") or rest_token(load_settings())
        self.env["NEUROBOT_REST_TOKEN"] = self.rest_token
        # one test sends more messages a minute from one address than a patient would;
        # the limits themselves are tested with their own servers (tests/security)
        self.env.update(GENEROUS_RATES)
        self.env.update(extra_env or {})
        #: the Rasa server's endpoints file; None: the project's (conversations in memory)
        self.endpoints = endpoints
        self.logs = log_dir
        self.credentials = credentials
        self.actions: subprocess.Popen[bytes] | None = None
        self.rasa: subprocess.Popen[bytes] | None = None
        self.warm_up_seconds = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.rasa_port}"

    def start(self) -> None:
        log = (self.logs / "actions.log").open("ab")
        self.actions = subprocess.Popen(
            action_server_command(self.settings),
            env=self.env,
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_until_up(f"http://127.0.0.1:{self.settings.actions_port}/health", self.actions, 120)
        command = rasa_server_command(self.settings, endpoints=self.endpoints)
        command[command.index("--credentials") + 1] = str(self.credentials)
        log = (self.logs / "rasa.log").open("ab")
        self.rasa = subprocess.Popen(
            command, env=self.env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            wait_until_up(f"{self.url}/webhooks/rest/", self.rasa, 300)
            # as `make run` does: the first message loads the models, which can take
            # longer than the reply deadline on a cold machine
            self.warm_up_seconds = warm_up(self.url, processes=[self.actions, self.rasa])
        except Exception:
            print((self.logs / "rasa.log").read_text(errors="replace")[-5000:])
            raise

    def say(self, sender: str, text: str) -> list[dict[str, Any]]:
        """Send one message over REST and return the bot's messages."""
        return rest_say(self.url, sender, text, token=self.rest_token)

    def stop_rasa(self) -> None:
        if self.rasa is not None:
            stop([self.rasa])

    def stop(self) -> None:
        stop([p for p in (self.rasa, self.actions) if p is not None])


@dataclass
class Recorded:
    """One request the stand-in received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}

    @property
    def json(self) -> Any:
        return json.loads(self.body or b"null")


Responder = Callable[[Recorded], tuple[int, Any]]


@dataclass
class StandIn:
    """A loopback HTTP server playing the platforms' APIs: it records every request and
    answers from the first route whose path prefix matches."""

    routes: list[tuple[str, Responder]] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                record = Recorded(
                    self.command,
                    self.path,
                    dict(self.headers.items()),
                    self.rfile.read(length) if length else b"",
                )
                with stand_in.lock:
                    stand_in.requests.append(record)
                status, payload = 404, {"error": "no route"}
                for prefix, responder in stand_in.routes:
                    if self.path.startswith(prefix):
                        status, payload = responder(record)
                        break
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _handle

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def route(self, prefix: str, responder: Responder) -> None:
        self.routes.append((prefix, responder))

    def received(self, prefix: str) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.path.startswith(prefix)]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
