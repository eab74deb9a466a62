"""The project's ``domain.yml``, read in one place: its responses by name.

Rasa reads the domain for the servers; the plain-Python parts that need a response's
wording outside a Rasa action (the channels' fallback and options prompt, the web
widget's page, the launcher's warm-up, the live evaluation's reply classifier) read it
through this module, so the file is parsed one way and the wording is defined once.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.errors import ConfigError
from bot.settings import PROJECT_ROOT

DOMAIN = PROJECT_ROOT / "domain.yml"

#: One response: its variations, each a mapping with ``text``, ``buttons``, ``custom`` ...
Variations = list[dict[str, Any]]


@lru_cache(maxsize=8)
def _parsed(path: Path, changed: int) -> dict[str, Variations]:
    # ``changed`` (the file's mtime) is part of the key: an edited file is read again
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read the domain file {path}: {exc}") from exc
    return dict(data.get("responses") or {})


def responses(path: Path = DOMAIN) -> dict[str, Variations]:
    """Every response of a domain file: its name -> its variations (do not modify).

    Raises:
        ConfigError: The file is missing or is not YAML.
    """
    try:
        changed = path.stat().st_mtime_ns
    except OSError as exc:
        raise ConfigError(f"cannot read the domain file {path}: {exc}") from exc
    return _parsed(path, changed)


def response_texts(name: str, path: Path = DOMAIN) -> list[str]:
    """The text of each variation of response ``name`` that has one, stripped, in order.

    Raises:
        ConfigError: The file cannot be read, or has no response ``name``.
    """
    variations = responses(path).get(name)
    if variations is None:
        raise ConfigError(f"the domain file {path} has no response {name}")
    return [str(v["text"]).strip() for v in variations if "text" in v]


def response_text(name: str, path: Path = DOMAIN, /, **values: str) -> str:
    """The first text variation of response ``name``, with ``{placeholders}`` filled.

    Raises:
        ConfigError: The file cannot be read, or response ``name`` has no text.
    """
    texts = response_texts(name, path)
    if not texts:
        raise ConfigError(f"the response {name} in {path} has no text")
    return texts[0].format_map(values) if values else texts[0]
