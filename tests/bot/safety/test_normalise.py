"""Text normalisation: clauses, misspellings, Rasa payloads (bot/safety/normalise.py)."""

from __future__ import annotations

import pytest

from bot.safety.normalise import Clause, normalise, payload_text, split_clauses


def clauses(text: str) -> list[tuple[str, int]]:
    return [(c.text, c.sentence) for c in split_clauses(text).items]


def test_sentences_and_clauses() -> None:
    text = "I can't feel my face, but my arm is fine. He's slured (since 10am) - really!"
    assert clauses(text) == [
        ("i cant feel my face", 0),
        ("my arm is fine", 0),
        ("hes slured", 1),
        ("since 10 am", 1),
        ("really", 1),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Café w/o numbnes & siezure", [("cafe without numbness and seizure", 0)]),
        ("i cannot move, he will not wake", [("i cant move", 0), ("he wont wake", 0)]),
        ("my arm feels week. 2hrs", [("my arm feels weak", 0), ("2 hours", 1)]),
        ("my face droops and he can t talk", [("my face droops", 0), ("he cant talk", 0)]),
        ("at 3.30 it started", [("at 3 30 it started", 0)]),
        ("", []),
        ("  ...!!! ;;; ", []),
    ],
)
def test_misspellings_contractions_and_breaks(text: str, expected: list[tuple[str, int]]) -> None:
    assert clauses(text) == expected


def test_joined_text_and_offsets() -> None:
    found = split_clauses("My face droops. I am fine")
    assert found.items == (Clause("my face droops", 0), Clause("im fine", 1))
    assert found.joined == "my face droops\nim fine"
    assert found.starts == (0, 15)
    assert len(found) == 2


def test_normalise_drops_accents_and_apostrophes() -> None:
    assert normalise("Don\u2019t SÉE w/ Zoë") == "dont see  with  zoe"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '/greet{"symptom": "face drooping"} his face is drooping since 10 minutes',
            "greet: symptom: face drooping:  his face is drooping since 10 minutes",
        ),
        (
            '/inform{"symptoms": ["slurred speech", "face dr\\u00f3oping"], "n": 2, "ok": true}',
            "inform: symptoms: slurred speech: face dr\u00f3oping: n: 2: ok: ",
        ),
        ("/report_symptom", "report symptom: "),
        ("/greet{not json} my face is drooping", "/greet{not json} my face is drooping"),
        ("my face / my arm", "my face / my arm"),
        ("/r/neurology says", "/r/neurology says"),
    ],
)
def test_payload_text(text: str, expected: str) -> None:
    assert payload_text(text) == expected


def test_payload_values_are_clauses_of_their_own() -> None:
    assert clauses('/inform{"a": "no fever", "b": "stiff neck"} today') == [
        ("inform", 0),
        ("a", 0),
        ("no fever", 0),
        ("b", 0),
        ("stiff neck", 0),
        ("today", 0),
    ]
