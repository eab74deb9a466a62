"""The door every message goes through: storable text, and bodies refused before parsing."""

from __future__ import annotations

import json

import pytest

from bot.guard.inbound import MAX_BODY_BYTES, MAX_JSON_DEPTH, body_problem, clean


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [
        ("plain words", "plain words"),
        ("\ud800", "\ufffd"),
        ("a\udfffb\uffffc", "a\ufffdb\ufffdc"),
        ("fa\u200bce\u200c dr\u200doop\u2060ing\u00ad", "face drooping"),
        ("\u202eleft\u202c \u2066arm\u2069", "left arm"),
        ("tag\U000e0041\U000e0042s", "tags"),
        ("bell\x07 palsy\r\n", "bell palsy\r\n"),
        ("Ménière 眩暈 👍", "Ménière 眩暈 👍"),
    ],
)
def test_clean(text: str, cleaned: str) -> None:
    assert clean(text) == cleaned
    clean(text).encode("utf-8")


def nested(depth: int) -> bytes:
    return b'{"sender": "p", "message": "hi", "x": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"sender": "p", "message": "hi"}', None),
        (nested(MAX_JSON_DEPTH - 1), None),
        (nested(MAX_JSON_DEPTH), (400, "the body nests objects or arrays deeper than 32 levels")),
        (nested(1000), (400, "the body nests objects or arrays deeper than 32 levels")),
        # brackets inside strings do not count
        (json.dumps({"sender": "p", "message": "[" * 500}).encode(), None),
        (b"x" * (MAX_BODY_BYTES + 1), (413, "the body is larger than 65,536 bytes")),
    ],
)
def test_body_problem(body: bytes, problem: tuple[int, str] | None) -> None:
    assert body_problem(body) == problem
