"""The bare Rasa bot of a load run: made once, reused, and the ratios to it."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from bot.errors import BotError, ServiceError
from bot.evaluation import baseline
from bot.evaluation.load import Profile, ratio_table, ratios


def _fake_init(made: list[list[str]], model: bool = True) -> Any:
    """A stand-in for ``rasa init``: records the command, leaves a model (or not)."""

    def run(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        made.append(command)
        directory = Path(command[command.index("--init-dir") + 1])
        if model:
            (directory / "models").mkdir(parents=True)
            (directory / "models" / "20261207-demo.tar.gz").write_bytes(b"model")
        return subprocess.CompletedProcess(command, 0 if model else 1, "", "no model")

    return run


def test_the_bare_bot_is_made_once_and_reused(tmp_path: Path, monkeypatch) -> None:
    made: list[list[str]] = []
    monkeypatch.setattr(baseline.subprocess, "run", _fake_init(made))
    directory = tmp_path / "bare"
    first = baseline.prepare(directory)
    again = baseline.prepare(directory)
    assert first == again == directory / "models" / "20261207-demo.tar.gz"
    assert len(made) == 1
    assert made[0][1:] == ["init", "--no-prompt", "--init-dir", str(directory)]
    assert (directory / "rasa-version.txt").read_text().strip() == baseline.version("rasa")


def test_a_bare_bot_of_another_rasa_is_made_again(tmp_path: Path, monkeypatch) -> None:
    made: list[list[str]] = []
    monkeypatch.setattr(baseline.subprocess, "run", _fake_init(made))
    directory = tmp_path / "bare"
    (directory / "models").mkdir(parents=True)
    (directory / "models" / "old.tar.gz").write_bytes(b"old")
    (directory / "rasa-version.txt").write_text("3.5.0\n")
    model = baseline.prepare(directory)
    assert len(made) == 1
    assert model.name == "20261207-demo.tar.gz"
    assert not (directory / "models" / "old.tar.gz").exists()


def test_a_failed_rasa_init_says_so(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(baseline.subprocess, "run", _fake_init([], model=False))
    with pytest.raises(ServiceError, match="rasa init failed"):
        baseline.prepare(tmp_path / "bare")


def test_the_bare_profile_serves_its_model_over_rest(tmp_path: Path) -> None:
    profile = Profile("bare", tmp_path)
    assert profile.cwd == baseline.BARE_DIR
    assert profile.ready_line == baseline.READY_LINE
    assert profile.env["RASA_TELEMETRY_ENABLED"] == "false"
    # the load run's own variables are kept, whatever the caller's environment says
    assert profile.env["NEUROBOT_STATE_DIR"] == str(tmp_path)
    assert profile.env["NEUROBOT_RATE_MESSAGES"] == "1000000/minute"
    command = baseline.command(Path("m.tar.gz"), profile.port)
    assert command[1:] == ["run", "--model", "m.tar.gz", "--port", str(profile.port)]
    assert Path(command[0]).name == "rasa"
    target = profile.target()
    assert target.rest_only and target.token == ""
    with pytest.raises(BotError, match="run, cluster, bare"):
        Profile("demo", tmp_path)


def _run(p50: float, rate: float, p95: float) -> dict[str, Any]:
    return {"single": {"p50_s": p50}, "saturation": {"msgs_per_s": rate, "p95_s": p95}}


def test_each_profile_is_given_as_a_ratio_to_the_bare_bot() -> None:
    results = {"run": _run(0.060, 30.0, 0.9), "bare": _run(0.040, 40.0, 0.6)}
    found = ratios(results)
    assert found == {
        "run": {
            "single_p50_s": pytest.approx(1.5),
            "saturation_msgs_per_s": pytest.approx(0.75),
            "saturation_p95_s": pytest.approx(1.5),
        }
    }
    text = ratio_table(found)
    assert "ratio to the bare Rasa bot" in text
    assert "run=  1.50" in text and "run=  0.75" in text


def test_no_ratio_without_the_bare_bot_or_its_figure() -> None:
    assert ratios({"run": _run(0.06, 30.0, 0.9)}) == {}
    assert ratio_table({}) == ""
    partial = {"run": _run(0.06, 30.0, 0.9), "bare": {"single": {"p50_s": 0.03}}}
    assert ratios(partial) == {"run": {"single_p50_s": pytest.approx(2.0)}}
