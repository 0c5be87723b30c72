"""Rating errors, distribution summaries (length, latency) and bootstrap confidence intervals."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Interval", "Summary", "bootstrap_ci", "mae", "rmse", "summarize", "word_counts"]


def _paired(predicted: Sequence[float], actual: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    if len(predicted) != len(actual):
        raise ValueError(f"{len(predicted)} predictions but {len(actual)} true ratings")
    if len(predicted) == 0:
        raise ValueError("no ratings to score")
    return np.asarray(predicted, dtype=np.float64), np.asarray(actual, dtype=np.float64)


def rmse(predicted: Sequence[float], actual: Sequence[float]) -> float:
    """Root mean squared error."""
    p, a = _paired(predicted, actual)
    return float(math.sqrt(np.mean((p - a) ** 2)))


def mae(predicted: Sequence[float], actual: Sequence[float]) -> float:
    """Mean absolute error."""
    p, a = _paired(predicted, actual)
    return float(np.mean(np.abs(p - a)))


def word_counts(texts: Sequence[str]) -> list[int]:
    """Length of each text in whitespace-separated words."""
    return [len(t.split()) for t in texts]


@dataclass(frozen=True)
class Summary:
    """Distribution of a per-explanation quantity (words, seconds)."""

    n: int
    mean: float
    p50: float
    p95: float
    min: float
    max: float


def summarize(values: Sequence[float]) -> Summary:
    """n, mean, median, 95th percentile (linear interpolation, numpy's default), min, max."""
    if len(values) == 0:
        raise ValueError("nothing to summarize")
    v = np.asarray(values, dtype=np.float64)
    return Summary(len(v), float(v.mean()), float(np.percentile(v, 50)), float(np.percentile(v, 95)),
                   float(v.min()), float(v.max()))


@dataclass(frozen=True)
class Interval:
    """A point estimate and its percentile-bootstrap confidence interval."""

    estimate: float
    low: float
    high: float
    level: float


def bootstrap_ci(
    n: int,
    statistic: Callable[[np.ndarray], float],
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap over `n` paired items.

    `statistic(indices)` computes the metric on the items at `indices` (with repeats), which
    works for corpus-level metrics such as BLEU as well as for means:
    `bootstrap_ci(len(xs), lambda idx: float(np.mean(np.asarray(xs)[idx])))`.
    """
    if n < 1:
        raise ValueError("bootstrap needs at least one item")
    if not 0 < level < 1:
        raise ValueError(f"confidence level must be in (0, 1), got {level}")
    from scipy.stats import bootstrap

    estimate = float(statistic(np.arange(n)))
    if n == 1:  # one item: every resample is that item
        return Interval(estimate, estimate, estimate, level)
    # scipy resamples the item indices; the statistic sees them as in the docstring.
    result = bootstrap((np.arange(n),), lambda idx: float(statistic(np.asarray(idx, dtype=np.intp))),
                       n_resamples=resamples, confidence_level=level, method="percentile",
                       vectorized=False, rng=np.random.default_rng(seed))
    interval = result.confidence_interval
    return Interval(estimate, float(interval.low), float(interval.high), level)
