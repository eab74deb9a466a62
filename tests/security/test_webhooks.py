"""The webhook findings of issue 11, against the real `rasa run` and a loopback stand-in
of each platform (the fixture and helpers of tests/channels/test_webhooks.py).

Each test is one finding: an unsigned or forged request is refused and nothing is
processed; a platform's retry (or an attacker's replay) of a signed message is
acknowledged and answered once.
"""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
import pytest
import requests

from bot.secrets import rest_token
from tests.channels import test_webhooks as channels
from tests.channels.test_webhooks import (
    BF_APP_ID,
    BF_KID,
    FB_SECRET,
    SLACK_SECRET,
    TELEGRAM_SECRET,
    TELEGRAM_TOKEN,
    Platforms,
    bf_activity,
    bf_sent,
    bf_token,
    messenger_event,
    messenger_post,
    messenger_sent,
    sms,
    telegram_sent,
    twilio_messages,
    twilio_post,
    twilio_turn,
)
from tests.platforms import hub_signature, slack_headers
from tests.servers import ALS, SAFETY, wait_for

pytestmark = pytest.mark.server

#: The real servers with every platform switched on (started once for this module).
platforms = channels.platforms

#: How long a duplicate gets to show up before "answered once" is asserted.
SETTLE = 3.0


def telegram_update(update_id: int, chat: int, text: str = ALS) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "text": text,
            "chat": {"id": chat, "type": "private"},
            "from": {"id": chat, "is_bot": False, "first_name": "Pat"},
        },
    }


def telegram_chat(platforms: Platforms, chat: int) -> list[dict[str, str]]:
    return [
        r.form
        for r in platforms.stand_in.received(f"/telegram/bot{TELEGRAM_TOKEN}/sendMessage")
        if r.form.get("chat_id") == str(chat)
    ]


# ------------------------------------------------------------------------ Telegram


def test_unsigned_or_forged_telegram_update_is_refused_and_not_processed(
    platforms: Platforms,
) -> None:
    unsigned = platforms.telegram(telegram_update(9001, 9001), secret=None)
    assert (unsigned.status_code, unsigned.text) == (403, "invalid secret token")
    forged = platforms.telegram(telegram_update(9002, 9001), secret=TELEGRAM_SECRET + "x")
    assert (forged.status_code, forged.text) == (403, "invalid secret token")
    time.sleep(SETTLE)
    assert telegram_chat(platforms, 9001) == []
    # the refused ids were not recorded: the genuine update with one of them is answered
    assert platforms.telegram(telegram_update(9001, 9001)).text == "success"
    assert telegram_sent(platforms, 9001, 2)[-1]["text"] == SAFETY


def test_set_webhook_needs_the_rest_token(platforms: Platforms) -> None:
    url = f"{platforms.servers.url}/webhooks/telegram/set_webhook"
    path = f"/telegram/bot{TELEGRAM_TOKEN}/setWebhook"
    before = len(platforms.stand_in.received(path))
    for method in ("GET", "POST"):
        anonymous = requests.request(method, url, timeout=30)
        assert (anonymous.status_code, anonymous.text) == (401, "unauthorized")
        assert anonymous.headers["WWW-Authenticate"] == "Bearer"
    wrong = requests.post(url, headers={"Authorization": "Bearer guessed"}, timeout=30)
    assert wrong.status_code == 401
    assert len(platforms.stand_in.received(path)) == before

    servers = platforms.servers
    token = servers.env.get("NEUROBOT_REST_TOKEN") or rest_token(servers.settings)
    operator = requests.post(url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert (operator.status_code, operator.text) == (200, "Webhook setup successful")
    registered = platforms.stand_in.received(path)[before:]
    assert [r.form["secret_token"] for r in registered] == [TELEGRAM_SECRET]


def test_a_retried_telegram_update_is_answered_once(platforms: Platforms) -> None:
    update = telegram_update(9100, 9100)
    assert platforms.telegram(update).text == "success"
    first = telegram_sent(platforms, 9100, 2)
    assert first[-1]["text"] == SAFETY
    again = platforms.telegram(update)
    assert (again.status_code, again.text) == (200, "success")
    time.sleep(SETTLE)
    assert telegram_chat(platforms, 9100) == first


# --------------------------------------------------------------------------- Slack


def slack_event(event_id: str, channel: str) -> bytes:
    return json.dumps(
        {
            "type": "event_callback",
            "event_id": event_id,
            "team_id": "T1",
            "api_app_id": "A1",
            "authorizations": [{"user_id": "UBOT"}],
            "event": {
                "type": "message",
                "channel_type": "im",
                "channel": channel,
                "user": "U9",
                "text": ALS,
                "ts": "1700000000.000900",
            },
        }
    ).encode()


def slack_channel_posts(platforms: Platforms, channel: str) -> list[dict[str, Any]]:
    posts = [r.json for r in platforms.stand_in.received("/slack/chat.postMessage")]
    return [p for p in posts if p.get("channel") == channel]


def test_a_stale_slack_timestamp_is_refused(platforms: Platforms) -> None:
    # Rasa 3.6 refused it too; our own check (before anything is read) must keep doing so
    body = slack_event("EvStale", "D901")
    stale = str(int(time.time()) - 6 * 60)
    headers = {"Content-Type": "application/json", **slack_headers(SLACK_SECRET, body, stale)}
    refused = platforms.post("/webhooks/slack/webhook", data=body, headers=headers)
    assert refused.status_code == 400
    assert "X-Slack-Signature" in refused.text
    time.sleep(SETTLE)
    assert slack_channel_posts(platforms, "D901") == []


def test_a_retried_slack_event_is_answered_once(platforms: Platforms) -> None:
    body = slack_event("EvRetry1", "D902")
    headers = {"Content-Type": "application/json", **slack_headers(SLACK_SECRET, body)}
    assert platforms.post("/webhooks/slack/webhook", data=body, headers=headers).ok
    answered = wait_for(
        lambda: (
            (posts := slack_channel_posts(platforms, "D902"))
            and posts[-1]["text"] == SAFETY
            and posts
        ),
        what="the Slack answer",
    )
    # Slack's retry: same event_id, X-Slack-Retry-Num (a reason Rasa does not skip itself)
    retry = platforms.post(
        "/webhooks/slack/webhook",
        data=body,
        headers={
            **headers,
            **slack_headers(SLACK_SECRET, body),
            "X-Slack-Retry-Num": "1",
            "X-Slack-Retry-Reason": "http_error",
        },
    )
    assert (retry.status_code, retry.headers.get("X-Slack-No-Retry")) == (200, "1")
    time.sleep(SETTLE)
    assert slack_channel_posts(platforms, "D902") == answered


# ----------------------------------------------------------------------- Messenger


def messenger_to(platforms: Platforms, sender: str) -> list[dict[str, Any]]:
    bodies = [r.json for r in platforms.stand_in.received("/fb/me/messages")]
    return [b["message"] for b in bodies if b["recipient"]["id"] == sender and "message" in b]


def test_messenger_sha1_signature_alone_is_refused(platforms: Platforms) -> None:
    body = messenger_event("PSID-901", {"text": ALS})
    refused = platforms.post(
        "/webhooks/facebook/webhook",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature": hub_signature(FB_SECRET, body, "sha1"),
        },
    )
    assert (refused.status_code, refused.text) == (403, "not validated")
    time.sleep(SETTLE)
    assert messenger_to(platforms, "PSID-901") == []


def test_a_replayed_messenger_message_is_answered_once(platforms: Platforms) -> None:
    body = messenger_event("PSID-902", {"text": ALS})
    assert messenger_post(platforms, body).text == "success"
    first = messenger_sent(platforms, "PSID-902", 2)
    assert first[-1]["text"] == SAFETY
    again = messenger_post(platforms, body)
    assert (again.status_code, again.text) == (200, "success")
    time.sleep(SETTLE)
    assert messenger_to(platforms, "PSID-902") == first


# -------------------------------------------------------------------------- Twilio


def test_a_replayed_twilio_message_is_answered_once(platforms: Platforms) -> None:
    patient = "+15550009001"
    message = sms(patient, ALS)
    first = twilio_turn(platforms, patient, message)
    replay = twilio_post(platforms, message)
    assert replay.status_code == 200
    assert replay.text == '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
    time.sleep(SETTLE)
    assert twilio_messages(platforms, patient) == first
    # another message of the same patient (a new MessageSid) is answered as usual
    assert twilio_turn(platforms, patient, sms(patient, ALS))


# ------------------------------------------------------------------- Bot Framework


def bf_post(platforms: Platforms, activity: dict[str, Any], token: str) -> requests.Response:
    return platforms.post(
        "/webhooks/botframework/webhook",
        json=activity,
        headers={"Authorization": f"Bearer {token}"},
    )


def bf_received(platforms: Platforms, conversation: str) -> int:
    path = f"/bf/service/v3/conversations/{conversation}/activities"
    return len(platforms.stand_in.received(path))


def signed(platforms: Platforms, headers: dict[str, Any] | None = None, **claims: Any) -> str:
    """A Bot Framework token, signed with the published key, with ``claims`` changed."""
    now = int(time.time())
    values = {
        "iss": "https://api.botframework.com",
        "aud": BF_APP_ID,
        "nbf": now - 5,
        "exp": now + 300,
        "serviceurl": f"{platforms.stand_in.url}/bf/service",
        **claims,
    }
    return jwt.encode(
        values,
        platforms.key,
        algorithm="RS256",
        headers={"kid": BF_KID} if headers is None else headers,
    )


def test_botframework_token_from_another_issuer_is_refused(platforms: Platforms) -> None:
    activity = bf_activity(platforms, "conv-901", ALS)
    refused = bf_post(platforms, activity, signed(platforms, iss="https://evil.example"))
    assert (refused.status_code, refused.text) == (401, "Could not validate JWT token.")
    time.sleep(SETTLE)
    assert bf_received(platforms, "conv-901") == 0


def test_botframework_unsigned_token_without_kid_is_a_401(platforms: Platforms) -> None:
    # a well-formed JWT whose header has no kid (Rasa 3.6 answered 500)
    activity = bf_activity(platforms, "conv-902", ALS)
    refused = bf_post(platforms, activity, "eyJhbGciOiJSUzI1NiJ9.e30.c2ln")
    assert (refused.status_code, refused.text) == (401, "Could not validate JWT token.")


def test_botframework_signed_token_without_kid_is_a_401(platforms: Platforms) -> None:
    activity = bf_activity(platforms, "conv-903", ALS)
    refused = bf_post(platforms, activity, signed(platforms, headers={}))
    assert (refused.status_code, refused.text) == (401, "Could not validate JWT token.")
    time.sleep(SETTLE)
    assert bf_received(platforms, "conv-903") == 0


def test_botframework_service_url_other_than_the_tokens_is_refused(
    platforms: Platforms,
) -> None:
    # the token is genuine; the activity asks for the replies (and our access token)
    # to go elsewhere
    activity = {**bf_activity(platforms, "conv-904", ALS)}
    activity["serviceUrl"] = f"{platforms.stand_in.url}/elsewhere"
    refused = bf_post(platforms, activity, bf_token(platforms))
    assert (refused.status_code, refused.text) == (401, "Could not validate JWT token.")
    time.sleep(SETTLE)
    assert platforms.stand_in.received("/elsewhere") == []


def test_a_retried_botframework_activity_is_answered_once(platforms: Platforms) -> None:
    activity = bf_activity(platforms, "conv-905", ALS)
    assert bf_post(platforms, activity, bf_token(platforms)).text == "success"
    first = len(bf_sent(platforms, "conv-905", 2))
    again = bf_post(platforms, activity, bf_token(platforms))
    assert (again.status_code, again.text) == (200, "success")
    time.sleep(SETTLE)
    assert bf_received(platforms, "conv-905") == first
