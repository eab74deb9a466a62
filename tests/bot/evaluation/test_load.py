"""The load harness's own parts: judging replies, summing up, the outage proxy."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.evaluation.load import (
    ANSWER,
    NOTHING_SHOWN,
    Judge,
    Proxy,
    Reply,
    Stats,
    log_lines,
    table,
    via_proxy,
)
from tests.servers import SAFETY, response_text

TECHNICAL = response_text("utter_technical_problem")
NOTHING = response_text("utter_nothing_shown_yet")


def test_replies_are_judged_by_their_responses() -> None:
    judge = Judge()
    assert judge.reply("rest", 0.0, None, None, False).outcome == "lost"
    assert judge.reply("rest", 0.0, [], None, False).outcome == "silent"
    # named by their card payloads (custom over REST, metadata.custom over socket.io)
    problem = {"text": TECHNICAL, "custom": {"response": "utter_technical_problem"}}
    advice = {"text": SAFETY, "custom": {"response": "utter_safety_advice"}}
    nothing = {"text": NOTHING, "metadata": {"custom": {"response": "utter_nothing_shown_yet"}}}
    fallback = judge.reply("rest", 0.0, [problem, advice], 0.1, False)
    assert (fallback.outcome, fallback.responses) == (
        "fallback",
        ("utter_technical_problem", "utter_safety_advice"),
    )
    forgot = judge.reply("socketio", 0.0, [nothing], 0.1, shown=True)
    assert (forgot.outcome, forgot.forgotten, forgot.responses) == ("ok", True, (NOTHING_SHOWN,))
    assert not judge.reply("rest", 0.0, [nothing], 0.1, shown=False).forgotten
    # the wording alone names nothing
    assert judge.reply("rest", 0.0, [{"text": TECHNICAL}], 0.1, False).responses == (None,)


def test_a_summary_counts_outcomes_and_the_rate_of_answers() -> None:
    stats = Stats(
        replies=[
            Reply("rest", 0.0, 0.1, "ok", (ANSWER,)),
            Reply("rest", 1.0, 0.2, "fallback"),
            Reply("rest", 2.0, None, "silent"),
            Reply("socketio", 3.0, None, "lost"),
            Reply("socketio", 3.5, 0.5, "ok", (NOTHING_SHOWN,), forgotten=True),
        ],
        conversations=2,
    )
    summary = stats.summary()
    assert summary == {
        "messages": 5,
        "conversations": 2,
        "p50_s": 0.2,
        "p95_s": 0.5,
        "max_s": 0.5,
        "msgs_per_s": pytest.approx(3 / 4.0),
        "lost": 1,
        "silent": 1,
        "fallback": 1,
        "forgotten": 1,
    }
    printed = table({"run": {"typing": summary}, "cluster": {"typing": summary}})
    assert "typing:" in printed and printed.count("0.200") == 2


def test_store_urls_are_pointed_at_the_proxy() -> None:
    proxy = Proxy("127.0.0.1", 5432)
    assert via_proxy("postgresql://bot:pw@db.internal:5432/neuro", proxy) == (
        f"postgresql://bot:pw@127.0.0.1:{proxy.listen}/neuro"
    )
    assert via_proxy("redis://127.0.0.1:6379/5", proxy) == f"redis://127.0.0.1:{proxy.listen}/5"


def test_the_proxy_passes_bytes_then_plays_an_outage() -> None:
    async def scenario() -> list[object]:
        async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while data := await reader.read(100):
                writer.write(data)
                await writer.drain()
            writer.close()

        upstream = await asyncio.start_server(echo, "127.0.0.1", 0)
        port = upstream.sockets[0].getsockname()[1]
        proxy = Proxy("127.0.0.1", port)
        await proxy.up()
        seen: list[object] = []
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.listen)
        writer.write(b"ping")
        seen.append(await reader.read(4))
        await proxy.down()
        seen.append(await reader.read(4))  # the open connection is dropped
        try:
            await asyncio.open_connection("127.0.0.1", proxy.listen)
        except OSError:
            seen.append("refused")
        await proxy.up()
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.listen)
        writer.write(b"back")
        seen.append(await reader.read(4))
        writer.close()
        await proxy.down()
        upstream.close()
        return seen

    assert asyncio.run(scenario()) == [b"ping", b"", "refused", b"back"]


def test_log_lines_show_what_happened_after_an_offset(tmp_path: Path) -> None:
    log = tmp_path / "rasa-1.log"
    log.write_text("INFO old error before\n")
    since = {log: log.stat().st_size}
    with log.open("a") as out:
        out.write("INFO fine\nERROR redis.exceptions.ConnectionError: refused\nINFO fine\n")
    assert log_lines([log], since) == [
        "rasa-1.log: ERROR redis.exceptions.ConnectionError: refused"
    ]
