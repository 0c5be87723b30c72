"""The `torch-bf16` embedder backend: a lean BERT forward pass with bfloat16 matrix products.

On a CPU with native bf16 instructions (AVX512-BF16 or AMX), oneDNN multiplies bf16 matrices
about 2.9x faster than float32 ones (measured here: 419 against 144 GFLOP/s on MiniLM's
shapes, 2 cores). Matrix products are 70% of an encoder's time, so they run in bf16 while
everything that accumulates rounding stays float32: the residual stream, every LayerNorm and
the mean pooling. Over 1,000 RateBeer reviews the vectors keep a cosine of 0.99998 with
sentence-transformers' float32 ones and the index finds 0.99 of the same top 10
(docs/scaling.md).

Two more things make it faster than `model.to(bfloat16)` under sentence-transformers:
- batches are cut by a token budget, not a text count: texts are sorted by token count, so a
  batch of short reviews holds many and a batch of long ones few, and the attention scores
  of long ones never grow to (64, heads, 256, 256);
- attention is two batched matrix products and a softmax on the projections as they come
  out of the QKV product; PyTorch's fused CPU attention was no faster here (the same on
  RateBeer reviews, 7% slower on long hotel reviews).

Only what sentence-transformers' all-MiniLM-L6-v2 is made of is supported: a BERT encoder
(absolute positions, exact GELU), mean pooling, then optionally normalisation. Any other
model is refused by name (`UnsupportedEncoderError`), and `Embedder(backend="auto")` then
falls back to another backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from elixir_agent.errors import UserError

# Tokens per batch for each unit of the embedder's `batch_size`: 64 texts of a typical
# 32-token review, i.e. 2,048 tokens at the default batch size.
TOKENS_PER_TEXT_SLOT = 32


class UnsupportedEncoderError(UserError, ValueError):
    """The model is not a mean-pooled BERT encoder, which is all `torch-bf16` runs."""


class Bf16BertEncoder:
    """Encodes texts with a loaded sentence-transformers BERT model, matrix products in bf16.

    `model` is a `SentenceTransformer` on the CPU; its weights are copied (the dense layers'
    to bf16) and the model itself is not used afterwards. `token_budget` caps
    padded tokens per batch; `max_length` cuts texts as sentence-transformers does.
    """

    def __init__(self, model: Any, *, max_length: int, token_budget: int = 2048):
        import torch

        if token_budget < 1:
            raise ValueError(f"token_budget must be at least 1, got {token_budget}")
        bert, self.lowercase = _check_supported(model)
        config = bert.config
        self.tokenizer = model.tokenizer
        self.max_length = int(max_length)
        self.token_budget = int(token_budget)
        self.dimension = int(config.hidden_size)
        self.heads = int(config.num_attention_heads)
        self.eps = float(config.layer_norm_eps)
        embeddings = bert.embeddings

        def floats(tensor):
            return tensor.detach().to(torch.float32).clone()

        def dense(linear):  # (out, in) bf16 weight, as nn.Linear keeps it, and its bias
            return (linear.weight.detach().contiguous().to(torch.bfloat16),
                    linear.bias.detach().to(torch.bfloat16))

        self.word_vectors = floats(embeddings.word_embeddings.weight)
        self.position_vectors = floats(embeddings.position_embeddings.weight)
        self.type_vector = floats(embeddings.token_type_embeddings.weight[0])
        self.embedding_norm = (floats(embeddings.LayerNorm.weight),
                               floats(embeddings.LayerNorm.bias))
        self._linear = _fastest_linear()
        self.layers = []
        for layer in bert.encoder.layer:
            attention = layer.attention.self
            # The attention's 1/sqrt(head size) is folded into the query's weights and bias,
            # which saves a pass over the queries in every batch.
            scale = (self.dimension // self.heads) ** -0.5
            qkv_weight = torch.cat([attention.query.weight.detach() * scale,
                                    attention.key.weight.detach(), attention.value.weight.detach()])
            qkv_bias = torch.cat([attention.query.bias.detach() * scale,
                                  attention.key.bias.detach(), attention.value.bias.detach()])
            self.layers.append({
                "qkv": (qkv_weight.contiguous().to(torch.bfloat16), qkv_bias.to(torch.bfloat16)),
                "attention_out": dense(layer.attention.output.dense),
                "attention_norm": (floats(layer.attention.output.LayerNorm.weight),
                                   floats(layer.attention.output.LayerNorm.bias)),
                "ffn_in": dense(layer.intermediate.dense),
                "ffn_out": dense(layer.output.dense),
                "output_norm": (floats(layer.output.LayerNorm.weight),
                                floats(layer.output.LayerNorm.bias)),
            })

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(N, D) float32 unit vectors, in the order of `texts`."""
        import torch

        if self.lowercase:
            texts = [text.lower() for text in texts]
        token_ids = self.tokenizer(list(texts), truncation=True, max_length=self.max_length,
                                   add_special_tokens=True)["input_ids"]
        out = np.zeros((len(token_ids), self.dimension), dtype=np.float32)
        # Longest first: each batch pads only to its first text, and is as tall as the
        # budget allows for that length.
        order = sorted(range(len(token_ids)), key=lambda i: -len(token_ids[i]))
        pad_id = int(self.tokenizer.pad_token_id or 0)
        start = 0
        with torch.inference_mode():
            while start < len(order):
                width = len(token_ids[order[start]])
                rows = order[start:start + max(1, self.token_budget // width)]
                start += len(rows)
                ids = np.full((len(rows), width), pad_id, dtype=np.int64)
                for row, index in enumerate(rows):
                    ids[row, :len(token_ids[index])] = token_ids[index]
                lengths = np.array([len(token_ids[index]) for index in rows])
                mask = np.arange(width)[None, :] < lengths[:, None]  # (B, T)
                out[rows] = self._forward(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
        return out

    def _forward(self, ids, mask):
        """Mean-pooled, L2-normalised final hidden states of a (B, T) batch."""
        import torch
        import torch.nn.functional as F

        batch, width = ids.shape
        size, heads = self.dimension, self.heads
        hidden = (self.word_vectors[ids] + self.position_vectors[:width]
                  + self.type_vector).view(batch * width, size)  # (B*T, D) float32
        hidden = F.layer_norm(hidden, (size,), *self.embedding_norm, self.eps)
        # Padding keys get a large negative score; a batch of equal lengths needs none.
        padding = None if bool(mask.all()) else (
            (~mask)[:, None, None, :].to(torch.bfloat16) * -30000.0)  # (B, 1, 1, T)
        for layer in self.layers:
            qkv = self._linear(hidden.to(torch.bfloat16), *layer["qkv"])
            query, key, value = qkv.view(batch, width, 3, heads, size // heads).permute(
                2, 0, 3, 1, 4)  # each (B, H, T, D/H)
            scores = torch.matmul(query, key.transpose(-1, -2))  # (B, H, T, T)
            if padding is not None:
                scores = scores + padding
            context = torch.matmul(scores.softmax(-1), value)  # (B, H, T, D/H)
            context = context.transpose(1, 2).reshape(batch * width, size)
            attended = self._linear(context, *layer["attention_out"])
            # In place, in float32: `hidden` is this layer's own tensor from here on.
            hidden = F.layer_norm(hidden.add_(attended), (size,), *layer["attention_norm"],
                                  self.eps)
            inner = self._linear(hidden.to(torch.bfloat16), *layer["ffn_in"], gelu=True)
            projected = self._linear(inner, *layer["ffn_out"])
            hidden = F.layer_norm(hidden.add_(projected), (size,), *layer["output_norm"],
                                  self.eps)
        weights = mask[:, :, None].to(torch.float32)  # (B, T, 1)
        pooled = (hidden.view(batch, width, size) * weights).sum(1) / weights.sum(1)
        return F.normalize(pooled, dim=-1)


def _fastest_linear():
    """`linear(x, weight, bias, gelu=False)`: oneDNN's fused linear where this PyTorch has it.

    `torch.ops.mkldnn._linear_pointwise` runs the bf16 product ~13% faster than `F.linear`
    here and applies GELU in the same pass; it is a private operator, so it is tried once on
    a tiny input and `F.linear` (then a separate GELU) is used wherever it is missing or fails.
    """
    import torch
    import torch.nn.functional as F

    def plain(x, weight, bias, gelu=False):
        out = F.linear(x, weight, bias)
        return F.gelu(out) if gelu else out

    def fused(x, weight, bias, gelu=False):
        if gelu:
            return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "gelu", [], "none")
        return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], "")

    try:
        x = torch.randn(4, 8, dtype=torch.bfloat16)
        weight = torch.randn(16, 8, dtype=torch.bfloat16)
        bias = torch.randn(16, dtype=torch.bfloat16)
        for gelu in (False, True):
            got, expected = fused(x, weight, bias, gelu).float(), plain(x, weight, bias, gelu).float()
            if not torch.allclose(got, expected, rtol=0.02, atol=0.05):
                return plain
    except (AttributeError, RuntimeError, NotImplementedError):
        return plain
    return fused


def _check_supported(model: Any) -> tuple[Any, bool]:
    """The BERT module and whether texts are lower-cased; refuses anything else by name."""
    modules = list(model)
    what = " -> ".join(type(m).__name__ for m in modules)
    hint = "; use --embedder-backend torch (or onnx) for this model"
    if len(modules) < 2 or type(modules[0]).__name__ != "Transformer":
        raise UnsupportedEncoderError(f"the torch-bf16 backend runs a Transformer then mean "
                                      f"pooling, and this model is {what}{hint}")
    bert = modules[0].auto_model
    config = bert.config
    if getattr(config, "model_type", None) != "bert":
        raise UnsupportedEncoderError(f"the torch-bf16 backend runs BERT encoders, and this "
                                      f"model is {getattr(config, 'model_type', '?')!r}{hint}")
    if (config.hidden_act != "gelu"
            or getattr(config, "position_embedding_type", "absolute") != "absolute"):
        raise UnsupportedEncoderError(
            f"the torch-bf16 backend runs BERT with exact GELU and absolute positions, and "
            f"this model has {config.hidden_act!r} and "
            f"{getattr(config, 'position_embedding_type', '?')!r}{hint}")
    pooling = modules[1]
    mode = getattr(pooling, "pooling_mode", None)
    if mode is None and hasattr(pooling, "get_pooling_mode_str"):
        mode = pooling.get_pooling_mode_str()
    if type(pooling).__name__ != "Pooling" or mode != "mean":
        raise UnsupportedEncoderError(f"the torch-bf16 backend pools by the mean of the tokens, "
                                      f"and this model pools by {mode or what}{hint}")
    if any(type(m).__name__ != "Normalize" for m in modules[2:]):
        raise UnsupportedEncoderError(f"the torch-bf16 backend ends with mean pooling (and "
                                      f"normalisation), and this model is {what}{hint}")
    return bert, bool(getattr(modules[0], "do_lower_case", False))
