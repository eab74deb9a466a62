"""The web chat's socket.io sessions: signed by the server, never joined or written to by
another socket, and closed to pages of other origins.

Against the real servers of ``conftest.py``. A patient describes symptoms (the bot keeps
the matched record) and the attacker asks for "/ask_full_reply": reaching that patient's
conversation would give the full archived reply to the patient's question.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import socketio  # python-socketio, installed with Rasa

from addons.widget import new_session, signed_session, verified_session
from bot.secrets import session_secret
from tests.servers import ALS, CARD_START, FULL_START, Servers

EVIL = "http://evil.example"
#: A reply is over when no message came for this many seconds.
QUIET_SECONDS = 2.0


class Patient:
    """One browser tab talking socket.io: what it was sent, in order.

    Every ``user_uttered`` names the session, as the widget used to (the server now
    ignores the name and uses the session the socket joined).
    """

    def __init__(self, url: str, origin: str | None = None) -> None:
        # websocket-client sends the server's own origin unless told another
        options = {"websocket_extra_options": {"origin": origin}} if origin else {}
        self.client = socketio.Client(reconnection=False, **options)
        self.messages: queue.Queue[str] = queue.Queue()
        self.confirmed: queue.Queue[Any] = queue.Queue()
        self.signed = ""
        self.client.on("bot_uttered", lambda data: self.messages.put(str(data.get("text", ""))))
        self.client.on("session_confirm", lambda data: self.confirmed.put(data))
        self.client.connect(url, transports=["websocket"], wait_timeout=10)

    def session(self, signed: str | None = None) -> str:
        """Ask for the session ``signed`` (a new one when None); the id confirmed."""
        self.client.emit("session_request", {"session_id": signed})
        self.signed = str(self.confirmed.get(timeout=15))
        return self.signed

    def say(self, text: str, session_id: str | None = None) -> list[str]:
        """Send ``text`` naming ``session_id`` (by default the confirmed one); the replies."""
        self.client.emit("user_uttered", {"message": text, "session_id": session_id or self.signed})
        return self.quiet(30)

    def quiet(self, first: float = QUIET_SECONDS) -> list[str]:
        """Messages received until none came for a while (waiting ``first`` for one)."""
        received: list[str] = []
        wait = first
        while True:
            try:
                received.append(self.messages.get(timeout=wait))
            except queue.Empty:
                return received
            wait = QUIET_SECONDS

    def close(self) -> None:
        self.client.disconnect()


@pytest.fixture
def patient(servers: Servers) -> Iterator[Patient]:
    """A patient whose conversation holds a matched record (an archive card was shown)."""
    tab = Patient(servers.url)
    tab.session()
    assert tab.say(ALS)[0].startswith(CARD_START)
    yield tab
    tab.close()


def test_signed_ids_verify_only_with_their_key() -> None:
    key, other = b"k" * 32, b"o" * 32
    session_id, signed = new_session(key)
    raw, issued, signature = signed.split(".")
    assert raw == session_id and len(session_id) >= 16
    assert verified_session(key, signed) == session_id
    other_id, other_signed = new_session(key)
    for forged in [
        session_id,
        f"{session_id}.",
        f"{session_id}.{issued}.{'A' * len(signature)}",
        new_session(other)[1],
        f"{session_id}.{issued}.{other_signed.split('.')[2]}",
        f"{other_id}.{issued}.{signature}",
        f"{session_id}.{int(issued, 16) + 3600:x}.{signature}",  # a later time, same signature
        f"{session_id}.{signature}",  # the older form, without a time
        f"{signed}.{signature}",
        None,
        42,
    ]:
        assert verified_session(key, forged) is None, forged


def test_a_session_idle_too_long_is_not_taken_back() -> None:
    key = b"k" * 32
    session_id, signed = new_session(key, now=1_000_000.0)
    assert verified_session(key, signed, idle_seconds=3600, now=1_003_599.0) == session_id
    assert verified_session(key, signed, idle_seconds=3600, now=1_003_601.0) is None
    # renewed while the patient chats
    renewed = signed_session(key, session_id, now=1_003_000.0)
    assert renewed.split(".")[0] == session_id
    assert verified_session(key, renewed, idle_seconds=3600, now=1_006_000.0) == session_id


@pytest.mark.server
def test_a_reload_keeps_its_own_signed_conversation(servers: Servers, patient: Patient) -> None:
    signed = patient.signed
    key = session_secret(servers.settings).encode()
    assert verified_session(key, signed) == signed.split(".")[0]
    patient.close()
    reloaded = Patient(servers.url)
    try:
        # the same session, its signed id renewed
        assert reloaded.session(signed).split(".")[0] == signed.split(".")[0]
        assert reloaded.say("/ask_full_reply")[0].startswith(FULL_START)
    finally:
        reloaded.close()


@pytest.mark.server
def test_another_sessions_id_unsigned_or_forged_gets_a_fresh_session(
    servers: Servers, patient: Patient
) -> None:
    signed = patient.signed
    raw, issued, signature = signed.split(".")
    attempts = [
        raw,  # the id alone: all Rasa's channel asks for
        f"{raw}.{issued}.{'A' * 43}",  # a made-up signature
        # signed with another key
        signed_session(b"another key", raw),
        f"{new_session(b'x')[0]}.{issued}.{signature}",  # the patient's signature on another id
    ]
    intruders = []
    try:
        for attempt in attempts:
            intruder = Patient(servers.url)
            intruders.append(intruder)
            confirmed = intruder.session(attempt)
            assert confirmed.split(".")[0] != raw, attempt
            assert confirmed != attempt
        # the patient's next reply reaches the patient only
        assert patient.say("/ask_full_reply")[0].startswith(FULL_START)
        for intruder in intruders:
            assert intruder.quiet() == []
            # and what the intruder sends stays in its own, new conversation
            replies = intruder.say("/ask_full_reply", session_id=signed)
            assert replies and not any(r.startswith(FULL_START) for r in replies), replies
        assert patient.quiet() == []
    finally:
        for intruder in intruders:
            intruder.close()


@pytest.mark.server
def test_user_uttered_naming_another_session_is_not_processed_into_it(
    servers: Servers, patient: Patient
) -> None:
    intruder = Patient(servers.url)
    try:
        own = intruder.session()
        assert own != patient.signed
        for target in (patient.signed, patient.signed.split(".")[0]):
            replies = intruder.say("/ask_full_reply", session_id=target)
            # answered in the intruder's own conversation, which has no record
            assert replies and not any(r.startswith(FULL_START) for r in replies), replies
        assert patient.quiet() == []
    finally:
        intruder.close()
    # the patient's conversation is as it was: the full reply is still to be had
    assert patient.say("/ask_full_reply")[0].startswith(FULL_START)


@pytest.mark.server
def test_a_page_of_another_origin_cannot_connect(servers: Servers) -> None:
    with pytest.raises(socketio.exceptions.ConnectionError):
        Patient(servers.url, origin=EVIL)
    handshake = f"{servers.url}/socket.io/?EIO=4&transport=polling"
    polling = requests.get(handshake, headers={"Origin": EVIL}, timeout=30)
    assert polling.status_code == 400
    # the server's own page can, over both transports
    own = requests.get(handshake, headers={"Origin": servers.url}, timeout=30)
    assert own.status_code == 200
    Patient(servers.url, origin=servers.url.replace("127.0.0.1", "localhost")).close()
