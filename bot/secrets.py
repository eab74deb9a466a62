"""Shared secrets of a deployment: taken from the environment, or generated once.

The REST channel's bearer token, the action server's token and the key that signs the
web chat's session ids must be unguessable and must not change between restarts (a
patient's widget keeps its signed session id across a reload). When the operator sets
the variable, that value is used; otherwise a random value is generated on first use
and kept in ``var/<name>``, created readable by its owner only (mode 0600) before
anything is written into it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from bot.errors import ConfigError
from bot.settings import Settings

#: Bytes of randomness in a generated secret (256 bits, URL-safe base64).
SECRET_BYTES = 32


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, readable and writable by the owner only.

    The file is created with mode 0600 before a byte is written (never written first and
    restricted afterwards), and replaced atomically.

    Raises:
        ConfigError: The file cannot be written; the message names it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(partial, 0o600)
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ConfigError(f"cannot write {path}: {exc}") from exc


def load_or_create(path: Path, configured: str = "") -> str:
    """The secret: ``configured`` when set, else the one kept at ``path`` (generated
    there on first use).

    Args:
        path: Where a generated secret is kept (``var/<name>``).
        configured: The value of the operator's variable, '' when unset.

    Returns:
        The secret, without surrounding whitespace.

    Raises:
        ConfigError: The kept file cannot be read or written, or is empty.
    """
    if configured.strip():
        return configured.strip()
    if path.exists():
        try:
            kept = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from exc
        if not kept:
            raise ConfigError(f"{path} is empty: delete it to generate a new secret")
        return kept
    value = secrets.token_urlsafe(SECRET_BYTES)
    write_private(path, value + "\n")
    return value


def rest_token(settings: Settings) -> str:
    """The REST channel's bearer token (``NEUROBOT_REST_TOKEN`` or ``var/rest_token``)."""
    return load_or_create(settings.state_dir / "rest_token", settings.rest_token)


def actions_token(settings: Settings) -> str:
    """The action server's shared secret (``NEUROBOT_ACTIONS_TOKEN`` or
    ``var/actions_token``)."""
    return load_or_create(settings.state_dir / "actions_token", settings.actions_token)


def session_secret(settings: Settings) -> str:
    """The key signing web chat session ids (``NEUROBOT_SESSION_SECRET`` or
    ``var/session_secret``)."""
    return load_or_create(settings.state_dir / "session_secret", settings.session_secret)
