"""The torch-bf16 embedder backend: the float model's vectors (near enough that the same
reviews come back) whatever the batch, only for the models it can run, and chosen by
`auto` only where the CPU multiplies bf16 natively."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from elixir_agent import hardware
from elixir_agent.hardware import cpu_has_native_bf16
from elixir_agent.retrieval import Embedder
from elixir_agent.retrieval.bf16_encoder import UnsupportedEncoderError

TEXTS = ["a roasty imperial stout with coffee and dark chocolate",
         "hazy ipa, juicy citrus hops, soft bitterness",
         "crisp pilsner, grassy noble hops, clean finish",
         "sour red ale with cherries and oak", "", "x " * 400]


def test_vectors_match_the_float_model_in_input_order(tiny_bert):
    reference = Embedder(str(tiny_bert), backend="torch", max_length=128).encode(TEXTS)
    # batch_size 1 is a 32-token budget: the long text goes alone, short ones together
    fast = Embedder(str(tiny_bert), backend="torch-bf16", max_length=128, batch_size=1)
    assert (fast.backend, fast.dimension, fast.max_length) == ("torch-bf16", 64, 128)
    ours = fast.encode(TEXTS)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, rtol=1e-5)
    assert np.sum(ours * reference, axis=1).min() >= 0.999
    assert fast.encode([]).shape == (0, 64)


def test_a_text_gets_the_same_vector_alone_or_beside_longer_ones(tiny_bert):
    fast = Embedder(str(tiny_bert), backend="torch-bf16", max_length=128)
    together = fast.encode(TEXTS)  # one batch: the short texts are padded to 128 tokens
    for position, text in enumerate(TEXTS):
        alone = fast.encode([text])[0]
        assert float(alone @ together[position]) >= 0.9999, text


def test_real_reviews_find_the_same_neighbours_as_sentence_transformers(embedder,
                                                                       ratebeer_texts):
    fast = Embedder(backend="torch-bf16")
    assert (fast.name, fast.max_length) == (embedder.name, 256)
    ours, reference = fast.encode(ratebeer_texts), embedder.encode(ratebeer_texts)
    assert np.sum(ours * reference, axis=1).min() >= 0.9999

    def nearest(v):
        return np.argmax(v @ v.T - 2 * np.eye(len(v)), axis=1)

    assert np.mean(nearest(ours) == nearest(reference)) >= 0.95


@pytest.fixture(scope="module")
def cls_pooled_model(tiny_bert, tmp_path_factory) -> Path:
    from sentence_transformers import SentenceTransformer, models

    folder = tmp_path_factory.mktemp("cls-pooled")
    transformer = models.Transformer(str(tiny_bert))
    pooling = models.Pooling(transformer.get_embedding_dimension(), pooling_mode="cls")
    SentenceTransformer(modules=[transformer, pooling], device="cpu").save(str(folder))
    return folder


def test_another_pooling_is_refused_by_name_and_auto_takes_another_backend(cls_pooled_model,
                                                                            monkeypatch):
    with pytest.raises(UnsupportedEncoderError, match=r"pools by cls.*--embedder-backend torch"):
        Embedder(str(cls_pooled_model), backend="torch-bf16")
    monkeypatch.setattr(hardware, "cpu_has_native_bf16", lambda: True)
    fallback = Embedder(str(cls_pooled_model), backend="auto")
    assert fallback.backend in ("onnx", "torch")
    assert fallback.encode(TEXTS[:2]).shape == (2, 64)


@pytest.mark.parametrize(("native", "expected"), [(True, {"torch-bf16"}),
                                                  (False, {"onnx", "torch"})])
def test_auto_picks_bf16_only_on_a_cpu_that_multiplies_it_natively(tiny_bert, monkeypatch,
                                                                    native, expected):
    monkeypatch.setattr(hardware, "cpu_has_native_bf16", lambda: native)
    assert Embedder(str(tiny_bert), backend="auto", device="cpu").backend in expected


def test_a_gpu_device_is_refused_with_the_backend_to_use(tiny_bert):
    with pytest.raises(ValueError, match=r"runs on the CPU.*--embedder-backend torch"):
        Embedder(str(tiny_bert), backend="torch-bf16", device="cuda")


@pytest.mark.parametrize(("flags", "native"), [("fpu avx512f avx512_bf16 avx512_vnni", True),
                                               ("fpu amx_tile amx_bf16", True),
                                               ("fpu avx2 avx512f avx512_vnni", False)])
def test_native_bf16_is_read_from_the_cpu_flags(tmp_path, flags, native):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: test\nflags\t\t: {flags}\n")
    assert cpu_has_native_bf16(cpuinfo) is native
    assert cpu_has_native_bf16(tmp_path / "missing") is False


def test_a_bf16_built_index_embeds_its_queries_in_float():
    from elixir_agent.retrieval.index import _loadable_backend

    assert _loadable_backend({"name": "m", "dimension": 384, "backend": "torch-bf16"}) == "torch"
