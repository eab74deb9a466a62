"""What every platform module shares: the handler type, the input channels' common
credentials, and the check of webhook requests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from addons.platforms.text import limit_from

Handler = Callable[[UserMessage], Awaitable[Any]]
Button = dict[str, Any]
#: Looks at a webhook request: None lets it through, a response answers it instead.
Check = Callable[[Request], Awaitable[HTTPResponse | None]]


class PlatformInput(InputChannel):
    """An input channel built by Rasa's connector from the credentials, which may also
    give ``api_url`` (the platform API's base URL, for a stand-in) and ``max_chars``.

    Listed first among a channel's bases, before Rasa's connector. On the class,
    ``limit`` is the platform's own limit on a message; on a channel, that or the lower
    ``max_chars``. A channel with more credentials of its own reads them in
    :meth:`configure`, after calling this one.
    """

    api_url: str | None = None
    limit: int

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        channel = super().from_credentials(credentials)
        assert isinstance(channel, PlatformInput) and credentials is not None
        channel.configure(credentials)
        return channel

    def configure(self, credentials: Mapping[str, Any]) -> None:
        """Read what the credentials add to those of Rasa's connector."""
        self.api_url = credentials.get("api_url") or None
        self.limit = limit_from(credentials, type(self).limit)


def rewrite_text(on_new_message: Handler, rewrite: Callable[[UserMessage], str | None]) -> Handler:
    """Wrap a handler so that the incoming text is rewritten first."""

    async def rewritten(message: UserMessage) -> Any:
        message.text = rewrite(message)
        return await on_new_message(message)

    return rewritten


def is_webhook_post(request: Request) -> bool:
    """Whether ``request`` is a POST to the channel's ``/webhook`` route."""
    return request.method == "POST" and request.path.rstrip("/").endswith("/webhook")


def check_webhook(blueprint: Blueprint, check: Check) -> None:
    """Have ``check`` see every POST to the channel's ``/webhook`` before the connector:
    it returns None to let the request through, or the response that answers it (a
    refusal, or the acknowledgement of a delivery already answered)."""

    @blueprint.middleware("request")
    async def verify(request: Request) -> HTTPResponse | None:
        if not is_webhook_post(request):
            return None
        return await check(request)
