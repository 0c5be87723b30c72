"""Embedder backends: the onnx ones give the PyTorch model's vectors (near enough that the
same reviews come back), the exported graphs are cached and reused, and the benchmark
compares backends on the same texts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from elixir_agent.retrieval import Embedder
from elixir_agent.retrieval.bench_embedder import Variant, run_embedder_benchmark
from tests.helpers.fake_embedder import FakeEmbedder

TEXTS = ["a roasty imperial stout with coffee and dark chocolate",
         "hazy ipa, juicy citrus hops, soft bitterness",
         "crisp pilsner, grassy noble hops, clean finish",
         "sour red ale with cherries and oak", "", "x " * 400]


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="unknown embedder backend 'tensorrt'"):
        Embedder(backend="tensorrt")


@pytest.fixture(scope="module")
def tiny_model(tiny_bert) -> Path:
    pytest.importorskip("onnxruntime", reason="the scale extra (onnxruntime) is not installed")
    return tiny_bert


def _torch_mean_pooled(model_dir: Path, texts: list[str]) -> np.ndarray:
    """What sentence-transformers computes for MiniLM: mean over real tokens, unit length."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModel.from_pretrained(str(model_dir)).eval()
    tokens = tokenizer(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**tokens).last_hidden_state  # (B, T, D)
    mask = tokens["attention_mask"][..., None].float()  # (B, T, 1)
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(pooled, dim=1).numpy()


@pytest.mark.parametrize(("int8", "min_cosine"), [(False, 0.9999), (True, 0.99)])
def test_onnx_encoder_gives_the_pytorch_vectors_in_input_order(tiny_model, tmp_path, int8,
                                                               min_cosine):
    from elixir_agent.retrieval.onnx_backend import OnnxEncoder

    encoder = OnnxEncoder(tiny_model, int8=int8, max_length=128, batch_size=2, cache=tmp_path)
    # Lengths out of order and batches of two: the encoder sorts by length and must restore it.
    ours = encoder.encode(TEXTS)
    cosine = np.sum(ours * _torch_mean_pooled(tiny_model, TEXTS), axis=1)
    assert cosine.min() >= min_cosine
    assert encoder.encode([]).shape == (0, 64)


def test_exported_graphs_are_cached_and_reused(tiny_model, tmp_path):
    from elixir_agent.retrieval.onnx_backend import onnx_model_path

    first = onnx_model_path(tiny_model, int8=True, cache=tmp_path)
    stamp = first.stat().st_mtime_ns
    again = onnx_model_path(tiny_model, int8=True, cache=tmp_path)
    float_graph = onnx_model_path(tiny_model, int8=False, cache=tmp_path)
    assert again == first and again.stat().st_mtime_ns == stamp  # not rebuilt
    assert float_graph.parent == first.parent  # one export made both graphs
    # only the finished folder is left behind: no temporary export directories
    assert [p.name for p in tmp_path.joinpath("onnx").iterdir()] == [first.parent.name]


def test_int8_rewrite_keeps_activation_products_in_float(tmp_path):
    pytest.importorskip("onnxruntime", reason="the scale extra (onnxruntime) is not installed")
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    from elixir_agent.retrieval.onnx_quantize import quantize_weights_int8

    rng = np.random.default_rng(0)
    weight = rng.standard_normal((48, 24)).astype(np.float32)  # K=48 is not a block multiple
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["h"], name="dense"),
         helper.make_node("MatMul", ["h", "y"], ["out"], name="scores")],
        "two_matmuls",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", 48]),
         helper.make_tensor_value_info("y", TensorProto.FLOAT, [24, "C"])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["B", "C"])],
        [numpy_helper.from_array(weight, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    assert quantize_weights_int8(model, block_size=32) == 1
    assert [n.op_type for n in model.graph.node] == ["MatMulNBits", "MatMul"]
    onnx.save(model, str(tmp_path / "q.onnx"))
    x = rng.standard_normal((5, 48)).astype(np.float32)
    y = np.eye(24, dtype=np.float32)
    got = ort.InferenceSession(str(tmp_path / "q.onnx"),
                               providers=["CPUExecutionProvider"]).run(None, {"x": x, "y": y})[0]
    expected = x @ weight
    assert np.abs(got - expected).max() < 0.02 * np.abs(expected).max()


@pytest.mark.slow  # exports the real MiniLM once (about half a minute, then cached)
@pytest.mark.parametrize(("backend", "min_cosine"), [("onnx", 0.9999), ("onnx-int8", 0.999)])
def test_onnx_backend_matches_pytorch_on_real_reviews(backend, min_cosine, embedder,
                                                      ratebeer_texts, tmp_path_factory,
                                                      monkeypatch):
    pytest.importorskip("onnxruntime", reason="the scale extra (onnxruntime) is not installed")
    monkeypatch.setenv("ELIXIR_AGENT_CACHE", str(tmp_path_factory.getbasetemp() / "onnx-cache"))
    texts = ratebeer_texts
    fast = Embedder(backend=backend, max_length=256)
    assert (fast.name, fast.dimension, fast.backend) == (embedder.name, embedder.dimension, backend)
    ours, reference = fast.encode(texts), embedder.encode(texts)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, rtol=1e-5)
    assert np.sum(ours * reference, axis=1).min() >= min_cosine
    # each review's nearest other review is the same whichever backend embedded them
    def nearest(v):
        return np.argmax(v @ v.T - 2 * np.eye(len(v)), axis=1)

    assert np.mean(nearest(ours) == nearest(reference)) >= 0.95


class _NoisyEmbedder:
    """Another embedder's vectors with fixed per-text noise, as a lossy int8 graph gives."""

    def __init__(self, inner: FakeEmbedder, scale: float):
        self.inner, self.scale = inner, scale
        self.name, self.dimension = inner.name, inner.dimension

    def encode(self, texts, *, progress=False):
        vectors = self.inner.encode(texts)
        noise = np.random.default_rng(7).normal(0.0, self.scale, vectors.shape)
        noisy = vectors + noise.astype(np.float32)
        return noisy / np.linalg.norm(noisy, axis=1, keepdims=True)


def test_benchmark_reports_speed_and_recall_against_the_reference(tmp_path):
    texts = [f"review {i} about {w} beer with {v} notes" for i in range(400)
             for w, v in [(("dark", "pale", "sour")[i % 3], ("malt", "hops", "fruit")[i % 3])]]
    makers = {"torch": FakeEmbedder(64), "same": FakeEmbedder(64), "other": FakeEmbedder(32),
              "noisy": _NoisyEmbedder(FakeEmbedder(64), scale=0.05)}
    report = run_embedder_benchmark(
        tmp_path, texts,
        [Variant("torch"), Variant("same", 128), Variant("other"), Variant("noisy")],
        lambda v: makers[v.backend], n_queries=50, rounds=2)
    by_name = {r["backend"]: r for r in report["results"]}
    assert by_name["torch"]["recall_at_10"] == 1.0
    assert by_name["same"]["recall_at_10"] == 1.0  # identical vectors find identical neighbours
    assert by_name["same"]["recall_at_10_float_queries"] == 1.0
    assert by_name["same"]["max_length"] == 128
    assert by_name["other"]["recall_at_10"] < 1.0  # another model: other neighbours
    assert np.isnan(by_name["other"]["recall_at_10_float_queries"])  # no shared space
    # a lossy embedder (int8-like noise) loses neighbours; exact queries lose fewer of them
    noisy = by_name["noisy"]
    assert noisy["recall_at_10"] < 1.0
    assert noisy["recall_at_10_float_queries"] >= noisy["recall_at_10"]
    assert json.loads((tmp_path / "embedder.json").read_text())["texts"] == 400
    assert "| same | 128 |" in (tmp_path / "embedder.md").read_text()


def test_an_int8_built_index_embeds_its_queries_in_float():
    pytest.importorskip("onnxruntime", reason="the scale extra (onnxruntime) is not installed")
    from elixir_agent.retrieval.index import _loadable_backend

    # int8 rounding on both sides of a search adds up; a float query removes one side of it
    assert _loadable_backend({"name": "m", "dimension": 384, "backend": "onnx-int8"}) == "onnx"
    assert _loadable_backend({"name": "m", "dimension": 384, "backend": "onnx"}) == "onnx"
    assert _loadable_backend({"name": "m", "dimension": 384}) == "torch"
