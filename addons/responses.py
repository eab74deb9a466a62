"""The domain's response texts, for the few places that speak outside a Rasa action.

The channel guard, the web widget's page configuration and the SMS options prompt send
text without going through Rasa's NLG; they read it here from ``domain.yml``, so every
wording a patient reads is still defined once.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from bot.settings import PROJECT_ROOT

DOMAIN = PROJECT_ROOT / "domain.yml"


@lru_cache(maxsize=4)
def _responses(path: Path) -> dict[str, list[dict[str, object]]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return dict(data["responses"])


def response_text(name: str, path: Path = DOMAIN, **values: str) -> str:
    """The first text variation of response ``name``, with ``{placeholders}`` filled."""
    text = str(_responses(path)[name][0]["text"]).strip()
    return text.format_map(values) if values else text
