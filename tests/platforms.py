"""The messaging platforms, played by the tests: a loopback stand-in of their APIs, the
credentials file the launcher writes for them, and webhook signatures computed as each
platform computes them (one place, for the channel, security and unit tests).
"""

from __future__ import annotations

import hashlib
import hmac
import json
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

import yaml
from twilio.request_validator import RequestValidator

from bot.serving.launcher import server_env
from bot.settings import PROJECT_ROOT, load_settings

# ------------------------------------------------------------------------ signatures


def slack_signature(secret: str, body: bytes, stamp: str) -> str:
    """Slack's ``X-Slack-Signature``: HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    digest = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256)
    return f"v0={digest.hexdigest()}"


def slack_headers(secret: str, body: bytes, stamp: str | None = None) -> dict[str, str]:
    """Slack's signature headers for ``body`` (timestamped now unless ``stamp``)."""
    stamp = str(int(time.time())) if stamp is None else stamp
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": slack_signature(secret, body, stamp),
    }


def hub_signature(secret: str, body: bytes, algorithm: str = "sha256") -> str:
    """Messenger's ``X-Hub-Signature-256`` (``sha256=...``), or with ``sha1`` the legacy
    ``X-Hub-Signature``: HMAC of the body with the app secret."""
    digest = hmac.new(secret.encode(), body, getattr(hashlib, algorithm)).hexdigest()
    return f"{algorithm}={digest}"


def twilio_signature(token: str, url: str, params: Mapping[str, str]) -> str:
    """Twilio's ``X-Twilio-Signature`` of a form post to ``url``, by Twilio's own library."""
    return str(RequestValidator(token).compute_signature(url, dict(params)))


# ---------------------------------------------------------------- credentials file


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


# --------------------------------------------------------------- the APIs' stand-in


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
