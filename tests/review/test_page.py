"""The operator page's pieces: the chart, the credential checks, escaping."""

from __future__ import annotations

import re
from types import SimpleNamespace

from addons.review import authorized, form_key, login_page, queue_page, session_value, svg_chart
from bot.review import DayCounts, Item, Queue

TOKEN = "operator-token-for-tests"


def request(authorization: str = "", cookie: str = "") -> SimpleNamespace:
    return SimpleNamespace(
        headers={"Authorization": authorization} if authorization else {},
        cookies={"neurobot_review": cookie} if cookie else {},
    )


def test_the_credential_is_the_bearer_token_or_the_signed_in_cookie() -> None:
    assert authorized(request(f"Bearer {TOKEN}"), TOKEN)
    assert authorized(request(cookie=session_value(TOKEN)), TOKEN)
    assert not authorized(request(), TOKEN)
    assert not authorized(request("Bearer wrong"), TOKEN)
    assert not authorized(request(f"Basic {TOKEN}"), TOKEN)
    assert not authorized(request(cookie=TOKEN), TOKEN)  # the cookie is not the token
    assert not authorized(request(cookie=session_value("another")), TOKEN)
    assert session_value(TOKEN) != form_key(TOKEN)


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


def test_patient_text_is_escaped_on_the_page() -> None:
    item = Item(
        id="7",
        kind="no-match",
        time=1_796_119_200.0,
        channel="rest",
        question="<script>alert(1)</script> my head & neck",
        response="utter_no_match",
    )
    page = queue_page(Queue((item,), ()), None, False, "k", "n0nce")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; my head &amp; neck" in page
    assert 'name="item" value="7"' in page and 'name="key" value="k"' in page
    assert "2026-12-01 10:00:00 UTC" in page
    assert "Mark done" in page
    assert 'name="token"' in login_page("n") and "Mark done" not in login_page("n")
