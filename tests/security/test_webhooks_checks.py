"""Unit tests of the webhook checks of addons.platforms: signatures, timestamps, tokens,
and the ids that make a platform's retry a no-op. No server (the same findings against
the real servers are in test_webhooks.py)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from addons.platforms import botframework, facebook, slack, telegram
from addons.platforms.dedupe import SeenIds
from bot.errors import ConfigError
from tests.platforms import hub_signature, slack_signature

# ------------------------------------------------------------------------ dedupe


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_id_is_new_once_until_it_expires() -> None:
    clock = Clock()
    seen = SeenIds(ttl=60, clock=clock)
    assert [seen.first_time(k) for k in ("a", "b", "a", "b")] == [True, True, False, False]
    clock.now += 59
    assert seen.first_time("a") is False
    clock.now += 2
    assert (seen.first_time("a"), len(seen)) == (True, 1)


def test_the_oldest_ids_are_forgotten_beyond_the_size_cap() -> None:
    seen = SeenIds(size=3)
    assert all(seen.first_time(k) for k in "abcd")
    assert len(seen) == 3
    assert [seen.first_time(k) for k in "bcda"] == [False, False, False, True]


# ---------------------------------------------------------------------- Telegram


def test_telegram_secret_token_compare() -> None:
    assert telegram.secret_valid("s3cret", "s3cret")
    assert not telegram.secret_valid("s3cret", "s3cre")
    assert not telegram.secret_valid("s3cret", None)
    assert not telegram.secret_valid("", "")


def test_telegram_secret_token_configured_or_generated_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert telegram.secret_token(" configured_-1 ") == "configured_-1"
    with pytest.raises(ConfigError, match="NEUROBOT_TELEGRAM_SECRET_TOKEN"):
        telegram.secret_token("not allowed!")
    monkeypatch.setenv("NEUROBOT_STATE_DIR", str(tmp_path))
    generated = telegram.secret_token(None)
    assert len(generated) >= 32 and telegram.secret_token("") == generated
    kept = tmp_path / "telegram_secret_token"
    assert kept.read_text().strip() == generated
    assert kept.stat().st_mode & 0o777 == 0o600


def test_bearer_header() -> None:
    assert telegram.bearer_valid("tok", "Bearer tok")
    assert telegram.bearer_valid("tok", "bearer  tok")
    assert not telegram.bearer_valid("tok", "Bearer other")
    assert not telegram.bearer_valid("tok", "Basic tok")
    assert not telegram.bearer_valid("tok", None)
    assert not telegram.bearer_valid("", "Bearer ")


def test_telegram_update_key() -> None:
    assert telegram.update_key({"update_id": 7, "message": {}}) == "7"
    assert telegram.update_key({"update_id": "7"}) is None
    assert telegram.update_key([1]) is None


# ------------------------------------------------------------------------- Slack

SLACK_SECRET = "slack-secret"


@pytest.mark.parametrize(
    ("age", "valid"), [(0, True), (299, True), (-299, True), (301, False), (-301, False)]
)
def test_slack_timestamp_window(age: int, valid: bool) -> None:
    now = 1_700_000_000
    stamp = str(now - age)
    body = b'{"event_id": "Ev1"}'
    signature = slack_signature(SLACK_SECRET, body, stamp)
    assert slack.signature_valid(SLACK_SECRET, body, stamp, signature, now) is valid


def test_slack_signature() -> None:
    now = 1_700_000_000
    stamp, body = str(now), b"payload=x"
    good = slack_signature(SLACK_SECRET, body, stamp)
    assert slack.signature_valid(SLACK_SECRET, body, stamp, good, now)
    assert not slack.signature_valid(SLACK_SECRET, body + b"y", stamp, good, now)
    assert not slack.signature_valid(
        SLACK_SECRET, body, stamp, slack_signature("x", body, stamp), now
    )
    assert not slack.signature_valid(SLACK_SECRET, body, stamp, good.replace("v0=", "v1="), now)
    assert not slack.signature_valid(SLACK_SECRET, body, None, good, now)
    assert not slack.signature_valid(SLACK_SECRET, body, "17e8", good, now)
    assert not slack.signature_valid(SLACK_SECRET, body, stamp, None, now)
    assert not slack.signature_valid("", body, stamp, good, now)


def test_slack_delivery_key() -> None:
    event = json.dumps({"event_id": "Ev1", "event": {}}).encode()
    assert slack.delivery_key("application/json", event, {}) == "Ev1"
    assert slack.delivery_key("application/json", b"{}", {}) is None
    assert slack.delivery_key("application/json", b"not json", {}) is None
    form = {"payload": json.dumps({"type": "block_actions", "trigger_id": "T1"})}
    assert slack.delivery_key("application/x-www-form-urlencoded", b"", form) == "T1"
    assert slack.delivery_key("text/plain", b"", {}) is None


# --------------------------------------------------------------------- Messenger


def test_messenger_accepts_sha256_only() -> None:
    body = b'{"object": "page"}'
    good = hub_signature("secret", body).removeprefix("sha256=")
    assert facebook.hub_signature_valid("secret", body, {"X-Hub-Signature-256": f"sha256={good}"})
    assert not facebook.hub_signature_valid(
        "other", body, {"X-Hub-Signature-256": f"sha256={good}"}
    )
    assert not facebook.hub_signature_valid("secret", body, {"X-Hub-Signature-256": f"sha1={good}"})
    sha1 = hub_signature("secret", body, "sha1")
    assert not facebook.hub_signature_valid("secret", body, {"X-Hub-Signature": sha1})
    assert not facebook.hub_signature_valid("secret", body, {})
    assert not facebook.hub_signature_valid("", body, {"X-Hub-Signature-256": "sha256="})


def messaging(*mids: str | None) -> dict[str, Any]:
    events = [
        {"sender": {"id": "P"}, "message": {"text": "hi", **({"mid": m} if m else {})}}
        for m in mids
    ]
    return {"object": "page", "entry": [{"id": "PAGE", "messaging": events}]}


def test_messenger_events_already_seen_are_dropped() -> None:
    seen = SeenIds()
    first, count = facebook.without_seen(messaging("m1", "m2"), seen)
    assert (first, count) == (messaging("m1", "m2"), 2)
    again, count = facebook.without_seen(messaging("m2", "m3", None), seen)
    assert (again, count) == (messaging("m3", None), 2)
    assert facebook.without_seen(messaging("m1", "m3"), seen)[1] == 0
    postback = {"postback": {"mid": "m4", "payload": "/x"}}
    assert facebook.message_id(postback) == "m4"
    assert facebook.message_id({"delivery": {"mids": ["m1"]}}) is None


# ----------------------------------------------------------------- Bot Framework

APP_ID = "app-id"
SERVICE = "https://smba.trafficmanager.net/emea/"


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def published(key: rsa.RSAPrivateKey, kid: str = "k1") -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    return {kid: {**jwk, "kid": kid}}


def token(key: rsa.RSAPrivateKey, headers: dict[str, Any] | None = None, **claims: Any) -> str:
    now = int(time.time())
    values = {
        "iss": "https://api.botframework.com",
        "aud": APP_ID,
        "nbf": now - 5,
        "exp": now + 300,
        "serviceurl": SERVICE,
        **claims,
    }
    values = {k: v for k, v in values.items() if v is not None}
    return jwt.encode(
        values, key, algorithm="RS256", headers={"kid": "k1"} if headers is None else headers
    )


def claims_of(key: rsa.RSAPrivateKey, authorization: str | None) -> dict[str, Any]:
    return botframework.token_claims(authorization, published(key).get, APP_ID)


def test_botframework_token_accepted(key: rsa.RSAPrivateKey) -> None:
    claims = claims_of(key, f"Bearer {token(key)}")
    assert (claims["aud"], claims["serviceurl"]) == (APP_ID, SERVICE)


@pytest.mark.parametrize(
    ("why", "make"),
    [
        ("no header", lambda k: None),
        ("not bearer", lambda k: f"Basic {token(k)}"),
        ("malformed", lambda k: "Bearer not.a.jwt"),
        ("garbage", lambda k: "Bearer %%%"),
        ("no kid", lambda k: f"Bearer {token(k, headers={})}"),
        ("unknown kid", lambda k: f"Bearer {token(k, headers={'kid': 'k2'})}"),
        ("wrong issuer", lambda k: f"Bearer {token(k, iss='https://evil.example')}"),
        ("no issuer", lambda k: f"Bearer {token(k, iss=None)}"),
        ("emulator issuer", lambda k: f"Bearer {token(k, iss='https://sts.windows.net/x/')}"),
        ("wrong audience", lambda k: f"Bearer {token(k, aud='other')}"),
        ("expired", lambda k: f"Bearer {token(k, exp=int(time.time()) - 600)}"),
        ("no expiry", lambda k: f"Bearer {token(k, exp=None)}"),
        ("other key", lambda k: f"Bearer {token(rsa.generate_private_key(65537, 2048))}"),
        (
            "hs256",
            lambda k: "Bearer " + jwt.encode({"aud": APP_ID}, "x" * 32, headers={"kid": "k1"}),
        ),
    ],
)
def test_botframework_token_refused(key: rsa.RSAPrivateKey, why: str, make: Any) -> None:
    with pytest.raises(botframework.Refused):
        claims_of(key, make(key))


def test_botframework_service_url_must_be_the_tokens_and_https() -> None:
    claims = {"serviceurl": SERVICE}
    botframework.check_service_url({"serviceUrl": SERVICE}, claims)
    botframework.check_service_url({"serviceUrl": SERVICE.rstrip("/")}, claims)
    refused = [
        ({"serviceUrl": "https://evil.example/"}, claims, False),
        ({}, claims, False),
        ({"serviceUrl": SERVICE}, {}, False),
        ({"serviceUrl": "http://smba.example/"}, {"serviceurl": "http://smba.example/"}, True),
        ({"serviceUrl": "http://127.0.0.1:1/"}, {"serviceurl": "http://127.0.0.1:1/"}, False),
    ]
    for activity, token_claims, loopback in refused:
        with pytest.raises(botframework.Refused):
            botframework.check_service_url(activity, token_claims, loopback)
    local = "http://127.0.0.1:1/bf/service"
    botframework.check_service_url({"serviceUrl": local}, {"serviceurl": local}, True)


def test_botframework_activity_key() -> None:
    activity = {"id": "a1", "conversation": {"id": "c1"}}
    assert botframework.activity_key(activity) == "c1\na1"
    assert botframework.activity_key({"conversation": {"id": "c1"}}) is None
    assert botframework.switched_on("true") and not botframework.switched_on("")
