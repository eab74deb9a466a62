"""Rate limits: per key and scope, in memory or shared through a real Redis."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import redis

from bot.guard.ratelimit import RateLimiter, retry_after
from bot.settings import load_settings

REDIS_URL = "redis://127.0.0.1:6379/1"


def limiter(tmp_path: Path, storage: str | None = "memory://", **env: str) -> RateLimiter:
    settings = load_settings({"NEUROBOT_STATE_DIR": str(tmp_path), **env})
    return RateLimiter(settings, storage)


def test_each_key_has_its_own_count(tmp_path: Path) -> None:
    limits = limiter(tmp_path, NEUROBOT_RATE_MESSAGES="3/minute")
    assert [limits.allow("message", "a") for _ in range(4)] == [True, True, True, False]
    assert limits.allow("message", "b")
    assert limits.allow("address", "a")  # another scope
    limits.reset("message", "a")
    assert limits.allow("message", "a")
    assert retry_after(limits, "message") == 60


def test_the_defaults_let_a_typing_patient_through(tmp_path: Path) -> None:
    limits = limiter(tmp_path)
    # a message every 5 seconds for a minute, and a burst of button taps
    assert all(limits.allow("message", "patient") for _ in range(12 + 5))
    assert [limits.allow("sign_in", "10.0.0.1") for _ in range(6)] == [True] * 5 + [False]


def test_servers_sharing_redis_share_the_count(tmp_path: Path) -> None:
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.exceptions.ConnectionError:
        pytest.fail("Redis must run on 127.0.0.1:6379 (see the README)")
    env = {"NEUROBOT_REDIS_URL": REDIS_URL, "NEUROBOT_RATE_SIGN_IN": "2/minute"}
    first, second = limiter(tmp_path, None, **env), limiter(tmp_path, None, **env)
    address = f"test-{uuid.uuid4().hex}"
    assert [first.allow("sign_in", address), second.allow("sign_in", address)] == [True, True]
    assert not first.allow("sign_in", address)
    assert not second.allow("sign_in", address)


def test_a_store_that_cannot_be_reached_lets_patients_through(tmp_path: Path) -> None:
    env = {"NEUROBOT_REDIS_URL": "redis://127.0.0.1:1/0", "NEUROBOT_RATE_MESSAGES": "1/minute"}
    limits = limiter(tmp_path, None, **env)
    assert [limits.allow("message", "p") for _ in range(3)] == [True, True, True]
