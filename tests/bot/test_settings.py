"""Settings: defaults, and values refused with a message that names the variable."""

from __future__ import annotations

import dataclasses
from dataclasses import MISSING

import pytest

from bot.errors import ConfigError
from bot.guard.inbound import MAX_MESSAGE_CHARS
from bot.settings import DEFAULTS, Settings, load_settings

STRONG = "Zq3-vL8_pW2xK9mN4rT7yB1c"


def test_defaults() -> None:
    settings = load_settings({})
    assert (settings.max_message_chars, settings.rate_messages, settings.rate_sign_in) == (
        2000,
        "20/minute",
        "5 per 15 minutes",
    )
    assert settings.session_idle_minutes == 60


def test_every_default_is_written_once_in_defaults() -> None:
    # the dataclass has no defaults of its own; the message cap's constant is derived
    assert [f.name for f in dataclasses.fields(Settings) if f.default is not MISSING] == []
    assert DEFAULTS["MAX_MESSAGE_CHARS"] == "2000"
    assert MAX_MESSAGE_CHARS == load_settings({}).max_message_chars == 2000
    assert load_settings({}).max_wrong == 0.05


@pytest.mark.parametrize("name", ["REST_TOKEN", "ACTIONS_TOKEN", "SESSION_SECRET", "REVIEW_TOKEN"])
@pytest.mark.parametrize("value", ["secret", "x" * 40, "abcabcabcabcabcabcabcabcabc", STRONG[:-1]])
def test_a_weak_configured_secret_is_refused(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"NEUROBOT_{name} is too weak"):
        load_settings({f"NEUROBOT_{name}": value})


def test_a_strong_or_empty_secret_is_taken() -> None:
    assert load_settings({"NEUROBOT_REVIEW_TOKEN": STRONG}).review_token == STRONG
    assert load_settings({"NEUROBOT_REVIEW_TOKEN": ""}).review_token == ""


@pytest.mark.parametrize("name", ["RATE_MESSAGES", "RATE_ADDRESS", "RATE_REFUSED", "RATE_SIGN_IN"])
def test_a_rate_that_cannot_be_read_is_refused(name: str) -> None:
    with pytest.raises(ConfigError, match=f"NEUROBOT_{name} must be a rate"):
        load_settings({f"NEUROBOT_{name}": "often"})
    assert getattr(load_settings({f"NEUROBOT_{name}": "7 per 2 hours"}), name.lower()) == (
        "7 per 2 hours"
    )
