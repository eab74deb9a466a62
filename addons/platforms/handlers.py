"""What every platform module shares: the handler type, and small request helpers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from sanic.request import Request

Handler = Callable[[UserMessage], Awaitable[Any]]
Button = dict[str, Any]


def rewrite_text(on_new_message: Handler, rewrite: Callable[[UserMessage], str | None]) -> Handler:
    """Wrap a handler so that the incoming text is rewritten first."""

    async def rewritten(message: UserMessage) -> Any:
        message.text = rewrite(message)
        return await on_new_message(message)

    return rewritten


def is_webhook_post(request: Request) -> bool:
    """Whether ``request`` is a POST to the channel's ``/webhook`` route."""
    return request.method == "POST" and request.path.rstrip("/").endswith("/webhook")
