"""One slow search does not hold another patient's reply (actions/workers.py).

The action server's real app (rasa_sdk's ``create_app`` with our actions, closed by
``actions.security.secure``) is served in this process on a free port, with a slow index
injected into the shared services: two patients call it at the same time over HTTP.
With NEUROBOT_ACTION_WORKERS=4 the quick one is answered while the slow search still
runs; with 1 worker it has to wait, which shows the pool is what keeps them apart.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from sanic import Sanic

import actions.actions as actions_module
from actions import workers
from actions.actions import Services
from actions.security import secure
from bot.search.index import ArchiveIndex, Hit
from bot.settings import PROJECT_ROOT, Settings, load_settings
from tests.servers import free_port

TOKEN = "workers-test-token-0123456789"
SLOW_SECONDS = 2.0
SLOW_WORD = "slowly"


class SlowIndex:
    """The tiny index, but a search whose text holds ``slowly`` takes 2 s (as a search
    over a huge archive, or a stalled disk, might)."""

    def __init__(self, index: ArchiveIndex) -> None:
        self.index = index
        self.threads: set[str] = set()
        self.lock = threading.Lock()

    def search(self, text: str, *args: Any, **kwargs: Any) -> list[Hit]:
        with self.lock:
            self.threads.add(threading.current_thread().name)
        if SLOW_WORD in text:
            time.sleep(SLOW_SECONDS)
        return self.index.search(text, *args, **kwargs)

    def get(self, record_id: str) -> Any:
        return self.index.get(record_id)

    def floors(self) -> Any:
        return self.index.floors()


def action_call(sender: str, text: str) -> dict[str, Any]:
    return {
        "next_action": "action_answer_from_archive",
        "sender_id": sender,
        "version": "3.6.21",
        "domain": {},
        "tracker": {
            "sender_id": sender,
            "slots": {},
            "latest_message": {
                "text": text,
                "intent": {"name": "describe_symptoms", "confidence": 0.9},
                "entities": [],
            },
            "events": [
                {
                    "event": "user",
                    "text": text,
                    "parse_data": {"intent": {"name": "describe_symptoms"}, "entities": []},
                }
            ],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }


@pytest.fixture
def fresh_pool() -> Iterator[None]:
    workers.shutdown()
    yield
    workers.shutdown()


def serve_and_call(
    settings: Settings, calls: list[tuple[float, str, str]]
) -> dict[str, tuple[float, dict[str, Any]]]:
    """Serve the action server's app and make ``calls`` (start delay, sender, text) at
    once; return each sender's seconds from the first call's start, and the answer."""
    from rasa_sdk.endpoint import create_app

    Sanic.test_mode = True  # one app of the same name per test
    port = free_port()

    async def main() -> dict[str, tuple[float, dict[str, Any]]]:
        app = secure(create_app("actions", cors_origins=None), TOKEN)
        server = await app.create_server(
            host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
        )
        assert server is not None
        await server.startup()
        started = time.monotonic()
        results: dict[str, tuple[float, dict[str, Any]]] = {}
        try:
            async with aiohttp.ClientSession(
                headers={"Authorization": f"Bearer {TOKEN}"}
            ) as session:

                async def call(delay: float, sender: str, text: str) -> None:
                    await asyncio.sleep(delay)
                    async with session.post(
                        f"http://127.0.0.1:{port}/webhook", json=action_call(sender, text)
                    ) as answer:
                        assert answer.status == 200, await answer.text()
                        body = await answer.json()
                    results[sender] = (time.monotonic() - started, body)

                await asyncio.gather(*(call(*c) for c in calls))
        finally:
            server.close()
            await server.wait_closed()
        return results

    return asyncio.run(main())


def responses(body: dict[str, Any]) -> list[str]:
    return [m["response"] for m in body["responses"]]


@pytest.mark.parametrize(("pool_size", "quick_waits"), [(4, False), (1, True)])
def test_a_slow_search_does_not_hold_another_patients_reply(
    index: ArchiveIndex,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
    fresh_pool: None,
    pool_size: int,
    quick_waits: bool,
) -> None:
    settings = load_settings(
        {
            "NEUROBOT_DB": str(tmp_path / "unused.sqlite3"),
            "NEUROBOT_ACTION_WORKERS": str(pool_size),
        }
    )
    slow = SlowIndex(index)
    monkeypatch.setattr(actions_module, "_shared", Services(settings, slow))  # type: ignore[arg-type]
    results = serve_and_call(
        settings,
        [
            (0.0, "patient-slow", f"my feet tingle {SLOW_WORD} at night"),
            (0.3, "patient-quick", "my muscles twitch and my left hand is weak"),
        ],
    )
    slow_done, slow_body = results["patient-slow"]
    quick_done, quick_body = results["patient-quick"]
    # both got their real archive answer with the safety advice
    for body in (slow_body, quick_body):
        assert responses(body) == ["utter_archive_answer", "utter_safety_advice"]
    assert quick_body["responses"][0]["title"] == "Muscle twitching all over and a weaker left hand"
    assert slow_body["responses"][0]["title"] == "Pins and needles in both feet at night"
    assert slow_done >= SLOW_SECONDS
    if quick_waits:
        # one worker: the quick search queues behind the slow one
        assert quick_done >= SLOW_SECONDS
    else:
        assert quick_done < SLOW_SECONDS - 0.5, (quick_done, slow_done)
        assert quick_done < slow_done
    # the searches ran in the pool's threads, never on the event loop's
    assert slow.threads and all(t.startswith("neurobot-action") for t in slow.threads)


def test_the_pool_has_the_configured_size(fresh_pool: None) -> None:
    pool = workers.worker_pool(3)
    assert pool._max_workers == 3
    assert workers.worker_pool(8) is pool  # fixed by the first call


def test_concurrent_searches_on_the_shared_index_give_the_sequential_results(
    index: ArchiveIndex, fresh_pool: None
) -> None:
    """The pool's threads share one index (one SQLite connection): every concurrent
    search must return exactly what the same search returns alone."""
    queries = [
        "my muscles twitch and my left hand is weak",
        "pins and needles in my feet at night",
        "headache every afternoon",
        "tingling and weakness",
    ]
    expected = {q: index.search(q, k=3) for q in queries}
    assert all(expected.values())

    async def main() -> list[tuple[str, list[Hit]]]:
        async def one(query: str) -> tuple[str, list[Hit]]:
            return query, await workers.off_loop(8, index.search, query, 3)

        return await asyncio.gather(*(one(q) for q in queries * 50))

    results = asyncio.run(main())
    assert len(results) == 200
    assert all(hits == expected[query] for query, hits in results)


def test_one_blas_thread_limits_numpys_blas_and_keeps_its_results() -> None:
    """In a process of its own (the limit lasts for the process): numpy's BLAS runs on
    one thread after the call, and a matrix product gives the same numbers."""
    script = (
        "import json, numpy as np\n"
        "from actions.workers import one_blas_thread\n"
        "rng = np.random.default_rng(7)\n"
        "a, b = rng.random((300, 384)), rng.random((384, 200))\n"
        "before = a @ b\n"
        "counts = one_blas_thread()\n"
        "print(json.dumps({'counts': counts, 'same': bool(np.allclose(before, a @ b))}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT_ROOT,
        env={k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")},
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["counts"] and all(count == 1 for count in result["counts"]), result
    assert result["same"]
