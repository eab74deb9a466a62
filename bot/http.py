"""One HTTP client with a default timeout; failures become :class:`ServiceError`."""

from __future__ import annotations

from typing import Any

import requests

from bot.errors import ServiceError

DEFAULT_TIMEOUT = 5.0


class HttpClient:
    """A thin wrapper around one :class:`requests.Session`.

    Every request has a timeout (``DEFAULT_TIMEOUT`` unless given); connection errors,
    timeouts and error statuses raise :class:`ServiceError` naming the URL.
    """

    def __init__(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.timeout = timeout
        self.session = requests.Session()

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Send a request and return the response (status below 400)."""
        kwargs.setdefault("timeout", self.timeout)
        try:
            response = self.session.request(method, url, **kwargs)
            response.raise_for_status()
        except requests.RequestException as exc:
            raise ServiceError(f"{method} {url} failed: {exc}") from exc
        return response

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        """GET ``url``."""
        return self.request("GET", url, **kwargs)

    def post_json(self, url: str, payload: Any, **kwargs: Any) -> Any:
        """POST JSON and return the decoded JSON answer."""
        response = self.request("POST", url, json=payload, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise ServiceError(f"POST {url} answered with invalid JSON") from exc

    def close(self) -> None:
        """Close the session."""
        self.session.close()
