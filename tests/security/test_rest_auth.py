"""The REST channel is a server-to-server API: the bearer token or nothing, and a REST
``sender`` never reaches another channel's conversation.

Against the real servers of ``conftest.py``. That nothing was processed is shown by the
conversation itself: a numb arm in one message and "it started an hour ago" in the next
make the emergency message; when the first message was refused, the second alone does not.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from addons.channels import rest_auth_problem
from tests.security.test_sessions import Patient
from tests.servers import ALS, FULL_START, Servers, response_text

EMERGENCY = response_text("utter_emergency", emergency_number="112", crisis_line="116 123")
SIGN = "my left arm is numb and weak"
ONSET = "it started an hour ago"
NO_TOKEN = (
    "this API needs the header 'Authorization: Bearer <token>' with the value of "
    "NEUROBOT_REST_TOKEN (or of var/rest_token when it is not set)"
)
WRONG_TOKEN = "the bearer token is not the one of this server"


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m.get("text", "") for m in messages]


def post(servers: Servers, body: Any, headers: dict[str, str]) -> requests.Response:
    return requests.post(
        f"{servers.url}/webhooks/rest/webhook", json=body, headers=headers, timeout=30
    )


@pytest.mark.parametrize(
    ("authorization", "error"),
    [
        (None, NO_TOKEN),
        ("", NO_TOKEN),
        ("Bearer", NO_TOKEN),
        ("Basic dXNlcjpwYXNz", NO_TOKEN),
        ("Bearer s3cret", None),
        ("bearer  s3cret ", None),
        ("Bearer s3cre", WRONG_TOKEN),
        ("Bearer s3cret2", WRONG_TOKEN),
        ("Bearer sécret", WRONG_TOKEN),
    ],
)
def test_rest_auth_problem(authorization: str | None, error: str | None) -> None:
    assert rest_auth_problem(authorization, "s3cret") == error


@pytest.mark.server
@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({}, NO_TOKEN),
        ({"Authorization": "Bearer not-the-token"}, WRONG_TOKEN),
        ({"Authorization": "Basic bmV1cm9ib3Q6bmV1cm9ib3Q="}, NO_TOKEN),
        ({"Authorization": "Bearer "}, NO_TOKEN),
    ],
    ids=["none", "wrong", "basic", "empty"],
)
def test_without_the_token_a_401_and_nothing_processed(
    servers: Servers, headers: dict[str, str], error: str
) -> None:
    sender = f"no-token-{uuid.uuid4().hex[:8]}"
    refused = post(servers, {"sender": sender, "message": SIGN}, headers)
    assert (refused.status_code, refused.json()) == (401, {"error": error})
    assert refused.headers["WWW-Authenticate"] == "Bearer"
    # the refused numb arm is not in the conversation: its onset alone is no emergency,
    assert EMERGENCY not in texts(servers.say(sender, ONSET))
    # while the two, both with the token, are
    control = f"{sender}-control"
    assert EMERGENCY not in texts(servers.say(control, SIGN))
    assert texts(servers.say(control, ONSET)) == [EMERGENCY]


@pytest.mark.server
def test_the_token_is_checked_before_the_body(servers: Servers) -> None:
    answer = requests.post(
        f"{servers.url}/webhooks/rest/webhook",
        data=b"not json",
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert (answer.status_code, answer.json()) == (401, {"error": NO_TOKEN})


@pytest.mark.server
def test_a_rest_sender_is_kept_apart_from_a_messaging_id(servers: Servers) -> None:
    """``whatsapp:+1555...`` is a Twilio conversation's id; over REST it names
    ``rest:whatsapp:+1555...``, a conversation of the REST channel only."""
    sender = "whatsapp:+15550001111"
    answer = post(
        servers,
        {"sender": sender, "message": "hello", "input_channel": "twilio"},
        {"Authorization": f"Bearer {servers.rest_token}"},
    )
    assert answer.status_code == 200
    messages = answer.json()
    assert messages
    assert {m["recipient_id"] for m in messages} == {f"rest:{sender}"}


@pytest.mark.server
def test_a_rest_sender_cannot_reach_a_web_chat_conversation(servers: Servers) -> None:
    """Knowing a web chat session's id (even signed) does not let the REST backend read
    the reply that patient was about to get."""
    patient = Patient(servers.url)
    try:
        signed = patient.session()
        card = patient.say(ALS)
        assert card[0].startswith("The most similar question in the archive is “")
        for sender in (signed.split(".")[0], signed):
            replies = texts(servers.say(sender, "/ask_full_reply"))
            assert not any(t.startswith(FULL_START) for t in replies), (sender, replies)
        assert patient.quiet() == []
        # the patient's own conversation is intact
        assert patient.say("/ask_full_reply")[0].startswith(FULL_START)
    finally:
        patient.close()
