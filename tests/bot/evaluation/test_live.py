"""bot.evaluation.live: response matching, outcomes, case files, a run against a stand-in server."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import main
from bot.evaluation.live import (
    DOMAIN,
    EMERGENCY_OUTCOMES,
    NOT_EMERGENCY,
    SAFETY_ADVICE,
    Case,
    CaseFileError,
    LiveReport,
    Outcome,
    ResponseMatcher,
    load_cases,
    outcome_of,
    parse_outcomes,
    run_live,
    sample_cases,
)
from tests.platforms import Recorded, StandIn

RESPONSES = yaml.safe_load(DOMAIN.read_text(encoding="utf-8"))["responses"]
SAMPLE_VALUES = {
    "title": "Muscle twitching all over",
    "attribution": "Dr. Example · Neurology · Example Hospital",
    "excerpt": "Twitching is common and usually harmless.",
    "reply": "Twitching is common.\n\nWeakness needs an examination.",
    "emergency_number": "112",
    "crisis_line": "116 123",
}
VARIATIONS = [
    (name, index, variation["text"])
    for name, variations in RESPONSES.items()
    for index, variation in enumerate(variations)
    if "text" in variation
]


def render(text: str) -> str:
    """A response text as Rasa sends it, every placeholder filled with a sample value."""
    return re.sub(r"\{(\w+)\}", lambda m: SAMPLE_VALUES.get(m[1], f"<{m[1]}>"), text)


def as_rest(text: str, name: str | None) -> list[dict[str, Any]]:
    """A text without buttons as the REST channel sends it: one message a paragraph, the
    first with the card naming the response (none when ``name`` is None)."""
    parts = [{"recipient_id": "p", "text": part} for part in text.strip().split("\n\n")]
    if name is not None:
        parts[0]["custom"] = {"response": name}
    return parts


def reply(name: str) -> list[dict[str, Any]]:
    """Response ``name`` rendered, as REST sends it."""
    return as_rest(render(RESPONSES[name][0]["text"]), name)


@pytest.fixture(scope="module")
def matcher() -> ResponseMatcher:
    return ResponseMatcher.from_domain()


@pytest.mark.parametrize(("name", "index", "text"), VARIATIONS)
def test_every_domain_response_is_named_by_its_card(
    matcher: ResponseMatcher, name: str, index: int, text: str
) -> None:
    split = as_rest(render(text), name)
    assert matcher.match(split + reply(SAFETY_ADVICE)) == (name,) * len(split) + (SAFETY_ADVICE,)
    # over socket.io: one event, the card under metadata
    event = {"text": render(text), "metadata": {"custom": {"response": name}}}
    assert matcher.match([event]) == (name,)


def test_a_full_reply_split_into_paragraphs_is_one_response_then_the_advice(
    matcher: ResponseMatcher,
) -> None:
    full = reply("utter_full_reply")
    assert len(full) == 3
    assert matcher.match(full + reply(SAFETY_ADVICE)) == ("utter_full_reply",) * 3 + (
        SAFETY_ADVICE,
    )


def test_the_wording_is_never_read_and_unnamed_or_unknown_names_are_unrecognised(
    matcher: ResponseMatcher,
) -> None:
    no_match = render(RESPONSES["utter_no_match"][0]["text"])
    messages = [
        {"text": no_match},  # the right words, no name
        {"text": "I think you have ALS.", "custom": {"response": "utter_no_match"}},
        {"text": "more of it"},
        {"text": "Hello.", "custom": {"response": "utter_diagnosis"}},  # not in the domain
        {"text": "and more"},
        {"custom": {"kind": "card"}},
    ]
    assert matcher.match(messages) == (None, "utter_no_match", "utter_no_match", None, None, None)


@pytest.mark.parametrize(
    ("responses", "outcome"),
    [
        ([], Outcome.SILENT),
        (["utter_archive_answer", SAFETY_ADVICE], Outcome.ANSWER),
        (["utter_full_reply"] * 3 + [SAFETY_ADVICE], Outcome.ANSWER),
        (["utter_similar_answer"], Outcome.ANSWER),
        (["utter_no_match", SAFETY_ADVICE], Outcome.NO_MATCH),
        (["utter_archive_answer", "utter_emergency"], Outcome.EMERGENCY),
        (["utter_self_harm", "utter_emergency"], Outcome.EMERGENCY),
        (["utter_self_harm"], Outcome.CRISIS),
        (["utter_technical_problem", SAFETY_ADVICE, "utter_emergency"], Outcome.EMERGENCY),
        (["utter_technical_problem", SAFETY_ADVICE, "utter_archive_answer"], Outcome.FALLBACK),
        (["utter_no_match", "utter_ask_onset"], Outcome.NO_MATCH),
        (["utter_ask_onset"], Outcome.CLARIFY),
        (["utter_greet", "utter_check_side"], Outcome.CLARIFY),
        (["utter_out_of_scope", "utter_default"], Outcome.NOT_UNDERSTOOD),
        (["utter_out_of_scope", "utter_greet"], Outcome.OUT_OF_SCOPE),
        (["utter_greet", None], Outcome.UNRECOGNISED),
        ([None, "utter_default"], Outcome.NOT_UNDERSTOOD),
        (["utter_greet", "utter_disclaimer"], Outcome.OTHER),
        ([SAFETY_ADVICE], Outcome.OTHER),
    ],
)
def test_the_outcome_of_a_turn_is_the_first_by_priority(
    responses: list[str | None], outcome: Outcome
) -> None:
    assert outcome_of(responses) is outcome


def test_outcomes_are_parsed_from_names_and_labels() -> None:
    assert parse_outcomes("answer,no-match") == {Outcome.ANSWER, Outcome.NO_MATCH}
    assert parse_outcomes(["archive answer", "Honest no-match", "technical_fallback"]) == {
        Outcome.ANSWER,
        Outcome.NO_MATCH,
        Outcome.FALLBACK,
    }
    with pytest.raises(ValueError, match="unknown outcome 'diagnosis'"):
        parse_outcomes("answer,diagnosis")


def write(path: Path, *rows: object) -> Path:
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows),
        encoding="utf-8",
    )
    return path


def test_cases_load_from_every_field_with_their_expectations(tmp_path: Path) -> None:
    path = write(
        tmp_path / "cases.jsonl",
        {"text": "my face droops", "emergency": True},
        {"text": "twitching for weeks", "emergency": False},
        "",
        {"texts": ["my arm is weak", " since ten minutes "], "expect": "emergency"},
        {"q": "hands shake", "expect": ["answer", "no-match"], "relevant": {}},
        {"Question": "What is Lexapro?", "Free_form_answer": "..."},
    )
    default = frozenset({Outcome.ANSWER})
    assert load_cases(path, expect=default) == [
        Case(f"{path}:1", ("my face droops",), EMERGENCY_OUTCOMES),
        Case(f"{path}:2", ("twitching for weeks",), NOT_EMERGENCY),
        Case(f"{path}:4", ("my arm is weak", "since ten minutes"), frozenset({Outcome.EMERGENCY})),
        Case(f"{path}:5", ("hands shake",), frozenset({Outcome.ANSWER, Outcome.NO_MATCH})),
        Case(f"{path}:6", ("What is Lexapro?",), default),
    ]
    assert load_cases(path)[4].expected is None


def test_rqe_consumer_questions_are_cases_once_each(tmp_path: Path) -> None:
    path = tmp_path / "rqe.xml"
    path.write_text(
        """<?xml version="1.0" encoding="UTF-8"?>
<RQE-med-test>
<pair pid="1" value="true"><chq>
   My hands  shake. What can I do?
</chq><faq>What is tremor?</faq></pair>
<pair pid="2" value="false"><chq>my hands shake. what can i do?</chq><faq>What is ALS?</faq></pair>
<pair pid="3" value="true"><chq>Headache every day</chq><faq>What is migraine?</faq></pair>
</RQE-med-test>
""",
        encoding="utf-8",
    )
    expect = frozenset({Outcome.ANSWER, Outcome.NO_MATCH})
    assert load_cases(path, expect) == [
        Case("rqe.xml#1", ("My hands shake. What can I do?",), expect),
        Case("rqe.xml#2", ("Headache every day",), expect),
    ]
    plain = write(tmp_path / "rqe.txt", "<RQE><pair><chq>Dizzy</chq></pair></RQE>")
    assert load_cases(plain, fmt="rqe") == [Case("rqe.txt#1", ("Dizzy",))]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"text": "ok"', r"cases\.jsonl:2: invalid JSON"),
        ('["a list"]', r"cases\.jsonl:2: each line must be a JSON object"),
        ('{"message": "hi"}', r"cases\.jsonl:2: no message: expected one of texts, text, q"),
        ('{"texts": []}', r"cases\.jsonl:2: 'texts' must be a non-empty list"),
        ('{"text": 3}', r"cases\.jsonl:2: 'text' must be a string"),
        ('{"text": "hi", "emergency": "yes"}', r"cases\.jsonl:2: 'emergency' must be true or"),
        ('{"text": "hi", "expect": "cured"}', r"cases\.jsonl:2: 'expect': unknown outcome"),
    ],
)
def test_a_bad_line_names_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = write(tmp_path / "cases.jsonl", {"text": "fine"}, line)
    with pytest.raises(CaseFileError, match=message):
        load_cases(path)


def test_bad_xml_and_missing_files_are_case_file_errors(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.xml", "<RQE>", "<chq>unclosed</RQE>")
    with pytest.raises(CaseFileError, match=r"bad\.xml:2: invalid XML"):
        load_cases(bad)
    with pytest.raises(CaseFileError, match=r"missing\.jsonl: cannot read"):
        load_cases(tmp_path / "missing.jsonl")


def test_a_sample_is_fixed_and_in_file_order() -> None:
    cases = [Case(f"f:{n}", (f"text {n}",)) for n in range(50)]
    sample = sample_cases(cases, 10)
    assert sample == sample_cases(cases, 10)
    assert len(sample) == 10
    assert sample == sorted(sample, key=lambda c: int(c.where.split(":")[1]))
    assert sample_cases(cases, 80) == cases
    assert sample_cases(cases, None) == cases


def text_of(name: str) -> str:
    return render(RESPONSES[name][0]["text"])


CARD = {
    "recipient_id": "x",
    "text": text_of("utter_archive_answer"),
    "buttons": [{"title": "Read the full reply", "payload": "/ask_full_reply"}],
    "custom": {"response": "utter_archive_answer", "title": SAMPLE_VALUES["title"]},
}
CANNED: dict[str, list[dict[str, Any]]] = {
    "my face droops since an hour": reply("utter_emergency"),
    "twitching for weeks": [CARD, *reply(SAFETY_ADVICE)],
    "hello": reply("utter_greet"),
    "what is the weather": reply("utter_out_of_scope"),
    "something odd": [{"recipient_id": "x", "text": "I diagnose you with ALS."}],
    "nothing": [],
}


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    server = StandIn()

    def answer(request: Recorded) -> tuple[int, Any]:
        message = request.json["message"]
        if message == "break":
            return 500, {"error": "boom"}
        return 200, CANNED[message]

    server.route("/webhooks/rest/webhook", answer)
    server.route("/", lambda request: (200, "Hello from Rasa"))
    yield server
    server.close()


def summary(report: LiveReport) -> list[tuple[str, list[Any], Outcome, bool | None]]:
    return [
        (
            r.case.where,
            [(t.text, t.responses, t.outcome, t.safety_advice, t.error is None) for t in r.turns],
            r.outcome,
            r.as_expected,
        )
        for r in report.results
    ]


def test_run_live_has_each_case_as_a_new_conversation(stand_in: StandIn) -> None:
    answer = frozenset({Outcome.ANSWER, Outcome.NO_MATCH})
    cases = [
        Case("f:1", ("my face droops since an hour",), EMERGENCY_OUTCOMES),
        Case("f:2", ("hello", "twitching for weeks"), answer),
        Case("f:3", ("twitching for weeks",), NOT_EMERGENCY),
        Case("f:4", ("twitching for weeks", "hello"), answer),
        Case("f:5", ("what is the weather",), answer),
        Case("f:6", ("something odd",)),
        Case("f:7", ("nothing",), answer),
        Case("f:8", ("break", "hello"), answer),
    ]
    report = run_live(stand_in.url, cases, workers=3)

    card = ("utter_archive_answer", SAFETY_ADVICE)
    assert summary(report) == [
        (
            "f:1",
            [
                (
                    "my face droops since an hour",
                    ("utter_emergency",),
                    Outcome.EMERGENCY,
                    False,
                    True,
                )
            ],
            Outcome.EMERGENCY,
            True,
        ),
        (
            "f:2",
            [
                ("hello", ("utter_greet",), Outcome.OTHER, False, True),
                ("twitching for weeks", card, Outcome.ANSWER, True, True),
            ],
            Outcome.ANSWER,
            True,
        ),
        ("f:3", [("twitching for weeks", card, Outcome.ANSWER, True, True)], Outcome.ANSWER, True),
        (
            "f:4",
            [
                ("twitching for weeks", card, Outcome.ANSWER, True, True),
                ("hello", ("utter_greet",), Outcome.OTHER, False, True),
            ],
            Outcome.OTHER,
            False,
        ),
        (
            "f:5",
            [("what is the weather", ("utter_out_of_scope",), Outcome.OUT_OF_SCOPE, False, True)],
            Outcome.OUT_OF_SCOPE,
            False,
        ),
        (
            "f:6",
            [("something odd", (None,), Outcome.UNRECOGNISED, False, True)],
            Outcome.UNRECOGNISED,
            None,
        ),
        ("f:7", [("nothing", (), Outcome.SILENT, False, True)], Outcome.SILENT, False),
        ("f:8", [("break", (), Outcome.FAILED, False, False)], Outcome.FAILED, False),
    ]
    senders = [r.json["sender"] for r in stand_in.received("/webhooks/rest/webhook")]
    assert len(senders) == 10
    by_text: dict[str, set[str]] = {}
    for request in stand_in.received("/webhooks/rest/webhook"):
        by_text.setdefault(request.json["message"], set()).add(request.json["sender"])
    # one sender per case, kept for every turn of a multi-turn case
    assert len(set(senders)) == 8
    assert len(by_text["twitching for weeks"]) == 3

    assert report.counts() == {
        Outcome.EMERGENCY: 1,
        Outcome.ANSWER: 2,
        Outcome.OUT_OF_SCOPE: 1,
        Outcome.UNRECOGNISED: 1,
        Outcome.OTHER: 1,
        Outcome.SILENT: 1,
        Outcome.FAILED: 1,
    }
    assert report.expected() == (3, 7)
    assert [r.case.where for r in report.mismatches()] == ["f:4", "f:5", "f:7", "f:8"]
    assert report.emergency_recall() == (1, 1)
    assert report.false_alarms() == (0, 6)
    assert report.safety_advice() == (3, 3)
    assert report.unrecognised() == ["I diagnose you with ALS."]
    assert report.share(Outcome.ANSWER, Outcome.EMERGENCY) == 3 / 8
    assert len(report.latencies()) == 9  # the failed request has none
    assert set(report.latency()) == {"median", "p95", "max"}


def test_the_command_prints_a_report_and_writes_json(
    stand_in: StandIn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = write(
        tmp_path / "cases.jsonl",
        {"text": "my face droops since an hour", "emergency": True},
        {"q": "twitching for weeks"},
        {"q": "what is the weather"},
    )
    out = tmp_path / "out.json"
    argv = ["eval", "live", "--url", stand_in.url, "--expect", "answer,no-match"]
    assert main([*argv, "--json", str(out), str(cases)]) == 0
    printed = capsys.readouterr().out
    assert "archive answer" in printed
    assert "as expected: 2/3 (66.7%)" in printed
    assert "emergency recall: 1/1 (100.0%)" in printed
    assert "expected answer|no-match, got out of scope: what is the weather" in printed
    assert "latency per message: median" in printed
    written = json.loads(out.read_text())
    (file,) = written["files"]
    assert file["outcomes"] == {"emergency": 1, "answer": 1, "out-of-scope": 1}
    assert [r["outcome"] for r in file["results"]] == ["emergency", "answer", "out-of-scope"]
    assert file["results"][1]["turns"][0]["responses"] == ["utter_archive_answer", SAFETY_ADVICE]


def test_bad_input_exits_2_naming_the_line(
    stand_in: StandIn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = write(tmp_path / "cases.jsonl", {"text": "fine"}, {"txt": "typo"})
    assert main(["eval", "live", "--url", stand_in.url, str(cases)]) == 2
    assert f"{cases}:2: no message" in capsys.readouterr().err
    assert stand_in.received("/webhooks") == []
