"""The operator page of the review queue, on the Rasa server's port: ``/webhooks/review/``.

A Rasa custom input channel (listed in ``credentials.yml``) that receives no patient
messages; it serves one HTML page built on the server (no script): the open items of
the queue (:mod:`bot.review`, read from the tracker store on every request, so a new
item shows at the next reload), the counts per day as an inline SVG bar chart with the
same numbers in a table, and a "Mark done" button per item.

**Credential.** Every request needs the operator credential: ``NEUROBOT_REVIEW_TOKEN``,
or the token generated once into ``var/review_token``. A browser signs in with it once
(a form); the page then keeps a cookie holding an HMAC of the token (``HttpOnly``,
``SameSite=Strict``, ``Secure`` over HTTPS), so the token itself is never stored in the
browser, and changing the token signs everyone out. Scripts send
``Authorization: Bearer <token>`` instead (``queue.json`` gives the queue as JSON).
Without the credential: 401 and the sign-in form, nothing of the queue. "Mark done" is a
POST carrying a second HMAC (against cross-site requests).

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
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import urlencode

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.conversations import database_url
from bot.review import KINDS, DayCounts, Item, Queue, load_queue, mark_done, review_token, select
from bot.settings import Settings, load_settings

logger = logging.getLogger(__name__)

COOKIE = "neurobot_review"
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


def session_value(token: str) -> str:
    """The cookie a signed-in browser holds (an HMAC of the token, not the token)."""
    return _mac(token, "session")


def form_key(token: str) -> str:
    """The hidden value every "Mark done" form carries."""
    return _mac(token, "form")


def authorized(request: Request, token: str) -> bool:
    """Whether the request carries the operator credential (bearer token or cookie)."""
    scheme, _, given = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and given.strip():
        return hmac.compare_digest(given.strip().encode(), token.encode())
    cookie = request.cookies.get(COOKIE) or ""
    return bool(cookie) and hmac.compare_digest(cookie.encode(), session_value(token).encode())


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


def _counts_table(days: Sequence[DayCounts]) -> str:
    rows = "".join(
        f"<tr><td>{d.day}</td><td>{d.answers}</td><td>{d.no_matches}</td>"
        f"<td>{d.emergencies}</td><td>{d.helpful}</td><td>{d.unhelpful}</td></tr>"
        for d in reversed(days[-CHART_DAYS:])
    )
    return (
        '<table class="counts" id="counts"><thead><tr><th>Day (UTC)</th><th>Answers</th>'
        "<th>No-matches</th><th>Emergencies</th><th>Helpful</th><th>Not helpful</th></tr>"
        f"</thead><tbody>{rows}</tbody></table>"
    )


def queue_page(queue: Queue, kind: str | None, show_done: bool, key: str, nonce: str) -> str:
    """The operator page: the queue, the chart and the counts."""
    items = list(reversed(select(queue.items, kind, show_done)))  # newest first
    links = [("All", {}), *((KIND_LABELS[k], {"kind": k}) for k in KINDS)]
    nav = "".join(
        f'<a href="?{urlencode(q)}"{" aria-current=page" if q.get("kind") == kind else ""}>'
        f"{label}</a>"
        for label, q in links
    )
    done_link = urlencode(
        {**({"kind": kind} if kind else {}), **({} if show_done else {"done": 1})}
    )
    body = (
        "<header><h1>Review queue</h1>"
        '<p class="note">Questions the archive could not answer, answers patients found '
        "not helpful, and emergency replies. Personal details are redacted. Export them for "
        "a doctor with <code>bot review export FILE</code>.</p>"
        '<form method="post" action="logout"><button type="submit">Sign out</button></form>'
        "</header><main>"
        f'<h2>Per day</h2><figure id="chart">{svg_chart(queue.days)}</figure>'
        f"{_counts_table(queue.days)}"
        f"<h2>{'All items' if show_done else 'Open items'}</h2><nav>{nav}"
        f'<a href="?{done_link}">{"Hide done" if show_done else "Show done"}</a></nav>'
        f"{_items_table(items, key)}</main>"
    )
    return _page("Review queue", body, nonce)


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
        page = Blueprint("neurobot_review", __name__)

        def html_response(text: str, nonce: str, status: int = 200) -> HTTPResponse:
            return response.html(text, status=status, headers=headers(nonce))

        def refused(nonce: str, wrong: bool = False) -> HTTPResponse:
            reply = html_response(login_page(nonce, wrong), nonce, 401)
            reply.headers["WWW-Authenticate"] = 'Bearer realm="neurobot review"'
            return reply

        def back(request: Request) -> HTTPResponse:
            return response.redirect(request.path.rsplit("/", 1)[0] + "/", status=303)

        @page.route("/", methods=["GET"])
        async def index(request: Request) -> HTTPResponse:
            nonce = secrets.token_urlsafe(12)
            if not request.path.endswith("/"):
                return response.redirect(request.path + "/")
            if not authorized(request, token):
                return refused(nonce)
            kind = request.args.get("kind")
            kind = kind if kind in KINDS else None
            show_done = request.args.get("done") == "1"
            try:
                queue = await asyncio.to_thread(load_queue, settings)
            except Exception as exc:
                logger.error("the review queue could not be read: %s", type(exc).__name__)
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
            return html_response(queue_page(queue, kind, show_done, key, nonce), nonce)

        @page.route("/queue.json", methods=["GET"])
        async def as_json(request: Request) -> HTTPResponse:
            if not authorized(request, token):
                return response.json({"error": "the operator credential is needed"}, 401)
            queue = await asyncio.to_thread(load_queue, settings)
            return response.json(
                {
                    "items": [i.to_dict() for i in select(queue.items)],
                    "days": [vars(d) for d in queue.days],
                },
                headers={"Cache-Control": "no-store"},
            )

        @page.route("/login", methods=["POST"])
        async def login(request: Request) -> HTTPResponse:
            nonce = secrets.token_urlsafe(12)
            form = await _form(request)
            given = (form or {}).get("token", "").strip()
            if not given or not hmac.compare_digest(given.encode(), token.encode()):
                logger.warning("a sign-in to the review page with a wrong credential")
                return refused(nonce, wrong=True)
            reply = back(request)
            reply.cookies[COOKIE] = session_value(token)
            cookie = reply.cookies[COOKIE]
            cookie["httponly"] = True
            cookie["samesite"] = "Strict"
            cookie["path"] = request.path.rsplit("/", 1)[0] + "/"
            if request.scheme == "https":
                cookie["secure"] = True
            return reply

        @page.route("/logout", methods=["POST"])
        async def logout(request: Request) -> HTTPResponse:
            reply = back(request)
            reply.cookies[COOKIE] = ""
            reply.cookies[COOKIE]["max-age"] = 0
            reply.cookies[COOKIE]["path"] = request.path.rsplit("/", 1)[0] + "/"
            return reply

        @page.route("/done", methods=["POST"])
        async def done(request: Request) -> HTTPResponse:
            nonce = secrets.token_urlsafe(12)
            if not authorized(request, token):
                return refused(nonce)
            form = await _form(request) or {}
            if not hmac.compare_digest(form.get("key", "").encode(), key.encode()):
                return response.text("this form is not from the review page", status=403)
            item = form.get("item", "").strip()
            if not item or len(item) > 64:
                return response.text("no item named", status=400)
            await asyncio.to_thread(mark_done, database_url(settings), [item])
            return back(request)

        return page
