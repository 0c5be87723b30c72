"""A compressed index for corpora that outgrow RAM: IVF-PQ codes in memory, exact vectors on disk.

The FAISS index holds only product-quantized codes (tens of bytes per review instead of 1,536),
so it answers with a short list of candidates whose order is approximate. The short list is
then re-ranked on the exact float32 vectors, read from a memory-mapped `.npy` file: only the
rows of the short list are touched, so resident memory stays the codes plus the page cache the
OS chooses to keep.

Building never needs every vector in RAM: the quantizer is trained on a sample, then shards
(arrays, `.npy` files, or any iterator of chunks) are added one by one while their rows are
copied into the on-disk vector file.

Run with: elixir-agent bench retrieval --out runs/bench --stream-sizes 1000000
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from elixir_agent.retrieval import faiss_ops

# Candidates re-ranked per wanted hit: 10 hits re-rank the 200 best codes. At 10M vectors
# (docs/scaling.md) 10 per hit found 0.936 of the true top 10 and 20 per hit 0.988, for
# 0.1 ms more a query: the 4-bit codes' order is what limits recall, not the probing.
DEFAULT_SHORTLIST_FACTOR = 20


def compressed_factory(n_vectors: int, dimension: int) -> str:
    """A sensible IVF-PQ factory for `n_vectors`: ~sqrt(n) lists (power of two, at most
    65,536), and 4-bit fast-scan codes of dimension/4 sub-quantizers (48 bytes for 384-d).

    Why dimension/4: on real review embeddings (49,577 RateBeer reviews, exact re-ranking of
    a short list of 200) 48 sub-quantizers found 0.85 of the true top 10 and 96 found 0.97
    (at 64 probes); the synthetic clusters of `bench retrieval` hide this (0.988 with 48 at
    10M), since their neighbours sit apart from everything else.

    FAISS's rule of thumb is 4-16 sqrt(n) lists, which keeps each probed list short. But
    training k-means and assigning every vector both cost n x lists x dimension: at 10M
    vectors and 16,384 lists, assigning alone is 6 x 10^13 multiply-adds, plus 25 k-means
    rounds over a million training points; 4,096 lists cost a quarter and a sixteenth. Longer
    lists cost little at search time here, since fast-scan reads 4-bit codes by the thousand
    and the short list is re-ranked on exact vectors anyway."""
    nlist = int(min(65_536, max(16, 2 ** round(np.log2(np.sqrt(max(n_vectors, 1)))))))
    subquantizers = max(1, dimension // 4)
    while dimension % subquantizers:
        subquantizers -= 1
    return f"IVF{nlist},PQ{subquantizers}x4fs"


@dataclass
class BuildReport:
    count: int
    train_points: int
    train_s: float
    add_s: float


def build_from_shards(shards: Iterable[np.ndarray | str | Path], *, count: int, dimension: int,
                      factory: str, vectors_path: str | Path, train_sample: np.ndarray,
                      nprobe: int | None = None, progress=None) -> tuple[faiss.Index, BuildReport]:
    """Train `factory` on `train_sample`, then add every shard in order while writing its rows
    to `vectors_path` (an (count, D) float32 `.npy`, memory-mapped). Rows must be unit length.

    `shards` yields (n_i, D) arrays or paths of `.npy` files; their sizes must add up to
    `count`. `progress(rows_done)` is called after each shard."""
    import time

    start = time.perf_counter()
    index = faiss_ops.make_index(dimension, factory)
    faiss_ops.train_if_needed(index, np.ascontiguousarray(train_sample, dtype=np.float32), factory)
    train_s = time.perf_counter() - start
    vectors = np.lib.format.open_memmap(Path(vectors_path), mode="w+", dtype=np.float32,
                                        shape=(count, dimension))
    done = 0
    start = time.perf_counter()
    for shard in shards:
        block = np.load(shard, mmap_mode="r") if isinstance(shard, (str, Path)) else shard
        block = np.ascontiguousarray(block, dtype=np.float32)
        if block.ndim != 2 or block.shape[1] != dimension:
            raise ValueError(f"shard {done}: expected shape (n, {dimension}), got {block.shape}")
        if done + len(block) > count:
            raise ValueError(f"shards hold more than the announced {count} vectors")
        index.add(block)
        vectors[done:done + len(block)] = block
        done += len(block)
        if progress is not None:
            progress(done)
    if done != count:
        raise ValueError(f"shards held {done} vectors, {count} were announced")
    vectors.flush()
    faiss_ops.apply_tuning(index, faiss_ops.default_tuning(index, nprobe))
    return index, BuildReport(count=count, train_points=len(train_sample),
                              train_s=round(train_s, 2), add_s=round(time.perf_counter() - start, 2))


def search_reranked(index: faiss.Index, vectors: np.ndarray, queries: np.ndarray, k: int, *,
                    shortlist: int | None = None, allowed: np.ndarray | None = None,
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Approximate search for `shortlist` candidates, re-scored exactly on `vectors` (which may
    be a memmap). Returns (scores, positions), each (Q, k), -1 where fewer were found."""
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    shortlist = max(k, shortlist or DEFAULT_SHORTLIST_FACTOR * k)
    _, candidates = faiss_ops.search(index, queries, shortlist, allowed)  # (Q, shortlist)
    scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    positions = np.full((len(queries), k), -1, dtype=np.int64)
    for row, (query, found) in enumerate(zip(queries, candidates, strict=True)):
        found = found[found >= 0]
        if found.size == 0:
            continue
        ordered = np.sort(found)  # sorted reads are kinder to the page cache and the disk
        exact = np.asarray(vectors[ordered]) @ query  # (n_found,)
        top = np.argsort(-exact, kind="stable")[:k]
        scores[row, :top.size] = exact[top]
        positions[row, :top.size] = ordered[top]
    return scores, positions


def exact_top_k(vectors: np.ndarray, queries: np.ndarray, k: int, *, chunk: int = 100_000,
                ) -> np.ndarray:
    """Exact top-k positions of each query over `vectors`, streamed `chunk` rows at a time so
    a memory-mapped corpus larger than RAM can serve as ground truth. Returns (Q, k) int64."""
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    best_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_rows = np.full((len(queries), k), -1, dtype=np.int64)
    for begin in range(0, len(vectors), chunk):
        block = np.ascontiguousarray(vectors[begin:begin + chunk], dtype=np.float32)
        scores, rows = faiss.knn(queries, block, min(k, len(block)), metric=faiss.METRIC_INNER_PRODUCT)
        merged_scores = np.concatenate([best_scores, scores], axis=1)
        merged_rows = np.concatenate([best_rows, rows + begin], axis=1)
        keep = np.argsort(-merged_scores, axis=1, kind="stable")[:, :k]
        best_scores = np.take_along_axis(merged_scores, keep, axis=1)
        best_rows = np.take_along_axis(merged_rows, keep, axis=1)
    return best_rows


def iter_chunks(array: np.ndarray, chunk: int) -> Iterator[np.ndarray]:
    """Consecutive row blocks of `array` (a memmap stays on disk until a block is read)."""
    for begin in range(0, len(array), chunk):
        yield array[begin:begin + chunk]
