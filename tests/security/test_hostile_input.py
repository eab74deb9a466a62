"""Strange and hostile messages against the real servers: text made safe at the door, the
emergency check in every form a patient types, and limits on anonymous use.

One test per finding of the probe of issue 18 (items 1, 3, 4, 5). The servers here run
with small limits, so each limit is met within a test.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio  # python-socketio, installed with Rasa
import sqlalchemy as sa

from bot.database import database_url
from tests.servers import Servers, response_text, rest_headers, running_servers

pytestmark = pytest.mark.server

EMERGENCY = response_text("utter_emergency", emergency_number="112")
SLOW_DOWN = response_text("utter_slow_down", emergency_number="112")
FACE = "my dad's face is drooping and his speech is slurred since 10 minutes"
LIMITS = {
    "NEUROBOT_RATE_MESSAGES": "8/minute",
    "NEUROBOT_RATE_REFUSED": "4/minute",
    "NEUROBOT_RATE_ADDRESS": "60/minute",
    "NEUROBOT_SESSION_IDLE_MINUTES": "0.05",  # 3 seconds
}


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """The servers with tight limits, keeping conversations in a SQLite store of their own
    (as `make run`)."""
    with running_servers(
        tmp_path_factory.mktemp("hostile"), reply_timeout=2.5, variables=LIMITS, conversations=True
    ) as running:
        yield running


def sender() -> str:
    return f"hostile-{uuid.uuid4().hex[:10]}"


def post(servers: Servers, body: Any, raw: bytes | None = None) -> requests.Response:
    data = raw if raw is not None else json.dumps(body).encode()
    return requests.post(
        f"{servers.url}/webhooks/rest/webhook",
        data=data,
        headers={**rest_headers(servers.rest_token), "Content-Type": "application/json"},
        timeout=30,
    )


def texts(answer: requests.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [str(m.get("text", "")) for m in answer.json()]


def stored(servers: Servers, conversation: str) -> list[tuple[str, str | None, str]]:
    """The conversation's events as stored: (type, action name, data)."""
    engine = sa.create_engine(database_url(servers.settings))
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT type_name, action_name, data FROM events "
                    "WHERE sender_id = :s ORDER BY id"
                ),
                {"s": conversation},
            )
            return [(r[0], r[1], r[2]) for r in rows]
    finally:
        engine.dispose()


def test_a_lone_surrogate_is_stored_as_a_replacement_character(servers: Servers) -> None:
    patient = sender()
    answer = post(servers, {"sender": patient, "message": "my hands tingle \ud800 at night"})
    assert texts(answer)  # a real reply
    users = [json.loads(d) for t, _, d in stored(servers, f"rest:{patient}") if t == "user"]
    assert [u["text"] for u in users] == ["my hands tingle \ufffd at night"]


@pytest.mark.parametrize(
    "message",
    [
        "fa\u200bce dro\u200boping and slurred speech since 10 minutes",
        *(
            f'/{intent}{{"record_id": "{FACE}"}}'
            for intent in ("ask_full_reply", "ask_similar_question", "feedback_unhelpful")
        ),
        f'/restart{{"record_id": "{FACE}"}}',
    ],
)
def test_an_emergency_in_any_form_gets_the_emergency_message(
    servers: Servers, message: str
) -> None:
    assert texts(post(servers, {"sender": sender(), "message": message}))[0] == EMERGENCY


def test_a_sign_and_its_onset_apart_with_small_talk_between(servers: Servers) -> None:
    patient = sender()
    replies = [
        texts(post(servers, {"sender": patient, "message": m}))
        for m in ("my left arm is numb and weak", "ok", "thanks", "it started an hour ago")
    ]
    assert EMERGENCY not in replies[0] + replies[1] + replies[2]
    assert replies[3][0] == EMERGENCY


def test_an_emergency_in_an_over_long_message_is_stored_and_counted(servers: Servers) -> None:
    patient = sender()
    filler = "I have had headaches on and off for years. " * 60
    answer = post(servers, {"sender": patient, "message": filler + FACE})
    assert texts(answer)[0] == EMERGENCY
    events = stored(servers, f"rest:{patient}")
    assert ("action", "utter_emergency") in [(t, a) for t, a, _ in events]
    users = [json.loads(d)["text"] for t, _, d in events if t == "user"]
    assert [len(u) for u in users] == [2000]


def test_a_patient_over_the_limit_gets_429_and_others_are_not_held_up(servers: Servers) -> None:
    patient = sender()
    codes = [
        post(servers, {"sender": patient, "message": f"my feet tingle {i}"}).status_code
        for i in range(9)
    ]
    assert codes == [200] * 8 + [429]
    refused = post(servers, {"sender": patient, "message": "my feet tingle"})
    assert refused.status_code == 429
    assert refused.json()["error"].startswith("too many requests")
    assert int(refused.headers["Retry-After"]) == 60
    assert texts(post(servers, {"sender": sender(), "message": "my feet tingle"}))


def test_token_guesses_from_one_address_get_429(servers: Servers) -> None:
    def guess() -> int:
        return requests.post(
            f"{servers.url}/webhooks/rest/webhook",
            json={"sender": "x", "message": "hi"},
            headers={"Authorization": "Bearer wrong"},
            timeout=10,
        ).status_code

    codes = [guess() for _ in range(6)]
    assert codes[:4] == [401] * 4 and codes[-1] == 429


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b'{"sender": "p", "message": "hi", "x": ' + b"[" * 1000 + b"]" * 1000 + b"}", 400),
        (json.dumps({"sender": "p", "message": "numb " * 20_000}).encode(), 413),
    ],
)
def test_deep_or_huge_bodies_are_refused_before_parsing(
    servers: Servers, raw: bytes, status: int
) -> None:
    answer = post(servers, None, raw=raw)
    assert answer.status_code == status
    assert set(answer.json()) == {"error"}


class Tab:
    """A browser tab on the web chat."""

    def __init__(self, url: str) -> None:
        self.client = socketio.Client(reconnection=False)
        self.messages: queue.Queue[str] = queue.Queue()
        self.confirmed: queue.Queue[str] = queue.Queue()
        self.client.on("bot_uttered", lambda data: self.messages.put(str(data.get("text", ""))))
        self.client.on("session_confirm", lambda data: self.confirmed.put(str(data)))
        self.client.connect(url, transports=["websocket"], wait_timeout=10)

    def session(self, signed: str | None = None) -> str:
        self.client.emit("session_request", {"session_id": signed})
        return self.confirmed.get(timeout=15)

    def close(self) -> None:
        self.client.disconnect()


def test_a_web_chat_session_idle_too_long_starts_a_new_conversation(servers: Servers) -> None:
    tab = Tab(servers.url)
    try:
        signed = tab.session()
        assert tab.session(signed).split(".")[0] == signed.split(".")[0]
        time.sleep(4)  # idle longer than NEUROBOT_SESSION_IDLE_MINUTES
        assert tab.session(signed).split(".")[0] != signed.split(".")[0]
    finally:
        tab.close()


def test_huge_web_chat_messages_do_not_delay_another_patients_emergency_reply(
    servers: Servers, tmp_path: Path
) -> None:
    flooders = []
    for _ in range(2):
        tab = Tab(servers.url)
        tab.session()
        flooders.append(tab)
    blob = "numb " * 200_000  # about 1 MB

    def flood(tab: Tab) -> None:
        for _ in range(4):
            try:
                tab.client.emit("user_uttered", {"message": blob})
            except Exception:
                return  # the server closed the socket: what it should do

    threads = [threading.Thread(target=flood, args=(t,)) for t in flooders]
    for thread in threads:
        thread.start()
    started = time.monotonic()
    reply = texts(post(servers, {"sender": sender(), "message": FACE}))
    took = time.monotonic() - started
    for thread in threads:
        thread.join(30)
    for tab in flooders:
        with contextlib.suppress(Exception):  # the server may have closed it
            tab.close()
    assert reply[0] == EMERGENCY
    assert took < servers.settings.reply_timeout, took
