"""PostgreSQL stops mid-conversation: the patient gets the fallback, then the history again.

`make run`'s launcher with the tracker store on a fresh PostgreSQL database reached
through a proxy that plays the outage (tests/addons/test_stores.py's): an archive
answer, then the database goes away; a follow-up gets the technical-problem reply and
the safety advice, an emergency gets the emergency message; the database comes back and
the same follow-up shows the full reply of the record answered before the outage. One
start of the launcher (30 to 60 s).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.addons.test_stores import EMERGENCY, PROBLEM, Outage, outage
from tests.server.test_persistence import texts
from tests.servers import ALS, CARD_START, FULL_START, SAFETY, Launcher

pytestmark = pytest.mark.server

__all__ = ["outage"]  # the fixture


@pytest.fixture
def launcher(tmp_path: Path, outage: Outage) -> Iterator[Launcher]:
    state = tmp_path / "state"
    state.mkdir()
    started = Launcher(state, NEUROBOT_DATABASE_URL=outage.url)
    try:
        yield started
    finally:
        started.stop()


def test_a_postgresql_outage_gets_the_fallback_and_the_conversation_resumes(
    launcher: Launcher, outage: Outage
) -> None:
    launcher.start()
    card, advice = launcher.say("patient-outage", ALS)
    assert card["text"].startswith(CARD_START) and advice["text"] == SAFETY
    title = card["text"][len(CARD_START) :].split("”", 1)[0]

    offset = len(launcher.output())
    outage.down()
    assert texts(launcher.say("patient-outage", "/ask_full_reply")) == PROBLEM
    drooping = "his face is drooping since 10 minutes ago"
    assert texts(launcher.say("patient-outage", drooping)) == [
        EMERGENCY.format(emergency_number="112", crisis_line="116 123")
    ]
    assert texts(launcher.say("patient-new", "I get headaches every day")) == PROBLEM

    outage.up()
    full = texts(launcher.say("patient-outage", "/ask_full_reply"))
    assert full[0].startswith(f"{FULL_START}{title}”"), full
    assert full[-1] == SAFETY

    log = launcher.output()[offset:]
    assert "the tracker store could not read a conversation" in log
    assert "the tracker store answers again" in log
    assert "drooping" not in log and "headaches" not in log
