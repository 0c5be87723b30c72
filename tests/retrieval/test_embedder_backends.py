"""Embedder backends: the onnx ones give the PyTorch model's vectors (near enough that the
same reviews come back), the benchmark compares backends on the same texts."""

from __future__ import annotations

import json

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


@pytest.mark.slow  # the first use exports and quantizes the model (about a minute, then cached)
@pytest.mark.parametrize("backend", ["onnx", "onnx-int8"])
def test_onnx_backend_matches_pytorch(backend, embedder, tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime", reason="the scale extra (onnxruntime) is not installed")
    fast = Embedder(backend=backend, max_length=256)
    assert (fast.name, fast.dimension, fast.backend) == (embedder.name, embedder.dimension, backend)
    ours, reference = fast.encode(TEXTS), embedder.encode(TEXTS)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, rtol=1e-5)
    cosine = np.sum(ours * reference, axis=1)
    assert cosine.min() > (0.999 if backend == "onnx" else 0.97)
    # a query finds the same review whichever backend embedded both
    assert np.argmax(ours[1:4] @ ours[0]) == np.argmax(reference[1:4] @ reference[0])


def test_benchmark_reports_speed_and_recall_against_the_reference(tmp_path):
    texts = [f"review {i} about {w} beer with {v} notes" for i in range(400)
             for w, v in [(("dark", "pale", "sour")[i % 3], ("malt", "hops", "fruit")[i % 3])]]
    makers = {"torch": FakeEmbedder(64), "same": FakeEmbedder(64), "other": FakeEmbedder(32)}
    report = run_embedder_benchmark(
        tmp_path, texts, [Variant("torch"), Variant("same", 128), Variant("other")],
        lambda v: makers[v.backend], n_queries=50, rounds=2)
    by_name = {r["backend"]: r for r in report["results"]}
    assert by_name["torch"]["recall_at_10"] == 1.0
    assert by_name["same"]["recall_at_10"] == 1.0  # identical vectors find identical neighbours
    assert by_name["same"]["max_length"] == 128
    assert by_name["other"]["recall_at_10"] < 1.0  # another model: other neighbours
    assert json.loads((tmp_path / "embedder.json").read_text())["texts"] == 400
    assert "| same | 128 |" in (tmp_path / "embedder.md").read_text()
