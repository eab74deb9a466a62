"""Dense retrieval variants side by side: why the shipped search re-ranks, not fuses.

Not part of the product: the evidence behind the choice in bot/search/index.py (README,
"Evaluation"). ``make dense-experiment`` runs::

    python scripts/dense_experiment.py --archive ../shared/data/medquad/neuro.jsonl \
        --queries tests/eval/neuro_lay_queries.jsonl

For every split of the query file it prints hit@1 / hit@3 / hit@10 / MRR@10 of: the
shipped search, the shipped search on words alone, plain BM25, the model alone (cosine
over every record), and reciprocal rank fusion of the words-only and dense rankings;
then the time to embed the archive and one query, and the memory the model takes.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.archive.formats import read_archive  # noqa: E402
from bot.evaluation.retrieval import Query, load_queries, metrics  # noqa: E402
from bot.search.embedding import from_blobs, load_encoder  # noqa: E402
from bot.search.index import ArchiveIndex  # noqa: E402

#: Reciprocal rank fusion constant.
RRF_K = 60


def rrf(rankings: Sequence[Sequence[str]]) -> list[str]:
    """Reciprocal rank fusion of several rankings of record ids."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for position, record_id in enumerate(ranking):
            scores[record_id] = scores.get(record_id, 0.0) + 1.0 / (RRF_K + position + 1)
    return sorted(scores, key=lambda record_id: -scores[record_id])


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=Path, required=True, help="JSON Lines archive")
    parser.add_argument("--queries", type=Path, required=True, help="labelled queries")
    args = parser.parse_args(argv)

    records = list(read_archive([args.archive]))
    queries = load_queries(args.queries, args.archive)
    before = rss_mib()
    encoder = load_encoder()
    if encoder is None:
        print("the embedding model is not installed: run `make install`", file=sys.stderr)
        return 1
    loaded = rss_mib()
    index = ArchiveIndex(":memory:", encoder=encoder)
    started = time.perf_counter()
    index.upsert(records, baseline=True)
    build_s = time.perf_counter() - started
    rows = index.db.execute(
        "SELECT records.id, vectors.vector FROM vectors JOIN records USING (rowid)"
    ).fetchall()
    ids = [record_id for record_id, _ in rows]
    vectors = from_blobs([blob for _, blob in rows])

    query_ms: list[float] = []
    runs: dict[str, list[list[str]]] = {
        name: [] for name in ("shipped", "words only", "bm25", "dense only", "rrf")
    }
    for query in queries:
        started = time.perf_counter()
        vector = encoder.encode_query(query.text)
        query_ms.append((time.perf_counter() - started) * 1000)
        dense = [ids[i] for i in (-(vectors @ vector)).argsort()[:100]]
        words = [h.record.id for h in index.search(query.text, k=40, dense=False)]
        runs["shipped"].append([h.record.id for h in index.search(query.text, k=10)])
        runs["words only"].append(words)
        runs["bm25"].append([h.record.id for h in index.baseline_search(query.text, k=10)])
        runs["dense only"].append(dense)
        runs["rrf"].append(rrf([words, dense]))

    splits: list[str | None] = [*sorted({q.split for q in queries if q.split})] or [None]
    for split in splits:
        chosen = [i for i, q in enumerate(queries) if q.split == split]
        print(f"\n{split or 'all'} ({len(chosen)} queries)   hit@1  hit@3  hit@10  MRR@10")
        for name, ranked in runs.items():
            m = metrics([_rank(ranked[i], queries[i]) for i in chosen])
            print(f"  {name:<10} {m.hit1:6.3f} {m.hit3:6.3f} {m.hit10:7.3f} {m.mrr10:7.3f}")
    query_ms.sort()
    print(
        f"\nindex with vectors of {len(records)} records: {build_s:.1f} s "
        f"({len(records) / build_s:.0f} records/s); one message embedded: median "
        f"{query_ms[len(query_ms) // 2]:.1f} ms; memory: model loaded "
        f"+{loaded - before:.0f} MiB, peak while embedding +{rss_mib() - before:.0f} MiB"
    )
    return 0


def _rank(ranked: Sequence[str], query: Query) -> int | None:
    """The 1-based rank of the first relevant record among the first ten, or None."""
    return next((n for n, rid in enumerate(ranked[:10], 1) if rid in query.relevant), None)


if __name__ == "__main__":
    raise SystemExit(main())
