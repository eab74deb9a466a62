"""The "Helpful" / "Not helpful" buttons of an answer card, and the feedback action."""

from __future__ import annotations

import json
from typing import Any

from rasa_sdk.events import SlotSet

from actions.actions import ActionAnswerFromArchive, ActionRecordFeedback, Services
from bot.search.index import ArchiveIndex
from bot.settings import Settings
from tests.actions.test_actions import TWITCH_TEXT, responses, run


def test_an_answer_card_carries_its_record_id_for_the_feedback_buttons(
    index: ArchiveIndex, settings: Settings, make_tracker: Any
) -> None:
    messages, _ = run(ActionAnswerFromArchive(Services(settings, index)), make_tracker(TWITCH_TEXT))
    card = messages[0]
    # domain.yml's buttons of utter_archive_answer fill {record_entity} with this
    assert json.loads(card["record_entity"]) == {"record_id": "t1"}
    assert card["record_id"] == "t1"


def feedback_tracker(make_tracker: Any, intent: str, text: str, **slots: Any) -> Any:
    entities = [{"entity": "record_id", "value": "t2"}] if text.startswith("/") else []
    return make_tracker(text, intent, entities=entities, **slots)


def test_not_helpful_is_kept_with_the_record_id_and_thanked(
    index: ArchiveIndex, settings: Settings, make_tracker: Any
) -> None:
    tracker = feedback_tracker(
        make_tracker,
        "feedback_unhelpful",
        '/feedback_unhelpful{"record_id": "t2"}',
        current_record="t1",
    )
    messages, events = run(ActionRecordFeedback(Services(settings, index)), tracker)
    assert responses(messages) == ["utter_feedback_not_helpful"]
    assert events == [SlotSet("feedback", {"rating": "unhelpful", "record_id": "t2"})]


def test_typed_helpful_rates_the_record_last_shown(
    index: ArchiveIndex, settings: Settings, make_tracker: Any
) -> None:
    tracker = feedback_tracker(
        make_tracker, "feedback_helpful", "this reply was helpful", current_record="t1"
    )
    messages, events = run(ActionRecordFeedback(Services(settings, index)), tracker)
    assert responses(messages) == ["utter_feedback_thanks"]
    assert events == [SlotSet("feedback", {"rating": "helpful", "record_id": "t1"})]


def test_feedback_before_any_answer_is_told_nothing_was_shown(
    index: ArchiveIndex, settings: Settings, make_tracker: Any
) -> None:
    tracker = feedback_tracker(make_tracker, "feedback_unhelpful", "not helpful")
    messages, events = run(ActionRecordFeedback(Services(settings, index)), tracker)
    assert responses(messages) == ["utter_nothing_shown_yet"]
    assert events == []


def test_a_long_health_message_taken_for_feedback_is_searched_not_recorded(
    index: ArchiveIndex, settings: Settings, make_tracker: Any
) -> None:
    tracker = feedback_tracker(
        make_tracker,
        "feedback_unhelpful",
        "that did not help, my feet still tingle and burn every night in bed",
        current_record="t1",
    )
    messages, events = run(ActionRecordFeedback(Services(settings, index)), tracker)
    assert responses(messages) == ["utter_archive_answer", "utter_safety_advice"]
    assert messages[0]["title"] == "Pins and needles in both feet at night"
    assert not any(getattr(e, "get", lambda _: None)("name") == "feedback" for e in events)


def test_the_feedback_payloads_pass_the_channel_guard_and_nothing_else_does() -> None:
    from bot.guard.inbound import screen

    for payload in ('/feedback_helpful{"record_id": "t1"}', "/feedback_unhelpful"):
        assert screen(payload) == payload
    # another entity, or a record id that is text, is read as words like any typed payload
    typed = '/feedback_unhelpful{"symptom": "face drooping"}'
    assert screen(typed) == "feedback unhelpful symptom face drooping"
    named = '/feedback_unhelpful{"record_id": "John Smith 0912-345-678"}'
    assert screen(named) == "feedback unhelpful record id John Smith 0912-345-678"
