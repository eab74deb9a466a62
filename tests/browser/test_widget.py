"""The web chat in headless Chromium against the real servers: our widget on the bot's
own page and embedded in a page of another site, and the stock rasa-webchat client.

Needs the model and index (`make model index`), `npm ci` in widget/ (socket.io-client,
and rasa-webchat 1.0.1 as a development dependency), and Debian's chromium +
chromium-driver at /usr/bin. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from addons.widget import FILES
from bot.settings import PROJECT_ROOT
from tests.servers import ALS, SAFETY, Servers, wait_for

pytestmark = pytest.mark.browser

#: A description the sample archive holds no sure match for (close questions offered).
UNSURE = "I get pins and needles in my fingers at night"
MOBILE = (375, 812)
DESKTOP = (1280, 900)

pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402

from tests.browser.chromium import headless_chromium, screenshot  # noqa: E402

RASA_WEBCHAT = PROJECT_ROOT / "widget/node_modules/rasa-webchat/lib/index.js"


class _QuietPages(BaseHTTPRequestHandler):
    """A test web server's handler: sends a page whole, logs nothing."""

    def send_page(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class _OtherSite(_QuietPages):
    """A hospital's own site, on another origin: serves ``server.pages`` by path."""

    server: Any

    def do_GET(self) -> None:
        page = self.server.pages.get(self.path.split("?")[0])
        if page is None:
            self.send_error(404)
            return
        self.send_page(*page)


def embedding_page(bot: str) -> bytes:
    """A page of another site with our chat: the documented snippet (widget/README.md)."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A hospital</title></head>
<body>
  <h1>Our neurology department</h1>
  <div id="neurobot"></div>
  <script src="{bot}/webhooks/widget/widget.js" async></script>
</body></html>""".encode()


def rasa_webchat_page(bot: str) -> bytes:
    """A page of another site with the stock rasa-webchat 1.0.1 client, served from npm."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Stock client</title></head>
<body>
  <script src="/rasa-webchat.js"></script>
  <script>
    WebChat.default({{
      socketUrl: "{bot}",
      socketPath: "/socket.io/",
      initPayload: "/greet",
      title: "Neurobot",
      embedded: true,
      params: {{ storage: "session" }},
      customMessageDelay: function () {{ return 0; }},
    }}, null);
  </script>
</body></html>""".encode()


@pytest.fixture(scope="module")
def other_site() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OtherSite)
    server.pages = {}  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def origin_of(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(scope="module")
def server_options(other_site: ThreadingHTTPServer) -> dict[str, Any]:
    """The bot's own page and the other site may use the chat (CORS and socket.io alike)."""
    if not (PROJECT_ROOT / "widget/node_modules/socket.io-client/dist/socket.io.min.js").exists():
        pytest.fail("socket.io-client is not installed: run `npm ci` in widget/")
    return {"origins": (origin_of(other_site),)}


@pytest.fixture(scope="module", autouse=True)
def other_site_pages(servers: Servers, other_site: ThreadingHTTPServer) -> None:
    """The other site's pages, embedding the chat of these servers."""
    other_site.pages.update(  # type: ignore[attr-defined]
        {
            "/": (embedding_page(servers.url), "text/html; charset=utf-8"),
            "/stock/": (rasa_webchat_page(servers.url), "text/html; charset=utf-8"),
            "/rasa-webchat.js": (
                RASA_WEBCHAT.read_bytes() if RASA_WEBCHAT.exists() else b"",
                "text/javascript; charset=utf-8",
            ),
        }
    )


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    with headless_chromium(*MOBILE) as driver:
        set_size(driver, MOBILE, mobile=True)
        yield driver


def visible(driver: WebDriver, css: str, seconds: float = 60) -> list[WebElement]:
    def found() -> list[WebElement]:
        try:
            return [e for e in driver.find_elements(By.CSS_SELECTOR, css) if e.is_displayed()]
        except WebDriverException:
            return []

    return list(wait_for(found, seconds, css))


def count_at_least(driver: WebDriver, css: str, n: int, seconds: float = 60) -> list[WebElement]:
    return list(
        wait_for(
            lambda: (
                (found := driver.find_elements(By.CSS_SELECTOR, css)) and len(found) >= n and found
            ),
            seconds,
            f"{n} × {css}",
        )
    )


def connected(driver: WebDriver) -> None:
    wait_for(
        lambda: driver.execute_script(
            "return document.getElementById('status').hidden && "
            "!!localStorage.getItem('neurobot.session')"
        ),
        30,
        "the socket.io session",
    )


def set_size(driver: WebDriver, size: tuple[int, int], mobile: bool) -> None:
    """Emulate the screen size (headless Chromium's windows are at least 500 px wide)."""
    driver.set_window_size(*size)
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": mobile},
    )


def test_conversation_card_full_reply_and_reload(servers: Servers, browser: WebDriver) -> None:
    page = f"{servers.url}/webhooks/widget/"
    browser.get(page)
    disclaimer = visible(browser, "#disclaimer")[0]
    assert disclaimer.text.startswith("Before we start: I show archived replies")
    connected(browser)
    assert browser.execute_script("return window.innerWidth") == MOBILE[0]

    # labelled input, typed and sent with the keyboard alone
    box = browser.find_element(By.ID, "message")
    assert browser.find_element(By.CSS_SELECTOR, "label[for=message]").text
    assert browser.find_element(By.ID, "log").get_attribute("aria-live") == "polite"
    box.send_keys(ALS)
    box.send_keys(Keys.ENTER)

    card = visible(browser, ".card")[0]
    title = card.find_element(By.CSS_SELECTOR, ".card-title").text
    assert title.startswith("“") and title.endswith("”") and len(title) > 10
    assert card.find_element(By.CSS_SELECTOR, ".attribution").text.startswith("Answered by: ")
    assert card.find_element(By.CSS_SELECTOR, ".excerpt").text
    buttons = card.find_elements(By.CSS_SELECTOR, ".options button")
    assert buttons[0].text == "Read the full reply"
    # then "Helpful" / "Not helpful", then the similar questions
    assert [b.text for b in buttons[1:3]] == ["Helpful", "Not helpful"]
    assert 4 <= len(buttons) <= 6
    assert all(
        (b.get_attribute("aria-label") or "").startswith("Similar question: ") for b in buttons[3:]
    )
    advice = visible(browser, ".safety")[0]
    assert SAFETY in " ".join(advice.text.split())
    assert advice.value_of_css_property("background-color") != card.value_of_css_property(
        "background-color"
    )
    # nothing wider than the 375-pixel screen
    assert browser.execute_script("return document.documentElement.scrollWidth") <= MOBILE[0]
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", card)
    screenshot(browser, "widget.png")

    # the button by keyboard: focus it, press Enter
    browser.execute_script("arguments[0].focus()", buttons[0])
    buttons[0].send_keys(Keys.ENTER)
    full = count_at_least(browser, ".card", 2)[1]
    assert full.find_element(By.CSS_SELECTOR, ".card-kind").text == "The full reply"
    assert full.find_element(By.CSS_SELECTOR, ".card-title").text == title
    assert len(full.find_element(By.CSS_SELECTOR, ".excerpt").text) > len(
        card.find_element(By.CSS_SELECTOR, ".excerpt").text
    )
    count_at_least(browser, ".safety", 2)
    session = browser.execute_script("return localStorage.getItem('neurobot.session')")

    set_size(browser, DESKTOP, mobile=False)
    browser.refresh()
    cards = count_at_least(browser, ".card", 2, 15)
    assert cards[0].find_element(By.CSS_SELECTOR, ".card-title").text == title
    assert ALS in browser.find_element(By.CSS_SELECTOR, ".from-user").text
    assert len(browser.find_elements(By.CSS_SELECTOR, ".safety")) == 2
    connected(browser)
    # the same session, its signed id renewed by the server ("<id>.<time>.<signature>")
    renewed = browser.execute_script("return localStorage.getItem('neurobot.session')")
    assert renewed.split(".")[0] == session.split(".")[0]
    screenshot(browser, "widget-desktop.png")

    # the server kept the conversation too: a similar question from the old card works
    similar = browser.find_elements(By.CSS_SELECTOR, ".card")[0].find_elements(
        By.CSS_SELECTOR, ".options button"
    )[3]
    similar.click()
    third = count_at_least(browser, ".card", 3)[2]
    assert third.find_element(By.CSS_SELECTOR, ".card-kind").text == (
        "Another similar question in the archive"
    )


def test_unsure_the_bot_offers_close_questions_and_a_choice_shows_its_card(
    servers: Servers, browser: WebDriver
) -> None:
    browser.get(f"{servers.url}/webhooks/widget/")
    connected(browser)
    box = browser.find_element(By.ID, "message")
    box.send_keys(UNSURE)
    box.send_keys(Keys.ENTER)
    offer = wait_for(
        lambda: [
            b
            for b in browser.find_elements(By.CSS_SELECTOR, ".from-bot:not(.typing)")
            if b.text.startswith("I am not sure which archived question")
        ],
        60,
        "the close questions",
    )[0]
    buttons = offer.find_elements(By.CSS_SELECTOR, ".options button")
    assert buttons[-1].text == "None of these"
    assert 2 <= len(buttons) <= 4
    assert not browser.find_elements(By.CSS_SELECTOR, ".card")  # nothing posed as the answer
    assert SAFETY in " ".join(visible(browser, ".safety")[0].text.split())
    screenshot(browser, "widget-close-questions.png")

    chosen_title = buttons[0].text
    buttons[0].click()
    card = visible(browser, ".card")[0]
    assert (
        card.find_element(By.CSS_SELECTOR, ".card-kind").text == "The archived question you chose"
    )
    assert card.find_element(By.CSS_SELECTOR, ".card-title").text == f"“{chosen_title}”"
    assert card.find_element(By.CSS_SELECTOR, ".attribution").text.startswith("Answered by: ")


def test_an_emergency_is_shown_as_an_alert(servers: Servers, browser: WebDriver) -> None:
    browser.get(f"{servers.url}/webhooks/widget/")
    connected(browser)
    box = browser.find_element(By.ID, "message")
    box.send_keys("my wife suddenly can't move her left arm and her face is drooping")
    box.send_keys(Keys.ENTER)
    alert = visible(browser, ".emergency[role=alert]")[0]
    assert "What you describe can be a sign of an emergency" in alert.text
    assert "112" in alert.text


def kept(driver: WebDriver, key: str) -> Any:
    return driver.execute_script("return localStorage.getItem(arguments[0])", key)


def test_start_a_new_conversation_forgets_what_the_browser_kept(
    servers: Servers, browser: WebDriver
) -> None:
    browser.get(f"{servers.url}/webhooks/widget/")
    connected(browser)
    box = browser.find_element(By.ID, "message")
    box.send_keys(ALS)
    box.send_keys(Keys.ENTER)
    visible(browser, ".card")
    first = kept(browser, "neurobot.session")
    assert first.count(".") == 2  # <id>.<time>.<signature>, handed out by the server
    assert ALS in kept(browser, "neurobot.history")

    browser.find_element(By.ID, "restart").click()
    assert browser.find_elements(By.CSS_SELECTOR, "#log > li") == []
    assert kept(browser, "neurobot.history") is None
    second = wait_for(
        lambda: (
            (s := kept(browser, "neurobot.session"))
            and s.split(".")[0] != first.split(".")[0]
            and s
        ),
        15,
        "a new session",
    )
    browser.refresh()
    connected(browser)
    assert browser.find_elements(By.CSS_SELECTOR, "#log > li") == []
    assert kept(browser, "neurobot.session").split(".")[0] == second.split(".")[0]
    # the server's side is new too: no archive answer in it to read in full
    box = browser.find_element(By.ID, "message")
    box.send_keys("/ask_full_reply")
    box.send_keys(Keys.ENTER)
    count_at_least(browser, ".from-bot:not(.typing)", 1)
    assert not browser.find_elements(By.CSS_SELECTOR, ".card")


def test_a_session_id_the_server_did_not_sign_starts_afresh(
    servers: Servers, browser: WebDriver
) -> None:
    page = f"{servers.url}/webhooks/widget/"
    browser.get(page)
    connected(browser)  # its own session saved first, so that nothing overwrites ours
    history = '[{"from": "user", "text": "my hand shakes"}]'
    browser.execute_script(
        "localStorage.setItem('neurobot.session', JSON.stringify('someone-elses-session-id'));"
        "localStorage.setItem('neurobot.history', arguments[0]);",
        history,
    )
    browser.refresh()
    connected(browser)
    signed = wait_for(
        lambda: (s := kept(browser, "neurobot.session")) != '"someone-elses-session-id"' and s,
        15,
        "a session handed out by the server",
    )
    assert "someone-elses-session-id" not in signed
    assert kept(browser, "neurobot.history") is None
    assert browser.find_elements(By.CSS_SELECTOR, "#log > li") == []


class _PageOnly(_QuietPages):
    """Serves the widget's files but no socket.io: a server that cannot be reached."""

    def do_GET(self) -> None:
        name = self.path.split("?")[0].removeprefix("/webhooks/widget/") or "index.html"
        if name not in FILES or name == "config.json":
            self.send_error(503)
            return
        path, content_type = FILES[name]
        self.send_page(path.read_bytes(), content_type)


def test_unreachable_server_is_said_clearly(browser: WebDriver) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _PageOnly)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        browser.get(f"http://127.0.0.1:{server.server_address[1]}/webhooks/widget/")
        status = visible(browser, "#status", 15)[0]
        assert status.text.startswith("Cannot reach the server.")
        assert not browser.find_elements(By.CSS_SELECTOR, ".typing")
        box = browser.find_element(By.ID, "message")
        box.send_keys("hello")
        box.send_keys(Keys.ENTER)
        assert box.get_attribute("value") == "hello"  # kept, not lost
        assert not browser.find_elements(By.CSS_SELECTOR, ".from-user")
    finally:
        server.shutdown()
        server.server_close()


def test_socket_io_answers_another_allowed_origin_with_one_cors_header(
    servers: Servers, other_site: ThreadingHTTPServer
) -> None:
    origin = origin_of(other_site)
    polling = requests.get(
        f"{servers.url}/socket.io/",
        params={"EIO": "4", "transport": "polling"},
        headers={"Origin": origin},
        timeout=10,
    )
    assert polling.status_code == 200
    assert polling.raw.headers.getlist("Access-Control-Allow-Origin") == [origin]
    # the widget's own files, fetched by the embedding page, carry it once too
    config = requests.get(
        f"{servers.url}/webhooks/widget/config.json", headers={"Origin": origin}, timeout=10
    )
    assert config.raw.headers.getlist("Access-Control-Allow-Origin") == [origin]
    # an origin not allowed gets no header (and no socket)
    refused = requests.get(
        f"{servers.url}/socket.io/",
        params={"EIO": "4", "transport": "polling"},
        headers={"Origin": "http://127.0.0.1:9"},
        timeout=10,
    )
    assert refused.raw.headers.getlist("Access-Control-Allow-Origin") == []
    assert refused.status_code == 400


def test_the_widget_embedded_in_a_page_of_another_origin_answers_with_its_card(
    servers: Servers, other_site: ThreadingHTTPServer, browser: WebDriver
) -> None:
    browser.get(origin_of(other_site) + "/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Our neurology department"
    # the chat's markup, style and socket.io client came from the bot
    disclaimer = visible(browser, "#neurobot #disclaimer")[0]
    assert disclaimer.text.startswith("Before we start: I show archived replies")
    connected(browser)
    box = browser.find_element(By.ID, "message")
    box.send_keys(ALS)
    box.send_keys(Keys.ENTER)
    card = visible(browser, ".card")[0]
    assert card.find_element(By.CSS_SELECTOR, ".card-kind").text == (
        "The most similar question in the archive"
    )
    title = card.find_element(By.CSS_SELECTOR, ".card-title").text
    assert title.startswith("“") and title.endswith("”") and len(title) > 10
    assert card.find_element(By.CSS_SELECTOR, ".attribution").text.startswith(
        "Answered by: Neurology · Sample archive"
    )
    buttons = [b.text for b in card.find_elements(By.CSS_SELECTOR, ".options button")]
    assert buttons[:3] == ["Read the full reply", "Helpful", "Not helpful"]
    assert 4 <= len(buttons) <= 6
    advice = visible(browser, ".safety")[0]
    assert SAFETY in " ".join(advice.text.split())
    assert [
        e.get_attribute("data-response")
        for e in browser.find_elements(By.CSS_SELECTOR, ".from-bot:not(.typing)")
    ] == ["utter_archive_answer", "utter_safety_advice"]
    screenshot(browser, "widget-embedded.png")


def texts_of(driver: WebDriver, css: str) -> list[str]:
    """The text of every element matching ``css``, read at once (React redraws them)."""
    found = driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]), e => e.innerText)", css
    )
    return [" ".join(str(t).split()) for t in found]


def test_the_stock_rasa_webchat_client_shows_the_answer_and_its_buttons(
    servers: Servers, other_site: ThreadingHTTPServer, browser: WebDriver
) -> None:
    if not RASA_WEBCHAT.exists():
        pytest.fail("rasa-webchat is not installed: run `npm ci` in widget/")
    set_size(browser, DESKTOP, mobile=False)
    browser.get(origin_of(other_site) + "/stock/")

    def said(start: str) -> list[str]:
        return [t for t in texts_of(browser, ".rw-response") if t.startswith(start)]

    # the greeting (initPayload /greet) shows once the socket is connected
    wait_for(lambda: said("Hello. I can look up how neurologists answered"), 60, "the greeting")
    box = browser.find_element(By.CSS_SELECTOR, ".rw-new-message")
    box.send_keys(ALS)
    browser.find_element(By.CSS_SELECTOR, ".rw-send").click()

    (card,) = wait_for(
        lambda: said("The most similar question in the archive is “"), 60, "the archive answer"
    )
    # the card's text as text: title, attribution, excerpt
    assert "”. Answered by: Neurology · Sample archive" in card
    replies = wait_for(lambda: texts_of(browser, ".rw-reply"), 30, "the answer's buttons")
    assert replies[:3] == ["Read the full reply", "Helpful", "Not helpful"]
    assert 4 <= len(replies) <= 6
    wait_for(lambda: said(SAFETY), 30, "the safety advice")
    screenshot(browser, "rasa-webchat.png")

    # its buttons send their payloads: the full reply comes back
    browser.find_elements(By.CSS_SELECTOR, ".rw-reply")[0].click()
    wait_for(lambda: said("The full reply to “"), 60, "the full reply")


def test_stopped_server_is_said_clearly(servers: Servers, browser: WebDriver) -> None:
    """Runs last in this module: it stops the Rasa server."""
    browser.get(f"{servers.url}/webhooks/widget/")
    connected(browser)
    servers.stop_rasa()
    status = visible(browser, "#status", 20)[0]
    assert status.text.startswith("Cannot reach the server.")
    assert "112" in status.text
    screenshot(browser, "widget-offline.png")
