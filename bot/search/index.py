"""The archive index: records in SQLite with an FTS5 table for search.

The FTS5 table holds stems made by :mod:`bot.text` (the same stemmer the query side
uses), so document frequencies line up with query stems; they are kept in the
``terms`` table, updated on every upsert (``fts5vocab`` would count them by reading
whole posting lists). The question side (title, question, topics) and the lead of the
reply are indexed: patients are matched to similar questions, and to replies that
describe what they feel, while bounded columns keep search fast on large archives.

When an :class:`~bot.search.embedding.Encoder` is given, every record written also gets a
sentence vector (``vectors`` table), and search adds the records whose vectors are
nearest the patient's message to FTS5's candidates. The union is ranked and decided on
by the match model (:mod:`bot.search.match`).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.archive.records import Record
from bot.errors import IndexUnavailableError
from bot.search import match
from bot.search.embedding import (
    POOL_CHUNK,
    POOL_WORKERS,
    EmbeddingPool,
    Encoder,
    from_blobs,
    record_text,
    to_blob,
)
from bot.search.query import (
    analyze,
    candidate_concepts,
    concept_weight,
    coverage,
    fts_query,
    keep_rarest,
    trait_conflicts,
    traits,
)
from bot.search.vectors import VectorIndex, load_dense_index, new_vectors_id
from bot.search.vocabulary import Vocabulary, load_vocabulary
from bot.text import content_stems, words

log = logging.getLogger(__name__)

SCHEMA_VERSION = "3"
#: Characters of the reply indexed as its lead.
LEAD_CHARS = 1500
#: Candidates FTS5 hands to the coverage scorer and the match model.
CANDIDATES = 40
#: Share of :attr:`Hit.score` (what hits are ordered by) that comes from the
#: sentence-vector cosine (the rest is the word-based score); tuned on the development
#: queries (README, "Evaluation").
DENSE_WEIGHT = match.DENSE_WEIGHT
#: Nearest-vector candidates joined to FTS5's (their union is scored).
DENSE_CANDIDATES = 20
#: Records sampled for the archive's median question length (a signal of the model).
ARCHIVE_SAMPLE = 1000
#: Records embedded per model call in this process while importing (a progress step).
EMBED_BATCH = 32
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
            bounded). Hits are ordered by it.
        matched: The patient's concepts the record covers.
        probability: Estimated probability that the archived question asks the same as
            the patient's (:mod:`bot.search.match`; 0 for the baseline).
        answer: Whether the bot would show it: the best hit as the answer when its
            probability reaches the cut-off for the accepted share of wrong answers,
            and then further hits as similar questions when theirs reach
            :data:`bot.search.match.SIMILAR_PROBABILITY`.
        cosine: Cosine of its sentence vector to the message's, or None when the
            search had no vectors (the offer's floor :data:`bot.search.match.OFFER_COSINE`
            then does not apply).
    """

    record: Record
    score: float
    matched: tuple[str, ...] = ()
    probability: float = 0.0
    answer: bool = False
    cosine: float | None = None


@dataclass(frozen=True)
class Candidate:
    """A search candidate before the match model: what :meth:`ArchiveIndex.candidates`
    returns for each record of the union."""

    rowid: int
    score: float
    matched: tuple[str, ...]
    signals: match.Signals


def _stemmed(text: str) -> str:
    return " ".join(content_stems(text))


class _VectorWriter:
    """Embeds the records an upsert writes, chunk by chunk, and stores their vectors.

    With the real encoder and more than one core, chunks go to worker processes (started
    with the second chunk, so a small import starts none) and at most two per worker
    are in flight while the upsert goes on; otherwise they are embedded in this process.
    """

    def __init__(self, index: ArchiveIndex, progress: Callable[[int], None] | None) -> None:
        self.index = index
        self.progress = progress
        self.pool: EmbeddingPool | None = None
        self.chunks = 0

    def __enter__(self) -> _VectorWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.close()

    def add(self, pending: list[tuple[int, str]]) -> None:
        if not pending or self.index.encoder is None:
            return
        self.chunks += 1
        encoder = self.index.encoder
        usable = isinstance(encoder, Encoder) and hasattr(encoder, "files")
        if self.pool is None and self.chunks > 1 and POOL_WORKERS > 1 and usable:
            self.pool = EmbeddingPool(encoder)
        if self.pool is None:
            for start in range(0, len(pending), EMBED_BATCH):
                self._store(pending[start : start + EMBED_BATCH], None)
            return
        self.pool.submit(pending, [text for _, text in pending])
        for done, matrix in self.pool.results(keep=2 * self.pool.workers):
            self._store(done, matrix)

    def finish(self) -> None:
        if self.pool is not None:
            for done, matrix in self.pool.results():
                self._store(done, matrix)

    def _store(self, pending: list[tuple[int, str]], matrix: Any) -> None:
        self.index._write_vectors(pending, matrix)
        if self.progress is not None:
            self.progress(len(pending))


def _existing_index(path: Path | str) -> Path:
    """``path``, checked to be an archive index of this version that holds records.

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
    return file


class ArchiveIndex:
    """A SQLite archive index; ``existing=True`` opens one that must already hold records."""

    def __init__(
        self,
        path: Path | str,
        vocabulary: Vocabulary | None = None,
        encoder: Encoder | None = None,
        *,
        existing: bool = False,
    ) -> None:
        """Open or create the index at ``path`` (``":memory:"`` for tests).

        Args:
            path: The SQLite file.
            vocabulary: The lay-to-clinical vocabulary (the team's by default).
            encoder: Sentence embeddings: records written get vectors, and search
                re-ranks with them when every record has one. None: words alone.
            existing: Open an index that must already exist and hold records (what
                search and the servers need) instead of creating what is missing.

        Raises:
            IndexUnavailableError: With ``existing``: it is missing, unreadable, not ours,
                or empty.
        """
        if existing:
            path = _existing_index(path)
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
        self._question_length: tuple[int, float, float] | None = None  # records, medians
        # the nearest-neighbour index over the vectors (dense_index) and the vectors_id
        # it was built for
        self._vector_index: VectorIndex | None = None
        self._vector_index_id: str | None = None
        #: Rowids whose vectors the last upsert wrote (a saved graph is updated with them).
        self.vector_changes: list[int] = []

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
        progress: Callable[[int], None] | None = None,
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
            progress: Called with the number of records just finished (written, and
                embedded when they are), now and then: a progress bar's update.

        Returns:
            How many records were written.

        Records are embedded in chunks of :data:`bot.search.embedding.POOL_CHUNK` by worker
        processes (:class:`bot.search.embedding.EmbeddingPool`) while this process goes on
        writing; a small import is embedded here.
        """
        if baseline:
            self.db.executescript(_BASELINE_SCHEMA)
        self._count = None
        self._df = {}
        self._dense = None
        self._vector_index = None
        self.vector_changes = []
        written = 0
        delta: Counter[str] = Counter()
        pending: list[tuple[int, str]] = []
        given: list[tuple[int, bytes]] = []
        embedder = _VectorWriter(self, progress)
        with self.db, embedder:
            if self.encoder is not None:
                held = self.db.execute("SELECT value FROM meta WHERE key = 'embedding'").fetchone()
                if held and held[0] != self.encoder.model_id:  # never mix two models' vectors
                    self.db.execute("DELETE FROM vectors")
            for record in records:
                waiting = False
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
                    waiting = True
                    if len(pending) >= POOL_CHUNK:
                        embedder.add(pending)
                        pending = []
                else:
                    self.db.execute("DELETE FROM vectors WHERE rowid = ?", (rowid,))
                written += 1
                if progress is not None and not waiting:
                    progress(1)  # counted now: no vector to wait for
            embedder.add(pending)
            embedder.finish()
            self.db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", given)
            self.vector_changes.extend(rowid for rowid, _ in given)
            self._mark_vectors()
            # a new id for the new set of vectors: a saved nearest-neighbour index of the
            # old set (named after its id, bot.search.vectors) no longer belongs to this file
            self.db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('vectors_id', ?)", (new_vectors_id(),)
            )
            # document frequencies kept in a table: fts5vocab counts them by reading
            # whole posting lists, too slow for common words on large archives
            self.db.executemany(
                "INSERT INTO terms (term, doc) VALUES (?, ?) "
                "ON CONFLICT (term) DO UPDATE SET doc = doc + excluded.doc",
                [(term, count) for term, count in delta.items() if count],
            )
        return written

    def _write_vectors(self, pending: Sequence[tuple[int, str]], matrix: Any = None) -> None:
        """Store the vectors of ``pending`` (rowid, text): ``matrix``, or embedded here."""
        if not pending or self.encoder is None:
            return
        if matrix is None:
            matrix = self.encoder.encode([text for _, text in pending])
        self.vector_changes.extend(rowid for rowid, _ in pending)
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

    def vectors_id(self) -> str | None:
        """The id of the vectors the index holds now (a new one after every upsert)."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'vectors_id'").fetchone()
        return str(row[0]) if row else None

    def vector_count(self) -> int:
        """Number of stored vectors."""
        return int(self.db.execute("SELECT count(*) FROM vectors").fetchone()[0])

    def vectors_of(self, rowids: Sequence[int]) -> list[tuple[int, bytes]]:
        """The stored vectors of these records: (rowid, float16 blob) pairs."""
        marks = ",".join("?" * len(rowids))
        query = f"SELECT rowid, vector FROM vectors WHERE rowid IN ({marks})"
        return self.db.execute(query, list(rowids)).fetchall()

    def vectors_after(self, rowid: int, limit: int) -> list[tuple[int, bytes]]:
        """Up to ``limit`` stored vectors of rowids above ``rowid``, in rowid order."""
        return self.db.execute(
            "SELECT rowid, vector FROM vectors WHERE rowid > ? ORDER BY rowid LIMIT ?",
            (rowid, limit),
        ).fetchall()

    def dense_index(self) -> VectorIndex | None:
        """The nearest-neighbour index over the vectors (:mod:`bot.search.vectors`), or None.

        None without vectors of the encoder's model. Loaded (or built) on first use and
        kept; loaded again when the vectors changed since (another :meth:`vectors_id`).
        """
        if not self.dense_ready():
            return None
        current = self.vectors_id()
        if self._vector_index is None or self._vector_index_id != current:
            self._vector_index = load_dense_index(self, current)
            self._vector_index_id = current
        return self._vector_index

    def match_model(self, dense: bool = True) -> match.MatchModel:
        """The match model of a search: the sentence model's own fit when the search had
        vectors (``dense``), MiniLM's for words alone."""
        spec = getattr(self.encoder, "spec", None)  # a test's stand-in has none
        return match.shipped_model(spec.name if dense and spec is not None else None)

    def floors(self) -> match.Floors:
        """The offer's floors of the match model a search of this index uses."""
        return self.match_model(self.dense_ready()).floors

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
        self,
        text: str,
        k: int = 5,
        boost_terms: Iterable[str] = (),
        *,
        dense: bool = True,
        max_wrong: float | None = None,
    ) -> list[Hit]:
        """Find the archived questions most similar to a patient's message, and decide
        which of them the bot would show.

        Candidates come from two sources. FTS5 (BM25 with column weights) looks for the
        patient's rarest concepts: concepts are added, rarest first, while the
        documents they occur in stay within :data:`POSTINGS_BUDGET`, so a message of
        common words costs the same on a million records as on a thousand. When the
        index holds vectors of the encoder's model, the :data:`DENSE_CANDIDATES`
        records whose sentence vectors are nearest the message's join them
        (:meth:`dense_index`), so a patient whose words miss the archive's
        wording can still be matched. Every candidate of the union is then measured
        (:class:`bot.search.match.Signals`: coverage of all the patient's concepts,
        :func:`bot.search.query.coverage`, BM25 rank, cosine, ranks, lengths), ranked and
        given a probability by the shipped match model (:mod:`bot.search.match`).

        Args:
            text: The patient's words; any characters are safe.
            k: How many hits to return at most.
            boost_terms: Entities the NLU recognised (symptom, body part, side).
            dense: Use sentence vectors when the index can (False: words alone, for
                evaluations).
            max_wrong: Accepted share of wrong answers, which sets the probability
                cut-off of :attr:`Hit.answer` (None: the model's default, 0.05).

        Returns:
            Hits, best first; empty when nothing matches at all.
        """
        found = self.candidates(text, boost_terms, dense=dense)
        if found is None or k <= 0:
            return []
        candidates, context = found
        signals = [c.signals for c in candidates]
        decided = self.match_model(context.dense).decide(signals, context, max_wrong)[:k]
        records = self._records([candidates[d.index].rowid for d in decided])
        return [
            Hit(
                records[candidates[d.index].rowid],
                round(candidates[d.index].score, 4),
                candidates[d.index].matched,
                probability=round(d.probability, 4),
                answer=d.answer,
                cosine=round(candidates[d.index].signals.cosine, 4) if context.dense else None,
            )
            for d in decided
        ]

    def candidates(
        self, text: str, boost_terms: Iterable[str] = (), *, dense: bool = True
    ) -> tuple[list[Candidate], match.Context] | None:
        """The union of FTS5 and nearest-vector candidates with their signals.

        What :meth:`search` ranks and decides on; ``bot match train`` fits the model
        on the same. None when the message has no concept the archive knows and no
        vector neighbours.
        """
        concepts = analyze(text, self.vocabulary, boost_terms)
        if not concepts:
            return None
        stated = traits(content_stems(text))
        total = self._total()
        stems = {s for c in concepts for s in c.stems}
        doc_freq = self._doc_freq(stems)
        weights = [concept_weight(c, doc_freq, total) for c in concepts]
        concepts, weights = keep_rarest(concepts, weights)
        chosen = candidate_concepts(concepts, doc_freq, POSTINGS_BUDGET)
        rows = (
            self.db.execute(
                "SELECT rowid, bm25(search, ?, ?, ?, ?) AS rank FROM search "
                "WHERE search MATCH ? ORDER BY rank LIMIT ?",
                (*COLUMN_WEIGHTS, fts_query(chosen), CANDIDATES),
            ).fetchall()
            if chosen
            else []
        )
        use_dense = dense and self.dense_ready()
        query_vector = None
        neighbours: list[tuple[int, float]] = []
        if use_dense:
            try:
                assert self.encoder is not None
                query_vector = self.encoder.encode_query(text)
                neighbours = self._neighbours(query_vector)
            except Exception:  # a failing model must not take search down with it
                log.exception("searching with sentence vectors failed; ranking on words")
                use_dense, query_vector, neighbours = False, None, []
        if not rows and not neighbours:
            return None
        fts_rank = {rowid: position for position, (rowid, _) in enumerate(rows, start=1)}
        dense_rank = {rowid: position for position, (rowid, _) in enumerate(neighbours, start=1)}
        rowids = list(dict.fromkeys([*fts_rank, *dense_rank]))
        best_rank = min((rank for _, rank in rows), default=0.0)
        ranks = dict(rows)
        cosines = dict(neighbours)
        if query_vector is not None:
            cosines.update(self._cosines(query_vector, [r for r in rowids if r not in cosines]))
        marks = ",".join("?" * len(rowids))
        texts = self.db.execute(
            f"SELECT rowid, title, question, topics, lead FROM search WHERE rowid IN ({marks})",
            rowids,
        ).fetchall()
        found: list[Candidate] = []
        for rowid, title, question, topics, lead in texts:
            # coverage looks up the message's stems only: the record's other words are
            # left out of the sets it is given (the same score, fewer words to hash)
            question_words = f"{title} {question}".split()
            head = stems.intersection(question_words)
            head.update(stems.intersection(topics.split()))
            covered, matched = coverage(concepts, weights, head, stems.intersection(lead.split()))
            relative = ranks[rowid] / best_rank if rowid in ranks and best_rank < 0 else 0.0
            word = covered * (1.0 + BM25_MIX * relative) / (1.0 + BM25_MIX)
            cosine = cosines.get(rowid, 0.0)
            score = (
                (1 - DENSE_WEIGHT) * word + DENSE_WEIGHT * max(0.0, cosine) if use_dense else word
            )
            signals = match.Signals(
                coverage=covered,
                bm25=relative,
                word=word,
                cosine=cosine,
                fts_rank=fts_rank.get(rowid),
                dense_rank=dense_rank.get(rowid),
                length=len(set(question_words)),
                conflicts=trait_conflicts(stated, traits(question_words)) if stated else 0,
            )
            found.append(Candidate(rowid, score, matched, signals))
        place = {rowid: position for position, rowid in enumerate(rowids)}
        found.sort(key=lambda c: place[c.rowid])
        question_length, reply_length = self._archive_traits()
        context = match.Context(len(concepts), question_length, use_dense, reply_length)
        return found, context

    def _neighbours(self, query_vector: Any) -> list[tuple[int, float]]:
        """The records whose vectors are nearest the message's."""
        vectors = self.dense_index()
        return vectors.search(query_vector, DENSE_CANDIDATES) if vectors is not None else []

    def _cosines(self, query_vector: Any, rowids: Sequence[int]) -> dict[int, float]:
        """Cosines of the message's vector to the stored vectors of some records."""
        if not rowids:
            return {}
        rows = self.vectors_of(rowids)
        values = from_blobs([blob for _, blob in rows]) @ query_vector if rows else []
        return {rowid: float(v) for (rowid, _), v in zip(rows, values, strict=True)}

    def _archive_traits(self) -> tuple[float, float]:
        """Median content words of the archive's questions and of its reply leads (a
        sample of :data:`ARCHIVE_SAMPLE` records), cached until the count changes."""
        total = self._total()
        cached = self._question_length
        if cached is not None and cached[0] == total:
            return cached[1], cached[2]
        low, high = self.db.execute("SELECT min(rowid), max(rowid) FROM records").fetchone()
        questions: list[int] = []
        replies: list[int] = []
        if low is not None:
            step = max(1, (high - low) // ARCHIVE_SAMPLE)
            sample = list(range(low, high + 1, step))[:ARCHIVE_SAMPLE]
            marks = ",".join("?" * len(sample))
            for title, question, lead in self.db.execute(
                f"SELECT title, question, lead FROM search WHERE rowid IN ({marks})", sample
            ):
                questions.append(len(set(f"{title} {question}".split())))
                replies.append(len(set(lead.split())))

        def median(values: list[int]) -> float:
            return float(sorted(values)[len(values) // 2]) if values else 0.0

        self._question_length = (total, median(questions), median(replies))
        return self._question_length[1], self._question_length[2]

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
