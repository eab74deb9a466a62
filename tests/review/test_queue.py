"""The queue built from a real SQLite tracker store that Rasa's SQLTrackerStore filled."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from rasa.shared.core.events import SlotSet
from sqlalchemy.engine import URL

from bot.errors import ServiceError
from bot.review.queue import (
    DayCounts,
    Item,
    Page,
    Queue,
    UnknownItemError,
    cursor,
    load_queue,
    mark_done,
    read_counts,
    read_page,
    read_queue,
    select,
)
from bot.settings import Settings
from tests.bot.serving.test_store import postgres_database
from tests.review.conftest import T0, Write, action, bot, card, feedback, user

__all__ = ["postgres_database"]  # the fixture

DAY = 86_400.0
ATTRIBUTION = "Dr. Example One · Neurology · Example Hospital · 2024/01/02"


@pytest.fixture
def conversations(write_conversations: Write) -> None:
    write_conversations(
        {
            "rest:alice": [
                user("My name is Anna Kowalski and my ears ring", "describe_symptoms", T0),
                user("and I taste metal, call me on 07700 900123", "describe_symptoms", T0 + 5),
                action("action_answer_from_archive", T0 + 6),
                bot("utter_no_match", T0 + 6),
                bot("utter_safety_advice", T0 + 6),
            ],
            "web-session-1": [
                user("my muscles twitch all over", "describe_symptoms", T0 + 60, "socketio"),
                action("action_answer_from_archive", T0 + 61),
                card("t1", "Muscle twitching all over", T0 + 61),
                bot("utter_safety_advice", T0 + 61),
                user(
                    '/ask_similar_question{"record_id": "t2"}',
                    "ask_similar_question",
                    T0 + 70,
                    "socketio",
                    record_id="t2",
                ),
                card("t2", "Pins and needles", T0 + 71, "utter_similar_answer"),
                user(
                    '/feedback_unhelpful{"record_id": "t2"}',
                    "feedback_unhelpful",
                    T0 + 80,
                    "socketio",
                    record_id="t2",
                ),
                action("action_record_feedback", T0 + 81),
                feedback("unhelpful", "t2", T0 + 81),
                bot("utter_feedback_not_helpful", T0 + 81),
                user(
                    '/feedback_helpful{"record_id": "t1"}',
                    "feedback_helpful",
                    T0 + 90,
                    "socketio",
                    record_id="t1",
                ),
                feedback("helpful", "t1", T0 + 91),
            ],
            # the launcher's warm-up is not a patient: left out of items and counts
            "rest:neurobot-warmup-0123abcd": [
                user("my muscles twitch", "describe_symptoms", T0 + 100),
                card("t1", "Muscle twitching all over", T0 + 101),
                bot("utter_no_match", T0 + 102),
            ],
            "whatsapp:+15550001": [
                user(
                    "my dad's face droops suddenly, he was born 3 March 1950",
                    "emergency",
                    T0 + DAY,
                    "twilio",
                ),
                action("utter_emergency", T0 + DAY + 1),
                bot("utter_emergency", T0 + DAY + 1),
            ],
        }
    )


NO_MATCH = Item(
    id="",
    kind="no-match",
    time=T0 + 6,
    channel="rest",
    question="My name is [name] and my ears ring\nand I taste metal, call me on [phone]",
    response="utter_no_match",
)
UNHELPFUL = Item(
    id="",
    kind="unhelpful",
    time=T0 + 81,
    channel="socketio",
    question="my muscles twitch all over",
    response="utter_similar_answer",
    record_id="t2",
    record_title="Pins and needles",
    attribution=ATTRIBUTION,
    feedback="unhelpful",
)
EMERGENCY = Item(
    id="",
    kind="emergency",
    time=T0 + DAY + 1,
    channel="twilio",
    question="my dad's face droops suddenly, he was born [date of birth]",
    response="utter_emergency",
)


def without_ids(items: tuple[Item, ...] | list[Item]) -> list[Item]:
    """The items with their ids blanked (ids are event numbers, asserted apart)."""
    return [replace(i, id="") for i in items]


def test_the_queue_holds_no_matches_unhelpful_answers_and_emergencies_redacted(
    conversations: None, store_url: URL
) -> None:
    queue = read_queue(store_url)
    assert without_ids(queue.items) == [NO_MATCH, UNHELPFUL, EMERGENCY]
    assert len({i.id for i in queue.items}) == 3
    assert queue.days == (
        DayCounts("2026-12-01", answers=1, no_matches=1, helpful=1, unhelpful=1),
        DayCounts("2026-12-02", emergencies=1),
    )
    assert queue.scanned > 0


def test_what_the_bot_answered_reads_for_a_person(conversations: None, store_url: URL) -> None:
    no_match, unhelpful, emergency = read_queue(store_url).items
    assert no_match.answered == "the honest no-match"
    assert (
        unhelpful.answered == f"a similar archived question: t2 “Pins and needles” ({ATTRIBUTION})"
    )
    assert emergency.answered == "the emergency message"
    assert unhelpful.to_dict()["when"] == "2026-12-01T10:01:21Z"


def test_since_and_kind_select_items(conversations: None, store_url: URL) -> None:
    later = read_queue(store_url, since=T0 + DAY / 2)
    assert without_ids(later.items) == [EMERGENCY]
    assert later.days == (DayCounts("2026-12-02", emergencies=1),)
    everything = read_queue(store_url).items
    assert without_ids(select(everything, "unhelpful")) == [UNHELPFUL]


def test_marked_items_are_done_and_left_out_of_the_open_list(
    conversations: None, store_url: URL
) -> None:
    first = read_queue(store_url).items[0]
    assert mark_done(store_url, [first.id, first.id]) == 1
    assert mark_done(store_url, [first.id]) == 0
    items = read_queue(store_url).items
    assert [i.done for i in items] == [True, False, False]
    assert without_ids(select(items)) == [UNHELPFUL, EMERGENCY]
    assert len(select(items, include_done=True)) == 3


def test_no_conversations_yet_is_an_empty_queue_and_creates_no_file(tmp_path: Path) -> None:
    missing = tmp_path / "none.sqlite3"
    url = URL.create("sqlite", database=str(missing))
    assert read_queue(url) == Queue((), ())
    assert read_page(url) == Page(())
    assert read_counts(url) == ()
    with pytest.raises(UnknownItemError, match=r"^not in the review queue: 1 "):
        mark_done(url, ["1"])
    assert not missing.exists()


def test_an_unreachable_database_is_a_clear_error() -> None:
    url = URL.create("postgresql", username="nobody", host="127.0.0.1", port=1, database="x")
    with pytest.raises(ServiceError, match=r"cannot read the conversations in postgresql"):
        read_queue(url)


def test_load_queue_reads_the_configured_store(
    conversations: None, review_settings: Settings
) -> None:
    assert [i.kind for i in load_queue(review_settings).items] == [
        "no-match",
        "unhelpful",
        "emergency",
    ]


def test_a_page_is_newest_first_with_cursors_to_the_pages_beside(
    conversations: None, store_url: URL
) -> None:
    no_match, unhelpful, emergency = read_queue(store_url).items
    first = read_page(store_url, size=2)
    assert first == Page((emergency, unhelpful), older=cursor(unhelpful), newer=None)
    second = read_page(store_url, size=2, before=first.older)
    assert second == Page((no_match,), older=None, newer=cursor(no_match))
    # newer than the last page: fewer than a page are newer, so the newest page
    assert read_page(store_url, size=2, after=second.newer) == first
    assert read_page(store_url, size=1, after=cursor(no_match)) == Page(
        (unhelpful,), older=cursor(unhelpful), newer=cursor(unhelpful)
    )


def test_a_page_filters_by_kind_day_and_done(conversations: None, store_url: URL) -> None:
    no_match, unhelpful, emergency = read_queue(store_url).items
    assert read_page(store_url, kind="unhelpful") == Page((unhelpful,))
    assert read_page(store_url, day="2026-12-02") == Page((emergency,))
    assert read_page(store_url, day="2026-12-01") == Page((unhelpful, no_match))
    mark_done(store_url, [unhelpful.id])
    assert read_page(store_url, answered=[no_match.id]) == Page((emergency,))
    assert read_page(store_url, include_done=True, answered=[no_match.id]) == Page(
        (emergency, replace(unhelpful, done=True), replace(no_match, done=True))
    )
    with pytest.raises(ValueError, match="not a page cursor"):
        read_page(store_url, before="soon")


def test_a_page_redacts_only_the_items_it_shows(
    conversations: None, store_url: URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    redacted: list[str] = []

    def counting(text: str) -> str:
        redacted.append(text)
        return text

    monkeypatch.setattr("bot.review.queue.redact", counting)
    assert [i.kind for i in read_page(store_url, size=1).items] == ["emergency"]
    assert redacted == ["my dad's face droops suddenly, he was born 3 March 1950"]


def test_the_day_counts_are_one_aggregate_equal_to_reading_everything(
    conversations: None, store_url: URL
) -> None:
    assert read_counts(store_url) == read_queue(store_url).days
    assert read_counts(store_url, days=1) == (DayCounts("2026-12-02", emergencies=1),)


def test_only_items_of_the_queue_can_be_marked_done(conversations: None, store_url: URL) -> None:
    first = read_queue(store_url).items[0]
    with pytest.raises(UnknownItemError) as raised:
        mark_done(store_url, [first.id, "999999", "1", "x"])
    assert str(raised.value) == (
        "not in the review queue: 1, 999999, x (see `bot review list --all`); nothing was marked"
    )
    assert [i.done for i in read_queue(store_url).items] == [False, False, False]


def test_the_done_command_refuses_unknown_ids(
    conversations: None, store_url: URL, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot import cli

    db = str(store_url)
    assert cli.main(["review", "done", "999999", "--db", db]) == 2
    assert capsys.readouterr().err == (
        "error: not in the review queue: 999999 (see `bot review list --all`); nothing was marked\n"
    )
    first = read_queue(store_url).items[0]
    assert cli.main(["review", "done", first.id, "--db", db]) == 0
    assert capsys.readouterr().out == "marked 1 item done\n"


def test_pages_and_counts_on_postgresql(
    postgres_database: str, tmp_path: Path, store_path: Path, write_conversations: Write
) -> None:
    import sqlalchemy as sa

    write_conversations(
        {
            "rest:a": [
                user("my ears ring", "describe_symptoms", T0),
                bot("utter_no_match", T0 + 1),
            ],
            "rest:b": [
                user("my face droops", "emergency", T0 + 86_400 * 1.5),
                bot("utter_emergency", T0 + 86_400 * 1.5 + 1),
            ],
        }
    )
    source = sa.create_engine(URL.create("sqlite", database=str(store_path)))
    target = sa.create_engine(postgres_database)
    rows = [dict(r) for r in source.connect().execute(sa.text("SELECT * FROM events")).mappings()]
    events = sa.Table("events", sa.MetaData(), autoload_with=source)
    events.create(target)
    with target.begin() as connection:
        connection.execute(events.insert(), rows)
    source.dispose()
    target.dispose()
    url = sa.engine.make_url(postgres_database)
    queue = read_queue(url)
    assert [i.kind for i in queue.items] == ["no-match", "emergency"]
    assert read_page(url) == Page(tuple(reversed(queue.items)))
    assert (
        read_counts(url)
        == queue.days
        == (
            DayCounts("2026-12-01", no_matches=1),
            DayCounts("2026-12-02", emergencies=1),
        )
    )


def test_offers_choices_and_none_of_these_reach_the_queue(
    write_conversations: Write, store_url: URL
) -> None:
    write_conversations(
        {
            # offered two close questions, the patient chose one: counted, no item
            "rest:chooser": [
                user("fingers tingle at night", "describe_symptoms", T0),
                bot("utter_close_questions", T0 + 1),
                SlotSet("offered_records", ["t2", "t1"], timestamp=T0 + 1),
                user('/ask_similar_question{"record_id": "t2"}', "ask_similar_question", T0 + 9),
                card("t2", "Pins and needles", T0 + 10, "utter_chosen_answer"),
                SlotSet("offered_records", [], timestamp=T0 + 10),
            ],
            # offered, then "None of these": the no-match item names what was refused
            "rest:refuser": [
                user("my knee clicks when I kneel", "describe_symptoms", T0 + 20),
                bot("utter_close_questions", T0 + 21),
                SlotSet("offered_records", ["t3", "t1"], timestamp=T0 + 21),
                user("/none_of_these", "none_of_these", T0 + 30),
                bot("utter_no_match", T0 + 31),
                SlotSet("offered_records", [], timestamp=T0 + 31),
                # a later no-match of the same patient was offered nothing
                user("and my ankle aches", "describe_symptoms", T0 + 40),
                bot("utter_no_match", T0 + 41),
            ],
        }
    )
    queue = read_queue(store_url)
    refused, later = queue.items
    assert (refused.question, refused.offered) == ("my knee clicks when I kneel", ("t3", "t1"))
    assert refused.answered == "the honest no-match, after “None of these” to t3, t1"
    assert (later.question, later.offered) == ("and my ankle aches", ())
    assert queue.days == (DayCounts("2026-12-01", no_matches=2, offers=2, choices=1),)
