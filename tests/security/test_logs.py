"""No patient text in either server's log at the default level.

The filter of addons/privacy.py is tested on hand-made records first; the server test
holds a conversation with words no log could contain by chance and searches both logs.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import time

import pytest
import requests

from addons.privacy import WITHHELD, PatientTextFilter, redact_event
from bot.secrets import rest_token
from tests.security.conftest import post, unreadable_call
from tests.servers import Servers

#: Made-up words: found in a log only if patient text was written there.
MARKERS = ("Zorblatt", "Quimbleton", "Vexnarine", "Plonkwhistle", "Grumfeather", "Snorkeldew")


def hang_up_after_sending(port: int, path: str, body: dict[str, str], token: str) -> None:
    """POST ``body`` and close the connection before the reply: Rasa's REST channel is
    cancelled and logs ``rest.message.received.timeout`` with the message's text."""
    data = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + data)
        time.sleep(0.05)


def test_structlog_events_lose_the_values_that_hold_patient_text() -> None:
    event = {
        "event": "rest.message.received.timeout",
        "text": "my Zorblatt hand is numb",
        "user_text": "/describe_symptoms{Zorblatt",
        "sender_id": "abc",
        "parse_data": {"text": "Zorblatt"},
    }
    assert redact_event(None, "error", event) == {
        "event": "rest.message.received.timeout",
        "text": WITHHELD,
        "user_text": WITHHELD,
        "sender_id": "abc",
        "parse_data": WITHHELD,
    }


@pytest.mark.parametrize(
    ("message", "args", "shown"),
    [
        (
            "Failed to parse arguments in line '%s'. Failed to decode parameters",
            ("/greet{Zorblatt",),
            "a typed /... payload could not be parsed (its text withheld)",
        ),
        (
            "Exception occurred during execution of request %s",
            ("<Request: POST /webhook>",),
            "an action request failed (the request withheld)",
        ),
        ("a message of %d characters refused (cap %d)", (2500, 2000), None),
    ],
)
def test_records_quoting_patient_text_are_rewritten(
    message: str, args: tuple[object, ...], shown: str | None
) -> None:
    record = logging.LogRecord("rasa", logging.WARNING, __file__, 1, message, args, None)
    assert PatientTextFilter().filter(record) is True
    assert record.getMessage() == (shown or message % args)


@pytest.mark.server
def test_a_conversation_leaves_no_patient_text_in_either_log(
    servers: Servers, actions_url: str, token: str
) -> None:
    first, second, third, fourth, fifth, sixth = MARKERS
    servers.say("log-probe", f"My {first} fingers tingle and my left hand feels weak.")
    servers.say("log-probe", "/ask_full_reply")
    servers.say("log-probe", f"I get headaches behind my {second} eyes every morning.")
    # typed payloads Rasa cannot parse (it quotes them in warnings)
    servers.say("log-probe", f'/describe_symptoms{{"symptom": "{third}"')
    servers.say("log-probe", f"/{fourth}_intent")
    # a REST client that hangs up before the reply
    hang_up_after_sending(
        servers.settings.rasa_port,
        "/webhooks/rest/webhook",
        {"sender": "log-probe-2", "message": f"My {sixth} arm went numb last week, why?"},
        rest_token(servers.settings),
    )
    # the action server failing on a tracker that holds patient text
    broken = unreadable_call(f"my {fifth} hurts")
    post(f"{actions_url}/webhook", json=broken, headers={"Authorization": f"Bearer {token}"})
    post(f"{actions_url}/webhook", data=json.dumps(broken), headers={"Authorization": "x"})
    requests.get(f"{actions_url}/health", timeout=30)
    time.sleep(1.0)  # let both servers flush
    for name in ("rasa.log", "actions.log"):
        log = (servers.logs / name).read_text(errors="replace")
        found = [m for m in MARKERS if re.search(m, log, re.IGNORECASE)]
        assert not found, f"{name} holds patient text {found}:\n{log[-3000:]}"
