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


NUMBERS = {
    "RASA_PORT": int,
    "ACTIONS_PORT": int,
    "MAX_SIMILAR": int,
    "EXCERPT_CHARS": int,
    "MAX_MESSAGE_CHARS": int,
    "RETENTION_DAYS": int,
    "ACTION_WORKERS": int,
    "CLUSTER_PORT": int,
    "REPLY_TIMEOUT": float,
    "MAX_WRONG": float,
    "SESSION_IDLE_MINUTES": float,
}


@pytest.mark.parametrize("name", NUMBERS)
@pytest.mark.parametrize("value", ["many", "1e", "3 seconds"])
def test_a_value_that_is_not_a_number_is_refused(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings({f"NEUROBOT_{name}": value})
    assert str(raised.value) == f"NEUROBOT_{name} must be a number, got {value!r}"


@pytest.mark.parametrize("name", [n for n, kind in NUMBERS.items() if kind is int])
def test_a_whole_number_setting_refuses_a_fraction(name: str) -> None:
    with pytest.raises(ConfigError, match=f"NEUROBOT_{name} must be a number, got '2.5'"):
        load_settings({f"NEUROBOT_{name}": "2.5"})


@pytest.mark.parametrize("name", NUMBERS)
def test_a_negative_number_is_refused(name: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings({f"NEUROBOT_{name}": "-1"})
    assert str(raised.value) == f"NEUROBOT_{name} must not be negative, got '-1'"


@pytest.mark.parametrize("value", ["0", "1", "1.5"])
def test_the_share_of_wrong_answers_must_lie_between_0_and_1(value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings({"NEUROBOT_MAX_WRONG": value})
    assert str(raised.value) == f"NEUROBOT_MAX_WRONG must be between 0 and 1, got {value!r}"


def test_numbers_are_read_and_blank_values_take_the_default() -> None:
    settings = load_settings(
        {
            "NEUROBOT_RASA_PORT": " 6006 ",
            "NEUROBOT_REPLY_TIMEOUT": "0.5",
            "NEUROBOT_MAX_WRONG": "0.2",
            "NEUROBOT_ACTIONS_PORT": "   ",
        }
    )
    assert (settings.rasa_port, settings.reply_timeout, settings.max_wrong) == (6006, 0.5, 0.2)
    assert settings.actions_port == 5055


@pytest.mark.parametrize(("value", "expected"), [("debug", "DEBUG"), ("Warning", "WARNING")])
def test_the_log_level_is_read_in_any_case(value: str, expected: str) -> None:
    assert load_settings({"NEUROBOT_LOG_LEVEL": value}).log_level == expected


def test_an_unknown_log_level_names_the_variable_and_the_choices() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings({"NEUROBOT_LOG_LEVEL": "LOUD"})
    assert str(raised.value) == (
        "NEUROBOT_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got 'LOUD'"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [("on", True), ("OFF", False), ("", True), ("1", True), ("0", False), ("false", False)],
)
def test_the_dense_switch(value: str, expected: bool) -> None:
    assert load_settings({"NEUROBOT_DENSE": value}).dense is expected


def test_a_bad_dense_switch_names_the_variable() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings({"NEUROBOT_DENSE": "maybe"})
    assert str(raised.value) == "NEUROBOT_DENSE must be on or off, got 'maybe'"


@pytest.mark.parametrize(
    ("value", "expected"), [("", "minilm"), ("minilm", "minilm"), ("MPNet", "mpnet")]
)
def test_the_encoder_setting(value: str, expected: str) -> None:
    assert load_settings({"NEUROBOT_ENCODER": value}).encoder == expected


def test_an_unknown_encoder_names_the_variable_and_the_choices() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings({"NEUROBOT_ENCODER": "bert"})
    assert str(raised.value) == "NEUROBOT_ENCODER must be one of minilm, mpnet, got 'bert'"


@pytest.mark.parametrize(("value", "expected"), [("", "neurology"), ("ANY", "any")])
def test_the_scope_setting(value: str, expected: str) -> None:
    assert load_settings({"NEUROBOT_SCOPE": value}).scope == expected


def test_an_unknown_scope_names_the_variable_and_the_choices() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings({"NEUROBOT_SCOPE": "cardiology"})
    assert str(raised.value) == "NEUROBOT_SCOPE must be one of neurology, any, got 'cardiology'"
