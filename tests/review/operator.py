"""The operator page's handlers called in-process: the blueprint's routes with requests
built by hand (no Sanic test client in this environment), as Rasa mounts them at
``/webhooks/review``."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from sanic.response import HTTPResponse

from addons.review import COOKIE, ReviewChannel
from bot.settings import Settings

PREFIX = "/webhooks/review/"


@dataclass
class FakeRequest:
    """The parts of a Sanic request the review page reads."""

    path: str
    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)
    args: dict[str, str] = field(default_factory=dict)
    form: dict[str, list[str]] = field(default_factory=dict)
    body: bytes = b""
    scheme: str = "http"
    remote_addr: str = ""
    ip: str = "192.0.2.7"


class Operator:
    """One Rasa server's review page and one browser (its cookie) talking to it."""

    def __init__(self, settings: Settings) -> None:
        blueprint = ReviewChannel(settings).blueprint(_no_messages)
        self.routes = {
            (route.uri, method): route.handler
            for route in blueprint._future_routes
            for method in route.methods
        }
        self.cookie = ""

    def call(
        self,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        bearer: str = "",
        **args: str,
    ) -> HTTPResponse:
        body = urlencode(form or {}).encode()
        request = FakeRequest(
            path=PREFIX + path,
            headers={"Authorization": f"Bearer {bearer}"} if bearer else {},
            cookies={COOKIE: self.cookie} if self.cookie else {},
            args=args,
            form={k: [v] for k, v in (form or {}).items()},
            body=body,
        )
        handler = self.routes[("/" + path, method)]
        reply: HTTPResponse = asyncio.run(handler(request))
        return reply

    def get(self, path: str = "", bearer: str = "", **args: str) -> HTTPResponse:
        return self.call("GET", path, bearer=bearer, **args)

    def post(self, path: str, form: dict[str, str] | None = None) -> HTTPResponse:
        return self.call("POST", path, form)

    def sign_in(self, token: str) -> HTTPResponse:
        reply = self.post("login", {"token": token})
        if COOKIE in reply.cookies and reply.cookies[COOKIE].value:
            self.cookie = reply.cookies[COOKIE].value
        return reply


def text(reply: HTTPResponse) -> str:
    return (reply.body or b"").decode("utf-8")


async def _no_messages(message: Any) -> None:
    raise AssertionError("the review page takes no patient messages")
