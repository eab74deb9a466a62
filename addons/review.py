"""The operator page of the review queue, on the Rasa server's port: ``/webhooks/review/``.

A Rasa custom input channel (listed in ``credentials.yml``) that receives no patient
messages; it serves one HTML page built on the server (no script): the open items of
the queue (:mod:`bot.review.queue`, read from the tracker store on every request, so a new
item shows at the next reload), the counts per day as an inline SVG bar chart with the
same numbers in a table, and a "Mark done" button per item.

The page shows :data:`bot.review.queue.PAGE_SIZE` items, newest first, with "Newer" and
"Older" links, filtered by kind and by day (a day of the counts table): it reads only the
items it shows (:func:`bot.review.queue.read_page`) and the counts by one SQL aggregate.

**Credential.** Every request needs the operator credential: ``NEUROBOT_REVIEW_TOKEN``,
or the token generated once into ``var/review_token``. A browser signs in with it once
(a form); the page then keeps a session cookie (``HttpOnly``, ``SameSite=Strict``,
``Secure`` over HTTPS) that holds its expiry (:data:`SESSION_SECONDS` after the sign-in)
and a random nonce of this sign-in, signed with an HMAC keyed by the token: the token
itself is never stored in the browser, changing the token signs everyone out, and "Sign
out" revokes the nonce in the tracker store's database (:func:`bot.review.queue.sign_out`), so
the cookie is dead on every Rasa server. Scripts send ``Authorization: Bearer <token>``
instead (``queue.json`` gives a page of the queue as JSON). Without the credential: 401
and the sign-in form, nothing of the queue. Sign-in attempts (the form, and every
request with a bearer token) count against ``NEUROBOT_RATE_SIGN_IN`` per address
(:mod:`bot.guard.ratelimit`; a success resets the count): over it, 429 with ``Retry-After``,
the token not even compared. "Mark done" is a POST carrying a second HMAC (against
cross-site requests) and accepts only items of the queue.

The page holds patients' words (redacted): it is sent with ``Cache-Control: no-store``,
a Content Security Policy that allows no script, and nothing of it is logged.

We draw the chart ourselves (a few dozen lines of SVG) rather than load matplotlib into
the Rasa server (tens of MB and half a second at the first request) or ship a chart
library to the browser (the page would need a script).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import html
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.database import database_url
from bot.errors import BotError
from bot.guard.ratelimit import RateLimiter, retry_after, shared_limiter
from bot.review.queue import (
    KINDS,
    DayCounts,
    Item,
    Page,
    UnknownItemError,
    clean,
    load_page,
    mark_done,
    parse_cursor,
    parse_day,
    read_counts,
    review_token,
    sign_out,
    signed_out,
)
from bot.settings import Settings, load_settings

logger = logging.getLogger(__name__)

COOKIE = "neurobot_review"
#: How long a sign-in lasts: the session cookie's expiry, signed into it (8 hours).
SESSION_SECONDS = 8 * 3600
#: Longest form body read (a sign-in or a "Mark done").
MAX_FORM_BYTES = 4096
#: Days shown in the chart (the latest ones).
CHART_DAYS = 30
#: The chart's series: field of DayCounts, label, colour.
SERIES = (
    ("answers", "answers", "#2b6cb0"),
    ("no_matches", "no-matches", "#dd6b20"),
    ("emergencies", "emergencies", "#c53030"),
    ("helpful", "helpful", "#2f855a"),
    ("unhelpful", "not helpful", "#6b46c1"),
)
KIND_LABELS = {"no-match": "No match", "unhelpful": "Not helpful", "emergency": "Emergency"}


def _mac(token: str, purpose: str) -> str:
    return hmac.new(
        token.encode(), f"neurobot review {purpose}".encode(), hashlib.sha256
    ).hexdigest()


@dataclass(frozen=True)
class Session:
    """One browser's sign-in, as its cookie carries it.

    Attributes:
        expires: When the sign-in ends, seconds since the epoch.
        nonce: Random, drawn at the sign-in; signing out revokes it.
    """

    expires: int
    nonce: str


def session_value(token: str, now: float | None = None, nonce: str | None = None) -> str:
    """A new sign-in's cookie: ``<expiry>.<nonce>.<HMAC of both keyed by the token>``
    (the token itself is not in it)."""
    expires = int(time.time() if now is None else now) + SESSION_SECONDS
    drawn = nonce or secrets.token_urlsafe(16)
    return f"{expires}.{drawn}.{_mac(token, f'session {expires} {drawn}')}"


def read_session(value: str, token: str, now: float | None = None) -> Session | None:
    """The session of a cookie signed with ``token`` and not expired; None otherwise
    (whether it was signed out is asked of the database apart)."""
    expires, _, rest = value.partition(".")
    nonce, _, mac = rest.partition(".")
    if not (expires.isascii() and expires.isdigit() and nonce and mac) or len(value) > 200:
        return None
    if not hmac.compare_digest(mac.encode(), _mac(token, f"session {expires} {nonce}").encode()):
        return None
    if int(expires) <= (time.time() if now is None else now):
        return None
    return Session(int(expires), nonce)


def form_key(token: str) -> str:
    """The hidden value every "Mark done" form carries."""
    return _mac(token, "form")


def bearer(request: Request) -> str | None:
    """The bearer token a request sends, None when it sends none."""
    scheme, _, given = (request.headers.get("Authorization") or "").partition(" ")
    return given.strip() if scheme.lower() == "bearer" and given.strip() else None


def address(request: Request) -> str:
    """The client's address, the key of the sign-in limit."""
    return str(getattr(request, "remote_addr", "") or request.ip)


def headers(nonce: str) -> dict[str, str]:
    """Security headers of every page: no script, no cache, no framing."""
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'nonce-{nonce}'; img-src data:; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        ),
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


def _days_shown(days: Sequence[DayCounts], limit: int = CHART_DAYS) -> list[DayCounts]:
    """The latest ``limit`` days up to the last one with events, gaps filled with zeros."""
    if not days:
        return []
    known = {d.day: d for d in days}
    last = dt.date.fromisoformat(days[-1].day)
    first = max(dt.date.fromisoformat(days[0].day), last - dt.timedelta(days=limit - 1))
    count = (last - first).days + 1
    dates = [(first + dt.timedelta(days=n)).isoformat() for n in range(count)]
    return [known.get(d, DayCounts(d)) for d in dates]


def svg_chart(days: Sequence[DayCounts], width: int = 760, height: int = 260) -> str:
    """A grouped bar chart of the counts per day, as inline SVG.

    Args:
        days: Counts per day, oldest first (gaps are filled with zero days).
        width: Width in pixels.
        height: Height in pixels.

    Returns:
        An ``<svg>`` element (days and numbers only, no patient text).
    """
    shown = _days_shown(days)
    left, right, top, bottom = 40, 10, 30, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([getattr(d, f) for d in shown for f, _, _ in SERIES] + [1])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="chart-title">',
        '<title id="chart-title">Answers, no-matches, emergencies and ratings per day</title>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="#555"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" font-size="11">{peak}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" font-size="11">0</text>',
    ]
    for n, (_, label, colour) in enumerate(SERIES):
        x = left + n * 120
        parts.append(f'<rect x="{x}" y="8" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{x + 16}" y="18" font-size="12">{label}</text>')
    if not shown:
        parts.append(
            f'<text x="{left + plot_w / 2}" y="{top + plot_h / 2}" text-anchor="middle" '
            'font-size="13">no conversations yet</text>'
        )
    slot = plot_w / max(len(shown), 1)
    bar = min(24.0, max(1.0, slot * 0.8 / len(SERIES)))
    for i, day in enumerate(shown):
        x0 = left + i * slot + (slot - bar * len(SERIES)) / 2
        for n, (field, label, colour) in enumerate(SERIES):
            value = getattr(day, field)
            h = plot_h * value / peak
            parts.append(
                f'<rect class="bar" x="{x0 + n * bar:.1f}" y="{top + plot_h - h:.1f}" '
                f'width="{bar:.1f}" height="{h:.1f}" fill="{colour}">'
                f"<title>{day.day}: {value} {label}</title></rect>"
            )
        if len(shown) <= 10 or i % max(1, len(shown) // 8) == 0:
            parts.append(
                f'<text x="{left + (i + 0.5) * slot:.1f}" y="{top + plot_h + 16}" '
                'text-anchor="middle" '
                f'font-size="11">{day.day[5:]}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:1.5rem;color:#1a202c;max-width:78rem}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #cbd5e0;
padding:.4rem .5rem;text-align:left;vertical-align:top}th{background:#edf2f7}
td.q{white-space:pre-wrap;max-width:28rem}.kind{font-weight:600}
.emergency .kind{color:#c53030}nav a{margin-right:1rem}
button{font:inherit;padding:.3rem .8rem;cursor:pointer}.note{color:#4a5568}
.counts td,.counts th{text-align:right}.counts td:first-child{text-align:left}
.error{color:#c53030;font-weight:600}
"""


def _page(title: str, body: str, nonce: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{html.escape(title)}</title><style nonce="{nonce}">{STYLE}</style></head>'
        f"<body>{body}</body></html>"
    )


def login_page(nonce: str, wrong: bool = False) -> str:
    """The sign-in form (all that a request without the credential gets)."""
    error = (
        '<p class="error" role="alert">That is not the operator credential.</p>' if wrong else ""
    )
    body = (
        "<main><h1>Review queue: sign in</h1>"
        '<p class="note">This page needs the operator credential (NEUROBOT_REVIEW_TOKEN, '
        "or the file var/review_token on the server).</p>"
        f"{error}"
        '<form method="post" action="login"><label for="token">Operator credential</label> '
        '<input id="token" name="token" type="password" autocomplete="current-password" '
        'required> <button type="submit">Sign in</button></form></main>'
    )
    return _page("Review queue: sign in", body, nonce)


@dataclass(frozen=True)
class View:
    """What the operator asked the page to show (the query string)."""

    kind: str | None = None
    day: str | None = None
    show_done: bool = False
    before: str | None = None
    after: str | None = None

    @classmethod
    def from_args(cls, args: Any) -> View:
        """The view of a request's query string; a value that is not valid is left out."""
        kind = args.get("kind")
        day, before, after = args.get("day"), args.get("before"), args.get("after")
        try:
            parse_day(day or "1970-01-01")
            parse_cursor(before or "0_0")
            parse_cursor(after or "0_0")
        except ValueError:
            day = before = after = None
        return cls(
            kind if kind in KINDS else None,
            day or None,
            args.get("done") == "1",
            before or None,
            after or None,
        )

    def link(self, **changes: Any) -> str:
        """A query string for this view changed (pages restart unless named)."""
        view = replace(self, **{"before": None, "after": None, **changes})
        query = {
            "kind": view.kind,
            "day": view.day,
            "done": "1" if view.show_done else None,
            "before": view.before,
            "after": view.after,
        }
        return "?" + urlencode({k: v for k, v in query.items() if v})


def _items_table(items: Sequence[Item], key: str) -> str:
    if not items:
        return '<p id="empty">Nothing is waiting for review.</p>'
    rows = []
    for item in items:
        feedback = html.escape(item.feedback or "")
        action = (
            "done"
            if item.done
            else (
                '<form method="post" action="done">'
                f'<input type="hidden" name="item" value="{html.escape(item.id)}">'
                f'<input type="hidden" name="key" value="{key}">'
                f'<button type="submit" aria-label="Mark item {html.escape(item.id)} done">'
                "Mark done</button></form>"
            )
        )
        rows.append(
            f'<tr class="item {html.escape(item.kind)}" data-item="{html.escape(item.id)}">'
            f"<td>{html.escape(item.id)}</td>"
            f'<td class="kind">{KIND_LABELS.get(item.kind, item.kind)}</td>'
            f"<td>{item.when.replace('T', ' ').replace('Z', ' UTC')}</td>"
            f"<td>{html.escape(item.channel)}</td>"
            f'<td class="q">{html.escape(item.question)}</td>'
            f'<td class="a">{html.escape(item.answered)}</td>'
            f"<td>{feedback}</td><td>{action}</td></tr>"
        )
    return (
        '<table id="queue"><thead><tr><th>Item</th><th>Kind</th><th>When</th><th>Channel</th>'
        "<th>Patient asked (redacted)</th><th>Bot answered</th><th>Feedback</th><th></th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _counts_table(days: Sequence[DayCounts], view: View) -> str:
    rows = "".join(
        f'<tr><td><a href="{html.escape(view.link(day=d.day))}">{d.day}</a></td>'
        f"<td>{d.answers}</td><td>{d.offers}</td><td>{d.choices}</td><td>{d.no_matches}</td>"
        f"<td>{d.emergencies}</td><td>{d.helpful}</td><td>{d.unhelpful}</td></tr>"
        for d in reversed(days[-CHART_DAYS:])
    )
    return (
        '<table class="counts" id="counts"><thead><tr><th>Day (UTC)</th><th>Answers</th>'
        "<th>Close questions offered</th><th>Chosen</th>"
        "<th>No-matches</th><th>Emergencies</th><th>Helpful</th><th>Not helpful</th></tr>"
        f"</thead><tbody>{rows}</tbody></table>"
    )


def _pager(page: Page, view: View) -> str:
    links = []
    if page.newer:
        links.append(f'<a href="{html.escape(view.link())}" rel="first">Newest</a>')
        links.append(f'<a href="{html.escape(view.link(after=page.newer))}" rel="prev">Newer</a>')
    if page.older:
        links.append(f'<a href="{html.escape(view.link(before=page.older))}" rel="next">Older</a>')
    return f'<nav class="pages" aria-label="Pages">{"".join(links)}</nav>' if links else ""


def queue_page(
    page: Page, days: Sequence[DayCounts], view: View, key: str, nonce: str, notice: str = ""
) -> str:
    """The operator page: one page of the queue, the chart and the counts.

    Args:
        page: The items shown (newest first) and the cursors of the pages beside.
        days: The counts per day, oldest first.
        view: The filters and page asked for.
        key: The value of the "Mark done" forms (:func:`form_key`).
        nonce: The style element's nonce (:func:`headers`).
        notice: A message for the operator, shown above the items.
    """
    links = [("All", None), *((KIND_LABELS[k], k) for k in KINDS)]
    nav = "".join(
        f'<a href="{html.escape(view.link(kind=k))}"'
        f"{' aria-current=page' if k == view.kind else ''}>{label}</a>"
        for label, k in links
    )
    if view.day:
        nav += f'<a href="{html.escape(view.link(day=None))}">All days</a>'
    done_link = view.link(show_done=not view.show_done)
    title = "All items" if view.show_done else "Open items"
    if view.day:
        title += f" of {view.day}"
    alert = f'<p class="error" role="alert">{html.escape(notice)}</p>' if notice else ""
    body = (
        "<header><h1>Review queue</h1>"
        '<p class="note">Questions the archive could not answer, answers patients found '
        "not helpful, and emergency replies. Personal details are redacted. Export them for "
        "a doctor with <code>bot review export FILE</code>.</p>"
        '<form method="post" action="logout"><button type="submit">Sign out</button></form>'
        "</header><main>"
        f'<h2>Per day</h2><figure id="chart">{svg_chart(days)}</figure>'
        f"{_counts_table(days, view)}"
        f"<h2>{title}</h2>{alert}<nav>{nav}"
        f'<a href="{html.escape(done_link)}">{"Hide done" if view.show_done else "Show done"}'
        f"</a></nav>{_items_table(page.items, key)}{_pager(page, view)}</main>"
    )
    return clean(_page("Review queue", body, nonce))


async def _form(request: Request) -> dict[str, str] | None:
    if len(request.body or b"") > MAX_FORM_BYTES:
        return None
    return {k: v[0] for k, v in (request.form or {}).items() if v}


class ReviewChannel(InputChannel):
    """The operator's review page at ``/webhooks/review/`` (no patient messages)."""

    @classmethod
    def name(cls) -> str:
        return "review"

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        settings = self.settings or load_settings()
        token = review_token(settings)
        key = form_key(token)
        limiter: RateLimiter = shared_limiter(settings)
        page = Blueprint("neurobot_review", __name__)

        def html_response(text: str, nonce: str, status: int = 200) -> HTTPResponse:
            return response.html(text, status=status, headers=headers(nonce))

        def refused(nonce: str, wrong: bool = False) -> HTTPResponse:
            reply = html_response(login_page(nonce, wrong), nonce, 401)
            reply.headers["WWW-Authenticate"] = 'Bearer realm="neurobot review"'
            return reply

        def too_many() -> HTTPResponse:
            return response.json(
                {"error": "too many sign-in attempts from this address; try again later"},
                status=429,
                headers={
                    "Retry-After": str(retry_after(limiter, "sign_in")),
                    "Cache-Control": "no-store",
                },
            )

        def unavailable(nonce: str) -> HTTPResponse:
            return html_response(
                _page(
                    "Review queue",
                    '<p class="error" role="alert">The conversations cannot be read right '
                    "now; see the server's log.</p>",
                    nonce,
                ),
                nonce,
                503,
            )

        def base(request: Request) -> str:
            return request.path.rsplit("/", 1)[0] + "/"

        def back(request: Request) -> HTTPResponse:
            return response.redirect(base(request), status=303)

        async def credential(request: Request) -> HTTPResponse | None:
            """None when the request carries the credential; else the refusal to send."""
            nonce = secrets.token_urlsafe(12)
            given = bearer(request)
            if given is not None:
                # every bearer request is a sign-in attempt, counted before the token
                # is compared: over the limit, even the right token is not tried
                if not limiter.allow("sign_in", address(request)):
                    return too_many()
                if not hmac.compare_digest(given.encode(), token.encode()):
                    logger.warning("a request to the review page with a wrong bearer token")
                    return refused(nonce)
                limiter.reset("sign_in", address(request))
                return None
            session = read_session(request.cookies.get(COOKIE) or "", token)
            if session is None:
                return refused(nonce)
            try:
                revoked = await asyncio.to_thread(signed_out, database_url(settings), session.nonce)
            except BotError as exc:
                logger.error("signed-out sessions cannot be read: %s", type(exc).__name__)
                return unavailable(nonce)
            return refused(nonce) if revoked else None

        @page.route("/", methods=["GET"])
        async def index(request: Request) -> HTTPResponse:
            nonce = secrets.token_urlsafe(12)
            if not request.path.endswith("/"):
                return response.redirect(request.path + "/")
            refusal = await credential(request)
            if refusal is not None:
                return refusal
            view = View.from_args(request.args)
            read = await _read_logged(settings, view)
            if read is None:
                return unavailable(nonce)
            shown, days = read
            return html_response(queue_page(shown, days, view, key, nonce), nonce)

        @page.route("/queue.json", methods=["GET"])
        async def as_json(request: Request) -> HTTPResponse:
            refusal = await credential(request)
            if refusal is not None:
                if refusal.status == 401:
                    return response.json({"error": "the operator credential is needed"}, 401)
                return refusal
            read = await _read_logged(settings, View.from_args(request.args))
            if read is None:
                return response.json({"error": "the conversations cannot be read"}, 503)
            shown, days = read
            return response.json(
                {
                    "items": [i.to_dict() for i in shown.items],
                    "older": shown.older,
                    "newer": shown.newer,
                    "days": [vars(d) for d in days],
                },
                headers={"Cache-Control": "no-store"},
                dumps=_dumps,
            )

        @page.route("/login", methods=["POST"])
        async def login(request: Request) -> HTTPResponse:
            nonce = secrets.token_urlsafe(12)
            if not limiter.allow("sign_in", address(request)):
                return too_many()
            form = await _form(request)
            given = (form or {}).get("token", "").strip()
            if not given or not hmac.compare_digest(given.encode(), token.encode()):
                logger.warning("a sign-in to the review page with a wrong credential")
                return refused(nonce, wrong=True)
            limiter.reset("sign_in", address(request))
            reply = back(request)
            reply.cookies[COOKIE] = session_value(token)
            cookie = reply.cookies[COOKIE]
            cookie["httponly"] = True
            cookie["samesite"] = "Strict"
            cookie["max-age"] = SESSION_SECONDS
            cookie["path"] = base(request)
            if request.scheme == "https":
                cookie["secure"] = True
            return reply

        @page.route("/logout", methods=["POST"])
        async def logout(request: Request) -> HTTPResponse:
            reply = back(request)
            session = read_session(request.cookies.get(COOKIE) or "", token)
            if session is not None:
                try:
                    await asyncio.to_thread(
                        sign_out, database_url(settings), session.nonce, session.expires
                    )
                except BotError as exc:
                    logger.error("a sign-out could not be kept: %s", type(exc).__name__)
                    nonce = secrets.token_urlsafe(12)
                    reply = html_response(
                        _page(
                            "Review queue",
                            '<p class="error" role="alert">Signing out failed: the database '
                            "cannot be written. Close the browser to end the session.</p>",
                            nonce,
                        ),
                        nonce,
                        503,
                    )
            reply.cookies[COOKIE] = ""
            reply.cookies[COOKIE]["max-age"] = 0
            reply.cookies[COOKIE]["path"] = base(request)
            return reply

        @page.route("/done", methods=["POST"])
        async def done(request: Request) -> HTTPResponse:
            nonce = secrets.token_urlsafe(12)
            refusal = await credential(request)
            if refusal is not None:
                return refusal
            form = await _form(request) or {}
            if not hmac.compare_digest(form.get("key", "").encode(), key.encode()):
                return response.text("this form is not from the review page", status=403)
            item = form.get("item", "").strip()
            if not item or len(item) > 64:
                return response.text("no item named", status=400)
            try:
                await asyncio.to_thread(mark_done, database_url(settings), [item])
            except UnknownItemError:
                view = View()
                try:
                    shown, days = await asyncio.to_thread(_read, settings, view)
                except Exception:
                    shown, days = Page(()), ()
                notice = f"Item {item} is not in the review queue: nothing was marked done."
                text = queue_page(shown, days, view, key, nonce, notice)
                return html_response(text, nonce, 400)
            except BotError as exc:
                logger.error("an item could not be marked done: %s", type(exc).__name__)
                return unavailable(nonce)
            return back(request)

        return page


def _read(settings: Settings, view: View) -> tuple[Page, tuple[DayCounts, ...]]:
    """The page of ``view`` and the chart's days (in a worker thread)."""
    shown = load_page(
        settings,
        kind=view.kind,
        day=view.day,
        include_done=view.show_done,
        before=view.before,
        after=view.after,
    )
    return shown, read_counts(database_url(settings), CHART_DAYS)


async def _read_logged(settings: Settings, view: View) -> tuple[Page, tuple[DayCounts, ...]] | None:
    """:func:`_read` in a worker thread; None (logged) when the queue cannot be read."""
    try:
        return await asyncio.to_thread(_read, settings, view)
    except Exception as exc:
        logger.error("the review queue could not be read: %s", type(exc).__name__)
        return None


def _dumps(value: Any, **options: Any) -> str:
    return clean(json.dumps(value, ensure_ascii=False, **options))
