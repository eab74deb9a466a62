"""``bot bench``: index build time, size and search latency at growing archive sizes.

Records are the real ones of an archive file (MedQuAD by default); sizes above its
record count are filled with records recombined from real titles, questions and reply
sentences of different records, under new ids, from a fixed seed. Queries are 30-word
patient-like messages made from real questions and lay filler words, also seeded, so
two runs measure the same work.

With sentence embeddings on (``NEUROBOT_DENSE``, the default), the shipped search
re-ranks with vectors as the bot does. The real records are embedded once (the rate is
printed, so the time to embed a whole archive of any size can be worked out); a
generated record gets the vector of the real record its title comes from, because
embedding a million records takes hours on a small machine, and search latency does not
depend on the values of the vectors.
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

from bot.archive import detect_format, read_archive
from bot.embedding import Encoder, encoder_for, record_text
from bot.index import ArchiveIndex
from bot.records import Record
from bot.settings import PROJECT_ROOT, load_settings
from bot.text import words

DEFAULT_ARCHIVE = PROJECT_ROOT.parent / "shared" / "data" / "medquad" / "medquad.jsonl"
DEFAULT_SIZES = (16_000, 100_000, 1_000_000)
SEED = 20240601
#: Seconds the (slow) baseline may take per size; the rest of its messages are skipped.
BASELINE_BUDGET_S = 90.0
#: Words in every benchmark message.
MESSAGE_WORDS = 30
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
    through :func:`bot.archive.read_archive`.
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


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _with_progress(records: Iterator[Record], size: int) -> Iterator[Record]:
    for number, record in enumerate(records, start=1):
        if number % 100_000 == 0:
            _progress(f"  {size}: {number} records read")
        yield record


class BenchVectors(Mapping[str, Any]):
    """Vectors of the real records by id, and for each generated id its source's vector.

    ``rows`` maps an id to its row of ``matrix``; :func:`synthetic_records` adds the
    generated ids to it as it makes them (the row of the record the title came from).
    """

    def __init__(self, base: Sequence[Record], matrix: Any) -> None:
        self.matrix = matrix
        self.rows = {record.id: row for row, record in enumerate(base)}

    def __getitem__(self, record_id: str) -> Any:
        return self.matrix[self.rows[record_id]]

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
    matrix = encoder.encode([record_text(r.title, r.question, r.reply) for r in base])
    return matrix, len(base) / max(time.perf_counter() - started, 1e-9)


def measure(
    base: Sequence[Record],
    size: int,
    queries: Sequence[str],
    folder: Path,
    encoder: Encoder | None = None,
    matrix: Any = None,
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
    size_mb = path.stat().st_size / 1e6
    _progress(f"  {size}: built in {build:.1f} s, {size_mb:.0f} MB; searching ...")
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
    path.unlink(missing_ok=True)
    return SizeResult(
        records=written,
        baseline_queries=len(baseline),
        shipped_queries=len(shipped),
        build_s=round(build, 1),
        size_mb=round(size_mb, 1),
        baseline_median_ms=round(_percentile(baseline, 0.5), 2),
        baseline_p95_ms=round(_percentile(baseline, 0.95), 2),
        shipped_median_ms=round(_percentile(shipped, 0.5), 2),
        shipped_p95_ms=round(_percentile(shipped, 0.95), 2),
        dense=dense,
    )


def cmd_bench(args: argparse.Namespace) -> int:
    """Print build time, index size and search latency per archive size."""
    sizes = [int(s) for s in str(args.sizes).split(",") if s.strip()]
    _progress(f"reading {args.archive} ...")
    base = load_base(Path(args.archive))
    queries = messages(base, args.queries)
    encoder = encoder_for(load_settings())
    matrix, rate = embed_base(base, encoder) if encoder is not None else (None, 0.0)
    results = []
    with tempfile.TemporaryDirectory(prefix="bot-bench-") as folder:
        for size in sizes:
            _progress(f"size {size} ...")
            results.append(measure(base, size, queries, Path(folder), encoder, matrix))
    if args.json:
        rows = [asdict(r) for r in results]
        print(json.dumps({"embedding_records_per_s": round(rate, 1), "sizes": rows}, indent=2))
        return 0
    print(f"{len(queries)} messages of {MESSAGE_WORDS} words; latency in ms (median / p95)")
    if encoder is not None:
        print(
            f"shipped search re-ranks with sentence vectors; embedding rate {rate:.0f} "
            "records/s (not in 'build s': generated records reuse real records' vectors)"
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
    return 0


def add_command(subparsers: argparse._SubParsersAction) -> None:
    """Register ``bot bench``."""
    bench = subparsers.add_parser("bench", help="index build and search latency by size")
    bench.add_argument("--archive", default=str(DEFAULT_ARCHIVE), help="real records to use")
    bench.add_argument(
        "--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="comma-separated sizes"
    )
    bench.add_argument("--queries", type=int, default=200, help="messages per size")
    bench.add_argument("--json", action="store_true", help="print JSON")
    bench.set_defaults(func=cmd_bench)
