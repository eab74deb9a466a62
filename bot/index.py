"""The archive index: records in SQLite with an FTS5 table for search.

The FTS5 table holds stems made by :mod:`bot.text` (the same stemmer the query side
uses), so document frequencies line up with query stems; they are kept in the
``terms`` table, updated on every upsert (``fts5vocab`` would count them by reading
whole posting lists). The question side (title, question, topics) and the lead of the
reply are indexed: patients are matched to similar questions, and to replies that
describe what they feel, while bounded columns keep search fast on large archives.

When an :class:`~bot.embedding.Encoder` is given, every record written also gets a
sentence vector (``vectors`` table), and search re-ranks its word-based candidates by
mixing in the cosine between the patient's message and each candidate.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.embedding import Encoder, from_blobs, record_text, to_blob
from bot.errors import IndexUnavailableError
from bot.records import Record
from bot.search import (
    analyze,
    candidate_concepts,
    concept_weight,
    coverage,
    fts_query,
    keep_rarest,
)
from bot.text import content_stems, words
from bot.vocabulary import Vocabulary, load_vocabulary

log = logging.getLogger(__name__)

SCHEMA_VERSION = "3"
#: Characters of the reply indexed as its lead.
LEAD_CHARS = 1500
#: Candidates FTS5 hands to the coverage scorer (and the re-ranking).
CANDIDATES = 40
#: Share of the final score that comes from the sentence-vector cosine (the rest is the
#: word-based score); tuned on the development queries (README, "Evaluation").
DENSE_WEIGHT = 0.5
#: Records embedded per batch while importing.
EMBED_BATCH = 128
#: The candidate query keeps the rarest concepts whose documents add up to this.
POSTINGS_BUDGET = 5_000
#: Weight of the BM25 rank relative to the best candidate's: a candidate scores its coverage
#: times (1 + BM25_MIX * rank / best rank) / (1 + BM25_MIX), so the top one keeps its coverage.
BM25_MIX = 5.0
#: Document frequencies kept in memory.
DF_CACHE_SIZE = 100_000
#: BM25 column weights: title, question, topics, lead.
COLUMN_WEIGHTS = (2.0, 1.0, 3.0, 1.0)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    data TEXT NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS search USING fts5(
    title, question, topics, lead, tokenize = 'unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE IF NOT EXISTS search_vocab USING fts5vocab(search, 'row');
CREATE TABLE IF NOT EXISTS terms (term TEXT PRIMARY KEY, doc INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS vectors (rowid INTEGER PRIMARY KEY, vector BLOB NOT NULL);
"""

_BASELINE_SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS plain USING fts5(
    title, question, reply, tokenize = 'porter unicode61 remove_diacritics 2'
);
"""


@dataclass(frozen=True)
class Hit:
    """One search result.

    Attributes:
        record: The archived record.
        score: How close it is to the patient's message, in [0, 1]: how much of the
            message it covers, mixed with the sentence-vector cosine when the index has
            vectors (for the baseline, the negated BM25 rank: larger is better, not
            bounded).
        matched: The patient's concepts the record covers.
    """

    record: Record
    score: float
    matched: tuple[str, ...] = ()


def _stemmed(text: str) -> str:
    return " ".join(content_stems(text))


class ArchiveIndex:
    """A SQLite archive index; open an existing one with :meth:`open`."""

    def __init__(
        self,
        path: Path | str,
        vocabulary: Vocabulary | None = None,
        encoder: Encoder | None = None,
    ) -> None:
        """Open or create the index at ``path`` (``":memory:"`` for tests).

        Args:
            path: The SQLite file.
            vocabulary: The lay-to-clinical vocabulary (the team's by default).
            encoder: Sentence embeddings: records written get vectors, and search
                re-ranks with them when every record has one. None: words alone.
        """
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, check_same_thread=False)
        self.db.executescript(_SCHEMA)
        self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        self.db.commit()
        self.vocabulary = vocabulary or load_vocabulary()
        self.encoder = encoder
        self._count: int | None = None
        self._df: dict[str, int] = {}
        self._dense: bool | None = None

    @classmethod
    def open(
        cls,
        path: Path | str,
        vocabulary: Vocabulary | None = None,
        encoder: Encoder | None = None,
    ) -> ArchiveIndex:
        """Open an index that must already exist and hold records.

        Raises:
            IndexUnavailableError: It is missing, unreadable, not ours, or empty.
        """
        file = Path(path)
        if not file.is_file():
            raise IndexUnavailableError(f"archive index {file} does not exist (run `make index`)")
        try:
            db = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
            try:
                tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
                if not {"meta", "records", "search"} <= tables:
                    raise IndexUnavailableError(f"{file} is not an archive index")
                row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
                count = db.execute("SELECT count(*) FROM records").fetchone()[0]
            finally:
                db.close()
        except sqlite3.Error as exc:
            raise IndexUnavailableError(f"archive index {file} is unreadable: {exc}") from exc
        if row is None or row[0] != SCHEMA_VERSION:
            raise IndexUnavailableError(f"{file} is not an archive index of this version")
        if count == 0:
            raise IndexUnavailableError(f"archive index {file} holds no records")
        return cls(file, vocabulary, encoder)

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()

    def __enter__(self) -> ArchiveIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def count(self) -> int:
        """Number of records."""
        return int(self.db.execute("SELECT count(*) FROM records").fetchone()[0])

    def upsert(
        self,
        records: Iterable[Record],
        *,
        baseline: bool = False,
        vectors: Mapping[str, Any] | None = None,
    ) -> int:
        """Insert records, replacing those whose id exists, in one transaction.

        With an encoder, each record written gets a sentence vector (records that lack
        one, from an import without the encoder, get theirs too; vectors of another
        model are all replaced), and the index is marked as holding vectors of that
        model. Without one, the records written lose
        their vectors and the index is no longer marked, so search does not mix records
        with and without vectors.

        Args:
            records: The records.
            baseline: Also fill the plain BM25 table used by evaluations and benchmarks.
            vectors: Precomputed vectors by record id, used instead of the encoder for
                the records they cover (the benchmark gives generated records the
                vector of the real record they were made from).

        Returns:
            How many records were written.
        """
        if baseline:
            self.db.executescript(_BASELINE_SCHEMA)
        self._count = None
        self._df = {}
        self._dense = None
        written = 0
        delta: Counter[str] = Counter()
        pending: list[tuple[int, str]] = []
        given: list[tuple[int, bytes]] = []
        with self.db:
            if self.encoder is not None:
                held = self.db.execute("SELECT value FROM meta WHERE key = 'embedding'").fetchone()
                if held and held[0] != self.encoder.model_id:  # never mix two models' vectors
                    self.db.execute("DELETE FROM vectors")
            for record in records:
                row = self.db.execute("SELECT rowid FROM records WHERE id = ?", (record.id,))
                found = row.fetchone()
                if found:
                    rowid = found[0]
                    self.db.execute(
                        "UPDATE records SET data = ? WHERE rowid = ?", (record.to_json(), rowid)
                    )
                    old = self.db.execute(
                        "SELECT title, question, topics, lead FROM search WHERE rowid = ?",
                        (rowid,),
                    ).fetchone()
                    if old:
                        delta.subtract(set(" ".join(old).split()))
                    self.db.execute("DELETE FROM search WHERE rowid = ?", (rowid,))
                else:
                    cursor = self.db.execute(
                        "INSERT INTO records (id, data) VALUES (?, ?)",
                        (record.id, record.to_json()),
                    )
                    rowid = cursor.lastrowid
                columns = (
                    _stemmed(record.title),
                    _stemmed(record.question),
                    _stemmed(" ".join(record.topics)),
                    _stemmed(record.reply[:LEAD_CHARS]),
                )
                delta.update(set(" ".join(columns).split()))
                self.db.execute(
                    "INSERT INTO search (rowid, title, question, topics, lead) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (rowid, *columns),
                )
                if baseline:
                    self.db.execute("DELETE FROM plain WHERE rowid = ?", (rowid,))
                    self.db.execute(
                        "INSERT INTO plain (rowid, title, question, reply) VALUES (?, ?, ?, ?)",
                        (rowid, record.title, record.question, record.reply),
                    )
                if vectors is not None and record.id in vectors:
                    given.append((rowid, to_blob(vectors[record.id])))
                elif self.encoder is not None:
                    pending.append(
                        (rowid, record_text(record.title, record.question, record.reply))
                    )
                    if len(pending) >= EMBED_BATCH:
                        self._write_vectors(pending)
                        pending = []
                else:
                    self.db.execute("DELETE FROM vectors WHERE rowid = ?", (rowid,))
                written += 1
            self._write_vectors(pending)
            self.db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", given)
            self._mark_vectors()
            # document frequencies kept in a table: fts5vocab counts them by reading
            # whole posting lists, too slow for common words on large archives
            self.db.executemany(
                "INSERT INTO terms (term, doc) VALUES (?, ?) "
                "ON CONFLICT (term) DO UPDATE SET doc = doc + excluded.doc",
                [(term, count) for term, count in delta.items() if count],
            )
        return written

    def _write_vectors(self, pending: Sequence[tuple[int, str]]) -> None:
        if not pending or self.encoder is None:
            return
        matrix = self.encoder.encode([text for _, text in pending])
        self.db.executemany(
            "INSERT OR REPLACE INTO vectors (rowid, vector) VALUES (?, ?)",
            [(rowid, to_blob(row)) for (rowid, _), row in zip(pending, matrix, strict=True)],
        )

    def _mark_vectors(self) -> None:
        """Record which model's vectors the index holds, once every record has one."""
        if self.encoder is not None:
            missing = self.db.execute(
                "SELECT rowid, data FROM records WHERE rowid NOT IN (SELECT rowid FROM vectors)"
            ).fetchall()
            for start in range(0, len(missing), EMBED_BATCH):
                batch = []
                for rowid, data in missing[start : start + EMBED_BATCH]:
                    record = Record.from_dict(json.loads(data))
                    batch.append((rowid, record_text(record.title, record.question, record.reply)))
                self._write_vectors(batch)
            self.db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('embedding', ?)", (self.encoder.model_id,)
            )
        elif self.db.execute(
            "SELECT 1 FROM records WHERE rowid NOT IN (SELECT rowid FROM vectors) LIMIT 1"
        ).fetchone():
            self.db.execute("DELETE FROM meta WHERE key = 'embedding'")

    def dense_ready(self) -> bool:
        """Whether search re-ranks with vectors: an encoder, and vectors of its model."""
        if self.encoder is None:
            return False
        if self._dense is None:
            row = self.db.execute("SELECT value FROM meta WHERE key = 'embedding'").fetchone()
            self._dense = bool(row) and row[0] == self.encoder.model_id
        return self._dense

    def get(self, record_id: str) -> Record | None:
        """Return the record with this id, or None."""
        row = self.db.execute("SELECT data FROM records WHERE id = ?", (record_id,)).fetchone()
        return Record.from_dict(json.loads(row[0])) if row else None

    def _records(self, rowids: Sequence[int]) -> dict[int, Record]:
        marks = ",".join("?" * len(rowids))
        rows = self.db.execute(
            f"SELECT rowid, data FROM records WHERE rowid IN ({marks})", list(rowids)
        )
        return {rowid: Record.from_dict(json.loads(data)) for rowid, data in rows}

    def _total(self) -> int:
        if self._count is None:
            self._count = self.count()
        return self._count

    def _doc_freq(self, stems: set[str]) -> dict[str, int]:
        """Document frequencies of the stems the archive knows, cached until an upsert."""
        cache = self._df
        result: dict[str, int] = {}
        missing: list[str] = []
        for stem in stems:
            known = cache.get(stem)
            if known is None:
                missing.append(stem)
            else:
                result[stem] = known
        if missing:
            marks = ",".join("?" * len(missing))
            rows = self.db.execute(f"SELECT term, doc FROM terms WHERE term IN ({marks})", missing)
            found = {term: int(doc) for term, doc in rows}
            if len(cache) > DF_CACHE_SIZE:
                cache = self._df = {}
            for stem in missing:
                result[stem] = cache[stem] = found.get(stem, 0)
        return {stem: count for stem, count in result.items() if count > 0}

    def search(
        self, text: str, k: int = 5, boost_terms: Iterable[str] = (), *, dense: bool = True
    ) -> list[Hit]:
        """Find the archived questions most similar to a patient's message.

        Candidates come from FTS5 (BM25 with column weights) over the patient's rarest
        concepts: concepts are added, rarest first, while the documents they occur in
        stay within :data:`POSTINGS_BUDGET`, so a message of common words costs the same
        on a million records as on a thousand. Every candidate is then scored on all of
        the patient's concepts (:func:`bot.search.coverage`) mixed with its BM25 rank
        and, when the index holds vectors of the encoder's model, with the cosine of
        its sentence vector to the message's (:data:`DENSE_WEIGHT`).

        Args:
            text: The patient's words; any characters are safe.
            k: How many hits to return at most.
            boost_terms: Entities the NLU recognised (symptom, body part, side).
            dense: Re-rank with sentence vectors when the index can (False: words alone,
                for evaluations).

        Returns:
            Hits, best first, each scored in [0, 1]; empty when nothing matches at all.
        """
        concepts = analyze(text, self.vocabulary, boost_terms)
        if not concepts or k <= 0:
            return []
        total = self._total()
        stems = {s for c in concepts for s in c.stems}
        doc_freq = self._doc_freq(stems)
        weights = [concept_weight(c, doc_freq, total) for c in concepts]
        concepts, weights = keep_rarest(concepts, weights)
        chosen = candidate_concepts(concepts, doc_freq, POSTINGS_BUDGET)
        if not chosen:
            return []
        rows = self.db.execute(
            "SELECT rowid, bm25(search, ?, ?, ?, ?) AS rank FROM search "
            "WHERE search MATCH ? ORDER BY rank LIMIT ?",
            (*COLUMN_WEIGHTS, fts_query(chosen), max(CANDIDATES, k)),
        ).fetchall()
        if not rows:
            return []
        rowids = [rowid for rowid, _ in rows]
        best_rank = min(rank for _, rank in rows)
        ranks = dict(rows)
        marks = ",".join("?" * len(rowids))
        texts = self.db.execute(
            f"SELECT rowid, title, question, topics, lead FROM search WHERE rowid IN ({marks})",
            rowids,
        ).fetchall()
        scored: list[tuple[float, int, int, tuple[str, ...]]] = []
        order = {rowid: position for position, rowid in enumerate(rowids)}
        for rowid, title, question, topics, lead in texts:
            head = set(f"{title} {question} {topics}".split())
            score, matched = coverage(concepts, weights, head, set(lead.split()))
            relative = ranks[rowid] / best_rank if best_rank < 0 else 0.0
            score *= (1.0 + BM25_MIX * relative) / (1.0 + BM25_MIX)
            scored.append((score, order[rowid], rowid, matched))
        if dense and self.dense_ready():
            try:
                scored = self._rerank(text, scored)
            except Exception:  # a failing model must not take search down with it
                log.exception("re-ranking with sentence vectors failed; ranking on words")
        scored.sort(key=lambda item: (-item[0], item[1]))
        best = scored[:k]
        records = self._records([rowid for _, _, rowid, _ in best])
        return [Hit(records[rowid], round(score, 4), matched) for score, _, rowid, matched in best]

    def _rerank(
        self, text: str, scored: list[tuple[float, int, int, tuple[str, ...]]]
    ) -> list[tuple[float, int, int, tuple[str, ...]]]:
        """Mix each candidate's word-based score with its cosine to the message."""
        assert self.encoder is not None
        rowids = [rowid for _, _, rowid, _ in scored]
        marks = ",".join("?" * len(rowids))
        rows = dict(
            self.db.execute(
                f"SELECT rowid, vector FROM vectors WHERE rowid IN ({marks})", rowids
            ).fetchall()
        )
        found = [rowid for rowid in rowids if rowid in rows]
        cosines = dict(
            zip(
                found,
                (from_blobs([rows[r] for r in found]) @ self.encoder.encode_query(text)).tolist(),
                strict=True,
            )
        )
        return [
            (
                (1 - DENSE_WEIGHT) * score + DENSE_WEIGHT * max(0.0, cosines.get(rowid, 0.0)),
                position,
                rowid,
                matched,
            )
            for score, position, rowid, matched in scored
        ]

    def baseline_search(self, text: str, k: int = 10) -> list[Hit]:
        """Plain BM25 over title, question and reply (FTS5 porter, OR of the words).

        No vocabulary, no stop words beyond FTS5's own, no re-ranking: the yardstick
        that evaluations and benchmarks compare the shipped search against. Needs the
        index to have been filled with ``baseline=True``.
        """
        terms = list(dict.fromkeys(words(text)))
        if not terms:
            return []
        query = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
        rows = self.db.execute(
            "SELECT rowid, bm25(plain) AS rank FROM plain WHERE plain MATCH ? "
            "ORDER BY rank LIMIT ?",
            (query, k),
        ).fetchall()
        records = self._records([rowid for rowid, _ in rows]) if rows else {}
        return [Hit(records[rowid], -rank) for rowid, rank in rows]
