"""The one reader of domain.yml: responses by name, from the real file and tiny ones."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.domain import DOMAIN, response_text, response_texts, responses
from bot.errors import ConfigError

TINY = """\
responses:
  utter_hello:
  - text: "  Hello {name}.  "
  - text: Hi.
  utter_card:
  - custom:
      response: utter_card
  - text: A card.
"""


@pytest.fixture
def domain(tmp_path: Path) -> Path:
    path = tmp_path / "domain.yml"
    path.write_text(TINY, encoding="utf-8")
    return path


def test_responses_by_name(domain: Path) -> None:
    assert responses(domain) == {
        "utter_hello": [{"text": "  Hello {name}.  "}, {"text": "Hi."}],
        "utter_card": [{"custom": {"response": "utter_card"}}, {"text": "A card."}],
    }


def test_texts_skip_variations_without_text(domain: Path) -> None:
    assert response_texts("utter_hello", domain) == ["Hello {name}.", "Hi."]
    assert response_texts("utter_card", domain) == ["A card."]


def test_first_text_with_placeholders_filled(domain: Path) -> None:
    assert response_text("utter_hello", domain, name="Ann") == "Hello Ann."
    assert response_text("utter_hello", domain) == "Hello {name}."


def test_an_edited_file_is_read_again(domain: Path) -> None:
    assert response_texts("utter_hello", domain)[1] == "Hi."
    domain.write_text(TINY.replace("Hi.", "Hi there."), encoding="utf-8")
    stat = domain.stat()
    os.utime(domain, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert response_texts("utter_hello", domain)[1] == "Hi there."


def test_missing_response_and_file_name_what_is_missing(domain: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="has no response utter_bye"):
        response_texts("utter_bye", domain)
    with pytest.raises(ConfigError, match=r"cannot read the domain file .*absent\.yml"):
        responses(tmp_path / "absent.yml")


def test_the_project_domain_has_the_fallback_text() -> None:
    assert response_texts("utter_technical_problem", DOMAIN)
    assert response_text("utter_technical_problem") == response_texts("utter_technical_problem")[0]
