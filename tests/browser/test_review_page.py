"""The operator's review page in headless Chromium against the real servers.

Needs the model and index (`make model index`) and Debian's chromium + chromium-driver at
/usr/bin. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.servers import REVIEW_SERVERS, REVIEW_TOKEN, Servers, response_text, wait_for

pytestmark = pytest.mark.browser

QUESTION = "My name is Lena Berg and my toenails turned yellow and thick, is it an infection?"

pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402

from tests.browser.chromium import headless_chromium, screenshot  # noqa: E402


@pytest.fixture(scope="module")
def server_options() -> dict[str, Any]:
    return REVIEW_SERVERS


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    with headless_chromium(1280, 1000) as driver:
        yield driver


def test_the_page_refuses_without_the_credential_shows_the_queue_and_marks_done(
    servers: Servers, browser: WebDriver
) -> None:
    reply = servers.say("patient-page", QUESTION)
    offered: list[str] = []
    if reply[0]["text"] == response_text("utter_close_questions"):
        # unsure, the bot offered close questions: none of them is the patient's
        payloads = [b["payload"] for b in reply[0]["buttons"] if "{" in b["payload"]]
        offered = [json.loads(p[p.index("{") :])["record_id"] for p in payloads]
        reply = servers.say("patient-page", "/none_of_these")
    assert reply[0]["text"] == response_text("utter_no_match")
    page = f"{servers.url}/webhooks/review/"

    # refused without the credential: 401, the sign-in form, nothing of the queue
    for refused in (
        requests.get(page, timeout=10),
        requests.get(page, headers={"Authorization": "Bearer wrong"}, timeout=10),
        requests.get(page, cookies={"neurobot_review": REVIEW_TOKEN}, timeout=10),
        requests.post(page + "done", data={"item": "1"}, timeout=10),
    ):
        assert refused.status_code == 401
        assert "toenails" not in refused.text and "[name]" not in refused.text

    browser.get(page)
    assert browser.find_element(By.CSS_SELECTOR, "label[for=token]").text == "Operator credential"
    browser.find_element(By.ID, "token").send_keys("not the credential")
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    alert = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "[role=alert]"), 20, "alert")
    assert alert[0].text == "That is not the operator credential."
    assert not browser.find_elements(By.ID, "queue")

    browser.find_element(By.ID, "token").send_keys(REVIEW_TOKEN)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    rows = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#queue tr.item"), 20, "queue")
    assert [r.find_element(By.CSS_SELECTOR, "td.q").text for r in rows] == [
        "My name is [name] and my toenails turned yellow and thick, is it an infection?"
    ]
    row = rows[0]
    assert row.find_element(By.CSS_SELECTOR, "td.kind").text == "No match"
    refused_offer = f", after “None of these” to {', '.join(offered)}" if offered else ""
    assert row.find_element(By.CSS_SELECTOR, "td.a").text == "the honest no-match" + refused_offer
    assert "Lena Berg" not in browser.page_source
    # the chart: five bars for today, and the counts table beside it
    bars = browser.find_elements(By.CSS_SELECTOR, "#chart svg rect.bar")
    assert len(bars) == 5
    heads = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "#counts thead th")]
    counts = browser.find_elements(By.CSS_SELECTOR, "#counts tbody tr")[0]
    today = dict(zip(heads, [c.text for c in counts.find_elements(By.TAG_NAME, "td")], strict=True))
    assert {k: today[k] for k in ("Close questions offered", "Chosen", "No-matches")} == {
        "Close questions offered": "1" if offered else "0",
        "Chosen": "0",
        "No-matches": "1",
    }
    screenshot(browser, "review-page.png")

    item = row.get_attribute("data-item")
    row.find_element(By.CSS_SELECTOR, "button").click()
    wait_for(lambda: browser.find_elements(By.ID, "empty"), 20, "the emptied queue")
    assert browser.find_element(By.ID, "empty").text == "Nothing is waiting for review."
    screenshot(browser, "review-page-done.png")

    listed = servers.bot("review", "list", "--json", "--all")
    assert listed.returncode == 0, listed.stderr
    assert [(i["id"], i["done"]) for i in json.loads(listed.stdout)] == [(item, True)]
