"""Weight-only int8 for the text decoder on CPU: int8 weights, float activations.

Writing a review reads every weight of the decoder once per token, for one row at a time, so
on a CPU its speed is set by how many bytes the weights take, not by arithmetic. Storing each
linear layer's weight in int8 (one scale per output row) reads a quarter of fp32's bytes. The
activations stay in floating point: PyTorch's dynamic int8 (`quantize_dynamic`) also rounds
each layer's input to 8 bits, and on SmolLM2 that cost the reviews nearly half their
BLEU-4 (2.92 to 1.61, docs/core-benchmark.md), while rounding only the weights costs
nothing measurable.

One token (a row or a few) goes through `torch._weight_int8pack_mm`, a fused kernel that
reads the int8 weight directly. A long prompt (many rows) is arithmetic-bound, where that
kernel is slower than a dense matmul, so the weight is widened to bfloat16 (or fp32 on a CPU
without bf16 instructions) for that one call instead.
"""

from __future__ import annotations

import torch
from torch import nn

# At most this many rows go through the fused kernel. Measured on a 2-core AVX512 CPU with
# SmolLM2's shapes, it beats widening the weight and a bf16 matmul up to about 32 rows (the
# 49,152-row output layer, whose widening alone takes ~45 ms, up to about 64) and loses beyond.
FUSED_MAX_ROWS = 32
# A private ATen op (present since torch 2.3 on CPU); without it the dense path serves all.
_FUSED_KERNEL = getattr(torch, "_weight_int8pack_mm", None)
# The fused kernel of torch 2.13 crashes or returns inf for some input widths that are not
# a multiple of its vector width (72 and 100 did, with more than one row); SmolLM2's 576 and
# 1536 are multiples, and every width that is a multiple of 32 passed a sweep of shapes.
FUSED_WIDTH_MULTIPLE = 32


class Int8WeightOnlyLinear(nn.Module):
    """A frozen `nn.Linear` with its weight in int8, symmetric, one scale per output feature.

    The output has the input's dtype; the largest error of a weight is half a step of its
    row's scale (the row's largest magnitude / 127 / 2).
    """

    def __init__(self, linear: nn.Linear, dense_dtype: torch.dtype = torch.bfloat16):
        super().__init__()
        weight = linear.weight.detach().float()
        scales = weight.abs().amax(dim=1).clamp(min=torch.finfo(torch.float32).tiny) / 127
        levels = torch.round(weight / scales[:, None]).clamp(-127, 127).to(torch.int8)
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.dense_dtype = dense_dtype
        self.fused = _FUSED_KERNEL is not None and self.in_features % FUSED_WIDTH_MULTIPLE == 0
        self.register_buffer("weight_int8", levels.contiguous())
        self.register_buffer("scales", scales.to(torch.bfloat16))
        bias = None if linear.bias is None else linear.bias.detach().float()
        self.register_buffer("bias", bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, self.in_features)
        if self.fused and rows.shape[0] <= FUSED_MAX_ROWS:
            out = _FUSED_KERNEL(rows.to(torch.bfloat16).contiguous(), self.weight_int8,
                                self.scales).to(x.dtype)
        else:
            weight = self.weight_int8.to(self.dense_dtype) * self.scales.to(self.dense_dtype)[:, None]
            out = (rows.to(self.dense_dtype) @ weight.T).to(x.dtype)
        if self.bias is not None:
            out = out + self.bias.to(x.dtype)
        return out.reshape(*x.shape[:-1], self.out_features)

    @property
    def weight(self) -> torch.Tensor:
        """The int8 levels. Models read `layer.weight.dtype` to decide whether to cast their
        activations (T5's feed-forward does), and int8 there means "leave them as they are"."""
        return self.weight_int8

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


def quantize_linear_weights(module: nn.Module, dense_dtype: torch.dtype = torch.bfloat16) -> int:
    """Replace, in place, every plain `nn.Linear` under `module` by an `Int8WeightOnlyLinear`;
    returns how many. Subclasses (bitsandbytes' layers, PEFT's wrappers) are left alone: they
    hold their own quantization or an adapter that a frozen int8 copy would drop."""
    replaced = 0
    for name, child in list(module.named_children()):
        if type(child) is nn.Linear:
            setattr(module, name, Int8WeightOnlyLinear(child, dense_dtype))
            replaced += 1
        else:
            replaced += quantize_linear_weights(child, dense_dtype)
    return replaced
