"""The action server as an attacker on this machine meets it: closed without the token,
no request echoed, bounded bodies.

The pure parts of actions/security.py are tested first, without a server.
"""

from __future__ import annotations

import json
import zlib

import pytest
import requests

from actions.security import inflates_within, token_matches
from tests.security.conftest import RECORD_ID, action_call, post, unreadable_call
from tests.servers import SAFETY, Servers, response_text

PROBLEM = response_text("utter_technical_problem")
MARKER = "Quetzalmarker"


@pytest.mark.parametrize(
    ("presented", "expected", "matches"),
    [
        ("s3cret", "s3cret", True),
        ("s3cre", "s3cret", False),
        ("", "s3cret", False),
        ("", "", False),
    ],
)
def test_token_matches(presented: str, expected: str, matches: bool) -> None:
    assert token_matches(presented, expected) is matches


def test_inflates_within_stops_at_the_limit() -> None:
    bomb = zlib.compress(b" " * 2_000_000, 9)
    assert len(bomb) < 3_000
    assert inflates_within(bomb, 1_000_000) is False
    assert inflates_within(bomb, 2_000_000) is True
    assert inflates_within(b"not zlib", 10) is None


@pytest.mark.server
@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "wrong"}]
)
def test_actions_and_webhook_are_refused_without_the_token(
    actions_url: str, headers: dict[str, str]
) -> None:
    listing = requests.get(f"{actions_url}/actions", headers=headers, timeout=30)
    assert (listing.status_code, listing.content) == (401, b"")
    # a crafted tracker asking for any record by id
    crafted = post(
        f"{actions_url}/webhook",
        json=action_call("action_show_full_reply", current_record=RECORD_ID),
        headers=headers,
    )
    assert (crafted.status_code, crafted.content) == (401, b"")
    assert requests.get(f"{actions_url}/health", timeout=30).json() == {"status": "ok"}


@pytest.mark.server
def test_with_the_token_the_action_runs(actions_url: str, token: str) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    listing = requests.get(f"{actions_url}/actions", headers=auth, timeout=30)
    assert {"name": "action_show_full_reply"} in listing.json()
    answer = post(
        f"{actions_url}/webhook",
        json=action_call("action_show_full_reply", current_record=RECORD_ID),
        headers=auth,
    )
    assert answer.status_code == 200
    assert [r["response"] for r in answer.json()["responses"]] == [
        "utter_full_reply",
        "utter_safety_advice",
    ]
    # Rasa's own `token:` option (a query parameter) is accepted too
    assert requests.get(f"{actions_url}/actions?token={token}", timeout=30).status_code == 200


@pytest.mark.server
def test_an_exception_never_echoes_the_request(
    servers: Servers, actions_url: str, token: str
) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    # a slot holding a number: the action's own boundary gives the technical-problem reply
    slot = post(
        f"{actions_url}/webhook",
        json=action_call("action_show_similar", f"my {MARKER} hurts", archive_hits=7),
        headers=auth,
    )
    assert slot.status_code == 200
    assert [r["response"] for r in slot.json()["responses"]] == [
        "utter_technical_problem",
        "utter_safety_advice",
    ]
    # a tracker rasa_sdk itself cannot read fails before any action: a plain 500
    broken = unreadable_call(f"my {MARKER} hurts")
    failed = post(f"{actions_url}/webhook", json=broken, headers=auth)
    assert (failed.status_code, failed.json()) == (500, {"error": "Internal Server Error"})
    assert MARKER not in (servers.logs / "actions.log").read_text(errors="replace")


@pytest.mark.server
def test_an_oversized_body_is_refused(actions_url: str, token: str) -> None:
    call = action_call("action_show_full_reply", "x" * 2_000_000)
    refused = post(
        f"{actions_url}/webhook",
        data=json.dumps(call),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert refused.status_code == 413
    assert "x" * 100 not in refused.text


@pytest.mark.server
def test_a_deflate_bomb_is_refused_and_a_small_deflated_call_runs(
    actions_url: str, token: str
) -> None:
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Content-Encoding": "deflate",
    }
    bomb = zlib.compress(
        json.dumps(action_call("action_show_full_reply", " " * 8_000_000)).encode()
    )
    assert len(bomb) < 20_000
    refused = post(f"{actions_url}/webhook", data=bomb, headers=headers)
    assert (refused.status_code, refused.json()) == (413, {"error": "Request Entity Too Large"})
    small = zlib.compress(
        json.dumps(action_call("action_show_full_reply", current_record=RECORD_ID)).encode()
    )
    answer = post(f"{actions_url}/webhook", data=small, headers=headers)
    assert answer.status_code == 200
    assert answer.json()["responses"][-1]["response"] == "utter_safety_advice"


@pytest.mark.server
def test_the_rasa_server_sends_the_token(servers: Servers) -> None:
    # the archive answer comes from the action server: the Rasa server's call got through
    messages = servers.say("token-probe", "My hands shake when I hold a cup of coffee.")
    assert messages[-1]["text"] == SAFETY
    assert " ".join(messages[0]["text"].split()) != PROBLEM
