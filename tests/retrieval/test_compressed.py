"""The compressed index: shards streamed in, codes searched, short list re-ranked exactly."""

from __future__ import annotations

import numpy as np
import pytest

from elixir_agent.retrieval import compressed
from elixir_agent.retrieval.bench_scale import ClusteredStream


@pytest.fixture(scope="module")
def stream_vectors() -> tuple[np.ndarray, np.ndarray]:
    source = ClusteredStream(6000, 32, seed=1)
    corpus = np.concatenate(list(source.chunks(6000, chunk=2000)))
    return corpus, source.chunk(50, stream=99)


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)]))


def test_chunks_are_reproducible_unit_vectors():
    source = ClusteredStream(1000, 16, seed=3)
    first, again = source.chunk(100, stream=5), ClusteredStream(1000, 16, seed=3).chunk(100, stream=5)
    np.testing.assert_array_equal(first, again)
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, rtol=1e-5)
    assert not np.array_equal(first, source.chunk(100, stream=6))


def test_exact_top_k_streamed_equals_brute_force(stream_vectors):
    corpus, queries = stream_vectors
    streamed = compressed.exact_top_k(corpus, queries, 10, chunk=700)
    brute = np.argsort(-(queries @ corpus.T), axis=1)[:, :10]
    assert _recall(streamed, brute) == 1.0


def test_reranking_recovers_what_codes_alone_miss(stream_vectors, tmp_path):
    corpus, queries = stream_vectors
    factory = "IVF32,PQ8x4fs"
    index, report = compressed.build_from_shards(
        compressed.iter_chunks(corpus, 1500), count=len(corpus), dimension=32, factory=factory,
        vectors_path=tmp_path / "vectors.npy", train_sample=corpus, nprobe=8)
    assert report.count == len(corpus)
    on_disk = np.load(tmp_path / "vectors.npy", mmap_mode="r")
    np.testing.assert_array_equal(on_disk, corpus)
    truth = compressed.exact_top_k(corpus, queries, 10)
    _, codes_only = index.search(queries, 10)
    scores, reranked = compressed.search_reranked(index, on_disk, queries, 10, shortlist=100)
    assert _recall(reranked, truth) > _recall(codes_only, truth)
    assert _recall(reranked, truth) >= 0.9
    # re-ranked scores are exact cosines, best first
    np.testing.assert_allclose(scores[0], corpus[reranked[0]] @ queries[0], rtol=1e-5)
    assert np.all(np.diff(scores, axis=1) <= 1e-6)


def test_filters_stay_exact_through_reranking(stream_vectors, tmp_path):
    corpus, queries = stream_vectors
    # 4-bit codes: 16 centroids per sub-quantizer train in a second; 8-bit ones (256 each, on
    # 6,000 vectors) took 20-30 s and test nothing more about filtering.
    index, _ = compressed.build_from_shards(
        [corpus], count=len(corpus), dimension=32, factory="IVF32,PQ8x4",
        vectors_path=tmp_path / "v.npy", train_sample=corpus, nprobe=32)
    allowed = np.zeros(len(corpus), dtype=bool)
    allowed[::7] = True
    _, unfiltered = compressed.search_reranked(index, corpus, queries, 10)
    assert not allowed[unfiltered].all()  # without the filter, other reviews would come back
    _, positions = compressed.search_reranked(index, corpus, queries, 10, allowed=allowed)
    assert (positions >= 0).all() and allowed[positions].all()


def test_shard_count_mismatch_is_refused(tmp_path):
    vectors = ClusteredStream(500, 16, seed=0).chunk(500, stream=0)
    with pytest.raises(ValueError, match="more than the announced 400"):
        compressed.build_from_shards([vectors], count=400, dimension=16, factory="Flat",
                                     vectors_path=tmp_path / "v.npy", train_sample=vectors)
    with pytest.raises(ValueError, match=r"expected shape \(n, 8\)"):
        compressed.build_from_shards([vectors], count=500, dimension=8, factory="Flat",
                                     vectors_path=tmp_path / "w.npy", train_sample=vectors[:, :8])


def test_factory_scales_lists_with_corpus():
    assert compressed.compressed_factory(10_000_000, 384) == "IVF4096,PQ96x4fs"
    assert compressed.compressed_factory(1_000_000, 384) == "IVF1024,PQ96x4fs"
