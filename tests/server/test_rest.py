"""The real action server and the real `rasa run`, talked to over the REST channel.

Needs the trained model and the archive index (`make server-test` builds both).
The servers are started once for the module; the last tests stop the action server
and then make its port hang, to check the patient still gets the safety advice.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

import pytest
import requests

from bot.serving.launcher import stop
from tests.servers import ALS, SAFETY, Servers, response_text, rest_headers

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def server_options() -> dict[str, Any]:
    return {"reply_timeout": 2.5}


@pytest.fixture(scope="module", autouse=True)
def greeted(servers: Servers) -> None:
    servers.say("warm-up", "hello")


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m.get("text", "") for m in messages]


def test_symptoms_get_an_attributed_archive_reply_and_the_safety_advice(servers: Servers) -> None:
    messages = servers.say("patient-1", ALS)
    assert len(messages) == 2
    card, advice = messages
    assert card["text"].startswith("The most similar question in the archive is “")
    assert "Answered by: Neurology · Sample archive (written by the project team" in card["text"]
    assert card["buttons"][0] == {"title": "Read the full reply", "payload": "/ask_full_reply"}
    # then "Helpful" / "Not helpful" with the record id, then the similar questions
    assert [b["title"] for b in card["buttons"][1:3]] == ["Helpful", "Not helpful"]
    assert card["buttons"][1]["payload"].startswith('/feedback_helpful{"record_id": "')
    assert all(b["payload"].startswith("/ask_similar_question") for b in card["buttons"][3:])
    assert 1 <= len(card["buttons"][3:]) <= 3
    assert advice["text"] == SAFETY
    # each message names its response in its card (addons/cards.py), with the card's fields
    title = card["text"].removeprefix("The most similar question in the archive is “")
    title = title.split("”.\n", 1)[0]
    record_id = json.loads(card["buttons"][1]["payload"].removeprefix("/feedback_helpful"))
    parts = card["custom"]
    assert parts == {
        "response": "utter_archive_answer",
        "title": title,
        "attribution": card["text"].split("\n")[1].removeprefix("Answered by: "),
        "doctor": parts["doctor"],
        "department": "Neurology",
        "source": parts["source"],
        "date": parts["date"],
        "excerpt": card["text"].split("\n\n", 1)[1],
        "record_id": record_id["record_id"],
    }
    assert (
        " · ".join(p for p in (parts["doctor"], "Neurology", parts["source"], parts["date"]) if p)
        == parts["attribution"]
    )
    assert advice["custom"] == {"response": "utter_safety_advice"}

    full = servers.say("patient-1", "/ask_full_reply")
    assert texts(full)[0].startswith("The full reply to “")
    assert texts(full)[-1] == SAFETY
    # the card on the first of the parts REST cuts a text into, the whole reply in it
    assert [m.get("custom", {}).get("response") for m in full] == [
        "utter_full_reply",
        *[None] * (len(full) - 2),
        "utter_safety_advice",
    ]
    assert full[0]["custom"]["reply"].split() == " ".join(texts(full)[1:-1]).split()
    assert full[0]["custom"]["record_id"] == parts["record_id"]
    # text-only messages reach REST split into paragraphs: the header, the reply, the advice
    excerpt = card["text"].split("\n\n", 1)[1]
    reply = " ".join(texts(full)[1:-1])
    assert reply.startswith(excerpt[:80])
    assert len(reply) > len(excerpt)

    similar = servers.say("patient-1", card["buttons"][3]["payload"])
    assert texts(similar)[0].startswith("Another similar question in the archive is “")
    assert texts(similar)[-1] == SAFETY


def test_an_emergency_gets_the_emergency_message_first(servers: Servers) -> None:
    servers.say("patient-2", "I have had headaches in the afternoon for weeks")
    messages = servers.say(
        "patient-2", "hi, my dad's face suddenly droops on one side and he can't speak properly"
    )
    assert texts(messages) == [
        response_text("utter_emergency", emergency_number="112", crisis_line="116 123")
    ]
    assert messages[0]["custom"] == {"response": "utter_emergency", "emergency_number": "112"}


def test_unrelated_text_gets_a_polite_answer(servers: Servers) -> None:
    for text in ["asdfghjkl", "what's the weather tomorrow", '"; DROP TABLE records; --', "🙂"]:
        assert servers.say("patient-3", text), text


EMERGENCY = response_text("utter_emergency", emergency_number="112", crisis_line="116 123")
CRISIS = response_text("utter_self_harm", emergency_number="112", crisis_line="116 123")


def test_a_sign_and_its_onset_in_two_messages_get_the_emergency_message(servers: Servers) -> None:
    first = servers.say("patient-6", "my left arm is numb and weak")
    assert EMERGENCY not in texts(first)
    assert texts(servers.say("patient-6", "it started an hour ago")) == [EMERGENCY]


def test_typed_payload_cannot_skip_the_emergency_message(servers: Servers) -> None:
    text = '/greet{"symptom": "face drooping"} his face is drooping since 10 minutes'
    assert texts(servers.say("patient-7", text)) == [EMERGENCY]


@pytest.mark.parametrize(
    "text",
    [
        "Any thoughts on a mild muscle relaxant?",
        "And what happens if I miss a dose of Saxenda?",
        "I still can't recognise my friends' faces",
    ],
)
def test_no_emergency_message_without_signs(servers: Servers, text: str) -> None:
    replies = texts(servers.say(f"patient-8-{hash(text)}", text))
    assert EMERGENCY not in replies and CRISIS not in replies
    assert replies[-1] == SAFETY  # an archive answer or the honest no-match


def test_restart_and_unknown_payloads_get_a_polite_reply(servers: Servers) -> None:
    problem = response_text("utter_technical_problem")
    assert texts(servers.say("patient-9", "/restart")) == [response_text("utter_restart")]
    for text in ["/session_start", "/nonexistent", '/greet{"symptom": 3}']:
        replies = texts(servers.say("patient-9", text))
        assert replies and problem not in replies, text


def test_a_very_long_message_is_refused_politely_and_quickly(servers: Servers) -> None:
    started = time.monotonic()
    replies = texts(servers.say("patient-10", "my head hurts all the time. " * 600))
    assert time.monotonic() - started < 2.0
    assert replies == [response_text("utter_message_too_long", max_chars="2,000")]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'{"sender": "p", "message": 42}', "'message' must be a string"),
        (b'{"sender": "p", "message": ["a"]}', "'message' must be a string"),
        (b'{"sender": "p", "message": {"a": 1}}', "'message' must be a string"),
        (b'[{"sender": "p", "message": "hi"}]', "the body must be a JSON object"),
        (b'{"message": "my head hurts"}', "'sender' must be a non-empty string"),
        (b"not json", "the body must be JSON"),
    ],
)
def test_a_malformed_body_gets_a_400_saying_what_is_wrong(
    servers: Servers, body: bytes, error: str
) -> None:
    answer = requests.post(
        f"{servers.url}/webhooks/rest/webhook",
        data=body,
        headers={"Content-Type": "application/json", **rest_headers(servers.rest_token)},
        timeout=10,
    )
    assert answer.status_code == 400
    assert answer.json()["error"].startswith(error)


def test_action_server_stopped_still_gets_the_safety_advice(servers: Servers) -> None:
    assert servers.actions is not None
    stop([servers.actions])
    messages = servers.say("patient-4", ALS)
    assert texts(messages) == [response_text("utter_technical_problem"), SAFETY]
    # the guard's own replies are named too
    assert [m["custom"] for m in messages] == [
        {"response": "utter_technical_problem"},
        {"response": "utter_safety_advice"},
    ]
    emergency = servers.say(
        "patient-4", "my wife suddenly can't move her left arm and her face is drooping"
    )
    assert texts(emergency) == [
        response_text("utter_emergency", emergency_number="112", crisis_line="116 123")
    ]


def test_socketio_with_the_action_server_stopped_still_gets_the_safety_advice(
    servers: Servers,
) -> None:
    import socketio  # python-socketio, installed with Rasa

    assert servers.actions is not None and servers.actions.poll() is not None
    received: list[dict[str, Any]] = []
    done = threading.Event()
    client = socketio.Client(reconnection=False)

    @client.on("bot_uttered")  # type: ignore[misc]
    def on_bot_uttered(data: dict[str, Any]) -> None:
        received.append(data)
        if len(received) >= 2:
            done.set()

    client.connect(servers.url, transports=["websocket"], wait_timeout=10)
    try:
        client.emit("session_request", {"session_id": "socket-patient"})
        time.sleep(0.5)
        client.emit("user_uttered", {"message": ALS, "session_id": "socket-patient"})
        assert done.wait(15), received
    finally:
        client.disconnect()
    # one event each, the card under metadata (where stock clients do not look)
    assert received == [
        {
            "text": response_text("utter_technical_problem"),
            "metadata": {"custom": {"response": "utter_technical_problem"}},
        },
        {"text": SAFETY, "metadata": {"custom": {"response": "utter_safety_advice"}}},
    ]


def test_hanging_action_server_gets_the_safety_advice_within_the_timeout(
    servers: Servers,
) -> None:
    hanging = socket.socket()
    hanging.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    hanging.bind(("127.0.0.1", servers.settings.actions_port))
    hanging.listen(8)
    accepted: list[socket.socket] = []
    stop_accepting = threading.Event()

    def accept() -> None:
        hanging.settimeout(0.2)
        while not stop_accepting.is_set():
            try:
                accepted.append(hanging.accept()[0])  # never answered
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        started = time.monotonic()
        messages = servers.say("patient-5", ALS)
        took = time.monotonic() - started
    finally:
        stop_accepting.set()
        thread.join()
        for conn in accepted:
            conn.close()
        hanging.close()
    assert texts(messages) == [response_text("utter_technical_problem"), SAFETY]
    assert accepted, "the Rasa server never called the hanging action server"
    assert took < servers.settings.reply_timeout + 1.0
