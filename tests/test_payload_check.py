"""One payload check: the actions and the review queue leave out exactly the bot's buttons.

``bot.safety.session.is_payload`` decides; typed text that only looks like a payload is
the patient's words everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from actions.actions import latest_text, patient_texts
from bot.review.queue import _texts

BUTTON = '/ask_similar_question{"record_id": "sample-motor-012"}'
TYPED = '/greet{"symptom": "my face is drooping"}'


def test_the_actions_leave_out_buttons_only(make_tracker: Callable[..., Any]) -> None:
    tracker = make_tracker(
        "my left arm is weak",
        history=[(BUTTON, "ask_similar_question"), (TYPED, "greet"), ("/restart", "restart")],
    )
    assert patient_texts(tracker) == [TYPED, "my left arm is weak"]
    assert latest_text(tracker) == "my left arm is weak"
    assert latest_text(make_tracker(BUTTON, intent="ask_similar_question")) == ""
    assert latest_text(make_tracker(TYPED, intent="greet")) == TYPED


def test_the_review_queue_leaves_out_buttons_only() -> None:
    raw = [json.dumps({"event": "user", "text": t}) for t in (BUTTON, TYPED, " headache ")]
    assert _texts(raw) == [TYPED, "headache"]
