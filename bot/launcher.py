"""Starts the action server and the Rasa server, waits until both answer, stops both.

Used by ``make run`` (both servers), ``make shell`` (action server plus ``rasa shell``)
and the server tests. It only starts processes; it does not import Rasa.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from bot.errors import ServiceError
from bot.http import HttpClient
from bot.settings import PROJECT_ROOT, Settings, load_settings

MODEL = PROJECT_ROOT / "models" / "neurobot.tar.gz"


def server_env(settings: Settings, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for both servers: the settings exported, as endpoints.yml reads them."""
    env = dict(os.environ if base is None else base)
    env["NEUROBOT_ACTIONS_URL"] = settings.actions_url
    env["NEUROBOT_DB"] = str(settings.db_path)
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def rasa_bin() -> str:
    """The ``rasa`` executable next to this Python."""
    return str(Path(sys.executable).with_name("rasa"))


def action_server_command(settings: Settings) -> list[str]:
    """Command line of the action server."""
    return [
        rasa_bin(),
        "run",
        "actions",
        "--actions",
        "actions",
        "--port",
        str(settings.actions_port),
    ]


def rasa_server_command(
    settings: Settings, model: Path = MODEL, credentials: Path = PROJECT_ROOT / "credentials.yml"
) -> list[str]:
    """Command line of the Rasa server (channels from ``credentials``)."""
    return [
        rasa_bin(),
        "run",
        "--model",
        str(model),
        "--port",
        str(settings.rasa_port),
        "--endpoints",
        str(PROJECT_ROOT / "endpoints.yml"),
        "--credentials",
        str(credentials),
        "--cors",
        "*",
    ]


def wait_until_up(url: str, process: subprocess.Popen[bytes], seconds: float) -> None:
    """Poll ``url`` until it answers; fail early if the process exits.

    Raises:
        ServiceError: The process ended or ``seconds`` passed first.
    """
    client = HttpClient(timeout=2.0)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise ServiceError(f"process for {url} exited with code {process.returncode}")
            try:
                client.get(url)
                return
            except ServiceError:
                time.sleep(0.5)
    finally:
        client.close()
    raise ServiceError(f"{url} did not answer within {seconds:.0f} s")


def stop(processes: Sequence[subprocess.Popen[bytes]]) -> None:
    """Stop processes politely (SIGINT, then SIGTERM, then SIGKILL)."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Start the servers; with ``--shell``, hold a ``rasa shell`` conversation instead."""
    parser = argparse.ArgumentParser(prog="python -m bot.launcher")
    parser.add_argument("--shell", action="store_true", help="talk in the terminal")
    args = parser.parse_args(argv)
    settings = load_settings()
    env = server_env(settings)
    processes: list[subprocess.Popen[bytes]] = []
    # Ctrl-C and a service manager's SIGTERM both stop both servers, even when the
    # launcher was started with SIGINT ignored (as a background job of a script).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        print(f"starting the action server on port {settings.actions_port} ...", flush=True)
        actions = subprocess.Popen(action_server_command(settings), env=env, cwd=PROJECT_ROOT)
        processes.append(actions)
        wait_until_up(f"http://127.0.0.1:{settings.actions_port}/health", actions, 120)
        if args.shell:
            # `rasa shell` with the guarded terminal channel: the same console, and the
            # same fallback guard as every other channel.
            command = [
                *rasa_server_command(settings),
                "--connector",
                "addons.channels.GuardedCmdlineInput",
            ]
            return subprocess.call(command, env=env, cwd=PROJECT_ROOT)
        # credentials.yml plus the messaging platforms whose NEUROBOT_* variables are set
        credentials = PROJECT_ROOT / "var" / "credentials.yml"
        subprocess.run(
            [sys.executable, "-m", "addons.messaging", "credentials", str(credentials)],
            env=env,
            cwd=PROJECT_ROOT,
            check=True,
        )
        print(f"starting the Rasa server on port {settings.rasa_port} ...", flush=True)
        rasa = subprocess.Popen(
            rasa_server_command(settings, credentials=credentials), env=env, cwd=PROJECT_ROOT
        )
        processes.append(rasa)
        base = f"http://127.0.0.1:{settings.rasa_port}"
        wait_until_up(f"{base}/webhooks/rest/", rasa, 300)
        print(
            "\nThe bot is ready. Talk to it:\n"
            f"  REST:      POST {base}/webhooks/rest/webhook "
            '{"sender": "me", "message": "..."}\n'
            f"  web chat:  {base}/webhooks/widget/\n"
            f"  socket.io: {base}/socket.io\n"
            "Press Ctrl-C to stop both servers.\n",
            flush=True,
        )
        while all(p.poll() is None for p in processes):
            time.sleep(1)
        print("a server stopped; stopping the other", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
        return 0
    except (ServiceError, subprocess.CalledProcessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        stop(processes)


if __name__ == "__main__":
    sys.exit(main())
