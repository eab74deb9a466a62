"""The review loop on the real servers: a patient's unanswered question reaches the queue
redacted, a doctor's reply is exported, filled in and imported, and the next patient
asking the same question gets the doctor's reply with the doctor's name and date."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.servers import CARD_START, REVIEW_SERVERS, REVIEW_TOKEN, SAFETY, Servers, response_text

pytestmark = pytest.mark.server

NAME, PHONE = "Anna Kowalski", "07700 900123"
QUESTION = "My toenails turned yellow and thick after a pedicure last summer, is it an infection?"
FIRST = f"My name is {NAME}, call me on {PHONE}. {QUESTION}"
DOCTOR = {
    "reply": "Thick yellow toenails after a pedicure are most often a fungal infection of the "
    "nails. A family doctor or a dermatologist can confirm it and treat it.",
    "responder": "Dr. Jane Roe",
    "department": "Dermatology",
    "source": "Example Hospital",
    "reply_date": "2026/12/03",
    "title": "Yellow, thick toenails after a pedicure",
}


@pytest.fixture(scope="module")
def server_options() -> dict[str, Any]:
    return REVIEW_SERVERS


def review_list(servers: Servers, *args: str) -> list[dict[str, Any]]:
    done = servers.bot("review", "list", "--json", *args)
    assert done.returncode == 0, done.stderr
    items = json.loads(done.stdout)
    assert isinstance(items, list)
    return items


def test_unanswered_question_exported_answered_imported_reaches_the_next_patient(
    servers: Servers, tmp_path: Path
) -> None:
    asked_at = time.time()
    first = servers.say("patient-a", FIRST)
    # a question of another specialty: the no-match says where such questions go
    assert [m.get("text") for m in first] == [
        response_text("utter_no_match"),
        response_text("utter_outside_scope"),
        SAFETY,
    ]

    # another patient finds an answer not helpful: the button payload, then the thanks
    card, advice = servers.say("patient-b", "my hands shake when I hold a cup of tea")
    assert card["text"].startswith(CARD_START) and advice["text"] == SAFETY
    titles = [b["title"] for b in card["buttons"]]
    assert titles[:3] == ["Read the full reply", "Helpful", "Not helpful"]
    unhelpful = card["buttons"][2]["payload"]
    assert unhelpful.startswith('/feedback_unhelpful{"record_id": "')
    thanks = servers.say("patient-b", unhelpful)
    assert [m.get("text") for m in thanks] == [response_text("utter_feedback_not_helpful")]

    # in the queue at once (well within a minute), redacted
    items = review_list(servers)
    assert time.time() - asked_at < 60
    no_match = [i for i in items if i["kind"] == "no-match"]
    assert [i["question"] for i in no_match] == [
        f"My name is [name], call me on [phone]. {QUESTION}"
    ]
    assert no_match[0]["channel"] == "rest"
    assert no_match[0]["answered"] == "the honest no-match"
    rated = [i for i in items if i["kind"] == "unhelpful"]
    assert [(i["question"], i["feedback"]) for i in rated] == [
        ("my hands shake when I hold a cup of tea", "unhelpful")
    ]
    assert (
        rated[0]["record_id"]
        == json.loads(unhelpful.removeprefix("/feedback_unhelpful"))["record_id"]
    )
    assert NAME not in json.dumps(items) and PHONE not in json.dumps(items)

    # the operator page's JSON needs the credential
    page = f"{servers.url}/webhooks/review/queue.json"
    assert requests.get(page, timeout=10).status_code == 401
    assert (
        requests.get(page, headers={"Authorization": "Bearer wrong"}, timeout=10).status_code == 401
    )
    shown = requests.get(page, headers={"Authorization": f"Bearer {REVIEW_TOKEN}"}, timeout=10)
    assert shown.status_code == 200
    assert {i["id"] for i in shown.json()["items"]} == {i["id"] for i in items}

    # exported; left unfilled it is refused, naming file and line
    export = tmp_path / "for-the-doctor.jsonl"
    done = servers.bot("review", "export", "--kind", "no-match", str(export))
    assert done.returncode == 0, done.stderr
    refused = servers.bot("archive", "import", str(export))
    assert refused.returncode == 2
    assert f"{export}:1: missing required field(s): reply, source" in refused.stderr
    assert "nothing was imported" in refused.stderr

    # filled in by a doctor and imported
    row = json.loads(export.read_text(encoding="utf-8"))
    export.write_text(json.dumps({**row, **DOCTOR}) + "\n", encoding="utf-8")
    imported = servers.bot("archive", "import", str(export))
    assert imported.returncode == 0, imported.stderr

    # the next patient asking the same question gets the doctor's reply, as written
    card, advice = servers.say("patient-c", QUESTION)
    assert card["text"].startswith(f"{CARD_START}{DOCTOR['title']}”")
    assert "Answered by: Dr. Jane Roe · Dermatology · Example Hospital · 2026/12/03" in card["text"]
    assert advice["text"] == SAFETY

    # and the item is done: gone from the open list, still there with --all
    assert [i["kind"] for i in review_list(servers, "--kind", "no-match")] == []
    assert [i["done"] for i in review_list(servers, "--kind", "no-match", "--all")] == [True]
    counts = servers.bot("review", "counts", "--json")
    today = json.loads(counts.stdout)[-1]
    assert today["no_matches"] == 1 and today["unhelpful"] == 1 and today["answers"] == 2
