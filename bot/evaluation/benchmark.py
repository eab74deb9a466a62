"""``bot bench``: index build time, size and search latency at growing archive sizes.

Records are the real ones of an archive file (``--archive``, e.g. MedQuAD's
``medquad.jsonl``); sizes above its
record count are filled with records recombined from real titles, questions and reply
sentences of different records, under new ids, from a fixed seed. Queries are 30-word
patient-like messages made from real questions and lay filler words, also seeded, so
two runs measure the same work.

With sentence embeddings on (``NEUROBOT_DENSE``, the default), the shipped search uses
vectors as the bot does: the nearest vectors join FTS5's candidates
(:meth:`bot.search.index.ArchiveIndex.dense_index`: exact up to
:data:`bot.search.vectors.EXACT_LIMIT` records, an HNSW graph above, whose build time,
size and recall against exact search are printed). The real records are embedded once,
as an import does (the rate is printed, so the time to embed a whole archive of any size
can be worked out); a generated record gets the vector of the real record its title
comes from plus a little Gaussian noise, renormalised (cosine about 0.9 to it), because
embedding a million records takes hours on a small machine, and a graph over many
identical vectors would be degenerate.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from bot.archive.formats import detect_format, read_archive
from bot.archive.records import Record
from bot.search import vectors as vector_module
from bot.search.embedding import Encoder, encode_all, encoder_for, record_text
from bot.search.index import DENSE_CANDIDATES, ArchiveIndex
from bot.settings import load_settings
from bot.stats import percentile
from bot.text import words

DEFAULT_SIZES = (16_000, 100_000, 1_000_000)
SEED = 20240601
#: Seconds the (slow) baseline may take per size; the rest of its messages are skipped.
BASELINE_BUDGET_S = 90.0
#: Words in every benchmark message.
MESSAGE_WORDS = 30
#: Norm of the noise added to a generated record's vector (cosine to its source ~0.9).
VECTOR_NOISE = 0.45
#: Messages whose nearest vectors are compared with exact search (recall).
RECALL_QUERIES = 100
#: What patients write around a question; drawn on to fill messages up.
_FILLER_TEXT = """
    hi i have been having this for weeks now and it is getting worse my mum says i
    should see someone but i am scared what could it be please help it started last
    month after work sometimes at night really bad pain feels weird can you tell me if
    this is serious or normal thank you so much my doctor said wait and see
"""
LAY_FILLER = tuple(_FILLER_TEXT.split())
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
#: Sentences of a reply kept for recombination (the first few carry the topic).
_SENTENCES_PER_RECORD = 6


@dataclass(frozen=True)
class SizeResult:
    """Measurements at one archive size."""

    records: int
    build_s: float
    size_mb: float
    baseline_queries: int
    shipped_queries: int
    baseline_median_ms: float
    baseline_p95_ms: float
    shipped_median_ms: float
    shipped_p95_ms: float
    dense: bool = False
    vector_index: str = ""
    graph_build_s: float = 0.0
    graph_mb: float = 0.0
    vector_median_ms: float = 0.0
    vector_p95_ms: float = 0.0
    exact_median_ms: float = 0.0
    exact_p95_ms: float = 0.0
    recall: float = 0.0
    cosine_gap: float = 0.0
    max_rss_mb: float = 0.0


def synthetic_records(
    base: Sequence[Record],
    size: int,
    seed: int = SEED,
    sources: dict[str, int] | None = None,
) -> Iterator[Record]:
    """Yield ``size`` records: the real ones first, then recombined ones.

    A recombined record takes its title and topics from one real record, its question
    from a second, and two or three reply sentences from others; its id is
    ``bench-<n>``. The same base, size and seed give the same records. ``sources``, when
    given, receives for each recombined id the position of the record its title came from.
    """
    yield from base[:size]
    extra = size - len(base)
    if extra <= 0 or not base:
        return
    rng = random.Random(seed)
    sentences = [
        [s for s in _SENTENCE.split(r.reply)[:_SENTENCES_PER_RECORD] if s] or [r.reply]
        for r in base
    ]
    count = len(base)
    for number in range(extra):
        source = rng.randrange(count)
        first = base[source]
        second = base[rng.randrange(count)]
        if sources is not None:
            sources[f"bench-{number + 1}"] = source
        reply = " ".join(
            rng.choice(sentences[rng.randrange(count)]) for _ in range(rng.randint(2, 3))
        )
        yield replace(
            first,
            id=f"bench-{number + 1}",
            question=second.question,
            reply=reply,
            similar_titles=(),
        )


def messages(base: Sequence[Record], count: int, seed: int = SEED) -> list[str]:
    """``count`` patient-like messages of :data:`MESSAGE_WORDS` words each.

    Each message is ten lay filler words, then up to fifteen words of two real
    questions (in their order, so their phrases survive), then filler up to the length.
    """
    rng = random.Random(seed + 1)
    result: list[str] = []
    for _ in range(count):
        picked = [w for r in rng.sample(list(base), min(2, len(base))) for w in words(r.question)]
        if not picked:
            picked = ["headache"]
        filler = [rng.choice(LAY_FILLER) for _ in range(MESSAGE_WORDS)]
        mixed = filler[: MESSAGE_WORDS // 3] + picked[: MESSAGE_WORDS // 2] + filler
        result.append(" ".join(mixed[:MESSAGE_WORDS]))
    return result


def load_base(path: Path) -> list[Record]:
    """Real records for the benchmark; lines the archive reader would refuse are skipped.

    MedQuAD files (``focus``, ``qtype``, ``answer``) are read as the importer maps them
    (a few MedQuAD lines lack a focus: they are skipped here, not fatal); other files go
    through :func:`bot.archive.formats.read_archive`.
    """
    if detect_format(path) != "medquad":
        return read_archive([path])
    records: list[Record] = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if not isinstance(row, dict) or not all(
                row.get(k) for k in ("id", "focus", "question", "answer")
            ):
                continue
            question = str(row["question"]).strip()
            records.append(
                Record(
                    id=str(row["id"]),
                    title=question,
                    question=question,
                    reply=str(row["answer"]).strip(),
                    source=str(row.get("source") or "MedQuAD"),
                    topics=tuple(str(row[k]) for k in ("focus", "qtype") if row.get(k)),
                )
            )
    return records


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _with_progress(records: Iterator[Record], size: int) -> Iterator[Record]:
    for number, record in enumerate(records, start=1):
        if number % 100_000 == 0:
            _progress(f"  {size}: {number} records read")
        yield record


class BenchVectors(Mapping[str, Any]):
    """Vectors of the real records by id; a generated id gets its source's, perturbed.

    ``rows`` maps an id to its row of ``matrix``; :func:`synthetic_records` adds the
    generated ids to it as it makes them (the row of the record the title came from).
    A generated record's vector is that row plus Gaussian noise of norm about
    :data:`VECTOR_NOISE`, renormalised, seeded by the id (the same on every run).
    """

    def __init__(self, base: Sequence[Record], matrix: Any) -> None:
        self.matrix = matrix
        self.rows = {record.id: row for row, record in enumerate(base)}
        self.real = len(base)

    def __getitem__(self, record_id: str) -> Any:
        row = self.matrix[self.rows[record_id]]
        if not record_id.startswith("bench-"):
            return row
        rng = np.random.default_rng(SEED + int(record_id[6:]))
        noisy = row + rng.standard_normal(row.shape[0]) * (VECTOR_NOISE / row.shape[0] ** 0.5)
        return noisy / np.linalg.norm(noisy)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self.rows

    def __iter__(self) -> Iterator[str]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


def embed_base(base: Sequence[Record], encoder: Encoder) -> tuple[Any, float]:
    """Vectors of the real records, and the embedding rate in records per second."""
    _progress(f"embedding {len(base)} real records ...")
    started = time.perf_counter()
    matrix = encode_all(encoder, [record_text(r.title, r.question, r.reply) for r in base])
    return matrix, len(base) / max(time.perf_counter() - started, 1e-9)


def _max_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_vectors(index: ArchiveIndex, query_vectors: Any) -> dict[str, Any]:
    """Latency of the dense index alone, and its recall@k against exact search.

    k is :data:`bot.search.index.DENSE_CANDIDATES`, what the shipped search asks for. With many
    near-equal neighbours recall says little of what is lost, so the mean cosine by which
    the k-th neighbour found falls short of the exact k-th is given too (``cosine_gap``).
    """
    dense = index.dense_index()
    if dense is None:
        return {}
    timings = []
    found = []
    for vector in query_vectors:
        t0 = time.perf_counter()
        found.append(dense.search(vector, DENSE_CANDIDATES))
        timings.append((time.perf_counter() - t0) * 1000)
    rowids, matrix = vector_module.read_vectors(index)
    exact = vector_module.ExactIndex(rowids, matrix)
    exact_timings = []
    hits = 0
    gaps = []
    sample = query_vectors[:RECALL_QUERIES]
    for vector, approximate in zip(sample, found, strict=False):
        t0 = time.perf_counter()
        truth = exact.search(vector, DENSE_CANDIDATES)
        exact_timings.append((time.perf_counter() - t0) * 1000)
        hits += len({r for r, _ in truth} & {r for r, _ in approximate})
        if truth and approximate:  # how much worse the k-th neighbour found is
            gaps.append(truth[-1][1] - approximate[-1][1])
    del matrix, exact
    return {
        "vector_index": "exact" if isinstance(dense, vector_module.ExactIndex) else "hnsw",
        "vector_median_ms": round(percentile(timings, 0.5), 2),
        "vector_p95_ms": round(percentile(timings, 0.95), 2),
        "exact_median_ms": round(percentile(exact_timings, 0.5), 2),
        "exact_p95_ms": round(percentile(exact_timings, 0.95), 2),
        "recall": round(hits / max(1, DENSE_CANDIDATES * len(sample)), 3),
        "cosine_gap": round(sum(gaps) / max(1, len(gaps)), 4),
    }


def measure(
    base: Sequence[Record],
    size: int,
    queries: Sequence[str],
    folder: Path,
    encoder: Encoder | None = None,
    matrix: Any = None,
    query_vectors: Any = None,
) -> SizeResult:
    """Build an index of ``size`` records under ``folder``, time searches, remove it.

    With an encoder and the real records' vectors (``matrix``), the index holds a vector
    for every record (:class:`BenchVectors`) and the shipped search re-ranks with them.
    """
    path = folder / f"bench-{size}.sqlite3"
    vectors = BenchVectors(base, matrix) if encoder is not None else None
    sources = vectors.rows if vectors is not None else None
    started = time.perf_counter()
    with ArchiveIndex(path, encoder=encoder) as index:
        index.db.execute("PRAGMA journal_mode = OFF")
        index.db.execute("PRAGMA cache_size = -262144")
        generated = synthetic_records(base, size, sources=sources)
        written = index.upsert(_with_progress(generated, size), baseline=True, vectors=vectors)
        build = time.perf_counter() - started
        index.db.execute("PRAGMA optimize")
        started = time.perf_counter()
        graph = vector_module.save_dense_index(index) if encoder is not None else None
        graph_build = time.perf_counter() - started if graph is not None else 0.0
    size_mb = path.stat().st_size / 1e6
    graph_mb = graph.stat().st_size / 1e6 if graph is not None else 0.0
    _progress(
        f"  {size}: built in {build:.1f} s, {size_mb:.0f} MB"
        + (f"; vector graph {graph_build:.1f} s, {graph_mb:.0f} MB" if graph else "")
        + "; searching ..."
    )
    with ArchiveIndex(path, encoder=encoder) as index:
        index.search("headache", k=5)
        index.baseline_search("headache", k=10)
        shipped: list[float] = []
        for text in queries:
            t0 = time.perf_counter()
            index.search(text, k=5)
            shipped.append((time.perf_counter() - t0) * 1000)
        baseline: list[float] = []
        for text in queries:
            if sum(baseline) / 1000 > BASELINE_BUDGET_S:
                _progress(f"  {size}: baseline stopped after {len(baseline)} messages (budget)")
                break
            t0 = time.perf_counter()
            index.baseline_search(text, k=10)
            baseline.append((time.perf_counter() - t0) * 1000)
        dense = index.dense_ready()
        extra = measure_vectors(index, query_vectors) if dense and query_vectors is not None else {}
        rss = _max_rss_mb()
    path.unlink(missing_ok=True)
    if graph is not None:
        graph.unlink(missing_ok=True)
    return SizeResult(
        records=written,
        baseline_queries=len(baseline),
        shipped_queries=len(shipped),
        build_s=round(build, 1),
        size_mb=round(size_mb, 1),
        baseline_median_ms=round(percentile(baseline, 0.5), 2),
        baseline_p95_ms=round(percentile(baseline, 0.95), 2),
        shipped_median_ms=round(percentile(shipped, 0.5), 2),
        shipped_p95_ms=round(percentile(shipped, 0.95), 2),
        dense=dense,
        graph_build_s=round(graph_build, 1),
        graph_mb=round(graph_mb, 1),
        max_rss_mb=round(rss),
        **extra,
    )


def cmd_bench(args: argparse.Namespace) -> int:
    """Print build time, index size and search latency per archive size."""
    sizes = [int(s) for s in str(args.sizes).split(",") if s.strip()]
    if not Path(args.archive).is_file():
        print(f"error: --archive {args.archive}: no such file", file=sys.stderr)
        return 2
    _progress(f"reading {args.archive} ...")
    base = load_base(Path(args.archive))
    queries = messages(base, args.queries)
    encoder = encoder_for(load_settings())
    matrix, rate = embed_base(base, encoder) if encoder is not None else (None, 0.0)
    query_vectors = [encoder.encode_query(q) for q in queries] if encoder is not None else None
    results = []
    with tempfile.TemporaryDirectory(prefix="bot-bench-") as folder:
        for size in sizes:
            _progress(f"size {size} ...")
            results.append(
                measure(base, size, queries, Path(folder), encoder, matrix, query_vectors)
            )
    if args.json:
        rows = [asdict(r) for r in results]
        print(json.dumps({"embedding_records_per_s": round(rate, 1), "sizes": rows}, indent=2))
        return 0
    print(f"{len(queries)} messages of {MESSAGE_WORDS} words; latency in ms (median / p95)")
    if encoder is not None:
        print(
            f"shipped search: FTS5 and {DENSE_CANDIDATES} nearest vectors; embedding rate "
            f"{rate:.0f} records/s (not in 'build s': generated records reuse real records' "
            "vectors, with noise)"
        )
    else:
        print("sentence embeddings off: the shipped search ranks on words alone")
    print(f"{'records':>10} {'build s':>8} {'MB':>7} {'baseline':>22} {'shipped':>22}")
    for r in results:
        print(
            f"{r.records:>10} {r.build_s:>8.1f} {r.size_mb:>7.1f} "
            f"{r.baseline_median_ms:>8.1f} /{r.baseline_p95_ms:>7.1f} ({r.baseline_queries:>3}) "
            f"{r.shipped_median_ms:>8.1f} /{r.shipped_p95_ms:>7.1f} ({r.shipped_queries:>3})"
        )
    print("(n) = messages measured; the baseline stops after its time budget")
    if encoder is not None:
        print(
            f"nearest {DENSE_CANDIDATES} vectors alone (ms, median / p95), recall@"
            f"{DENSE_CANDIDATES} against exact search on {RECALL_QUERIES} messages:"
        )
        print(
            f"{'records':>10} {'index':>6} {'graph s':>8} {'graph MB':>9} "
            f"{'search':>16} {'exact':>16} {'recall':>7} {'cos gap':>7} {'max RSS MB':>11}"
        )
        for r in results:
            print(
                f"{r.records:>10} {r.vector_index:>6} {r.graph_build_s:>8.1f} "
                f"{r.graph_mb:>9.1f} {r.vector_median_ms:>7.2f} /{r.vector_p95_ms:>7.2f} "
                f"{r.exact_median_ms:>7.2f} /{r.exact_p95_ms:>7.2f} {r.recall:>7.3f} "
                f"{r.cosine_gap:>7.4f} {r.max_rss_mb:>11.0f}"
            )
    return 0


def add_command(subparsers: argparse._SubParsersAction) -> None:
    """Register ``bot bench``."""
    bench = subparsers.add_parser("bench", help="index build and search latency by size")
    bench.add_argument(
        "--archive",
        required=True,
        help="real records to use: an archive file, e.g. MedQuAD's medquad.jsonl "
        "(github.com/abachaa/MedQuAD as JSON Lines)",
    )
    bench.add_argument(
        "--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="comma-separated sizes"
    )
    bench.add_argument("--queries", type=int, default=200, help="messages per size")
    bench.add_argument("--json", action="store_true", help="print JSON")
    bench.set_defaults(func=cmd_bench)
