"""Block-wise int8 weights for an ONNX graph's MatMuls (ONNX Runtime's MatMulNBits operator).

Why not `onnxruntime.quantization.quantize_dynamic`: it quantizes each MatMul's *input* with
one scale for the whole batch, and MiniLM's hidden states carry a few outlier channels that
set that scale, so every other channel keeps only a few levels. On RateBeer reviews that moved
embeddings to cosine ~0.993 of the float ones and kept only ~0.82 of each review's ten
nearest reviews. MatMulNBits with `accuracy_level=4` also computes in int8, but quantizes the
input in blocks of `block_size` values along the inner dimension, so an outlier only coarsens
its own block; the weights get one scale per block of `block_size` rows of each column.

The graph is rewritten in place: every MatMul whose second input is a 2-D float32 initializer
(the weight matrices; attention's activation x activation products stay float) becomes a
MatMulNBits node reading the packed weights.
"""

from __future__ import annotations

from collections.abc import Container

import numpy as np

# MatMulNBits computes in int8 with block-quantized inputs (needs ONNX Runtime's CPU kernels).
ACCURACY_INT8 = 4
_MS_DOMAIN = "com.microsoft"
# Symmetric 8-bit weights are stored as unsigned bytes around this implicit zero point, the
# default MatMulNBits assumes when no zero_points input is given.
_ZERO = 128


def quantize_weights_int8(model, *, block_size: int = 32, skip: Container[str] = ()) -> int:
    """Replace the weight MatMuls of `model` (an onnx.ModelProto) by int8 MatMulNBits nodes,
    except those named in `skip`. Returns how many were replaced."""
    from onnx import helper, numpy_helper

    if block_size < 16 or block_size & (block_size - 1):
        raise ValueError(f"block_size must be a power of two >= 16, got {block_size}")
    graph = model.graph
    weights = {init.name: init for init in graph.initializer}
    consumers: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            consumers[name] = consumers.get(name, 0) + 1
    replaced = 0
    for position, node in enumerate(graph.node):
        if node.op_type != "MatMul" or node.name in skip or node.input[1] not in weights:
            continue
        weight = numpy_helper.to_array(weights[node.input[1]])
        if weight.ndim != 2 or weight.dtype != np.float32:
            continue
        packed, scales = _pack(weight, block_size)  # (N, K/bs, bs) uint8, (N * K/bs,) float32
        stem = node.input[1]
        graph.initializer.extend([numpy_helper.from_array(packed, f"{stem}_q8"),
                                  numpy_helper.from_array(scales, f"{stem}_scales")])
        rows, cols = weight.shape
        graph.node[position].CopyFrom(helper.make_node(
            "MatMulNBits", [node.input[0], f"{stem}_q8", f"{stem}_scales"], list(node.output),
            name=node.name, domain=_MS_DOMAIN, K=rows, N=cols, bits=8, block_size=block_size,
            accuracy_level=ACCURACY_INT8))
        if consumers.get(stem) == 1:
            graph.initializer.remove(weights[stem])  # the float copy is dead weight on disk
        replaced += 1
    if replaced and not any(op.domain == _MS_DOMAIN for op in model.opset_import):
        model.opset_import.append(helper.make_opsetid(_MS_DOMAIN, 1))
    return replaced


def _pack(weight: np.ndarray, block_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-block int8 of a (K, N) weight, laid out column by column as MatMulNBits
    reads it: each column's K values cut into blocks, one scale per block."""
    rows, cols = weight.shape
    blocks = -(-rows // block_size)
    padded = np.zeros((blocks * block_size, cols), dtype=np.float32)
    padded[:rows] = weight
    per_column = padded.T.reshape(cols, blocks, block_size)  # (N, K/bs, bs)
    scales = np.abs(per_column).max(axis=2) / 127.0  # (N, K/bs)
    scales = np.where(scales == 0, 1.0, scales).astype(np.float32)
    levels = np.clip(np.rint(per_column / scales[..., None]), -127, 127)
    return (levels + _ZERO).astype(np.uint8), scales.reshape(-1)
