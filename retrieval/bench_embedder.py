"""Embedder benchmark: throughput of each backend on real review texts and how much of the
PyTorch-embedded index's top 10 the index it builds finds. Writes `embedder.json` / `.md`.

Every backend embeds the same texts; rounds are interleaved (torch, onnx, ..., torch, onnx,
...) so that a busy machine slows them all alike, and the median round is reported. Recall:
the first `n_queries` texts are queries, the rest the corpus; each backend embeds both, the
exact top 10 of each query in its corpus is compared with the top 10 in the reference
(PyTorch, full length) corpus. A second recall keeps the reference's query vectors and
searches this backend's corpus: what an index built with int8 sees when it embeds its queries
in float, as `ReviewIndex.load` does (one short query gains little from int8).

Run with: elixir-agent bench embedder --out runs/bench-embedder --texts data/ratebeer
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

K = 10
TARGET_SPEEDUP = 3.0
TARGET_RECALL = 0.98


@dataclass(frozen=True)
class Variant:
    """One embedder set-up to measure: a backend and its token cut (None: the model's own)."""

    backend: str
    max_length: int | None = None

    @property
    def label(self) -> str:
        return f"{self.backend}@{self.max_length or 'full'}"


@dataclass
class VariantResult:
    variant: str
    backend: str
    max_length: int | None
    texts: int
    seconds_per_round: list[float]
    texts_per_s: float
    speedup_vs_reference: float
    recall_at_10: float
    recall_at_10_float_queries: float
    mean_cosine_to_reference: float


def run_embedder_benchmark(out_dir: str | Path, texts: Sequence[str], variants: Sequence[Variant],
                           make_embedder: Callable[[Variant], object], *, n_queries: int = 200,
                           rounds: int = 3) -> dict:
    """Measure `variants` (the first is the reference) on `texts`; write the report."""
    if len(variants) < 2:
        raise ValueError("give at least two variants: the reference first, then the others")
    if len(texts) <= n_queries + K:
        raise ValueError(f"need more than {n_queries + K} texts for {n_queries} queries, "
                         f"got {len(texts)}")
    texts = list(texts)
    embedders = [make_embedder(v) for v in variants]
    for embedder in embedders:
        embedder.encode(texts[:32])  # warm-up: lazy initialisation, first-run graph optimisation
    seconds: list[list[float]] = [[] for _ in variants]
    vectors: list[np.ndarray] = [np.empty(0)] * len(variants)
    for _ in range(rounds):
        for position, embedder in enumerate(embedders):
            start = time.perf_counter()
            vectors[position] = embedder.encode(texts)
            seconds[position].append(time.perf_counter() - start)
    reference = vectors[0]
    truth = _top_k(reference[:n_queries], reference[n_queries:])
    ref_rate = len(texts) / float(np.median(seconds[0]))
    results = []
    for variant, secs, vecs in zip(variants, seconds, vectors, strict=True):
        rate = len(texts) / float(np.median(secs))
        found = _top_k(vecs[:n_queries], vecs[n_queries:])
        comparable = vecs.shape == reference.shape
        found_by_float = (_top_k(reference[:n_queries], vecs[n_queries:]) if comparable
                          else None)
        results.append(VariantResult(
            variant=variant.label, backend=variant.backend, max_length=variant.max_length,
            texts=len(texts), seconds_per_round=[round(s, 2) for s in secs],
            texts_per_s=round(rate, 1), speedup_vs_reference=round(rate / ref_rate, 2),
            recall_at_10=round(_recall(found, truth), 4),
            recall_at_10_float_queries=(round(_recall(found_by_float, truth), 4)
                                        if found_by_float is not None else float("nan")),
            mean_cosine_to_reference=_mean_cosine(vecs, reference)))
    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average_at_end": [round(x, 2) for x in os.getloadavg()]},
        "texts": len(texts), "n_queries": n_queries, "rounds": rounds, "k": K,
        "mean_chars": round(float(np.mean([len(t) for t in texts])), 1),
        "target": {"speedup": TARGET_SPEEDUP, "recall_at_10": TARGET_RECALL,
                   "met_by": [r.variant for r in results[1:]
                              if r.speedup_vs_reference >= TARGET_SPEEDUP
                              and r.recall_at_10 >= TARGET_RECALL],
                   "met_with_float_queries_by": [
                       r.variant for r in results[1:]
                       if r.speedup_vs_reference >= TARGET_SPEEDUP
                       and r.recall_at_10_float_queries >= TARGET_RECALL]},
        "results": [asdict(r) for r in results],
    }
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "embedder.json").write_text(json.dumps(report, indent=2))
    (out_dir / "embedder.md").write_text(_markdown(report))
    return report


def _mean_cosine(vectors: np.ndarray, reference: np.ndarray) -> float:
    """Mean cosine between a text's two embeddings; NaN for another model's dimension."""
    if vectors.shape != reference.shape:
        return float("nan")
    return round(float(np.mean(np.sum(vectors * reference, axis=1))), 4)


def _top_k(queries: np.ndarray, corpus: np.ndarray) -> np.ndarray:
    scores = queries @ corpus.T  # (Q, N)
    top = np.argpartition(-scores, K - 1, axis=1)[:, :K]
    return top


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth, strict=True)]))


def _markdown(report: dict) -> str:
    lines = ["# Embedder benchmark", "",
             f"{report['texts']} real review texts (mean {report['mean_chars']} characters), "
             f"{report['rounds']} interleaved rounds, median reported; recall@{report['k']} of "
             f"each backend's exact index over {report['n_queries']} query reviews against the "
             f"reference (first row). Machine: {report['machine']['cpus']} CPUs, load average "
             f"at the end {report['machine']['load_average_at_end']}.", "",
             "| backend | max tokens | texts/s | speed-up | recall@10 | recall@10, float queries "
             "| mean cosine | s per round |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in report["results"]:
        lines.append(f"| {r['backend']} | {r['max_length'] or 'full'} | {r['texts_per_s']} "
                     f"| {r['speedup_vs_reference']}x | {r['recall_at_10']:.3f} "
                     f"| {r['recall_at_10_float_queries']:.3f} "
                     f"| {r['mean_cosine_to_reference']:.4f} "
                     f"| {', '.join(str(s) for s in r['seconds_per_round'])} |")
    target = report["target"]
    met = ", ".join(target["met_by"]) or "not met"
    met_float = ", ".join(target["met_with_float_queries_by"]) or "not met"
    lines += ["", f"Target (>= {target['speedup']}x the reference with recall@10 >= "
                  f"{target['recall_at_10']}): {met}; with queries embedded in float: "
                  f"{met_float}."]
    return "\n".join(lines) + "\n"
