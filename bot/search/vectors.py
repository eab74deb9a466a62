"""Nearest neighbours among an archive's sentence vectors: a candidate source for search.

:func:`load_dense_index` gives, for an :class:`~bot.search.index.ArchiveIndex` whose records all
have vectors of the encoder's model (``dense_ready()``), a :class:`VectorIndex` whose
:meth:`~VectorIndex.search` returns the records whose vectors are closest to a query
vector, as ``(records.rowid, cosine)`` pairs, best first. Vectors are normalised, so
the cosine is a dot product.

Archives of up to :data:`EXACT_LIMIT` records are searched exactly (one matrix product
over every vector, a few milliseconds). Larger ones get an HNSW graph from ``usearch``
(Apache-2.0; wheels for every platform, no build step, it needs only numpy, so it
installs beside Rasa 3.6's numpy 1.23): vectors quantised to int8 in the graph, the
candidates it finds re-scored with the stored float16 vectors, so the cosines returned
are the same as the exact search's. Measured against hnswlib, faiss and voyager at 100k
vectors on 2 cores (README, "Benchmark"), it built fastest at the same recall, and it
can *view* a saved graph (memory-mapped): every action-server worker shares one copy.

A graph is saved beside the SQLite file as ``<db>.<vectors_id>.ann``: the ``vectors_id``
is written to the file's ``meta`` table by every upsert that changes its vectors, so a
graph can only be loaded by the SQLite file whose vectors it holds. ``bot archive build``
and ``bot archive import`` save it (:func:`save_dense_index`) before the new SQLite file
is moved into place; an index opened without its file builds the graph itself (and
saves it when it can). The archive index (:class:`VectorStore`, what this module reads
from it) caches its :class:`VectorIndex` and loads it again when its ``vectors_id`` changes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from bot.search.embedding import DIMENSION

log = logging.getLogger(__name__)

#: Rows read from the ``vectors`` table per query while loading.
_READ_BATCH = 50_000
#: Largest archive searched exactly; above it, an HNSW graph (measured: README, "Benchmark").
EXACT_LIMIT = 100_000
#: HNSW parameters: neighbours per node, breadth while adding and while searching.
CONNECTIVITY = 16
EXPANSION_ADD = 128
EXPANSION_SEARCH = 200
#: The graph returns this many candidates at least; they are re-scored exactly.
OVERSAMPLE = 64
#: Threads that build a graph (the machines this runs on have 2 cores or more).
BUILD_THREADS = max(1, min(os.cpu_count() or 1, 8))
#: Largest share of an archive's vectors an import may change for its graph to be updated
#: in place of rebuilt.
UPDATE_SHARE = 0.2
#: Suffix of a saved graph: ``<db>.<vectors_id>`` + this.
ANN_SUFFIX = ".ann"


def _usearch_index() -> Any:
    """usearch's ``Index`` class, imported after onnxruntime.

    Loading usearch's extension before onnxruntime's makes the later import of
    onnxruntime crash the process (a segmentation fault, usearch 2.26 with onnxruntime
    1.23); the other order works. The encoder may be loaded after a graph, so
    onnxruntime is loaded here first when it is installed.
    """
    with contextlib.suppress(ImportError):  # no encoder installed: nothing to crash
        import onnxruntime  # noqa: F401
    from usearch.index import Index

    return Index


class VectorStore(Protocol):
    """What a vector index reads from the archive index that holds the vectors.

    :class:`bot.search.index.ArchiveIndex` is one; it owns the SQLite file and its ``vectors``
    table (rowid, float16 blob) and caches its own :class:`VectorIndex`.
    """

    #: The SQLite file (``":memory:"`` for none): a saved graph is named after it.
    path: str
    #: Rowids whose vectors the last upsert wrote (a saved graph is updated with them).
    vector_changes: list[int]

    def count(self) -> int:
        """Number of records."""
        ...

    def dense_ready(self) -> bool:
        """Whether every record has a vector of the encoder's model."""
        ...

    def vectors_id(self) -> str | None:
        """The id of the vectors held now (a new one after every upsert)."""
        ...

    def vector_count(self) -> int:
        """Number of stored vectors."""
        ...

    def vectors_of(self, rowids: Sequence[int]) -> list[tuple[int, bytes]]:
        """The stored vectors of these records: (rowid, float16 blob) pairs."""
        ...

    def vectors_after(self, rowid: int, limit: int) -> list[tuple[int, bytes]]:
        """Up to ``limit`` stored vectors of rowids above ``rowid``, in rowid order."""
        ...


class VectorIndex:
    """Nearest neighbours by cosine over a fixed set of normalised vectors (an interface)."""

    def search(self, query: Any, k: int) -> list[tuple[int, float]]:
        """The ``k`` records closest to ``query``.

        Args:
            query: A normalised vector of the model's dimension.
            k: How many neighbours at most.

        Returns:
            ``(records.rowid, cosine)`` pairs, best first.
        """
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError


class ExactIndex(VectorIndex):
    """Every vector scored: exact, and fast enough for small archives."""

    def __init__(self, rowids: Any, matrix: Any) -> None:
        """Hold ``matrix`` (one float32 row per record) and the rowid of each row."""
        self.rowids = np.asarray(rowids, dtype=np.int64)
        self.matrix = np.ascontiguousarray(matrix, dtype=np.float32)

    def __len__(self) -> int:
        return len(self.rowids)

    def search(self, query: Any, k: int) -> list[tuple[int, float]]:
        """The ``k`` records closest to ``query``, exactly (see :class:`VectorIndex`)."""
        count = len(self.rowids)
        if k <= 0 or count == 0:
            return []
        scores = self.matrix @ np.asarray(query, dtype=np.float32).reshape(-1)
        top = np.argpartition(-scores, k - 1)[:k] if k < count else np.arange(count)
        top = top[np.lexsort((self.rowids[top], -scores[top]))]
        return [(int(self.rowids[i]), float(scores[i])) for i in top]


class ApproximateIndex(VectorIndex):
    """An HNSW graph over int8-quantised vectors; candidates re-scored from SQLite."""

    def __init__(self, graph: Any, store: VectorStore) -> None:
        """Search ``graph`` (a ``usearch`` index keyed by rowid) over ``store``'s vectors."""
        self.graph = graph
        self._store = store

    def __len__(self) -> int:
        return len(self.graph)

    def search(self, query: Any, k: int) -> list[tuple[int, float]]:
        """The ``k`` records the graph finds closest, with exact cosines, best first."""
        if k <= 0 or len(self.graph) == 0:
            return []
        vector = np.asarray(query, dtype=np.float32).reshape(-1)
        found = self.graph.search(vector, max(k, OVERSAMPLE), threads=1)
        keys = [int(key) for key in found.keys]
        if not keys:
            return []
        rows = self._store.vectors_of(keys)
        if not rows:
            return []
        rowids = np.array([r for r, _ in rows], dtype=np.int64)
        blob = b"".join(v for _, v in rows)
        matrix = np.frombuffer(blob, dtype=np.float16).reshape(len(rows), -1).astype(np.float32)
        return ExactIndex(rowids, matrix).search(vector, k)


def build_graph(
    rowids: Any, matrix: Any, progress: Callable[[int, int], None] | None = None
) -> Any:
    """An HNSW graph (``usearch``, cosine, int8) of ``matrix``'s rows keyed by ``rowids``.

    Args:
        rowids: One key per row.
        matrix: Normalised float32 rows.
        progress: Called with (rows added, rows in all) now and then.
    """
    Index = _usearch_index()

    graph = Index(
        ndim=matrix.shape[1],
        metric="cos",
        dtype="i8",
        connectivity=CONNECTIVITY,
        expansion_add=EXPANSION_ADD,
        expansion_search=EXPANSION_SEARCH,
    )
    step = 50_000
    for start in range(0, len(rowids), step):
        graph.add(
            np.asarray(rowids[start : start + step], dtype=np.uint64),
            matrix[start : start + step],
            threads=BUILD_THREADS,
        )
        if progress is not None:
            progress(min(start + step, len(rowids)), len(rowids))
    return graph


def ann_path(db: Path | str, vectors: str) -> Path:
    """Where the graph of the vectors ``vectors`` of the SQLite file ``db`` is saved."""
    file = Path(db)
    return file.with_name(f"{file.name}.{vectors}{ANN_SUFFIX}")


def _save_graph(graph: Any, target: Path) -> None:
    """Write ``graph`` to ``target`` atomically (a unique partial file, then a rename)."""
    partial = target.with_name(f"{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.partial")
    try:
        graph.save(str(partial))
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def save_dense_index(
    index: VectorStore,
    db: Path | str | None = None,
    progress: Callable[[int, int], None] | None = None,
    previous: str | None = None,
) -> Path | None:
    """Build and save the graph of ``index``'s vectors when the archive needs one.

    Args:
        index: The index (its vectors, and its ``vectors_id``).
        db: The path the SQLite file will be served from (``bot archive build`` builds
            beside it and renames): the graph is named after it. Default: the index's.
        progress: Called with (rows added, rows in all) while the graph is built.
        previous: The ``vectors_id`` before the last upsert: when its graph is saved and
            the upsert changed few vectors (``index.vector_changes``, at most
            :data:`UPDATE_SHARE` of them), that graph is updated instead of rebuilt.

    Returns:
        The graph's file, or None when the archive is searched exactly (or has no vectors).
    """
    current = index.vectors_id()
    count = index.count()
    if current is None or not index.dense_ready() or count <= EXACT_LIMIT:
        return None
    target = ann_path(db or index.path, current)
    if target.is_file():
        return target
    graph = _updated(index, ann_path(db or index.path, previous) if previous else None)
    if graph is None:
        rowids, matrix = read_vectors(index)
        graph = build_graph(rowids, matrix, progress)
    _save_graph(graph, target)
    return target


def _updated(index: VectorStore, old: Path | None) -> Any:
    """The graph saved at ``old`` with the vectors of the last upsert, or None."""
    changed = sorted(set(index.vector_changes))
    if old is None or not old.is_file() or len(changed) > UPDATE_SHARE * index.count():
        return None
    Index = _usearch_index()

    graph = Index.restore(
        str(old),
        view=False,
        connectivity=CONNECTIVITY,
        expansion_add=EXPANSION_ADD,
        expansion_search=EXPANSION_SEARCH,
    )
    if graph is None:
        return None
    for start in range(0, len(changed), _READ_BATCH):
        rows = index.vectors_of(changed[start : start + _READ_BATCH])
        keys = np.array([r for r, _ in rows], dtype=np.uint64)
        graph.remove(keys)
        matrix = np.frombuffer(b"".join(v for _, v in rows), dtype=np.float16)
        graph.add(keys, matrix.reshape(len(rows), -1).astype(np.float32), threads=BUILD_THREADS)
    return graph if len(graph) == index.vector_count() else None


def remove_stale(db: Path | str, keep: str | None) -> list[Path]:
    """Delete the saved graphs of ``db`` other than the one of vectors ``keep``.

    A reader that has one of them open keeps it (a memory map outlives the name).
    """
    file = Path(db)
    removed = []
    for other in file.parent.glob(f"{file.name}.*{ANN_SUFFIX}"):
        if keep is None or other.name != ann_path(file, keep).name:
            other.unlink(missing_ok=True)
            removed.append(other)
    return removed


def load_dense_index(index: VectorStore, current: str | None) -> VectorIndex:
    """The nearest-neighbour index over ``index``'s vectors (whose id is ``current``).

    Exact up to :data:`EXACT_LIMIT` records; above, the HNSW graph saved for ``current``,
    or one built now (and saved beside the SQLite file when it can be).
    """
    if index.count() <= EXACT_LIMIT or index.path == ":memory:" or current is None:
        rowids, matrix = read_vectors(index)
        return ExactIndex(rowids, matrix)
    Index = _usearch_index()

    target = ann_path(index.path, current)
    if target.is_file():
        graph = Index.restore(
            str(target), view=True, connectivity=CONNECTIVITY, expansion_search=EXPANSION_SEARCH
        )
        if graph is not None:
            return ApproximateIndex(graph, index)
        log.warning("the vector graph %s is unreadable; building it again", target.name)
    started = time.perf_counter()
    rowids, matrix = read_vectors(index)
    graph = build_graph(rowids, matrix)
    log.warning(
        "built the vector graph of %d records in %.0f s (run `bot archive build` to keep it)",
        len(rowids),
        time.perf_counter() - started,
    )
    try:
        _save_graph(graph, target)
    except OSError as exc:  # a read-only folder: the graph stays in memory only
        log.warning("cannot save the vector graph beside the index: %s", exc)
    return ApproximateIndex(graph, index)


def read_vectors(index: VectorStore) -> tuple[Any, Any]:
    """All rowids (ascending) and their vectors (float32 rows) from ``index``'s table."""
    rowids: list[int] = []
    parts: list[Any] = []
    last = -1
    while True:
        rows = index.vectors_after(last, _READ_BATCH)
        if not rows:
            break
        rowids.extend(r for r, _ in rows)
        blob = b"".join(v for _, v in rows)
        parts.append(np.frombuffer(blob, dtype=np.float16).reshape(len(rows), -1))
        last = rows[-1][0]
    if not parts:
        return np.zeros(0, dtype=np.int64), np.zeros((0, DIMENSION), dtype=np.float32)
    return np.asarray(rowids, dtype=np.int64), np.vstack(parts).astype(np.float32)


def new_vectors_id() -> str:
    """A fresh id for a set of vectors."""
    return uuid.uuid4().hex
