"""Nearest neighbours among sentence vectors: exact and graph search, caching, atomic builds."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot import cli
from bot.archive.records import Record
from bot.search import vectors
from bot.search.embedding import DIMENSION, to_blob
from bot.search.index import ArchiveIndex
from bot.search.vectors import (
    ApproximateIndex,
    ExactIndex,
    ann_path,
    build_graph,
    save_dense_index,
)
from tests.conftest import TINY_ARCHIVE, TINY_VOCABULARY, FakeEncoder


def clustered(count: int, seed: int = 7) -> np.ndarray:
    """Normalised vectors around 50 centres, like sentence vectors of related questions."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((50, DIMENSION))
    points = centres[rng.integers(0, 50, count)] + rng.standard_normal((count, DIMENSION))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def test_exact_search_returns_the_best_rowids_with_their_cosines() -> None:
    matrix = np.eye(4, DIMENSION, dtype=np.float32)
    exact = ExactIndex([10, 20, 30, 40], matrix)
    query = np.zeros(DIMENSION, dtype=np.float32)
    query[:3] = [0.6, 0.8, 0.0]
    assert [(r, round(c, 4)) for r, c in exact.search(query, 3)] == [
        (20, 0.8),
        (10, 0.6),
        (30, 0.0),
    ]
    assert len(exact.search(query, 10)) == 4
    assert exact.search(query, 0) == []
    assert ExactIndex([], np.zeros((0, DIMENSION))).search(query, 5) == []


def test_the_graph_finds_what_exact_search_finds() -> None:
    matrix = clustered(3000)
    rowids = np.arange(1, 3001)
    index = ArchiveIndex(":memory:", TINY_VOCABULARY)
    index.db.executemany(
        "INSERT INTO vectors VALUES (?, ?)",
        [(int(r), to_blob(v)) for r, v in zip(rowids, matrix, strict=True)],
    )
    stored = np.frombuffer(b"".join(to_blob(v) for v in matrix), dtype=np.float16)
    exact = ExactIndex(rowids, stored.reshape(3000, -1))
    graph = ApproximateIndex(build_graph(rowids, matrix), index)
    assert len(graph) == 3000
    queries = clustered(50, seed=8)
    found = 0
    for query in queries:
        truth = exact.search(query, 10)
        hits = graph.search(query, 10)
        assert [c for _, c in hits] == sorted((c for _, c in hits), reverse=True)
        # re-scored from the stored vectors: the same cosines as the exact search
        cosines = dict(exact.search(query, 3000))
        assert all(c == pytest.approx(cosines[r], abs=1e-5) for r, c in hits)
        found += len({r for r, _ in truth} & {r for r, _ in hits})
    assert found / (10 * len(queries)) >= 0.95


def small_index(path: Path | str = ":memory:") -> ArchiveIndex:
    index = ArchiveIndex(path, TINY_VOCABULARY, FakeEncoder())  # type: ignore[arg-type]
    index.upsert(TINY_ARCHIVE)
    return index


def test_no_vectors_no_dense_index() -> None:
    plain = ArchiveIndex(":memory:", TINY_VOCABULARY)
    plain.upsert(TINY_ARCHIVE)
    assert plain.dense_index() is None
    plain.encoder = FakeEncoder()  # type: ignore[assignment]
    assert plain.dense_index() is None  # vectors of no model


def test_the_dense_index_is_cached_until_the_vectors_change() -> None:
    index = small_index()
    first = index.dense_index()
    assert isinstance(first, ExactIndex)
    assert index.dense_index() is first
    query = FakeEncoder().encode_query("sudden double vision")
    assert [r for r, _ in first.search(query, 3)] != [3]
    changed = Record(**{**TINY_ARCHIVE[2].__dict__, "title": "sudden double vision"})
    index.upsert([changed])
    second = index.dense_index()
    assert second is not first
    assert second is not None
    assert second.search(query, 1)[0][0] == 3


def test_another_process_writing_the_file_invalidates_the_cache(tmp_path: Path) -> None:
    db = tmp_path / "index.sqlite3"
    reader = small_index(db)
    first = reader.dense_index()
    with small_index(db) as writer:  # the same file, another connection
        writer.upsert(TINY_ARCHIVE[:1])
    assert reader.dense_index() is not first


def test_a_large_archive_is_searched_through_its_saved_graph(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vectors, "EXACT_LIMIT", 2)
    db = tmp_path / "index.sqlite3"
    with small_index(db) as index:
        saved = save_dense_index(index)
        assert saved == ann_path(db, str(index.vectors_id()))
        assert saved is not None
        assert saved.is_file()
    reader = ArchiveIndex(db, TINY_VOCABULARY, FakeEncoder(), existing=True)  # type: ignore[arg-type]
    graph = reader.dense_index()
    assert isinstance(graph, ApproximateIndex)
    query = FakeEncoder().encode_query("pins and needles in both feet")
    rowids, matrix = vectors.read_vectors(reader)
    assert graph.search(query, 3) == pytest.approx(ExactIndex(rowids, matrix).search(query, 3))


def write_archive(path: Path, records: Sequence[Record]) -> Path:
    path.write_text("".join(json.dumps(r.to_dict()) + "\n" for r in records), encoding="utf-8")
    return path


def test_a_rebuild_swaps_sqlite_file_and_graph_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(vectors, "EXACT_LIMIT", 2)
    monkeypatch.setattr(cli, "encoder_for", lambda settings: FakeEncoder())
    monkeypatch.setenv("NEUROBOT_DENSE", "on")
    db = tmp_path / "archive.sqlite3"
    old = write_archive(tmp_path / "old.jsonl", TINY_ARCHIVE)
    new_records = [
        Record(**{**r.__dict__, "id": f"new-{r.id}", "title": f"renamed {r.title}"})
        for r in TINY_ARCHIVE
    ]
    new = write_archive(tmp_path / "new.jsonl", new_records)
    assert cli.main(["archive", "build", "--db", str(db), str(old)]) == 0
    reader = ArchiveIndex(db, TINY_VOCABULARY, FakeEncoder(), existing=True)  # type: ignore[arg-type]
    query = FakeEncoder().encode_query("pins and needles in both feet")
    before = reader.dense_index()
    assert isinstance(before, ApproximateIndex)
    first_hits = before.search(query, 3)

    seen_at_swap: list[bool] = []
    real_replace = os.replace

    def replace(source: Any, target: Any) -> None:
        if Path(target) == db:  # the graph of the new file must exist before it is served
            with ArchiveIndex(source, TINY_VOCABULARY) as building:
                seen_at_swap.append(ann_path(db, str(building.vectors_id())).is_file())
        real_replace(source, target)

    monkeypatch.setattr(cli.os, "replace", replace)
    assert cli.main(["archive", "build", "--db", str(db), str(new)]) == 0
    assert seen_at_swap == [True]

    # the reader opened before the rebuild keeps its file and its graph
    assert reader.dense_index() is before
    assert before.search(query, 3) == first_hits
    assert reader.get("t2") is not None
    assert [h.record.id for h in reader.search("pins and needles in both feet")] == [
        "t2",
        "t3",
        "t1",
    ]
    # a new open sees the new build, through the graph named after its vectors
    fresh = ArchiveIndex(db, TINY_VOCABULARY, FakeEncoder(), existing=True)  # type: ignore[arg-type]
    assert fresh.get("t2") is None
    assert [h.record.id for h in fresh.search("pins and needles in both feet")] == [
        "new-t2",
        "new-t1",
        "new-t3",
    ]
    graphs = sorted(p.name for p in tmp_path.glob("archive.sqlite3.*"))
    assert graphs == [ann_path(db, str(fresh.vectors_id())).name]
    assert isinstance(fresh.dense_index(), ApproximateIndex)
    assert "indexing: 100%" in capsys.readouterr().err


def test_import_shows_progress_with_the_time_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "encoder_for", lambda settings: FakeEncoder())
    db = tmp_path / "archive.sqlite3"
    archive = write_archive(tmp_path / "a.jsonl", TINY_ARCHIVE)
    assert cli.main(["archive", "import", "--db", str(db), str(archive)]) == 0
    err = capsys.readouterr().err
    assert "importing: 100%" in err
    assert "3/3 records" in err
    assert "left" in err
    assert "spent" in err


def test_upsert_reports_every_record_once() -> None:
    index = ArchiveIndex(":memory:", TINY_VOCABULARY, FakeEncoder())  # type: ignore[arg-type]
    done: list[int] = []
    given = {"t1": FakeEncoder().encode_query("given")}
    assert index.upsert(TINY_ARCHIVE, vectors=given, progress=done.append) == 3
    assert sum(done) == 3
    plain = ArchiveIndex(":memory:", TINY_VOCABULARY)
    done.clear()
    plain.upsert(TINY_ARCHIVE, progress=done.append)
    assert done == [1, 1, 1]


def test_an_import_updates_the_saved_graph_instead_of_rebuilding_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(vectors, "EXACT_LIMIT", 2)
    monkeypatch.setattr(vectors, "UPDATE_SHARE", 0.5)
    monkeypatch.setattr(cli, "encoder_for", lambda settings: FakeEncoder())
    db = tmp_path / "archive.sqlite3"
    assert (
        cli.main(
            [
                "archive",
                "build",
                "--db",
                str(db),
                str(write_archive(tmp_path / "a.jsonl", TINY_ARCHIVE)),
            ]
        )
        == 0
    )
    rebuilt: list[int] = []
    real_build = vectors.build_graph
    monkeypatch.setattr(
        vectors, "build_graph", lambda *a, **k: rebuilt.append(1) or real_build(*a, **k)
    )
    changed = Record(**{**TINY_ARCHIVE[2].__dict__, "title": "sudden double vision"})
    update = write_archive(tmp_path / "b.jsonl", [changed])
    assert cli.main(["archive", "import", "--db", str(db), str(update)]) == 0
    assert rebuilt == []  # one vector of three changed: the graph was updated
    reader = ArchiveIndex(db, TINY_VOCABULARY, FakeEncoder(), existing=True)  # type: ignore[arg-type]
    graph = reader.dense_index()
    assert isinstance(graph, ApproximateIndex)
    assert len(graph) == 3
    assert graph.search(FakeEncoder().encode_query("sudden double vision"), 1)[0][0] == 3
    graphs = sorted(p.name for p in tmp_path.glob("archive.sqlite3.*"))
    assert graphs == [ann_path(db, str(reader.vectors_id())).name]
    # most of the archive changed: rebuilt from the vectors
    assert (
        cli.main(
            [
                "archive",
                "import",
                "--db",
                str(db),
                str(write_archive(tmp_path / "c.jsonl", TINY_ARCHIVE)),
            ]
        )
        == 0
    )
    assert rebuilt == [1]


def test_benchmark_vectors_of_generated_records_are_perturbed_copies() -> None:
    from bot.evaluation.benchmark import BenchVectors, synthetic_records

    matrix = clustered(3)
    bench = BenchVectors(TINY_ARCHIVE, matrix)
    made = list(synthetic_records(TINY_ARCHIVE, 20, sources=bench.rows))
    assert np.array_equal(bench["t1"], matrix[0])
    for record in made[3:]:
        vector = bench[record.id]
        source = matrix[bench.rows[record.id]]
        assert float(np.linalg.norm(vector)) == pytest.approx(1.0, abs=1e-6)
        assert 0.8 < float(vector @ source) < 0.97
        assert np.array_equal(vector, bench[record.id])  # the same on every call
    assert not np.array_equal(bench["bench-1"], bench["bench-2"])


def test_loading_a_graph_before_the_encoder_does_not_crash() -> None:
    # usearch's extension loaded before onnxruntime's crashes the import of onnxruntime
    import subprocess
    import sys

    code = "from bot.search.vectors import _usearch_index; _usearch_index(); import onnxruntime"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


class ListStore:
    """A vector store of three vectors in a list: what bot.search.vectors needs, nothing else."""

    path = ":memory:"

    def __init__(self) -> None:
        self.vector_changes: list[int] = []
        unit = np.eye(3, DIMENSION, dtype=np.float32)
        self.rows = [(rowid, to_blob(unit[rowid - 1])) for rowid in (1, 2, 3)]

    def count(self) -> int:
        return len(self.rows)

    def dense_ready(self) -> bool:
        return True

    def vectors_id(self) -> str | None:
        return "three"

    def vector_count(self) -> int:
        return len(self.rows)

    def vectors_of(self, rowids: Sequence[int]) -> list[tuple[int, bytes]]:
        return [row for row in self.rows if row[0] in rowids]

    def vectors_after(self, rowid: int, limit: int) -> list[tuple[int, bytes]]:
        return [row for row in self.rows if row[0] > rowid][:limit]


def test_any_vector_store_can_be_searched_without_an_archive_index() -> None:
    store = ListStore()
    found = vectors.load_dense_index(store, store.vectors_id())
    assert isinstance(found, ExactIndex)
    query = np.zeros(DIMENSION, dtype=np.float32)
    query[1] = 0.6
    query[2] = 0.8
    assert [(rowid, round(cosine, 3)) for rowid, cosine in found.search(query, 2)] == [
        (3, 0.8),
        (2, 0.6),
    ]
    rowids, matrix = vectors.read_vectors(store)
    assert rowids.tolist() == [1, 2, 3] and matrix.shape == (3, DIMENSION)


def test_each_hit_carries_its_cosine_only_when_the_search_had_vectors() -> None:
    """The offer's cosine floor reads ``Hit.cosine``: the cosine of the record's stored
    vector to the message's when the search used vectors, None on words alone."""
    index = small_index()
    message = "pins and needles in both feet"
    hits = index.search(message, k=3)
    assert hits and all(h.cosine is not None for h in hits)
    query = FakeEncoder().encode_query(message)
    exact = index.dense_index()
    assert exact is not None
    cosines = dict(exact.search(query, len(TINY_ARCHIVE)))
    rowids = dict(index.db.execute("SELECT id, rowid FROM records").fetchall())
    for hit in hits:
        assert hit.cosine == pytest.approx(cosines[rowids[hit.record.id]], abs=1e-3)
    assert all(h.cosine is None for h in index.search(message, k=3, dense=False))
