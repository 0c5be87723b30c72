"""The large-corpus part of `bench retrieval`: clustered synthetic vectors generated in chunks
and streamed into a compressed index (IVF-PQ codes in RAM, exact vectors memory-mapped from
disk for re-ranking), so no size ever needs all of its float vectors in memory.

Ground truth is an exact scan of the on-disk vectors, also chunked. Memory is the serialised
size of the FAISS index (what stays resident); the on-disk vector file is reported apart.

Run with: elixir-agent bench retrieval --out runs/bench --sizes 100000 --stream-sizes 1000000
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from elixir_agent.retrieval import compressed, faiss_ops

K = 10
CHUNK = 100_000


@dataclass
class StreamRow:
    corpus: str  # "10,000,000 synthetic" or the name of a real review set
    size: int
    factory: str
    search_params: str
    shortlist: int
    train_s: float
    add_s: float
    memory_mb: float
    vectors_on_disk_mb: float
    recall_at_10_codes: float
    recall_at_10: float
    single_p50_ms: float
    single_p95_ms: float


class ClusteredStream:
    """The distribution of `bench.clustered_vectors`, drawn chunk by chunk: sqrt(n) clusters,
    each a unit centre plus a spread over its own 16-d subspace plus a little noise."""

    def __init__(self, n: int, dimension: int, seed: int, intrinsic: int = 16):
        rng = np.random.default_rng(seed)
        self.n_clusters = max(16, int(math.sqrt(n)))
        self.dimension, self.seed = dimension, seed
        centres = rng.normal(size=(self.n_clusters, dimension)).astype(np.float32)
        self.centres = centres / np.linalg.norm(centres, axis=1, keepdims=True)
        scale = 0.6 / math.sqrt(intrinsic * dimension)
        self.bases = (rng.normal(size=(self.n_clusters, intrinsic, dimension)) * scale
                      ).astype(np.float32)  # (C, intrinsic, D): ~100 MB at 10M vectors

    def chunk(self, size: int, stream: int) -> np.ndarray:
        """`size` unit vectors, reproducible for a given `stream` number."""
        rng = np.random.default_rng((self.seed, 1, stream))
        labels = rng.integers(self.n_clusters, size=size)
        z = rng.normal(size=(size, self.bases.shape[1])).astype(np.float32)
        out = self.centres[labels] + np.einsum("ni,nid->nd", z, self.bases[labels])
        out += rng.normal(scale=0.005, size=out.shape).astype(np.float32)
        faiss.normalize_L2(out)
        return out

    def chunks(self, total: int, chunk: int = CHUNK) -> Iterator[np.ndarray]:
        for number, begin in enumerate(range(0, total, chunk)):
            yield self.chunk(min(chunk, total - begin), number)


def bench_streamed(size: int, *, dimension: int, n_queries: int, n_single: int,
                   nprobe: Sequence[int], shortlists: Sequence[int], seed: int = 0,
                   workdir: str | Path | None = None, bar=None) -> list[StreamRow]:
    """Build a compressed index of `size` streamed synthetic vectors and measure every
    (nprobe, shortlist) setting. The vector file lives in a temp dir under `workdir`."""
    source = ClusteredStream(size, dimension, seed)
    queries = source.chunk(n_queries, stream=10**9)  # a stream no database chunk uses
    train = source.chunk(min(size, max(faiss_ops.MIN_TRAIN_POINTS, 64 * _nlist(size, dimension))),
                         stream=10**9 + 1)
    return _bench_compressed(f"{size:,} synthetic", source.chunks(size), size, dimension,
                             queries, train, nprobe, shortlists, n_single, workdir, bar)


def bench_real(name: str, vectors: np.ndarray, *, n_queries: int, n_single: int,
               nprobe: Sequence[int], shortlists: Sequence[int], seed: int = 0,
               workdir: str | Path | None = None, bar=None) -> list[StreamRow]:
    """The same measurement on real review embeddings (an index's embeddings.npy): a random
    `n_queries` of them are held out as queries, the rest are the corpus."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(vectors))
    queries = np.ascontiguousarray(vectors[np.sort(order[:n_queries])], dtype=np.float32)
    corpus_rows = np.sort(order[n_queries:])
    size = len(corpus_rows)
    train_rows = corpus_rows[rng.permutation(size)[:max(faiss_ops.MIN_TRAIN_POINTS,
                                                        64 * _nlist(size, dimension := vectors.shape[1]))]]
    chunks = (np.asarray(vectors[corpus_rows[b:b + CHUNK]]) for b in range(0, size, CHUNK))
    return _bench_compressed(name, chunks, size, dimension, queries,
                             np.asarray(vectors[np.sort(train_rows)]), nprobe, shortlists,
                             n_single, workdir, bar)


def _bench_compressed(label, chunks, size, dimension, queries, train, nprobe, shortlists,
                      n_single, workdir, bar) -> list[StreamRow]:
    factory = compressed.compressed_factory(size, dimension)
    folder = Path(tempfile.mkdtemp(prefix="stream-bench-", dir=workdir))
    task = bar.add_task(f"{label}: adding to {factory}", total=size) if bar else None
    try:
        index, report = compressed.build_from_shards(
            chunks, count=size, dimension=dimension, factory=factory,
            vectors_path=folder / "vectors.npy", train_sample=train,
            progress=(lambda done: bar.update(task, completed=done)) if bar else None)
        vectors = np.load(folder / "vectors.npy", mmap_mode="r")
        if bar:
            bar.update(task, description=f"{label}: exact ground truth", completed=0)
        truth = compressed.exact_top_k(vectors, queries, K)
        memory_mb = faiss.serialize_index(index).nbytes / 2**20
        disk_mb = (folder / "vectors.npy").stat().st_size / 2**20
        rows = []
        for probe in nprobe:
            faiss_ops.apply_tuning(index, f"nprobe={probe}")
            _, codes_only = index.search(queries, K)
            for shortlist in shortlists:
                rows.append(_measure(index, vectors, queries, truth, codes_only, label, factory,
                                     probe, shortlist, report, memory_mb, disk_mb, n_single))
        if bar:
            bar.remove_task(task)
        return rows
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _nlist(size: int, dimension: int) -> int:
    factory = compressed.compressed_factory(size, dimension)
    return int(factory.split(",")[0][3:])


def _measure(index, vectors, queries, truth, codes_only, label, factory, probe, shortlist,
             report, memory_mb, disk_mb, n_single) -> StreamRow:
    _, found = compressed.search_reranked(index, vectors, queries, K, shortlist=shortlist)
    single = []
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)  # one thread per request, as a server would run it
    try:
        for query in queries[:n_single]:
            start = time.perf_counter()
            compressed.search_reranked(index, vectors, query[None, :], K, shortlist=shortlist)
            single.append((time.perf_counter() - start) * 1000)
    finally:
        faiss.omp_set_num_threads(threads)
    return StreamRow(
        corpus=label, size=len(vectors), factory=factory, search_params=f"nprobe={probe}", shortlist=shortlist,
        train_s=report.train_s, add_s=report.add_s, memory_mb=round(memory_mb, 1),
        vectors_on_disk_mb=round(disk_mb, 1),
        recall_at_10_codes=round(_recall(codes_only, truth), 4),
        recall_at_10=round(_recall(found, truth), 4),
        single_p50_ms=round(float(np.percentile(single, 50)), 3),
        single_p95_ms=round(float(np.percentile(single, 95)), 3))


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth, strict=True)]))


def markdown(rows: Sequence[dict]) -> list[str]:
    """Table lines for the report."""
    if not rows:
        return []
    lines = ["", "## Compressed index, streamed (IVF-PQ codes in RAM, exact re-ranking from a "
             "memory-mapped vector file)", "",
             "| corpus | vectors | factory | search params | short list | train s | add s | index RAM MB "
             "| vectors on disk MB | recall@10 codes only | recall@10 re-ranked | single p50 ms "
             "| single p95 ms |",
             "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['corpus']} | {r['size']:,} | {r['factory']} | {r['search_params']} | {r['shortlist']} "
                     f"| {r['train_s']} | {r['add_s']} | {r['memory_mb']} | "
                     f"{r['vectors_on_disk_mb']} | {r['recall_at_10_codes']:.3f} "
                     f"| {r['recall_at_10']:.3f} | {r['single_p50_ms']} | {r['single_p95_ms']} |")
    return lines
