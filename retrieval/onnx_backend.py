"""A faster CPU path for the bundled MiniLM: ONNX Runtime, fused kernels, int8, batched by length.

The ONNX graph is exported locally from the model's own files (never downloaded) the first
time it is needed and cached under the user cache directory, keyed by a hash of the weights,
so an upgrade of the model or of this exporter makes a fresh export:

    ~/.cache/elixir-agent/onnx/<sha256[:16]>/model.onnx        float32, fused BERT kernels
    ~/.cache/elixir-agent/onnx/<sha256[:16]>/model-int8.onnx   same, weight MatMuls in int8

Why it is faster than sentence-transformers on PyTorch: ONNX Runtime runs each layer's
attention, residual + LayerNorm and bias + GELU as single fused kernels, the int8 graph
computes its dense layers in int8 (onnx_quantize.py says why block-wise and not the usual
dynamic quantization), and texts are sorted by token count so each batch pads only to its
own longest text. Pooling (mean over real tokens) and L2 normalisation match the
sentence-transformers model, so the float graph gives the PyTorch vectors to ~1e-6.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from elixir_agent.atomic import publish_once

# Bump when the export or quantization recipe changes: cached graphs are then rebuilt.
EXPORT_VERSION = 2
FLOAT_GRAPH, INT8_GRAPH = "model.onnx", "model-int8.onnx"
# Rows of a weight column (and values of an input row) sharing one int8 scale; smaller blocks
# are more accurate and a little slower (see docs/scaling.md for the measurements).
INT8_BLOCK = 16
# The onnx backends' default token cut: only ~0.3% of RateBeer reviews are longer, and the
# index built at this cut finds the same top 10 as the full-length one (docs/scaling.md).
FAST_MAX_LENGTH = 192
ONNX_EXTRA_HINT = ("the onnx embedder backend needs onnxruntime and onnx: "
                   "pip install 'elixir-agent[scale]' (or pass --embedder-backend torch)")


def cache_root() -> Path:
    """Where exported graphs live: $ELIXIR_AGENT_CACHE, else $XDG_CACHE_HOME/elixir-agent."""
    explicit = os.environ.get("ELIXIR_AGENT_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "elixir-agent"


def onnx_model_path(model_dir: Path, *, int8: bool, cache: Path | None = None) -> Path:
    """The cached ONNX graph for the sentence-transformers model in `model_dir`, exporting
    (and quantizing) it first if it is not cached yet. The folder of graphs is written whole
    or not at all, so a killed export never leaves a truncated graph behind, and a graph in
    use is never replaced by a concurrent export."""
    _require_onnx()
    folder = (cache or cache_root()) / "onnx" / _weights_key(model_dir)
    target = folder / (INT8_GRAPH if int8 else FLOAT_GRAPH)
    if folder.is_dir() and not target.exists():  # a damaged cache entry: export it again
        shutil.rmtree(folder, ignore_errors=True)
    if not target.exists():
        # Several actors of a batch job may export at once: the first to finish publishes.
        publish_once(folder, lambda tmp: _build(model_dir, tmp))
    return target


class OnnxEncoder:
    """Mean-pooled, L2-normalised MiniLM embeddings computed by ONNX Runtime.

    `max_length` cuts texts at that many tokens (special tokens included); `batch_size` texts
    of similar length share a batch. `threads=None`: one per physical core.
    """

    def __init__(self, model_dir: Path, *, int8: bool = False, max_length: int = 256,
                 batch_size: int = 64, threads: int | None = None, cache: Path | None = None):
        _require_onnx()
        import onnxruntime as ort
        from transformers import AutoTokenizer

        if max_length < 8:
            raise ValueError(f"max_length must be at least 8 tokens, got {max_length}")
        self.graph = onnx_model_path(model_dir, int8=int8, cache=cache)
        options = ort.SessionOptions()
        if threads:  # otherwise ONNX Runtime runs one thread per physical core
            options.intra_op_num_threads = int(threads)
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle threads sleep instead of spinning: on a shared machine spinning threads steal
        # the cores the busy ones need; on an idle one it costs a few percent at most.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(self.graph), options,
                                             providers=["CPUExecutionProvider"])
        self._tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        self._pad_id = int(self._tokenizer.pad_token_id or 0)
        self.max_length = int(max_length)
        self.batch_size = int(batch_size)
        self.dimension = int(json.loads((model_dir / "config.json").read_text())["hidden_size"])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(N, D) float32 unit vectors, in the order of `texts`."""
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        ids = self._tokenizer(list(texts), truncation=True, max_length=self.max_length,
                              return_attention_mask=False)["input_ids"]
        # Texts sorted by token count share batches, so a batch pads only to its own longest.
        order = np.argsort([len(row) for row in ids], kind="stable")
        for start in range(0, len(texts), self.batch_size):
            rows = order[start:start + self.batch_size]
            batch, mask = _pad([ids[r] for r in rows], self._pad_id)  # (B, T), (B, T)
            hidden = self._session.run(None, {"input_ids": batch, "attention_mask": mask})[0]
            weights = mask[..., None].astype(np.float32)  # (B, T, 1)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            out[rows] = pooled  # (B, D), back in the callers' order
        return out


def _pad(rows: list[list[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    width = max(len(row) for row in rows)
    batch = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        batch[i, :len(row)] = row
        mask[i, :len(row)] = 1
    return batch, mask


def _require_onnx() -> None:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as error:
        raise ImportError(ONNX_EXTRA_HINT) from error


def _weights_key(model_dir: Path) -> str:
    digest = hashlib.sha256(f"export-v{EXPORT_VERSION}\n".encode())
    for name in ("config.json", "model.safetensors"):
        path = model_dir / name
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: cannot export {model_dir} to ONNX; "
                                    "the onnx backend needs a local model with safetensors weights")
        with path.open("rb") as handle:
            for block in iter(lambda h=handle: h.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def _build(model_dir: Path, folder: Path) -> None:
    """Export, fuse and quantize into `folder`: both graphs at once (quantizing takes seconds)."""
    import onnx

    from elixir_agent.retrieval.onnx_quantize import quantize_weights_int8

    raw = folder / "traced.onnx"
    _export(model_dir, raw)
    config = json.loads((model_dir / "config.json").read_text())
    fused = _fuse(raw, heads=int(config["num_attention_heads"]), hidden=int(config["hidden_size"]))
    raw.unlink()
    onnx.save(fused, str(folder / FLOAT_GRAPH))
    quantize_weights_int8(fused, block_size=INT8_BLOCK)
    onnx.save(fused, str(folder / INT8_GRAPH))


def _fuse(graph: Path, *, heads: int, hidden: int):
    """ONNX Runtime's BERT fusions: one Attention op per layer (Q, K, V in one MatMul), the
    embedding sum + LayerNorm in one op, residual + LayerNorm and bias + GELU fused."""
    import logging

    from onnxruntime.transformers.optimizer import optimize_model

    logging.getLogger("onnxruntime.transformers").setLevel(logging.ERROR)
    # opt_level=0: graph-level fusions only; ONNX Runtime's own session optimisations still
    # run at load time, and a graph saved after them would be tied to this machine's CPU.
    fused = optimize_model(str(graph), model_type="bert", num_heads=heads, hidden_size=hidden,
                           opt_level=0)
    stats = fused.get_fused_operator_statistics()
    if not stats.get("Attention"):
        raise RuntimeError(f"ONNX Runtime did not fuse the attention of {graph} ({stats}); "
                           "the export no longer matches its BERT patterns")
    return fused.model


def _export(model_dir: Path, target: Path) -> None:
    """Trace the transformer (token ids, mask -> last hidden state) into an ONNX graph."""
    import warnings

    import torch
    from transformers import AutoModel

    # Eager attention traces to the MatMul/Softmax pattern ONNX Runtime fuses into its
    # Attention op; the SDPA path traces to masking ops it does not recognise.
    model = AutoModel.from_pretrained(str(model_dir), local_files_only=True,
                                      attn_implementation="eager").eval()

    class _HiddenStates(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    # Two rows of different lengths so the traced graph keeps the padding path.
    ids = torch.tensor([[101, 2023, 2003, 1037, 3231, 102], [101, 7592, 102, 0, 0, 0]])
    mask = (ids != 0).long()
    dynamic = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
               "last_hidden_state": {0: "batch", 1: "tokens"}}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about Python control flow on shapes
        # The TorchScript exporter: the dynamo one needs onnxscript and gives the same graph here.
        torch.onnx.export(_HiddenStates(model), (ids, mask), str(target),
                          input_names=["input_ids", "attention_mask"],
                          output_names=["last_hidden_state"], dynamic_axes=dynamic,
                          opset_version=17, dynamo=False)
