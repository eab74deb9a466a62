"""The team's probe of a running bot: hostile and real text, as an attacker and as patients.

Start the bot (`make run`), then, on the same machine (the probe reads the tokens the bot
generated into NEUROBOT_STATE_DIR, and the conversation store for the retention probe):

    .venv/bin/python scripts/probe.py [--url http://127.0.0.1:5005]

Each probe prints PASS or FAIL with what it saw; the exit status is the number of FAILs.
The probes follow the findings of issue 18: one message breaking the review queue,
redaction, anonymous load, ways around the emergency check, sessions and retention,
health questions sent to the wrong reply, the review page's paging. They leave
conversations named ``rest:probe-...`` and web chat sessions behind; the rate-limit
probes make this machine's address wait a minute before its next wrong token or
sign-in.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import queue
import re
import stat
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
import socketio  # python-socketio, installed with Rasa
import sqlalchemy as sa
import yaml

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from bot.database import database_url  # noqa: E402
from bot.review.queue import review_token  # noqa: E402
from bot.secrets import rest_token, session_secret  # noqa: E402
from bot.settings import load_settings  # noqa: E402

FACE = "my dad's face is drooping and his speech is slurred since 10 minutes"
ALS = "my muscles twitch all over and my left hand feels weaker, could it be ALS?"
SECRETS = {
    "I am John Smith from Taipei and I have a pins and needles feeling": ["John Smith"],
    "i am john smith, my feet tingle at night": ["john smith"],
    "John Smith here, my hand shakes when I hold a cup": ["John Smith"],
    "The patient is Mary Jones, she has tremors": ["Mary Jones"],
    "我叫王小明，我的手會抖": ["王小明"],
    "I live at 221B Baker Street, London NW1 6XE and my legs twitch": ["Baker Street", "NW1"],
    "write to john dot smith at example dot com about my migraine": ["john dot smith"],
    "my ID is A123456789 and my arm is numb": ["A123456789"],
    "call me on 0912-345-678 about my dizziness": ["345-678"],
}


class Probe:
    """The running bot, what the probes send it, and the results."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.settings = load_settings()
        self.token = rest_token(self.settings)
        self.review = f"{self.url}/webhooks/review"
        domain = yaml.safe_load((PROJECT / "domain.yml").read_text(encoding="utf-8"))
        self.responses = {
            name: " ".join(str(v[0]["text"]).split()) for name, v in domain["responses"].items()
        }
        self.failures = 0

    # --- talking to the bot -------------------------------------------------------------
    def rest(self, message: str, sender: str | None = None) -> list[str]:
        answer = self.post({"sender": sender or new_sender(), "message": message})
        answer.raise_for_status()
        return [str(m.get("text", "")) for m in answer.json()]

    def post(self, body: Any, raw: bytes | None = None, token: str | None = None) -> Any:
        return requests.post(
            f"{self.url}/webhooks/rest/webhook",
            data=raw if raw is not None else json.dumps(body).encode(),
            headers={
                "Authorization": f"Bearer {self.token if token is None else token}",
                "Content-Type": "application/json",
            },
            timeout=60,
        )

    def named(self, text: str) -> str:
        """The domain response a reply is (by its opening words), or ``other``."""
        flat = " ".join(text.split())
        for name, template in self.responses.items():
            opening = template.split("{")[0][:60]
            if opening and flat.startswith(opening):
                return name
        if flat.startswith("The most similar question in the archive is"):
            return "utter_archive_answer"
        return "other"

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        bot = str(Path(sys.executable).with_name("bot"))
        return subprocess.run(
            [bot, *args], capture_output=True, text=True, timeout=300, cwd=PROJECT, check=False
        )

    def check(self, name: str, test: Callable[[], tuple[bool, str]]) -> None:
        try:
            ok, seen = test()
        except Exception as exc:
            ok, seen = False, f"{type(exc).__name__}: {exc}"[:300]
        self.failures += not ok
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {seen}", flush=True)


def new_sender() -> str:
    return f"probe-{uuid.uuid4().hex[:12]}"


class Tab:
    """A browser tab on the web chat (socket.io)."""

    def __init__(self, url: str) -> None:
        self.client = socketio.Client(reconnection=False)
        self.messages: queue.Queue[str] = queue.Queue()
        self.confirmed: queue.Queue[str] = queue.Queue()
        self.client.on("bot_uttered", lambda d: self.messages.put(str(d.get("text", ""))))
        self.client.on("session_confirm", lambda d: self.confirmed.put(str(d)))
        self.client.connect(url, transports=["websocket"], wait_timeout=10)

    def session(self, signed: str | None = None) -> str:
        self.client.emit("session_request", {"session_id": signed})
        return self.confirmed.get(timeout=15)

    def say(self, text: str, wait: float = 15.0) -> list[str]:
        self.client.emit("user_uttered", {"message": text})
        received = [self.messages.get(timeout=wait)]
        while True:
            try:
                received.append(self.messages.get(timeout=1.5))
            except queue.Empty:
                return received

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.disconnect()


# --- 1. one message takes down the operator's queue --------------------------------------
def surrogate(p: Probe) -> tuple[bool, str]:
    replies = p.rest("my left earlobe itches \ud800 since the full moon")
    tab = Tab(p.url)
    try:
        tab.session()
        web = tab.say("my left earlobe itches \ud800 since yesterday")
    finally:
        tab.close()
    headers = {"Authorization": f"Bearer {review_token(p.settings)}"}
    pages = [
        requests.get(f"{p.review}/{view}", headers=headers, timeout=60).status_code
        for view in ("", "?kind=no-match", "queue.json")
    ]
    listed = [p.cli("review", "list").returncode, p.cli("review", "list", "--json").returncode]
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "export.jsonl"
        exported = p.cli("review", "export", str(out))
        mode = stat.S_IMODE(out.stat().st_mode) if out.exists() else None
    ok = bool(replies and web) and pages == [200] * 3 and listed == [0, 0]
    ok = ok and exported.returncode == 0 and mode == 0o600
    shown = oct(mode) if mode is not None else None
    return ok, f"pages {pages}, list {listed}, export rc {exported.returncode} mode {shown}"


# --- 2. redaction ------------------------------------------------------------------------
def redaction(p: Probe) -> tuple[bool, str]:
    rated = 0
    for text in SECRETS:
        sender = new_sender()
        p.rest(text, sender)
        answer = p.post({"sender": sender, "message": ALS}).json()
        buttons = [b["payload"] for m in answer for b in m.get("buttons", [])]
        unhelpful = [b for b in buttons if b.startswith("/feedback_unhelpful")]
        if unhelpful:  # a "Not helpful" item holding the message with the secret
            p.rest(unhelpful[0], sender)
            rated += 1
        p.rest('/feedback_unhelpful{"record_id": "John Smith 0912-345-678"}', sender)
    if rated < len(SECRETS):
        return False, f"only {rated} of {len(SECRETS)} answers could be rated"
    listed = p.cli("review", "list", "--json").stdout
    headers = {"Authorization": f"Bearer {review_token(p.settings)}"}
    page = requests.get(f"{p.review}/queue.json", headers=headers, timeout=60).text
    page += requests.get(f"{p.review}/", headers=headers, timeout=60).text
    seen = [s for secrets in SECRETS.values() for s in secrets if s in listed or s in page]
    return not seen, f"left visible: {seen}" if seen else "no probe name, address or id visible"


# --- 3. anonymous load and abuse -----------------------------------------------------------
def rest_guesses(p: Probe) -> tuple[bool, str]:
    codes = [p.post({"sender": "x", "message": "hi"}, token="wrong").status_code for _ in range(30)]
    return 429 in codes and codes[0] == 401, f"{codes.count(401)} x 401, {codes.count(429)} x 429"


def sign_in_guesses(p: Probe) -> tuple[bool, str]:
    codes = [
        requests.post(f"{p.review}/login", data={"token": f"guess-{i}"}, timeout=10).status_code
        for i in range(12)
    ]
    return 429 in codes, f"{codes.count(401)} x 401, {codes.count(429)} x 429"


def one_conversation_flood(p: Probe) -> tuple[bool, str]:
    tab = Tab(p.url)
    try:
        tab.session()
        replies = [tab.say(f"my toes tingle, message {i}")[-1] for i in range(25)]
    finally:
        tab.close()
    slow = sum(p.named(r) == "utter_slow_down" for r in replies)
    return slow > 0 and p.named(replies[0]) != "utter_slow_down", f"{slow} of 25 asked to slow down"


def huge_messages(p: Probe) -> tuple[bool, str]:
    blob = "numb " * 200_000  # about 1 MB
    flooder = Tab(p.url)
    flooder.session()

    def flood() -> None:
        with contextlib.suppress(Exception):  # the server closed the socket
            flooder.client.emit("user_uttered", {"message": blob})

    threads = [threading.Thread(target=flood) for _ in range(8)]
    for thread in threads:
        thread.start()
    started = time.monotonic()
    replies = p.rest(FACE)
    took = time.monotonic() - started
    for thread in threads:
        thread.join(30)
    flooder.close()
    ok = bool(replies) and p.named(replies[0]) == "utter_emergency"
    ok = ok and took < p.settings.reply_timeout
    deadline = p.settings.reply_timeout
    return ok, f"another patient's emergency reply in {took:.2f} s (deadline {deadline} s)"


def big_and_deep_bodies(p: Probe) -> tuple[bool, str]:
    started = time.monotonic()
    huge = p.post({"sender": new_sender(), "message": "numb " * 1_000_000})
    huge_took = time.monotonic() - started
    deep = p.post(
        None, raw=b'{"sender": "p", "message": "hi", "x": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    )
    ok = huge.status_code == 413 and deep.status_code == 400 and set(deep.json()) == {"error"}
    return ok, f"5 MB: {huge.status_code} in {huge_took:.2f} s; 1,000 levels: {deep.status_code}"


# --- 4. ways around the emergency check ------------------------------------------------------
def emergency_forms(p: Probe) -> tuple[bool, str]:
    forms = {
        "zero-width": "fa\u200bce dro\u200boping and slurred speech since 10 minutes",
        **{
            intent: f'/{intent}{{"record_id": "{FACE}"}}'
            for intent in (
                "ask_full_reply",
                "ask_similar_question",
                "feedback_unhelpful",
                "restart",
            )
        },
    }
    missed = [name for name, text in forms.items() if p.named(p.rest(text)[0]) != "utter_emergency"]
    sender = new_sender()
    split = [
        p.rest(t, sender)
        for t in ("my left arm is numb and weak", "ok", "thanks", "it started an hour ago")
    ]
    if p.named(split[-1][0]) != "utter_emergency":
        missed.append("sign and onset split by small talk")
    return not missed, f"missed: {missed}" if missed else f"{len(forms) + 1} forms answered"


def long_emergency(p: Probe) -> tuple[bool, str]:
    sender = new_sender()
    replies = p.rest("I have had headaches on and off for years. " * 60 + FACE, sender)
    events = stored_events(p, f"rest:{sender}")
    kept = ("action", "utter_emergency") in [(t, a) for t, a, _ in events]
    ok = p.named(replies[0]) == "utter_emergency" and kept
    return ok, f"reply {p.named(replies[0])}, emergency stored: {kept}"


# --- 5. sessions and retention ---------------------------------------------------------------
def review_cookie(p: Probe) -> tuple[bool, str]:
    token = review_token(p.settings)
    cookies = []
    for _ in range(2):
        session = requests.Session()
        session.post(f"{p.review}/login", data={"token": token}, timeout=10)
        cookies.append((session, session.cookies.get("neurobot_review")))
    first, value = cookies[0]
    expiry = any(c.expires for c in first.cookies)
    before = first.get(f"{p.review}/", timeout=30).status_code
    first.post(f"{p.review}/logout", timeout=10)
    replayed = requests.get(f"{p.review}/", cookies={"neurobot_review": value or ""}, timeout=30)
    ok = bool(value) and value != cookies[1][1] and expiry and before == 200
    ok = ok and replayed.status_code == 401
    return ok, (
        f"distinct per sign-in: {value != cookies[1][1]}, expires: {expiry}, "
        f"after sign-out: {replayed.status_code}"
    )


def mark_done_unknown(p: Probe) -> tuple[bool, str]:
    session = requests.Session()
    session.post(f"{p.review}/login", data={"token": review_token(p.settings)}, timeout=10)
    page = session.get(f"{p.review}/", timeout=30).text
    key = re.search(r'name="key" value="([^"]+)"', page)
    answer = session.post(
        f"{p.review}/done",
        data={"key": key.group(1) if key else "", "item": "no-such-item"},
        timeout=30,
    )
    cli = p.cli("review", "done", "no-such-item")
    ok = answer.status_code == 400 and cli.returncode == 2
    return ok, f"page {answer.status_code}, CLI exit {cli.returncode}"


def web_session_expiry(p: Probe) -> tuple[bool, str]:
    from addons.widget import signed_session

    key = session_secret(p.settings).encode()
    old = signed_session(key, "probe-" + uuid.uuid4().hex, time.time() - 61 * 60 * 24)
    tab = Tab(p.url)
    try:
        fresh = tab.session()
        again = tab.session(fresh)
        stale = tab.session(old)
    finally:
        tab.close()
    kept = again.split(".")[0] == fresh.split(".")[0]
    refused = stale.split(".")[0] != old.split(".")[0]
    return kept and refused, f"kept when fresh: {kept}, idle refused: {refused}"


def retention_per_message(p: Probe) -> tuple[bool, str]:
    sender = new_sender()
    p.rest("my feet tingle at night, message one", sender)
    p.rest("and my hands too, message two", sender)
    engine = sa.create_engine(database_url(p.settings))
    days = p.settings.retention_days
    with engine.begin() as connection:
        first = connection.execute(
            sa.text("SELECT min(id) FROM events WHERE sender_id = :s AND type_name = 'user'"),
            {"s": f"rest:{sender}"},
        ).scalar_one()
        connection.execute(
            sa.text(
                "UPDATE events SET timestamp = timestamp - :age WHERE sender_id = :s AND id <= :i"
            ),
            {"age": (days + 10) * 86_400, "s": f"rest:{sender}", "i": first},
        )
    engine.dispose()
    p.cli("conversations", "prune")
    users = [json.loads(d)["text"] for t, _, d in stored_events(p, f"rest:{sender}") if t == "user"]
    ok = users == ["and my hands too, message two"]
    return ok, f"left: {users}"


def export_private(p: Probe) -> tuple[bool, str]:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "queue.jsonl"
        p.cli("review", "export", str(out))
        mode = stat.S_IMODE(out.stat().st_mode) if out.exists() else None
    return mode == 0o600, f"mode {oct(mode) if mode is not None else None}"


# --- 6. real health questions sent to the wrong reply -------------------------------------
def health_routing(p: Probe) -> tuple[bool, str]:
    wrong = {"utter_goodbye", "utter_greet", "utter_nothing_shown_yet", "utter_default"}
    questions = [
        "Can i have sex while taking cyclogest (progesterone)?",
        "How are baby and adult cartilage different?",
        "Is it safe to take ibuprofen with my blood pressure pills?",
        "What does an MRI of the knee show?",
    ]
    got = {q: p.named(p.rest(q)[0]) for q in questions}
    bad = {q: r for q, r in got.items() if r in wrong}
    return not bad, f"wrong replies: {bad}" if bad else f"{len(got)} answered or honest no-match"


# --- 7. the review page pages ------------------------------------------------------------------
def review_paging(p: Probe) -> tuple[bool, str]:
    headers = {"Authorization": f"Bearer {review_token(p.settings)}"}
    started = time.monotonic()
    page = requests.get(f"{p.review}/queue.json", headers=headers, timeout=60)
    took = time.monotonic() - started
    body = page.json()
    ok = page.status_code == 200 and "older" in body and len(body["items"]) <= 100 and took < 1.0
    return ok, f"first page {len(body.get('items', []))} items in {took:.2f} s"


def stored_events(p: Probe, conversation: str) -> list[tuple[str, str | None, str]]:
    engine = sa.create_engine(database_url(p.settings))
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


PROBES: list[tuple[str, Callable[[Probe], tuple[bool, str]]]] = [
    ("1 a lone surrogate leaves the queue readable", surrogate),
    ("2 redaction of names, addresses, e-mails, ids, payload values", redaction),
    ("3 REST token guesses are limited", rest_guesses),
    ("3 one web chat conversation flooding is asked to slow down", one_conversation_flood),
    ("3 8 x 1 MB web chat messages do not delay another emergency", huge_messages),
    ("3 5 MB and deeply nested REST bodies are refused", big_and_deep_bodies),
    ("4 emergencies hidden by zero-width characters, payloads, small talk", emergency_forms),
    ("4 an over-long emergency is stored", long_emergency),
    ("5 the review cookie expires, differs per sign-in, dies on sign-out", review_cookie),
    ("5 mark done refuses unknown items", mark_done_unknown),
    ("5 an idle web chat session id starts a new conversation", web_session_expiry),
    ("5 retention deletes old messages inside a live conversation", retention_per_message),
    ("5 exported files are private", export_private),
    (
        "6 health questions never get goodbye, greeting, nothing-shown, not-understood",
        health_routing,
    ),
    ("7 the review page's first page pages, under 1 s", review_paging),
    # last: it locks this address out of the sign-in for the limit's window
    ("3 review sign-in guesses are limited", sign_in_guesses),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("PROBE_URL", "http://127.0.0.1:5005"))
    parser.add_argument("--only", help="run the probes whose name contains this text")
    args = parser.parse_args(argv)
    probe = Probe(args.url)
    for name, test in PROBES:
        if args.only and args.only not in name:
            continue
        probe.check(name, functools.partial(test, probe))
    print(f"{probe.failures} FAIL", flush=True)
    return probe.failures


if __name__ == "__main__":
    sys.exit(main())
