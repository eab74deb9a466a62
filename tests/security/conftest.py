"""The real servers, started once for the security tests, and what the probes send."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from bot.secrets import actions_token
from tests.servers import Servers, running_servers

#: A record of the sample archive: what a crafted tracker asks the action server for.
RECORD_ID = "sample-head-001"


@pytest.fixture(scope="package")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """Both servers as `make run` starts them, once for the whole security package (the
    probes change nothing a later module depends on)."""
    with running_servers(tmp_path_factory.mktemp("security")) as running:
        yield running


@pytest.fixture(scope="package")
def actions_url(servers: Servers) -> str:
    return f"http://127.0.0.1:{servers.settings.actions_port}"


@pytest.fixture(scope="package")
def token(servers: Servers) -> str:
    """The shared secret the Rasa server sends (from the launcher's environment)."""
    return servers.env.get("NEUROBOT_ACTIONS_TOKEN") or actions_token(servers.settings)


def action_call(action: str, text: str = "", **slots: Any) -> dict[str, Any]:
    """A minimal call of ``action`` as the Rasa server sends it (``/webhook``)."""
    return {
        "next_action": action,
        "sender_id": "probe",
        "version": "3.6.21",
        "domain": {},
        "tracker": {
            "sender_id": "probe",
            "slots": slots,
            "latest_message": {"text": text, "intent": {}, "entities": []},
            "events": [{"event": "user", "text": text, "parse_data": {}}] if text else [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }


def unreadable_call(text: str) -> dict[str, Any]:
    """A call whose tracker rasa_sdk cannot read (no ``sender_id``): it fails before any
    action runs, outside the actions' own boundary."""
    call = action_call("action_show_similar", text)
    del call["tracker"]["sender_id"]
    return call


def post(url: str, **kwargs: Any) -> requests.Response:
    return requests.post(url, timeout=30, **kwargs)
