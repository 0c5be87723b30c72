"""Top-N ranking metrics: pure functions of ranked lists, each checked against hand-computed
values in tests/core/test_rank_metrics.py.

A ranked list is a sequence of item ids, best first, holding only items the user could be
recommended (never items they reviewed in training). Relevance is binary.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["bootstrap_interval", "catalog_coverage", "hit_rate_at_k", "ndcg_at_k",
           "personalisation", "popularity_percentile", "reciprocal_rank"]


def hit_rate_at_k(ranked: Sequence, relevant: set, k: int) -> float:
    """1 when any relevant item is in the top k, else 0."""
    return float(any(item in relevant for item in ranked[:k]))


def ndcg_at_k(ranked: Sequence, relevant: set, k: int) -> float:
    """DCG of the top k (gain 1 / log2(position + 1)) over the best DCG possible."""
    if not relevant:
        return 0.0
    dcg = sum(1.0 / math.log2(n + 2) for n, item in enumerate(ranked[:k]) if item in relevant)
    ideal = sum(1.0 / math.log2(n + 2) for n in range(min(len(relevant), k)))
    return dcg / ideal


def reciprocal_rank(ranked: Sequence, relevant: set) -> float:
    """1 / position of the first relevant item in the whole ranking (0 if none is ranked)."""
    for n, item in enumerate(ranked):
        if item in relevant:
            return 1.0 / (n + 1)
    return 0.0


def catalog_coverage(top_lists: Sequence[Sequence], n_items: int) -> float:
    """Share of the catalogue that appears in at least one user's list."""
    if n_items <= 0:
        raise ValueError(f"n_items must be positive (got {n_items})")
    return len({item for top in top_lists for item in top}) / n_items


def personalisation(top_lists: Sequence[Sequence], max_pairs: int = 20000,
                    seed: int = 0) -> float:
    """1 - the mean Jaccard overlap of two users' lists, over all pairs of users.

    With more than `max_pairs` pairs a seeded random sample of pairs stands in for all of them.
    """
    sets = [set(top) for top in top_lists]
    n = len(sets)
    if n < 2:
        raise ValueError("personalisation needs the lists of at least two users")
    n_pairs = n * (n - 1) // 2
    if n_pairs <= max_pairs:
        pairs = [(a, b) for a in range(n) for b in range(a + 1, n)]
    else:
        rng = np.random.default_rng(seed)
        first = rng.integers(0, n, max_pairs)
        second = (first + rng.integers(1, n, max_pairs)) % n  # never the same user twice
        pairs = list(zip(first.tolist(), second.tolist(), strict=True))
    overlaps = [len(sets[a] & sets[b]) / max(len(sets[a] | sets[b]), 1) for a, b in pairs]
    return 1.0 - float(np.mean(overlaps))


def popularity_percentile(top_lists: Sequence[Sequence], counts: dict) -> float:
    """Mean popularity percentile (0-100) of the recommended items, counted per slot.

    An item's percentile is the share of catalogue items with fewer training reviews than it,
    plus half of those with as many (so the median item sits at 50).
    """
    values = np.array(sorted(counts.values()), dtype=float)
    if not len(values):
        raise ValueError("popularity needs the training counts of at least one item")

    def percentile(item) -> float:
        c = counts.get(item, 0)
        below = np.searchsorted(values, c, side="left")
        same = np.searchsorted(values, c, side="right") - below
        return 100.0 * (below + 0.5 * same) / len(values)

    slots = [percentile(item) for top in top_lists for item in top]
    return float(np.mean(slots)) if slots else math.nan


def bootstrap_interval(values: Sequence[float], n_resamples: int = 1000, level: float = 0.95,
                       seed: int = 0) -> tuple[float, float]:
    """Seeded percentile bootstrap interval of the mean, resampling users with replacement."""
    values = np.asarray(values, dtype=float)
    if not len(values):
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    means = np.empty(n_resamples)
    for start in range(0, n_resamples, 200):  # a block at a time keeps memory flat
        stop = min(start + 200, n_resamples)
        picks = rng.integers(0, len(values), size=(stop - start, len(values)))
        means[start:stop] = values[picks].mean(axis=1)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)
