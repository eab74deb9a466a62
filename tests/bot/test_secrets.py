"""Secrets taken from the environment or generated once, private on disk."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.secrets import load_or_create, rest_token, write_private
from bot.settings import load_settings


def test_a_generated_secret_is_kept_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "var" / "rest_token"
    first = load_or_create(path)
    assert len(first) >= 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create(path) == first
    assert load_or_create(tmp_path / "other") != first


def test_the_operators_value_wins_and_nothing_is_written(tmp_path: Path) -> None:
    path = tmp_path / "rest_token"
    assert load_or_create(path, "  from-the-operator ") == "from-the-operator"
    assert not path.exists()


def test_an_emptied_file_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "rest_token"
    path.write_text("\n")
    with pytest.raises(ConfigError, match="rest_token is empty"):
        load_or_create(path)


def test_write_private_replaces_a_file_that_others_could_read(tmp_path: Path) -> None:
    path = tmp_path / "credentials.yml"
    path.write_text("old")
    path.chmod(0o644)
    write_private(path, "new")
    assert path.read_text() == "new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_rest_token_lives_in_the_state_dir(tmp_path: Path) -> None:
    settings = load_settings({"NEUROBOT_STATE_DIR": str(tmp_path)})
    assert rest_token(settings) == (tmp_path / "rest_token").read_text().strip()
    assert settings.origins == ("http://127.0.0.1:5005", "http://localhost:5005")
    assert settings.host == "127.0.0.1"
