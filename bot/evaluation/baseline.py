"""The bare Rasa bot that ``bot load`` measures this one against, on the same machine.

Absolute load figures move by half with whatever else runs on the machine; the ratio to
a plain Rasa bot of the same version, loaded in the same run, does not. The bare bot is
``rasa init``'s demo project (the mood bot: a few intents, stock pipeline and policies,
no custom actions, conversations in memory), created and trained with the Rasa of this
virtual environment, and answering over the REST channel its ``credentials.yml`` opens.

:func:`prepare` creates it once in :data:`BARE_DIR` (about a minute, most of it
training) and reuses it while the installed Rasa is the version it was made with.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from bot.errors import ServiceError
from bot.settings import PROJECT_ROOT

#: Where the bare bot's project lives (ignored by git, like every other run's state).
BARE_DIR = PROJECT_ROOT / "var" / "bare-rasa"
#: What the Rasa server logs once it answers.
READY_LINE = "Rasa server is up and running"
#: Seconds ``rasa init`` may take (creating and training the demo).
INIT_SECONDS = 900


def rasa_executable() -> Path:
    """The ``rasa`` command of this virtual environment."""
    return Path(sys.executable).with_name("rasa")


#: What the bare bot's processes get on top of the environment: no telemetry prompt or upload.
QUIET = {"RASA_TELEMETRY_ENABLED": "false"}


def trained_model(directory: Path) -> Path | None:
    """The newest trained model of the project in ``directory``, if any."""
    models = sorted((directory / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


def prepare(directory: Path = BARE_DIR) -> Path:
    """The bare bot's trained model: made with ``rasa init`` unless it is there already.

    A project made with another Rasa version is made again, so that both bots of a load
    run are the same Rasa.

    Raises:
        ServiceError: ``rasa init`` failed or left no model.
    """
    stamp = directory / "rasa-version.txt"
    wanted = version("rasa")
    model = trained_model(directory)
    if model is not None and stamp.exists() and stamp.read_text().strip() == wanted:
        return model
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)  # rasa init wants it there
    command = [str(rasa_executable()), "init", "--no-prompt", "--init-dir", str(directory)]
    try:
        done = subprocess.run(
            command,
            env={**os.environ, **QUIET},
            capture_output=True,
            text=True,
            timeout=INIT_SECONDS,
        )
    except subprocess.TimeoutExpired as exc:
        raise ServiceError(f"rasa init took longer than {INIT_SECONDS} s") from exc
    model = trained_model(directory)
    if done.returncode != 0 or model is None:
        said = (done.stdout + done.stderr)[-2000:]
        raise ServiceError(f"rasa init failed (exit {done.returncode}): {said}")
    stamp.write_text(wanted + "\n")
    return model


def command(model: Path, port: int) -> list[str]:
    """The command that serves the bare bot's model over REST on ``port``."""
    return [str(rasa_executable()), "run", "--model", str(model), "--port", str(port)]
