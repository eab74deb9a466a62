"""The action server's worker threads: searches and embeddings run here, off its loop.

rasa_sdk runs every action on one asyncio event loop. An archive search is blocking
work (SQLite full-text queries, the ONNX sentence model): run on the loop, one slow
search would hold every other patient's reply. Actions hand that work to one shared
thread pool of ``NEUROBOT_ACTION_WORKERS`` threads instead, so up to that many searches
run at once and the loop keeps answering meanwhile.

The archive index is shared by the threads: SQLite is built serialized here
(``THREADSAFE=1``, which Python 3.11 reports as ``sqlite3.threadsafety == 3``), the index
only reads, and onnxruntime's ``InferenceSession.run`` is thread-safe.

Inside one search the vector arithmetic runs on one thread (:func:`one_blas_thread`):
numpy's OpenBLAS otherwise starts a thread per core and keeps them spinning between the
small matrix products of a search, which doubled the CPU of a search (16.5 against
8.3 ms) and took the action server from 9.7 to 37.5 ms of CPU a message (README,
"Training time and CPU per message"), cores the Rasa server needs under load.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from threadpoolctl import threadpool_info, threadpool_limits

T = TypeVar("T")

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def one_blas_thread() -> list[int]:
    """Limit the BLAS libraries loaded in this process (numpy's OpenBLAS) to one thread
    each, for the rest of its life; return their thread counts now. Call it once the
    actions are imported (numpy loaded): a library loaded later keeps its default."""
    threadpool_limits(limits=1, user_api="blas")
    return [int(pool["num_threads"]) for pool in threadpool_info() if pool["user_api"] == "blas"]


def worker_pool(workers: int) -> ThreadPoolExecutor:
    """The process's pool, created on first use with ``workers`` threads (at least 1).

    The size is fixed by the first call: the settings do not change while the server
    runs.
    """
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=max(1, workers), thread_name_prefix="neurobot-action"
            )
        return _pool


async def off_loop(workers: int, function: Callable[..., T], *args: object) -> T:
    """Run ``function(*args)`` in the worker pool and wait for it without blocking the
    event loop; its exception, if any, is raised here."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(worker_pool(workers), function, *args)


def shutdown() -> None:
    """Stop the pool after the running work (the server is stopping); a later call of
    :func:`worker_pool` starts a new one."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True)
