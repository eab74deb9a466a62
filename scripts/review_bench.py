"""How long `bot review list` takes on many logged conversations (a generated load).

    .venv/bin/python scripts/review_bench.py [--conversations 100000] [--postgres URL]

Five kinds of conversation (an answer rated helpful, a no-match, an answer rated not
helpful, an emergency, an answer followed by the full reply) are written once by Rasa's
own ``SQLTrackerStore`` (the real schema and serialisation, with the events the real
servers store: session start, action_listen, slots, parse data with an intent ranking).
Their rows are then copied in bulk, with new sender ids, timestamps spread over 30 days
and the patients' texts numbered, into a fresh SQLite file (and, with ``--postgres``, a
PostgreSQL database whose ``events`` table is replaced, then dropped). Then ``bot review list`` and
``bot review counts`` run against each as a subprocess, and the wall time is printed;
then what the operator page reads for one load (:func:`bot.review.queue.read_page` and
:func:`bot.review.queue.read_counts`, in this process as in the Rasa server's): the first
page once with the index created by the first read, then warm, an older page, one kind,
one day.
A command, not a test: it takes a few minutes at 100,000 conversations.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

ROOT = Path(__file__).resolve().parent.parent
DAY = 86_400.0
INTENTS = [
    "describe_symptoms",
    "ask_term_meaning",
    "greet",
    "thanks",
    "out_of_scope",
    "ask_full_reply",
    "ask_similar_question",
    "emergency",
    "self_harm",
    "deny",
]


def user(text: str, intent: str, record: str | None = None) -> UserUttered:
    ranking = [{"name": intent, "confidence": 0.91}] + [
        {"name": i, "confidence": 0.01} for i in INTENTS if i != intent
    ]
    entities = [{"entity": "record_id", "value": record}] if record else []
    return UserUttered(
        text,
        intent={"name": intent, "confidence": 0.91},
        entities=entities,
        parse_data={
            "intent": ranking[0],
            "intent_ranking": ranking,
            "entities": entities,
            "text": text,
        },
        input_channel="rest",
    )


def bot(response: str, text: str, **metadata: Any) -> BotUttered:
    return BotUttered(text, metadata={"utter_action": response, **metadata})


CARD = "The most similar question in the archive is “Twitching”.\nAnswered by: Neurology\n\n" + (
    "Twitching is common and usually harmless. " * 8
)
SAFETY = "Important: this archived reply was written for another patient ... " * 2


def answer(record: str) -> list[Event]:
    return [
        ActionExecuted("action_answer_from_archive"),
        bot(
            "utter_archive_answer",
            CARD,
            record_id=record,
            title="Twitching",
            attribution="Neurology · Sample archive",
            excerpt="Twitching is common",
        ),
        bot("utter_safety_advice", SAFETY),
        SlotSet("archive_hits", [record, "t2", "t3"]),
        SlotSet("shown_records", [record]),
        SlotSet("current_record", record),
        ActionExecuted("action_listen"),
    ]


def templates() -> list[list[Event]]:
    start = [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        ActionExecuted("action_listen"),
    ]
    ask = user(
        "For weeks my muscles twitch and my left hand feels weak, my name is Anna",
        "describe_symptoms",
    )
    rated = [
        user('/feedback_helpful{"record_id": "t1"}', "feedback_helpful", "t1"),
        ActionExecuted("action_record_feedback"),
        bot("utter_feedback_thanks", "Thank you for letting me know."),
        SlotSet("feedback", {"rating": "helpful", "record_id": "t1"}),
        ActionExecuted("action_listen"),
    ]
    unrated = [
        user('/feedback_unhelpful{"record_id": "t1"}', "feedback_unhelpful", "t1"),
        ActionExecuted("action_record_feedback"),
        bot("utter_feedback_not_helpful", "Thank you for letting me know. ..."),
        SlotSet("feedback", {"rating": "unhelpful", "record_id": "t1"}),
        ActionExecuted("action_listen"),
    ]
    no_match = [
        user("my toenails turned yellow, call me on 07700 900123", "describe_symptoms"),
        ActionExecuted("action_answer_from_archive"),
        bot("utter_no_match", "I could not find an archived reply close enough ..."),
        bot("utter_safety_advice", SAFETY),
        SlotSet("archive_hits", []),
        SlotSet("shown_records", []),
        SlotSet("current_record", None),
        ActionExecuted("action_listen"),
    ]
    emergency = [
        user("my dad's face droops suddenly and he cannot speak", "emergency"),
        ActionExecuted("utter_emergency"),
        bot("utter_emergency", "What you describe can be a sign of an emergency."),
        ActionExecuted("action_listen"),
    ]
    full = [
        user("can I read the full reply", "ask_full_reply"),
        ActionExecuted("action_show_full_reply"),
        bot("utter_full_reply", CARD * 2),
        bot("utter_safety_advice", SAFETY),
        ActionExecuted("action_listen"),
    ]
    return [
        [*start, ask, *answer("t1"), *rated],
        [*start, *no_match],
        [*start, ask, *answer("t1"), *unrated],
        [*start, *emergency],
        [*start, ask, *answer("t1"), *full],
    ]


def template_rows(work: Path) -> list[list[dict[str, Any]]]:
    """Each template conversation as the rows SQLTrackerStore writes."""
    path = work / "templates.sqlite3"
    store = SQLTrackerStore(Domain.load(str(ROOT / "domain.yml")), dialect="sqlite", db=str(path))

    async def save() -> None:
        for n, events in enumerate(templates()):
            await store.save(DialogueStateTracker.from_events(f"template-{n}", events))

    asyncio.run(save())
    store.engine.dispose()
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        rows = (
            connection.execute(
                sa.text(
                    "SELECT sender_id, type_name, intent_name, action_name, data FROM events "
                    "ORDER BY id"
                )
            )
            .mappings()
            .all()
        )
    engine.dispose()
    return [[dict(r) for r in rows if r["sender_id"] == f"template-{n}"] for n in range(5)]


def fill(url: str, conversations: int, now: float, work: Path) -> int:
    """Write ``conversations`` conversations into a fresh ``events`` table at ``url``."""
    engine = sa.create_engine(url)
    kinds = template_rows(work)
    metadata = sa.MetaData()
    events = sa.Table(
        SQLTrackerStore.SQLEvent.__table__.name,
        metadata,
        *(
            sa.Column(c.name, c.type, primary_key=c.primary_key, index=c.index, nullable=c.nullable)
            for c in SQLTrackerStore.SQLEvent.__table__.columns
        ),
    )
    written = 0
    with engine.begin() as connection:
        metadata.drop_all(connection)
        metadata.create_all(connection)
        batch: list[dict[str, Any]] = []
        for n in range(conversations):
            sender = f"rest:load-{n:07d}"
            at = now - 30 * DAY + (n / conversations) * 30 * DAY
            for step, row in enumerate(kinds[n % len(kinds)]):
                data = json.loads(row["data"])
                data["timestamp"] = at + step
                if data.get("event") == "user" and not data["text"].startswith("/"):
                    data["text"] = f"{data['text']} (conversation {n})"
                batch.append(
                    {**row, "sender_id": sender, "timestamp": at + step, "data": json.dumps(data)}
                )
            if len(batch) >= 20_000:
                connection.execute(events.insert(), batch)
                written += len(batch)
                batch = []
        if batch:
            connection.execute(events.insert(), batch)
            written += len(batch)
    engine.dispose()
    return written


def timed(args: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return time.perf_counter() - started, (
        done.stderr.strip().splitlines()[-1:] and done.stderr.strip().splitlines()[-1]
    ) or ""


def page_timings(url: str, now: float) -> list[tuple[str, float]]:
    """Seconds to read what one load of the operator page reads (page and counts)."""
    from bot.review.queue import read_counts, read_page

    address = sa.engine.make_url(url)

    def load(**filters: Any) -> Any:
        page = read_page(address, **filters)
        read_counts(address, 30)
        return page

    def timed_load(**filters: Any) -> tuple[float, Any]:
        started = time.perf_counter()
        page = load(**filters)
        return time.perf_counter() - started, page

    first, page = timed_load()
    warm, page = timed_load()
    results = [("first page (creating the index)", first), ("first page", warm)]
    older = page
    for _ in range(20):
        older = read_page(address, before=older.older)
    results.append(("page 22 (1,050 items down)", timed_load(before=older.older)[0]))
    results.append(("kind unhelpful", timed_load(kind="unhelpful")[0]))
    day = time.strftime("%Y-%m-%d", time.gmtime(now - 15 * DAY))
    results.append((f"day {day}", timed_load(day=day)[0]))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument(
        "--postgres",
        help="also a PostgreSQL database (its events table "
        "is REPLACED), e.g. postgresql://postgres@127.0.0.1:5432/test",
    )
    args = parser.parse_args()
    now = time.time()
    with tempfile.TemporaryDirectory(prefix="neurobot-review-bench-") as tmp:
        work = Path(tmp)
        targets = [("SQLite", f"sqlite:///{work / 'conversations.sqlite3'}")]
        if args.postgres:
            targets.append(("PostgreSQL", args.postgres))
        for name, url in targets:
            started = time.perf_counter()
            rows = fill(url, args.conversations, now, work)
            took = time.perf_counter() - started
            print(
                f"{name}: wrote {args.conversations:,} conversations ({rows:,} events) "
                f"in {took:.1f} s"
            )
            for command in (
                ["review", "list", "--db", url],
                ["review", "list", "--json", "--db", url],
                ["review", "counts", "--db", url],
                [
                    "review",
                    "list",
                    "--kind",
                    "unhelpful",
                    "--since",
                    time.strftime("%Y-%m-%d", time.gmtime(now - 7 * DAY)),
                    "--db",
                    url,
                ],
            ):
                seconds, summary = timed(command)
                shown = " ".join(c if c != url else name.lower() for c in command)
                print(f"  bot {shown}: {seconds:.1f} s  {summary}")
            for label, seconds in page_timings(url, now):
                print(f"  operator page, {label}: {seconds:.2f} s")
            if name == "PostgreSQL":
                engine = sa.create_engine(url)
                with engine.begin() as connection:
                    connection.exec_driver_sql("DROP TABLE IF EXISTS events")
                engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
