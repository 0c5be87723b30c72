"""Retrieval benchmark: FAISS Flat vs HNSW vs IVF on clustered synthetic vectors, plus the
embedder's throughput on real review texts. Writes `retrieval.json` and `retrieval.md`.

The vectors mimic sentence embeddings: unit length, grouped in clusters, each cluster spread
over a low-dimensional subspace of its own. Uniform random vectors would make every method
look equally bad (all neighbours nearly equidistant) and recall meaningless.

Run with: elixir-agent bench retrieval --out runs/bench --sizes 100000,1000000
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import faiss
import numpy as np

from elixir_agent.retrieval import faiss_ops
from elixir_agent.retrieval.bench_scale import bench_real, bench_streamed
from elixir_agent.retrieval.bench_scale import markdown as streamed_markdown

DIMENSION = 384
K = 10
TARGET_RECALL = 0.95
TARGET_P50_MS = 5.0
STREAM_TARGET_P50_MS = 10.0  # 10M vectors, re-ranked from disk
STREAM_TARGET_RAM_MB = 2048.0


@dataclass
class BenchConfig:
    sizes: Sequence[int] = (100_000, 1_000_000)
    dimension: int = DIMENSION
    n_queries: int = 1000  # recall@10 is averaged over these
    n_single: int = 200  # single-query latencies are timed on this many (Flat: fewer)
    batch_size: int = 100
    hnsw_m: int = 32
    ef_search: Sequence[int] = (16, 32, 64, 128, 256, 512)
    nprobe: Sequence[int] = (8, 16, 32, 64, 128)
    n_texts: int = 2000  # real review texts for the encoding throughput
    seed: int = 0
    # HNSW graph quality at build time, as the review index builds it (faiss_ops says why).
    hnsw_ef_construction: int = faiss_ops.DEFAULT_EF_CONSTRUCTION
    # Streamed sizes go through the compressed index (bench_scale.py), never all in RAM.
    stream_sizes: Sequence[int] = ()
    stream_nprobe: Sequence[int] = (16, 32, 64, 128)
    shortlists: Sequence[int] = (50, 100, 200)


@dataclass
class Row:
    size: int
    factory: str
    search_params: str
    build_s: float
    memory_mb: float
    recall_at_10: float
    single_p50_ms: float
    single_p95_ms: float
    batch_p50_ms: float
    batch_p95_ms: float
    batch_qps: float
    notes: list[str] = field(default_factory=list)


def clustered_vectors(n: int, dimension: int, seed: int, n_clusters: int | None = None,
                      intrinsic: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """`n` unit vectors from a mixture of sqrt(n) clusters, each spread over its own
    `intrinsic`-dimensional subspace plus a little isotropic noise.

    Returns (vectors (n, D) float32, cluster label per row). Queries are simply further
    draws, so split one call into database and queries."""
    rng = np.random.default_rng(seed)
    n_clusters = n_clusters or max(16, int(math.sqrt(n)))
    centres = rng.normal(size=(n_clusters, dimension)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = rng.integers(n_clusters, size=n)
    out = np.empty((n, dimension), dtype=np.float32)
    for cluster in range(n_clusters):
        rows = np.flatnonzero(labels == cluster)
        basis = _cluster_basis(seed, cluster, intrinsic, dimension)  # (intrinsic, D)
        spread = rng.normal(size=(rows.size, intrinsic)).astype(np.float32) @ basis
        noise = rng.normal(scale=0.005, size=(rows.size, dimension)).astype(np.float32)
        out[rows] = centres[cluster] + spread + noise
    faiss.normalize_L2(out)
    return out, labels


def _cluster_basis(seed: int, cluster: int, intrinsic: int, dimension: int) -> np.ndarray:
    # z @ basis with z ~ N(0, I) has norm ~0.6: clusters overlap a little, as topics do.
    rng = np.random.default_rng((seed, cluster))
    scale = 0.6 / math.sqrt(intrinsic * dimension)
    return (rng.normal(size=(intrinsic, dimension)) * scale).astype(np.float32)


def run_benchmark(out_dir: str | Path, config: BenchConfig, *, texts: Sequence[str] = (),
                  embedder_factory: Callable | None = None, progress: bool = True,
                  real_sets: Sequence[tuple[str, np.ndarray]] = ()) -> dict:
    """Run every measurement, write retrieval.json and retrieval.md into `out_dir`.

    `real_sets`: (name, (N, D) unit vectors) of real review embeddings, measured through the
    compressed index against exact search on them."""
    from elixir_agent.retrieval.embedder import _progress_bar

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    # Cheapest first, and a report after every size: partial results survive an interruption.
    encoding = _bench_encoding(texts, embedder_factory, config) if texts else None
    report = _write(out_dir, config, rows, encoding, [])
    streamed: list[dict] = []
    with _progress_bar(progress) as bar:
        for size in config.sizes:
            for row in _bench_size(size, config, bar):
                rows.append(row)
                report = _write(out_dir, config, rows, encoding, streamed)
        for name, vectors in real_sets:
            streamed += [asdict(r) for r in bench_real(
                name, vectors, n_queries=min(config.n_queries, len(vectors) // 10),
                n_single=config.n_single, nprobe=config.stream_nprobe,
                shortlists=config.shortlists, seed=config.seed, workdir=out_dir, bar=bar)]
            report = _write(out_dir, config, rows, encoding, streamed)
        for size in config.stream_sizes:
            streamed += [asdict(r) for r in bench_streamed(
                size, dimension=config.dimension, n_queries=config.n_queries,
                n_single=config.n_single, nprobe=config.stream_nprobe,
                shortlists=config.shortlists, seed=config.seed, workdir=out_dir, bar=bar)]
            report = _write(out_dir, config, rows, encoding, streamed)
    return report


def _bench_size(size: int, config: BenchConfig, bar) -> Iterator[Row]:
    """Yield one row per (factory, search setting) as soon as it is measured."""
    task = bar.add_task(f"{size:,} vectors: generating", total=None)
    data, _ = clustered_vectors(size + config.n_queries, config.dimension, config.seed)
    base, queries = data[:size], data[size:]
    del data
    bar.update(task, description=f"{size:,} vectors: exact ground truth")
    exact = faiss.IndexFlatIP(config.dimension)
    exact.add(base)
    _, truth = exact.search(queries, K)
    del exact
    nlist = 2 ** round(math.log2(4 * math.sqrt(size)))  # the usual 4 * sqrt(n) lists
    plans = [
        ("Flat", [""]),
        (f"IVF{nlist},Flat", [f"nprobe={p}" for p in config.nprobe]),
        (f"HNSW{config.hnsw_m}", [f"efSearch={e}" for e in config.ef_search]),
    ]
    for factory, settings in plans:
        bar.update(task, description=f"{size:,} vectors: building {factory}")
        index, build_s, memory_mb = _build(factory, base, bar, config.hnsw_ef_construction)
        for params in settings:
            bar.update(task, description=f"{size:,} vectors: {factory} {params}".rstrip())
            faiss_ops.apply_tuning(index, params)
            yield _measure(index, size, factory, params, build_s, memory_mb, queries, truth,
                           config)
        del index
    bar.remove_task(task)


def _build(factory: str, base: np.ndarray, bar, ef_construction: int = 40,
           ) -> tuple[faiss.Index, float, float]:
    start = time.perf_counter()
    index = faiss_ops.make_index(base.shape[1], factory)
    if factory.startswith("HNSW"):
        faiss_ops.apply_tuning(index, f"efConstruction={ef_construction}")
    faiss_ops.train_if_needed(index, base, factory)
    chunk = 50_000  # add in chunks so the progress bar moves during a long HNSW build
    task = bar.add_task(f"  adding to {factory}", total=len(base))
    for begin in range(0, len(base), chunk):
        index.add(base[begin:begin + chunk])
        bar.advance(task, min(chunk, len(base) - begin))
    bar.remove_task(task)
    build_s = time.perf_counter() - start
    # The serialised size is what the index occupies in RAM (vectors, links, lists); RSS
    # deltas are unreliable here because each index reuses memory its predecessor freed.
    memory_mb = faiss.serialize_index(index).nbytes / 2**20
    return index, build_s, memory_mb


def _measure(index, size, factory, params, build_s, memory_mb, queries, truth,
             config: BenchConfig) -> Row:
    _, found = index.search(queries, K)
    recall = float(np.mean([len(set(found[i]) & set(truth[i])) / K for i in range(len(truth))]))
    n_single = config.n_single if factory != "Flat" else min(config.n_single, 30)
    single = []
    # One thread per single query, as a server answering concurrent requests would run it;
    # OpenMP fork/join for a one-row search only adds overhead on a busy 2-core machine.
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        for query in queries[:n_single]:
            start = time.perf_counter()
            index.search(query[None, :], K)
            single.append((time.perf_counter() - start) * 1000)
    finally:
        faiss.omp_set_num_threads(threads)
    batches = []
    batch = min(config.batch_size, len(queries))
    for begin in range(0, len(queries) - batch + 1, batch):
        start = time.perf_counter()
        index.search(queries[begin:begin + batch], K)
        batches.append((time.perf_counter() - start) * 1000)
        if factory == "Flat" and len(batches) >= 3:
            break
    return Row(size=size, factory=factory, search_params=params or "-", build_s=round(build_s, 2),
               memory_mb=round(memory_mb, 1), recall_at_10=round(recall, 4),
               single_p50_ms=round(float(np.percentile(single, 50)), 3),
               single_p95_ms=round(float(np.percentile(single, 95)), 3),
               batch_p50_ms=round(float(np.percentile(batches, 50)), 2),
               batch_p95_ms=round(float(np.percentile(batches, 95)), 2),
               batch_qps=round(batch / (float(np.median(batches)) / 1000), 1))


def _bench_encoding(texts: Sequence[str], embedder_factory, config: BenchConfig) -> dict:
    texts = list(texts)[:config.n_texts]
    start = time.perf_counter()
    embedder = embedder_factory()
    load_s = time.perf_counter() - start
    embedder.encode(texts[:64])  # warm-up: first batches pay for lazy initialisation
    start = time.perf_counter()
    embedder.encode(texts)
    seconds = time.perf_counter() - start
    words = sum(len(t.split()) for t in texts)
    return {"embedder": embedder.name, "device": getattr(embedder, "device", "?"),
            "texts": len(texts), "mean_words": round(words / max(1, len(texts)), 1),
            "load_s": round(load_s, 2), "seconds": round(seconds, 2),
            "texts_per_s": round(len(texts) / seconds, 1)}


def _write(out_dir: Path, config: BenchConfig, rows: list[Row], encoding: dict | None,
           streamed: list[dict]) -> dict:
    meeting = [r for r in rows if r.size >= 1_000_000 and r.recall_at_10 >= TARGET_RECALL
               and r.single_p50_ms <= TARGET_P50_MS]
    report = {
        "machine": {"cpus": os.cpu_count(), "faiss_threads": faiss.omp_get_max_threads(),
                    "faiss": faiss.__version__, "python": platform.python_version(),
                    "load_average": os.getloadavg()},
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()},
        "k": K,
        "target": {"size": 1_000_000, "recall_at_10": TARGET_RECALL, "p50_ms": TARGET_P50_MS,
                   "met_by": [f"{r.factory} {r.search_params}" for r in meeting]},
        "results": [asdict(r) for r in rows],
        "streamed": streamed,
        "streamed_target": {"recall_at_10": TARGET_RECALL, "p50_ms": STREAM_TARGET_P50_MS,
                            "index_ram_mb": STREAM_TARGET_RAM_MB,
                            "met_by": [f"{r['size']:,} {r['factory']} {r['search_params']} "
                                       f"shortlist={r['shortlist']}" for r in streamed
                                       if r["recall_at_10"] >= TARGET_RECALL
                                       and r["single_p50_ms"] <= STREAM_TARGET_P50_MS
                                       and r["memory_mb"] <= STREAM_TARGET_RAM_MB]},
        "encoding": encoding,
    }
    (out_dir / "retrieval.json").write_text(json.dumps(report, indent=2))
    (out_dir / "retrieval.md").write_text(_markdown(report))
    return report


def _markdown(report: dict) -> str:
    lines = ["# Retrieval benchmark", "",
             f"Clustered synthetic unit vectors, dimension {report['config']['dimension']}, "
             f"inner product, k={report['k']}; recall@{report['k']} against exact search over "
             f"{report['config']['n_queries']} held-out queries. Machine: "
             f"{report['machine']['cpus']} CPUs, faiss {report['machine']['faiss']} "
             f"({report['machine']['faiss_threads']} threads). HNSW is built with "
             f"efConstruction={report['config']['hnsw_ef_construction']}.", "",
             "| vectors | factory | search params | build s | memory MB | recall@10 "
             "| single p50 ms | single p95 ms | batch(100) p50 ms | batch p95 ms | batch QPS |",
             "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in report["results"]:
        lines.append(f"| {r['size']:,} | {r['factory']} | {r['search_params']} | {r['build_s']} "
                     f"| {r['memory_mb']} | {r['recall_at_10']:.3f} | {r['single_p50_ms']} "
                     f"| {r['single_p95_ms']} | {r['batch_p50_ms']} | {r['batch_p95_ms']} "
                     f"| {r['batch_qps']} |")
    target = report["target"]
    met = ", ".join(target["met_by"]) or "not met (or 1M not measured)"
    lines += ["", f"Target at 1M vectors (recall@10 >= {target['recall_at_10']}, single-query "
                  f"p50 <= {target['p50_ms']} ms): {met}."]
    lines += streamed_markdown(report.get("streamed", []))
    if report.get("streamed"):
        target = report["streamed_target"]
        met = "; ".join(target["met_by"]) or "not met at the sizes measured"
        lines += ["", f"Streamed target (recall@10 >= {target['recall_at_10']} after re-ranking, "
                      f"single-query p50 <= {target['p50_ms']} ms, index RAM <= "
                      f"{target['index_ram_mb']:.0f} MB): {met}."]
    enc = report.get("encoding")
    if enc:
        lines += ["", "## Encoding throughput", "",
                  f"{enc['embedder']} on {enc['device']}: {enc['texts']} real review texts "
                  f"(mean {enc['mean_words']} words) in {enc['seconds']} s = "
                  f"**{enc['texts_per_s']} texts/s** (model load {enc['load_s']} s)."]
    return "\n".join(lines) + "\n"
