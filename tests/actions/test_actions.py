"""Custom actions with a hand-built tracker, the tiny archive and literal settings."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import (
    ActionAnswerFromArchive,
    ActionShowFullReply,
    ActionShowSimilar,
    Services,
)
from bot.search.index import ArchiveIndex
from bot.settings import PROJECT_ROOT, Settings

DOMAIN = PROJECT_ROOT / "domain.yml"

TWITCH_TEXT = "Recently I have muscle twitching all over, my left hand feels weaker. Is it ALS?"


def run(action: Any, tracker: Any) -> tuple[list[dict[str, Any]], list[Any]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, {}))
    return dispatcher.messages, events


def responses(messages: list[dict[str, Any]]) -> list[str]:
    return [m["response"] for m in messages]


#: What rasa_sdk's dispatcher adds to every message sent with ``response=``.
EMPTY_MESSAGE = {"text": None, "elements": [], "custom": {}, "image": None, "attachment": None}
#: The placeholders of every response's text and custom payload in domain.yml.
PLACEHOLDERS = {
    name: set(re.findall(r"\{(\w+)\}", json.dumps(variations)))
    for name, variations in yaml.safe_load(DOMAIN.read_text(encoding="utf-8"))["responses"].items()
}


def test_answer_shows_attribution_excerpt_similar_and_safety_advice(
    index: ArchiveIndex, settings: Settings, make_tracker: Any
) -> None:
    action = ActionAnswerFromArchive(Services(settings, index))
    messages, events = run(action, make_tracker(TWITCH_TEXT))
    assert responses(messages) == ["utter_archive_answer", "utter_safety_advice"]
    # the values of the card's placeholders (its text and its custom payload, domain.yml)
    assert messages[0] == {
        **EMPTY_MESSAGE,
        "template": "utter_archive_answer",
        "response": "utter_archive_answer",
        "buttons": [],
        "title": "Muscle twitching all over and a weaker left hand",
        "attribution": "Dr. Example One · Neurology · Example Hospital · 2024/01/02",
        "doctor": "Dr. Example One",
        "department": "Neurology",
        "source": "Example Hospital",
        "date": "2024/01/02",
        "record_id": "t1",
        "excerpt": "Twitching (fasciculations) is common and usually harmless. Weakness needs "
        "an examination. Please see a neurologist, who may test your nerves with EMG.",
        "record_entity": '{"record_id": "t1"}',
    }
    assert events == [
        SlotSet("archive_hits", ["t1"]),
        SlotSet("shown_records", ["t1"]),
        SlotSet("current_record", "t1"),
        SlotSet("offered_records", []),
    ]


def test_answer_uses_the_whole_conversation(
    index: ArchiveIndex, settings: Settings, make_tracker: Any
) -> None:
    tracker = make_tracker(
        "and it is worse at night",
        history=[("my feet tingle and burn", "describe_symptoms"), ("hello", "greet")],
    )
    messages, _ = run(ActionAnswerFromArchive(Services(settings, index)), tracker)
    assert messages[0]["title"] == "Pins and needles in both feet at night"


def test_no_close_match_is_said_honestly(
    index: ArchiveIndex, settings: Settings, make_tracker: Any
) -> None:
    messages, events = run(
        ActionAnswerFromArchive(Services(settings, index)),
        make_tracker("my knee hurts after football and my ankle is swollen"),
    )
    # it names nothing of neurology: the patient is also told where such questions go
    assert responses(messages) == ["utter_no_match", "utter_outside_scope", "utter_safety_advice"]
    assert events == [
        SlotSet("archive_hits", []),
        SlotSet("shown_records", []),
        SlotSet("current_record", None),
        SlotSet("offered_records", []),
    ]


@pytest.mark.parametrize("intent", ["emergency", "self_harm"])
def test_an_emergency_like_intent_without_signs_is_answered_from_the_archive(
    intent: str, index: ArchiveIndex, settings: Settings, make_tracker: Any
) -> None:
    # The emergency and crisis messages are the safety policy's decision, on the words;
    # here the intent alone leads to the archive answer and the safety advice.
    messages, _ = run(
        ActionAnswerFromArchive(Services(settings, index)),
        make_tracker("my feet tingle and burn at night, is it my nerves", intent=intent),
    )
    assert responses(messages) == ["utter_archive_answer", "utter_safety_advice"]
    assert messages[0]["title"] == "Pins and needles in both feet at night"


def test_a_description_taken_for_a_follow_up_is_searched(
    index: ArchiveIndex, settings: Settings, make_tracker: Any
) -> None:
    tracker = make_tracker("show me more about my feet tingling at night", "ask_similar_question")
    messages, events = run(ActionShowSimilar(Services(settings, index)), tracker)
    assert responses(messages) == ["utter_archive_answer", "utter_safety_advice"]
    assert events[-2] == SlotSet("current_record", "t2")


class BrokenIndex:
    def search(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("a slot held a number")


def test_any_error_gives_the_technical_reply_and_the_safety_advice(
    settings: Settings, make_tracker: Any
) -> None:
    action = ActionAnswerFromArchive(Services(settings, BrokenIndex()))  # type: ignore[arg-type]
    messages, events = run(action, make_tracker(TWITCH_TEXT))
    assert responses(messages) == ["utter_technical_problem", "utter_safety_advice"]
    assert events == []


@pytest.mark.model  # the services load the sentence model before they find no index
def test_missing_index_gives_an_apology_and_the_safety_advice(
    settings: Settings, make_tracker: Any
) -> None:
    messages, events = run(ActionAnswerFromArchive(Services(settings)), make_tracker(TWITCH_TEXT))
    assert not Path(settings.db_path).exists()
    assert responses(messages) == ["utter_technical_problem", "utter_safety_advice"]
    assert events == []


def test_full_reply_of_the_record_shown(
    index: ArchiveIndex, settings: Settings, make_tracker: Any
) -> None:
    tracker = make_tracker("read the full reply", intent="ask_full_reply", current_record="t2")
    messages, _ = run(ActionShowFullReply(Services(settings, index)), tracker)
    assert responses(messages) == ["utter_full_reply", "utter_safety_advice"]
    assert messages[0] == {
        **EMPTY_MESSAGE,
        "template": "utter_full_reply",
        "response": "utter_full_reply",
        "buttons": [],
        "title": "Pins and needles in both feet at night",
        "attribution": "Dr. Example Two · Neurology · Example Hospital · 2024/02/03",
        "doctor": "Dr. Example Two",
        "department": "Neurology",
        "source": "Example Hospital",
        "date": "2024/02/03",
        "record_id": "t2",
        "reply": index.get("t2").reply,  # type: ignore[union-attr]
    }
    # every placeholder of the response's text and card gets its value
    assert PLACEHOLDERS["utter_full_reply"] <= set(messages[0])


def test_every_placeholder_of_an_answer_card_gets_a_value(
    index: ArchiveIndex, settings: Settings, make_tracker: Any
) -> None:
    messages, _ = run(ActionAnswerFromArchive(Services(settings, index)), make_tracker(TWITCH_TEXT))
    for name in ("utter_archive_answer", "utter_similar_answer", "utter_chosen_answer"):
        assert PLACEHOLDERS[name] == PLACEHOLDERS["utter_archive_answer"]
    assert PLACEHOLDERS["utter_archive_answer"] == {
        "title",
        "attribution",
        "doctor",
        "department",
        "source",
        "date",
        "excerpt",
        "record_id",
        "record_entity",
    }
    assert PLACEHOLDERS["utter_archive_answer"] <= set(messages[0])


def test_full_reply_before_any_answer(
    index: ArchiveIndex, settings: Settings, make_tracker: Any
) -> None:
    messages, _ = run(
        ActionShowFullReply(Services(settings, index)),
        make_tracker("full reply", intent="ask_full_reply"),
    )
    assert responses(messages) == ["utter_nothing_shown_yet"]


@pytest.mark.parametrize(
    ("action", "intent", "text", "expected"),
    [
        (
            ActionShowSimilar,
            "ask_similar_question",
            "How are baby and adult cartilage different?",
            ["utter_no_match", "utter_outside_scope", "utter_safety_advice"],
        ),
        (
            ActionShowFullReply,
            "ask_full_reply",
            "is it safe to take Benadryl while taking the pill?",
            ["utter_no_match", "utter_outside_scope", "utter_safety_advice"],
        ),
        (
            ActionShowFullReply,
            "ask_full_reply",
            "what else did the doctor say",
            ["utter_nothing_shown_yet"],
        ),
        (
            ActionShowSimilar,
            "ask_similar_question",
            "show me another similar question",
            ["utter_nothing_shown_yet"],
        ),
    ],
)
def test_a_follow_up_with_nothing_shown_searches_a_health_question_only(
    index: ArchiveIndex,
    settings: Settings,
    make_tracker: Any,
    action: Any,
    intent: str,
    text: str,
    expected: list[str],
) -> None:
    messages, _ = run(action(Services(settings, index)), make_tracker(text, intent))
    assert responses(messages) == expected


def test_similar_question_walks_the_hits_then_says_there_are_no_more(
    index: ArchiveIndex, settings: Settings, make_tracker: Any
) -> None:
    action = ActionShowSimilar(Services(settings, index))
    slots = {"archive_hits": ["t1", "t2"], "shown_records": ["t1"], "current_record": "t1"}
    messages, events = run(action, make_tracker("another one", "ask_similar_question", **slots))
    assert responses(messages) == ["utter_similar_answer", "utter_safety_advice"]
    assert messages[0]["title"] == "Pins and needles in both feet at night"
    assert events == [SlotSet("shown_records", ["t1", "t2"]), SlotSet("current_record", "t2")]
    slots = {"archive_hits": ["t1", "t2"], "shown_records": ["t1", "t2"]}
    messages, events = run(action, make_tracker("another one", "ask_similar_question", **slots))
    assert responses(messages) == ["utter_no_more_similar", "utter_safety_advice"]
    assert events == []


def test_similar_question_picked_by_button(
    index: ArchiveIndex, settings: Settings, make_tracker: Any
) -> None:
    tracker = make_tracker(
        '/ask_similar_question{"record_id": "t2"}',
        "ask_similar_question",
        entities=[{"entity": "record_id", "value": "t2"}],
        archive_hits=["t1", "t3", "t2"],
        shown_records=["t1"],
    )
    messages, events = run(ActionShowSimilar(Services(settings, index)), tracker)
    assert messages[0]["title"] == "Pins and needles in both feet at night"
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        '/ask_similar_question{"record_id": "t3"}'
    ]
    assert events[-1] == SlotSet("current_record", "t2")
