"""The bot unsure: close archived questions to choose from, the choice, "None of these".

The index is a fake whose hits carry chosen probabilities (the decision, not the search,
is under test); the domain is the project's, as the Rasa server sends it.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

import pytest
import yaml
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import (
    ActionAnswerFromArchive,
    ActionNoneOfThese,
    ActionShowFullReply,
    ActionShowSimilar,
    Services,
)
from bot.archive.records import Record
from bot.search import match
from bot.search.index import Hit
from bot.settings import PROJECT_ROOT, Settings
from tests.conftest import HEADACHE, TINGLE, TWITCH

DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))


class FakeIndex:
    """Hits with the probabilities a test chooses, records by id."""

    def __init__(self, hits: list[tuple[Record, float]], cosine: float | None = None) -> None:
        self.hits = [
            Hit(r, score=1.0 - i / 10, probability=p, cosine=cosine)
            for i, (r, p) in enumerate(hits)
        ]
        self.records = {r.id: r for r, _ in hits}

    def search(
        self, text: str, k: int = 10, max_wrong: float | None = None, **options: Any
    ) -> list[Hit]:
        """The hits, decided as the real index decides them at ``max_wrong``."""
        self.max_wrong = max_wrong
        cut = match.shipped_model().cutoff(max_wrong)
        bar = min(cut, match.SIMILAR_PROBABILITY)
        top = bool(self.hits) and self.hits[0].probability >= cut
        return [
            replace(h, answer=top and h.probability >= (cut if i == 0 else bar))
            for i, h in enumerate(self.hits[:k])
        ]

    def get(self, record_id: str) -> Record | None:
        return self.records.get(record_id)

    def floors(self) -> match.Floors:
        return match.shipped_model().floors


def run(action: Any, tracker: Any) -> tuple[list[dict[str, Any]], list[Any]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, DOMAIN))
    return dispatcher.messages, events


def payload(record: Record) -> str:
    return "/ask_similar_question" + json.dumps({"record_id": record.id})


UNSURE = [(TINGLE, 0.4), (TWITCH, 0.12), (HEADACHE, 0.01)]


def test_unsure_the_bot_offers_close_questions_and_none_of_these(
    settings: Settings, make_tracker: Any
) -> None:
    action = ActionAnswerFromArchive(Services(settings, FakeIndex(UNSURE)))  # type: ignore[arg-type]
    messages, events = run(action, make_tracker("my fingers tingle at night"))
    assert [m["response"] for m in messages] == ["utter_close_questions", "utter_safety_advice"]
    # the headache question (probability 0.01) is listed on its score (0.8), once the
    # tingling one has made the offer
    assert messages[0]["buttons"] == [
        {"title": TINGLE.title, "payload": payload(TINGLE)},
        {"title": TWITCH.title, "payload": payload(TWITCH)},
        {"title": HEADACHE.title, "payload": payload(HEADACHE)},
        {"title": "None of these", "payload": "/none_of_these"},
    ]
    assert events == [
        SlotSet("archive_hits", ["t2", "t1", "t3"]),
        SlotSet("shown_records", []),
        SlotSet("current_record", None),
        SlotSet("offered_records", ["t2", "t1", "t3"]),
    ]


@pytest.mark.parametrize(
    ("hits", "first"),
    [
        ([(TINGLE, 0.95), (TWITCH, 0.5)], "utter_archive_answer"),
        ([(TINGLE, 0.04), (TWITCH, 0.02)], "utter_no_match"),
        ([], "utter_no_match"),
    ],
)
def test_sure_or_with_nothing_plausible_no_offer(
    hits: list[tuple[Record, float]], first: str, settings: Settings, make_tracker: Any
) -> None:
    action = ActionAnswerFromArchive(Services(settings, FakeIndex(hits)))  # type: ignore[arg-type]
    messages, events = run(action, make_tracker("my fingers tingle at night"))
    assert [m["response"] for m in messages] == [first, "utter_safety_advice"]
    assert SlotSet("offered_records", []) in events
    assert action.services.index.max_wrong == settings.max_wrong  # decided at the setting


@pytest.mark.parametrize(
    ("message", "cosine", "scope", "expected"),
    [
        # names nothing of neurology, and the archived questions are far in meaning
        (
            "I twisted my knee playing football",
            0.3,
            "neurology",
            ["utter_no_match", "utter_outside_scope", "utter_safety_advice"],
        ),
        # ... close in meaning: offered as within the scope
        (
            "I twisted my knee playing football",
            match.OUTSIDE_COSINE,
            "neurology",
            ["utter_close_questions", "utter_safety_advice"],
        ),
        # a general archive holds every health question to the same floors
        (
            "I twisted my knee playing football",
            0.3,
            "any",
            ["utter_close_questions", "utter_safety_advice"],
        ),
        # a message that names neurology is decided on the offer's floors alone
        (
            "my fingers tingle at night",
            0.3,
            "neurology",
            ["utter_close_questions", "utter_safety_advice"],
        ),
    ],
)
def test_a_message_outside_neurology_is_offered_only_what_is_close_in_meaning(
    message: str,
    cosine: float,
    scope: str,
    expected: list[str],
    settings: Settings,
    make_tracker: Any,
) -> None:
    services = Services(replace(settings, scope=scope), FakeIndex(UNSURE, cosine))
    messages, events = run(ActionAnswerFromArchive(services), make_tracker(message))  # type: ignore[arg-type]
    assert [m["response"] for m in messages] == expected
    offered = [] if expected[0] == "utter_no_match" else ["t2", "t1", "t3"]
    assert SlotSet("offered_records", offered) in events


def test_a_chosen_question_shows_its_card_and_is_recorded(
    settings: Settings, make_tracker: Any
) -> None:
    action = ActionShowSimilar(Services(settings, FakeIndex(UNSURE)))  # type: ignore[arg-type]
    tracker = make_tracker(
        payload(TWITCH),
        intent="ask_similar_question",
        entities=[{"entity": "record_id", "value": "t1"}],
        archive_hits=["t2", "t1"],
        shown_records=[],
        offered_records=["t2", "t1"],
    )
    messages, events = run(action, tracker)
    assert [m["response"] for m in messages] == ["utter_chosen_answer", "utter_safety_advice"]
    card = messages[0]
    assert (card["title"], card["attribution"]) == (
        TWITCH.title,
        "Dr. Example One · Neurology · Example Hospital · 2024/01/02",
    )
    # the other offered question stays one tap away
    assert [b["payload"] for b in card["buttons"]] == [payload(TINGLE)]
    assert events == [
        SlotSet("shown_records", ["t1"]),
        SlotSet("current_record", "t1"),
        SlotSet("offer_choice", {"record_id": "t1", "offered": ["t2", "t1"]}),
        SlotSet("offered_records", []),
    ]
    # and "Read the full reply" then reads the chosen record
    full = ActionShowFullReply(Services(settings, FakeIndex(UNSURE)))  # type: ignore[arg-type]
    messages, _ = run(full, make_tracker("/ask_full_reply", "ask_full_reply", current_record="t1"))
    assert messages[0]["title"] == TWITCH.title


def test_none_of_these_is_the_honest_no_match_and_is_recorded(
    settings: Settings, make_tracker: Any
) -> None:
    action = ActionNoneOfThese(Services(settings, FakeIndex(UNSURE)))  # type: ignore[arg-type]
    tracker = make_tracker("/none_of_these", intent="none_of_these", offered_records=["t2", "t1"])
    messages, events = run(action, tracker)
    assert [m["response"] for m in messages] == ["utter_no_match", "utter_safety_advice"]
    assert events == [
        SlotSet("archive_hits", []),
        SlotSet("offered_records", []),
        SlotSet("offer_choice", {"record_id": None, "offered": ["t2", "t1"]}),
    ]


def test_the_safety_advice_never_speaks_of_one_reply_shown() -> None:
    advice = DOMAIN["responses"]["utter_safety_advice"][0]["text"]
    assert "this archived reply" not in advice
