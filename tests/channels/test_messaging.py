"""Unit tests of addons.platforms: splitting, numbered options, payload aliases,
credentials. No server. (The webhook checks are in tests/security/test_webhooks_checks.py.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from addons.platforms.credentials import PLATFORMS, build_credentials
from addons.platforms.options import NumberedOptions, PayloadAliases, numbered_options
from addons.platforms.text import limit_from, shorten, split_text
from bot.settings import PROJECT_ROOT

PARAGRAPH = (
    "Twitching is common and usually harmless. Weakness needs an examination! "
    "Is it ALS? Rarely; a neurologist can tell."
)


def words(text: str) -> list[str]:
    return text.split()


def test_short_text_is_one_part() -> None:
    assert split_text("  hello  ", 10) == ["hello"]
    assert split_text("", 10) == []


@pytest.mark.parametrize("limit", [45, 60, 100, 150])
def test_long_text_splits_at_sentences_and_keeps_every_word(limit: int) -> None:
    text = "Title line\nAnswered by: Dr X\n\n" + PARAGRAPH + "\n\n" + PARAGRAPH
    parts = split_text(text, limit)
    assert all(len(p) <= limit for p in parts)
    assert words(" ".join(parts)) == words(text)
    assert all(p[-1] in ".!?X;" or p.endswith("tell.") for p in parts), parts


def test_paragraphs_stay_together_when_they_fit() -> None:
    text = "First paragraph.\n\nSecond paragraph.\n\n" + "x " * 40
    parts = split_text(text, 40)
    assert parts[0] == "First paragraph.\n\nSecond paragraph."


def test_a_word_longer_than_the_limit_is_cut() -> None:
    assert split_text("a" * 25, 10) == ["a" * 10, "a" * 10, "a" * 5]


def test_shorten() -> None:
    assert shorten("Read the full reply", 20) == "Read the full reply"
    assert shorten("Twitching in different places", 20) == "Twitching in differ…"
    assert len(shorten("x" * 50, 20)) == 20


def test_numbered_options_and_digit_back_to_payload() -> None:
    buttons = [
        {"title": "Read the full reply", "payload": "/ask_full_reply"},
        {"title": "Other", "payload": '/ask_similar_question{"record_id": "r2"}'},
    ]
    assert numbered_options(buttons) == (
        "Reply with the number of your choice:\n1. Read the full reply\n2. Other"
    )
    options = NumberedOptions()
    options.remember("+1555", buttons)
    assert options.resolve("+1555", "1") == "/ask_full_reply"
    assert options.resolve("+1555", " 2. ") == '/ask_similar_question{"record_id": "r2"}'
    assert options.resolve("+1555", "3") == "3"
    assert options.resolve("+1555", "my hand is weak") == "my hand is weak"
    assert options.resolve("+1999", "1") == "1"


def test_options_expire() -> None:
    options = NumberedOptions()
    options.memory.ttl = -1
    options.remember("+1555", [{"title": "a", "payload": "/a"}])
    assert options.resolve("+1555", "1") == "1"


def test_long_payloads_get_short_aliases() -> None:
    aliases = PayloadAliases()
    short = '/ask_similar_question{"record_id": "r2"}'
    assert aliases.shorten(short, 64) == short
    compactable = '/ask_similar_question{"record_id": "sample-motor-0000013"}'
    assert aliases.shorten(compactable, 57) == (
        '/ask_similar_question{"record_id":"sample-motor-0000013"}'
    )
    long = '/ask_similar_question{"record_id": "' + "x" * 80 + '"}'
    alias = aliases.shorten(long, 64)
    assert len(alias) < 10 and aliases.resolve(alias) == long
    assert aliases.shorten(long, 64) == alias
    assert aliases.resolve("hello") == "hello"


def test_limit_from_never_exceeds_the_platform_limit() -> None:
    assert limit_from({}, 1600) == 1600
    assert limit_from({"max_chars": "480"}, 1600) == 480
    assert limit_from({"max_chars": "99999"}, 1600) == 1600
    assert limit_from({"max_chars": "lots"}, 1600) == 1600


def test_credentials_have_the_base_channels_and_only_complete_platforms(
    tmp_path: Path,
) -> None:
    base = tmp_path / "credentials.yml"
    base.write_text("addons.channels.GuardedRestInput:\naddons.widget.WidgetChannel:\n")
    env = {var: "value" for var in PLATFORMS[0].required.values()}
    env["NEUROBOT_TELEGRAM_API_URL"] = "http://127.0.0.1:1"
    env["NEUROBOT_SLACK_TOKEN"] = "xoxb"
    credentials = build_credentials(env, base)
    assert list(credentials) == [
        "addons.channels.GuardedRestInput",
        "addons.widget.WidgetChannel",
        "addons.channels.GuardedTelegramInput",
    ]
    assert credentials["addons.channels.GuardedTelegramInput"]["api_url"] == "http://127.0.0.1:1"


def test_every_platform_connector_exists() -> None:
    import addons.channels

    for platform in PLATFORMS:
        module, _, name = platform.connector.rpartition(".")
        assert module == "addons.channels"
        assert getattr(addons.channels, name).name() == platform.name


def test_the_project_credentials_file_names_existing_channels() -> None:
    import importlib

    for path in yaml.safe_load((PROJECT_ROOT / "credentials.yml").read_text()):
        module, _, name = path.rpartition(".")
        assert hasattr(importlib.import_module(module), name), path


def test_credentials_command_writes_a_private_file(tmp_path: Path) -> None:
    out = tmp_path / "credentials.yml"
    done = subprocess.run(
        [sys.executable, "-m", "addons.messaging", "credentials", str(out)],
        cwd=PROJECT_ROOT,
        env={"PATH": "", "NEUROBOT_STATE_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "messaging channels on: " in done.stderr
    assert out.stat().st_mode & 0o777 == 0o600
    assert "addons.channels.GuardedRestInput" in yaml.safe_load(out.read_text())


def test_credentials_command_usage() -> None:
    from addons.messaging import main

    assert main(["credentials"]) == 2
