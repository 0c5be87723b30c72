"""How far a user's aspect importance can be trusted, and the population prior to fall back on.

Torch-free, so the tools can use it without loading the model code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["CONFIDENT_REVIEWS", "MIN_IMPORTANCE_DISTANCE", "MIN_IMPORTANCE_REVIEWS", "ImportanceEvidence",
           "importance_evidence", "mean_importance"]


# Fewer training reviews than this, or (below CONFIDENT_REVIEWS) weights closer to uniform
# than this (total variation distance), and the weights say nothing about the person: they
# are the model's starting point, not something learned (one-review hotel guests get 12-14%
# per aspect). From CONFIDENT_REVIEWS reviews on, even weights are learned: the person
# really weighs aspects evenly (RateBeer users with 25 reviews show it).
MIN_IMPORTANCE_REVIEWS = 3
MIN_IMPORTANCE_DISTANCE = 0.05
CONFIDENT_REVIEWS = 10


@dataclass(frozen=True)
class ImportanceEvidence:
    """What a user's aspect importance rests on."""

    n_reviews: int  # the user's training reviews
    distance_from_uniform: float  # total variation distance to equal weights, 0 = uniform
    known: bool  # enough reviews and far enough from uniform to be stated as theirs


def importance_evidence(weights: dict[str, float], n_reviews: int, *,
                        min_reviews: int = MIN_IMPORTANCE_REVIEWS,
                        min_distance: float = MIN_IMPORTANCE_DISTANCE,
                        confident_reviews: int = CONFIDENT_REVIEWS) -> ImportanceEvidence:
    """How much `weights` (one user's importance, summing to 1) can be stated as theirs."""
    if not weights:
        return ImportanceEvidence(n_reviews, 0.0, False)
    even = 1.0 / len(weights)
    distance = 0.5 * sum(abs(w - even) for w in weights.values())
    known = n_reviews >= min_reviews and (distance >= min_distance
                                          or n_reviews >= confident_reviews)
    return ImportanceEvidence(int(n_reviews), float(distance), known)


def mean_importance(weight_maps: Sequence[dict[str, float]]) -> dict[str, float]:
    """The mean of several users' importance (a population prior), renormalised to sum to 1."""
    if not weight_maps:
        return {}
    aspects = list(weight_maps[0])
    totals = {a: sum(m.get(a, 0.0) for m in weight_maps) for a in aspects}
    norm = sum(totals.values()) or 1.0
    return {a: v / norm for a, v in totals.items()}
