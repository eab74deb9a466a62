"""`bot eval live` against the real servers: short samples of real text, with thresholds.

Each case is a new conversation over the REST channel (and a few over socket.io); every
reply is named by the domain response it came from. The thresholds are what a patient
must be able to count on: every emergency in the triage sample recognised, nobody left
without a reply or with the technical fallback, ordinary medical questions (K-QA) not
taken for emergencies, lay descriptions of neurological symptoms reaching an archive
answer, close questions to choose from, the honest no-match message, or the emergency
message.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.evaluation.live import (
    EMERGENCY_OUTCOMES,
    Case,
    LiveReport,
    Outcome,
    format_report,
    load_cases,
    run_live,
    sample_cases,
)
from tests.conftest import ROOT, SHARED
from tests.servers import Servers

pytestmark = pytest.mark.server

TRIAGE = ROOT / "tests" / "data" / "triage.jsonl"
LAY = ROOT / "tests" / "eval" / "neuro_lay_queries.jsonl"
KQA = SHARED / "data" / "kqa" / "questions_w_answers.jsonl"

#: Cases drawn from each file (the triage sample also holds every multi-turn row).
SAMPLE = 20
#: Conversations at once.
WORKERS = 2
#: Share of the triage sample's emergencies (and crises) the bot must recognise.
MIN_EMERGENCY_RECALL = 1.0
#: Cases, over all samples, that may end with no reply at all.
MAX_SILENT = 0
#: Cases, over all samples, that may end with the technical fallback.
MAX_FALLBACK = 0
#: K-QA questions (of SAMPLE) that may get the emergency or crisis message.
MAX_KQA_EMERGENCIES = 1
#: Share of lay queries that must reach one of LAY_REACHED.
MIN_LAY_REACHED = 0.95
LAY_REACHED = (Outcome.ANSWER, Outcome.OFFER, Outcome.NO_MATCH, Outcome.EMERGENCY)
ANSWERABLE = frozenset({Outcome.ANSWER, Outcome.OFFER, Outcome.NO_MATCH})


def triage_sample() -> list[Case]:
    """Every multi-turn row of the triage table, and single rows up to SAMPLE."""
    cases = load_cases(TRIAGE)
    multi = [c for c in cases if len(c.texts) > 1]
    single = [c for c in cases if len(c.texts) == 1]
    return multi + sample_cases(single, max(0, SAMPLE - len(multi)))


def samples() -> dict[str, list[Case]]:
    if not KQA.exists():
        pytest.fail(f"K-QA questions not found at {KQA}")
    return {
        "triage": triage_sample(),
        "kqa": sample_cases(load_cases(KQA, ANSWERABLE), SAMPLE),
        "lay": sample_cases(load_cases(LAY, ANSWERABLE), SAMPLE),
    }


@pytest.fixture(scope="module")
def server_options() -> dict[str, Any]:
    return {"reply_timeout": 2.5}


@pytest.fixture(scope="module")
def reports(servers: Servers) -> dict[str, LiveReport]:
    done = {name: run_live(servers.url, cases, WORKERS) for name, cases in samples().items()}
    for name, report in done.items():
        print(format_report(name, report), end="\n\n")
    return done


def test_every_emergency_in_the_triage_sample_is_recognised(
    reports: dict[str, LiveReport],
) -> None:
    report = reports["triage"]
    reached, emergencies = report.emergency_recall()
    assert emergencies > 0, "the triage sample holds no emergency"
    missed = [
        (r.case.where, r.case.texts, r.outcome.value)
        for r in report.results
        if r.case.expected is not None
        and r.case.expected <= EMERGENCY_OUTCOMES
        and r.outcome not in EMERGENCY_OUTCOMES
    ]
    assert reached / emergencies >= MIN_EMERGENCY_RECALL, missed


def test_nobody_is_left_silent_or_with_the_technical_fallback(
    reports: dict[str, LiveReport],
) -> None:
    for name, report in reports.items():
        silent = [r.case.texts for r in report.results if r.outcome is Outcome.SILENT]
        fallback = [r.case.texts for r in report.results if r.outcome is Outcome.FALLBACK]
        assert len(silent) <= MAX_SILENT, (name, silent)
        assert len(fallback) <= MAX_FALLBACK, (name, fallback)
        assert report.count(Outcome.FAILED) == 0, (name, format_report(name, report))


def test_every_bot_message_comes_from_a_domain_response(
    reports: dict[str, LiveReport],
) -> None:
    assert {name: report.unrecognised() for name, report in reports.items()} == {
        name: [] for name in reports
    }


def test_ordinary_medical_questions_are_rarely_taken_for_emergencies(
    reports: dict[str, LiveReport],
) -> None:
    report = reports["kqa"]
    alarms = [
        (r.case.texts[0], r.outcome.value)
        for r in report.results
        if r.outcome in EMERGENCY_OUTCOMES
    ]
    assert len(alarms) <= MAX_KQA_EMERGENCIES, alarms


def test_lay_symptom_descriptions_reach_an_answer_no_match_or_emergency(
    reports: dict[str, LiveReport],
) -> None:
    report = reports["lay"]
    others = [
        (r.case.texts[0], r.outcome.value) for r in report.results if r.outcome not in LAY_REACHED
    ]
    assert report.share(*LAY_REACHED) >= MIN_LAY_REACHED, others


def test_socketio_replies_come_to_the_same_outcomes_as_rest(
    servers: Servers, reports: dict[str, LiveReport]
) -> None:
    chosen = [*reports["triage"].results[:3], *reports["lay"].results[:3]]
    over_socketio = run_live(servers.url, [r.case for r in chosen], workers=3, channel="socketio")
    assert [r.outcome for r in over_socketio.results] == [r.outcome for r in chosen]
    assert over_socketio.unrecognised() == []
