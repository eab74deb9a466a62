"""The cluster profile through nginx: short load and fault runs against real engines.

One cluster (two Rasa servers, two action servers, nginx) is started for the module on
free ports, with a throw-away PostgreSQL database and Redis db 5, each reached through a
proxy of :mod:`bot.evaluation.load` so that a test can cut it off without stopping the shared
engines of this machine. The full runs are `bot load` commands (README, "Scale-out").
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.evaluation.load import (
    ANSWER,
    FALLBACK,
    FULL_REPLY,
    Plan,
    SocketConversation,
    run_load,
)
from bot.settings import PROJECT_ROOT, load_settings
from tests.servers import SAFETY, Cluster, rest_say, running_cluster

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster-state")) as running:
        yield running


def names(cluster: Cluster, messages: list[dict[str, Any]]) -> tuple[str | None, ...]:
    from bot.evaluation.live import ResponseMatcher

    return ResponseMatcher.from_domain().match(messages)


TWITCH = "My calves twitch every night after running and I started training two months ago."


def test_rest_follow_ups_work_whichever_rasa_server_answers(cluster: Cluster) -> None:
    sender = f"h4-{uuid.uuid4().hex[:8]}"
    url, token = cluster.target.url, cluster.target.token
    first = rest_say(url, sender, TWITCH, token=token)
    assert names(cluster, first)[0] == ANSWER
    assert " ".join(first[-1]["text"].split()) == SAFETY
    # round robin: the follow-ups land on both Rasa servers, each reads the shared tracker
    for _ in range(2):
        again = rest_say(url, sender, "read the full reply", token=token)
        assert names(cluster, again)[0] == FULL_REPLY
        assert again[0]["text"].split("\n")[0] == first[0]["text"].split("\n")[0].replace(
            "The most similar question in the archive is", "The full reply to"
        ).rstrip(".")


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_the_web_chat_works_through_nginx(cluster: Cluster, transport: str) -> None:
    async def talk() -> list[tuple[str | None, ...]]:
        chat = SocketConversation(cluster.target.url, transport)
        try:
            await chat.open()
            replies = []
            for text in (TWITCH, "read the full reply"):
                messages, _ = await chat.say(text)
                assert messages, f"no reply over {transport}"
                replies.append(names(cluster, messages))
            return replies
        finally:
            await chat.close()

    first, second = asyncio.run(talk())
    assert first[0] == ANSWER and second[0] == FULL_REPLY


def test_killing_a_rasa_server_mid_run_loses_nothing(cluster: Cluster) -> None:
    events: list[str] = []

    async def kill() -> None:
        events.append(cluster.profile.kill_rasa())

    plan = Plan(patients=8, conversations=2, think=1.0, channels=("rest",))
    stats = asyncio.run(run_load(cluster.target, plan, kill, fault_at=3.0))
    summary = stats.summary()
    assert events and events[0].startswith("killed Rasa server 1")
    assert summary["messages"] == 8 * 2 * 3
    assert (summary["lost"], summary["silent"], summary["forgotten"]) == (0, 0, 0), summary
    # the conversations went on with their history: follow-ups got the full reply
    assert sum(1 for r in stats.replies if FULL_REPLY in r.responses) >= 8
    # a patient whose message was on the killed server gets the fallback, never silence
    for reply in stats.replies:
        if reply.outcome == "fallback":
            assert reply.responses[-1] is not None


@pytest.mark.parametrize(
    ("store", "logged"),
    [
        ("redis", r"processing a message failed \(LockError\)"),
        ("postgres", r"the tracker store could not (read|save) a conversation"),
    ],
)
def test_a_store_outage_loses_no_reply_and_the_bot_recovers(
    cluster: Cluster, store: str, logged: str
) -> None:
    _wait_for_both_rasa_servers(cluster)
    offsets = cluster.offsets()
    outage = 8.0
    plan = Plan(patients=6, conversations=6, think=1.0, channels=("rest",))
    started = time.monotonic()
    stats = asyncio.run(
        run_load(
            cluster.target, plan, lambda: cluster.loop.outage(cluster.proxies[store], outage), 2.0
        )
    )
    down, up = started + 2.0, started + 2.0 + outage
    during = [r for r in stats.replies if down + 0.5 < r.sent < up - 0.5]
    after = [r for r in stats.replies if r.sent > up + 5]
    timeline = [(round(r.sent - started, 1), r.outcome) for r in stats.replies]
    assert during and after, timeline
    # every message got a reply: an answer, or the fallback with the safety advice
    assert all(r.outcome in ("fallback", "ok") for r in stats.replies), timeline
    for reply in stats.replies:
        if reply.outcome == "fallback":
            # the fallback ends the reply; before it only when the store went down
            # between reading the conversation and saving it: the answer was sent, then
            # the patient learns that this turn is not kept (addons/channels.py)
            assert reply.responses[-2:] == (FALLBACK, "utter_safety_advice"), timeline
            assert FALLBACK not in reply.responses[:-2], reply.responses
    # without its lock (Redis) or its conversation (PostgreSQL, addons/stores.py) no
    # message is answered from an empty conversation: the guard sends the fallback
    assert any(r.outcome == "fallback" for r in during), timeline
    assert not any(r.forgotten for r in stats.replies), timeline
    # Recovered by itself: once the store is back, every reply is a real one again.
    assert all(r.outcome == "ok" for r in after), timeline
    assert re.search(logged, cluster.logs_since(offsets)), "the log does not say what happened"


def _wait_for_both_rasa_servers(cluster: Cluster, seconds: float = 240) -> None:
    """After the kill test: until the restarted Rasa server answers again."""
    from bot.http import HttpClient

    deadline = time.monotonic() + seconds
    client = HttpClient(timeout=5)
    try:
        while time.monotonic() < deadline:
            state = cluster.profile.cluster_state()
            up = 0
            for server in state.get("rasa", []):
                try:
                    client.get(f"http://{server['address']}/webhooks/rest/")
                    up += 1
                except Exception:
                    pass
            if up == len(state.get("rasa", [])) > 0:
                return
            time.sleep(1)
    finally:
        client.close()
    pytest.fail("the restarted Rasa server did not come back")


def test_a_new_index_is_picked_up_without_a_restart(cluster: Cluster, tmp_path: Path) -> None:
    record = tmp_path / "new.jsonl"
    record.write_text(
        '{"id": "h4-new-1", "title": "Quivering eyelid when I read train timetables", '
        '"question": "My left eyelid quivers whenever I read train timetables for long.", '
        '"reply": "An eyelid that quivers with tiredness (myokymia) is common.", '
        '"source": "Cluster test archive", "department": "Neurology"}\n'
    )
    fresh = tmp_path / "archive.sqlite3"
    shutil.copy(cluster.db, fresh)
    subprocess.run(
        [sys.executable, "-m", "bot.cli", "archive", "import", "--db", str(fresh), str(record)],
        cwd=PROJECT_ROOT,
        env={**_env(), "NEUROBOT_DENSE": "off"},
        check=True,
        timeout=120,
    )
    fresh.replace(cluster.db)  # what `make index` does at its end: one rename
    time.sleep(1.5)
    url, token = cluster.target.url, cluster.target.token
    for _ in range(2):  # both action servers (least_conn takes turns when idle)
        reply = rest_say(
            url,
            f"h4-{uuid.uuid4().hex[:8]}",
            "my left eyelid quivers when I read train timetables",
            token=token,
        )
        assert "Quivering eyelid when I read train timetables" in reply[0]["text"]


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "NEUROBOT_STATE_DIR": str(load_settings().state_dir)}
