"""The operator page: its pieces (chart, session cookie, escaping, paging links) and its
handlers called in-process against a real SQLite store that SQLTrackerStore filled."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from addons.review import (
    SESSION_SECONDS,
    Session,
    View,
    form_key,
    login_page,
    queue_page,
    read_session,
    session_value,
    svg_chart,
)
from bot.review.queue import DayCounts, Item, Page, load_queue
from bot.settings import Settings, load_settings
from tests.review.conftest import T0, Write, action, bot, user
from tests.review.operator import Operator, text

TOKEN = "operator-token-for-tests-0123"
NOW = 1_796_119_200.0


def test_a_session_cookie_is_signed_holds_its_expiry_and_a_nonce_per_sign_in() -> None:
    cookie = session_value(TOKEN, now=NOW, nonce="n0nce")
    expires, nonce, mac = cookie.split(".")
    assert (int(expires), nonce, len(mac)) == (int(NOW) + 8 * 3600, "n0nce", 64)
    assert SESSION_SECONDS == 8 * 3600
    assert read_session(cookie, TOKEN, now=NOW) == Session(int(NOW) + SESSION_SECONDS, "n0nce")
    assert read_session(cookie, TOKEN, now=NOW + SESSION_SECONDS) is None  # expired
    assert read_session(cookie, "another-token-of-24-chars!", now=NOW) is None
    assert read_session(f"{int(NOW) + 10**6}.n0nce.{mac}", TOKEN, now=NOW) is None  # altered
    assert read_session(TOKEN, TOKEN, now=NOW) is None  # the cookie is not the token
    assert read_session("", TOKEN, now=NOW) is None
    assert session_value(TOKEN, now=NOW) != session_value(TOKEN, now=NOW)  # a new nonce
    assert form_key(TOKEN) not in cookie


def test_the_chart_has_one_bar_per_series_and_day_gaps_filled() -> None:
    days = [
        DayCounts("2026-12-01", answers=4, no_matches=2),
        DayCounts("2026-12-03", emergencies=1),
    ]
    svg = svg_chart(days)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    titles = re.findall(r"<title[^>]*>([^<]+)</title>", svg)
    assert titles[0] == "Answers, no-matches, emergencies and ratings per day"
    assert len(titles) == 1 + 3 * 5  # three days (one filled in), five series
    assert "2026-12-01: 4 answers" in titles
    assert "2026-12-02: 0 answers" in titles
    assert "2026-12-03: 1 emergencies" in titles
    heights = [float(h) for h in re.findall(r'class="bar"[^>]* height="([\d.]+)"', svg)]
    assert max(heights) == 190.0  # the peak (4 answers) fills the plot's height
    assert "no conversations yet" in svg_chart([])


ITEM = Item(
    id="7",
    kind="no-match",
    time=1_796_119_200.0,
    channel="rest",
    question="<script>alert(1)</script> my head & neck \ud800",
    response="utter_no_match",
)


def test_patient_text_is_escaped_on_the_page() -> None:
    page = queue_page(Page((ITEM,)), (), View(), "k", "n0nce")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; my head &amp; neck \ufffd" in page
    assert 'name="item" value="7"' in page and 'name="key" value="k"' in page
    assert "2026-12-01 10:00:00 UTC" in page
    assert "Mark done" in page
    assert 'name="token"' in login_page("n") and "Mark done" not in login_page("n")


def test_the_page_links_older_and_newer_pages_keeping_the_filters() -> None:
    view = View(kind="no-match", day="2026-12-01", before="5.0_3")
    page = queue_page(Page((ITEM,), older="1.5_2", newer="9.0_8"), (), view, "k", "n")
    pages = re.search(r'<nav class="pages"[^>]*>(.*?)</nav>', page)
    assert pages is not None
    assert re.findall(r'href="([^"]+)" rel="(\w+)"', pages.group(1)) == [
        ("?kind=no-match&amp;day=2026-12-01", "first"),
        ("?kind=no-match&amp;day=2026-12-01&amp;after=9.0_8", "prev"),
        ("?kind=no-match&amp;day=2026-12-01&amp;before=1.5_2", "next"),
    ]
    assert 'class="pages"' not in queue_page(Page((ITEM,)), (), View(), "k", "n")
    assert View.from_args({"kind": "x", "day": "soon", "before": "b", "done": "1"}) == View(
        show_done=True
    )


# ------------------------------------------------------------------ the handlers


@pytest.fixture
def settings(tmp_path: Path, store_path: Path) -> Settings:
    return load_settings(
        {
            "NEUROBOT_DB": str(tmp_path / "index.sqlite3"),
            "NEUROBOT_STATE_DIR": str(tmp_path / "state"),
            "NEUROBOT_DATABASE_URL": f"sqlite:///{store_path}",
            "NEUROBOT_DENSE": "off",
            "NEUROBOT_REVIEW_TOKEN": TOKEN,
            "NEUROBOT_RATE_SIGN_IN": "3 per 15 minutes",
        }
    )


@pytest.fixture
def conversations(write_conversations: Write) -> None:
    write_conversations(
        {
            "rest:old": [
                user("my ears ring \ud800 since May", "describe_symptoms", T0),
                action("action_answer_from_archive", T0 + 1),
                bot("utter_no_match", T0 + 1),
            ],
            "rest:new": [
                user("my face droops suddenly", "emergency", T0 + 60),
                bot("utter_emergency", T0 + 61),
            ],
        }
    )


def test_a_stored_lone_surrogate_never_breaks_the_page_or_its_json(
    conversations: None, settings: Settings
) -> None:
    browser = Operator(settings)
    assert browser.sign_in(TOKEN).status == 303
    for args in ({}, {"kind": "no-match"}):
        reply = browser.get(**args)
        assert reply.status == 200
        assert "my ears ring \ufffd since May" in text(reply)
    reply = browser.get("queue.json", bearer=TOKEN)
    assert reply.status == 200
    assert [i["question"] for i in json.loads(text(reply))["items"]] == [
        "my face droops suddenly",
        "my ears ring \ufffd since May",
    ]


def test_sign_out_revokes_the_session_on_every_server(
    conversations: None, settings: Settings
) -> None:
    first, second = Operator(settings), Operator(settings)  # two Rasa servers
    first.sign_in(TOKEN)
    again = Operator(settings)
    again.sign_in(TOKEN)
    assert first.cookie and again.cookie and first.cookie != again.cookie
    second.cookie = first.cookie  # the load balancer sends the browser to the other one
    assert second.get().status == 200
    signed_out = first.post("logout")
    assert (signed_out.status, signed_out.cookies["neurobot_review"].value) == (303, "")
    assert second.get().status == 401  # the old cookie, replayed: refused everywhere
    assert first.get().status == 401
    assert again.get().status == 200  # another sign-in is not signed out


def test_only_items_of_the_queue_can_be_marked_done_on_the_page(
    conversations: None, settings: Settings
) -> None:
    browser = Operator(settings)
    browser.sign_in(TOKEN)
    key = form_key(TOKEN)
    emergency = load_queue(settings).items[-1]
    for unknown in ("999999", "1", "abc"):  # no event; an event that is no item; no id
        refused = browser.post("done", {"item": unknown, "key": key})
        assert refused.status == 400
        assert f"Item {unknown} is not in the review queue: nothing was marked done." in text(
            refused
        )
    assert [i.done for i in load_queue(settings).items] == [False, False]
    assert browser.post("done", {"item": emergency.id, "key": key}).status == 303
    assert [i.done for i in load_queue(settings).items] == [False, True]


def test_sign_in_guesses_are_limited_per_address(settings: Settings) -> None:
    browser = Operator(settings)
    for _ in range(3):
        assert browser.sign_in("a wrong guess of the token").status == 401
    over = browser.sign_in(TOKEN)  # over the limit: not even the right token is tried
    assert over.status == 429
    assert json.loads(text(over)) == {
        "error": "too many sign-in attempts from this address; try again later"
    }
    assert over.headers["Retry-After"] == "900"
    assert browser.cookie == ""
    assert browser.get("queue.json", bearer=TOKEN).status == 429


def test_a_sign_in_resets_the_count_and_wrong_bearer_tokens_count(settings: Settings) -> None:
    browser = Operator(settings)
    browser.sign_in("a wrong guess of the token")
    browser.sign_in("another wrong guess")
    assert browser.sign_in(TOKEN).status == 303  # resets the count
    script = Operator(settings)
    for _ in range(3):
        assert script.get("queue.json", bearer="a wrong guess of the token").status == 401
    assert script.get("queue.json", bearer="yet another guess").status == 429
