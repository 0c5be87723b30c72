"""A user's aspect importance with what it rests on, and the prior used when it rests on too little.

The core gives every user a set of weights, but for a user with one or two training reviews
those weights are close to the model's starting point. `ImportanceReport` says so and carries
the weights of people who did write enough reviews (the item's reviewers when enough of them
did, otherwise everyone), naming which.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from elixir_agent.core_model.importance import MIN_IMPORTANCE_REVIEWS, importance_evidence, mean_importance
from elixir_agent.tools.artifacts import Count, Record, Share
from elixir_agent.tools.context import ToolContext

__all__ = ["ImportancePriors", "ImportanceReport", "ReportsImportance"]

_MIN_PRIOR_USERS = 3  # fewer experienced reviewers of an item than this: use everyone's
_MAX_PRIOR_USERS = 2000  # enough for a stable mean; bounds the one-off cost on big data


class ImportanceReport(Record):
    """One user's importance, how much evidence it has, and the fallback when it has too little."""

    weights: dict[str, Share]  # the model's weights for this user
    n_reviews: Count  # the user's training reviews
    distance_from_uniform: Share  # total variation distance to equal weights
    known: bool  # enough evidence to state the weights as the user's
    min_reviews: Count  # the fewest training reviews that can tell
    prior: Literal["item_reviewers", "population", "all_users"]
    prior_weights: dict[str, Share]  # mean weights of the prior's users
    prior_users: Count  # how many users the prior averages

    def stated(self) -> dict[str, float]:
        """The weights an answer should use: the user's when known, the prior's otherwise."""
        return self.weights if self.known or not self.prior_weights else self.prior_weights

    def top(self) -> str:
        weights = self.stated()
        return max(weights, key=weights.get)


@dataclass
class ImportancePriors:
    """Population importance priors, computed once per tool from the core's predictions."""

    ctx: ToolContext
    _cache: dict[str, tuple[dict[str, float], int]] = field(default_factory=dict)

    def report(self, user_id: str, weights: dict[str, float],
               item_id: str | None = None) -> ImportanceReport:
        stats = self.ctx.catalog.users.get(user_id)
        n_reviews = stats.n_reviews if stats else 0
        evidence = importance_evidence(weights, n_reviews)
        prior, prior_weights, prior_users = self._prior(item_id)
        return ImportanceReport(weights=weights, n_reviews=n_reviews,
                                distance_from_uniform=evidence.distance_from_uniform,
                                known=evidence.known, min_reviews=MIN_IMPORTANCE_REVIEWS,
                                prior=prior, prior_weights=prior_weights,
                                prior_users=prior_users)

    def _prior(self, item_id: str | None) -> tuple[str, dict[str, float], int]:
        experienced = [u for u, s in self.ctx.catalog.users.items()
                       if s.n_reviews >= MIN_IMPORTANCE_REVIEWS]
        if item_id is not None:
            reviewers = [u for u in experienced
                         if any(i == item_id for i, _ in self.ctx.catalog.users[u].history)]
            if len(reviewers) >= _MIN_PRIOR_USERS:
                weights, n = self._mean(f"item:{item_id}", reviewers)
                return "item_reviewers", weights, n
        if len(experienced) >= _MIN_PRIOR_USERS:
            weights, n = self._mean("population", experienced)
            return "population", weights, n
        weights, n = self._mean("all", list(self.ctx.catalog.users))
        return "all_users", weights, n

    def _mean(self, key: str, users: list[str]) -> tuple[dict[str, float], int]:
        if key not in self._cache:
            users = sorted(u for u in users if self.ctx.recommender.has_user(u))[:_MAX_PRIOR_USERS]
            anchor = next(iter(self.ctx.catalog.items), None)
            if not users or anchor is None:
                self._cache[key] = ({}, 0)
            else:
                # A user's importance depends on the user alone, so any item will do.
                pairs = [(u, anchor) for u in users]
                batch = getattr(self.ctx.recommender, "predict_batch", None)
                predictions = (batch(pairs) if batch is not None
                               else [self.ctx.recommender.predict(u, i) for u, i in pairs])
                self._cache[key] = (mean_importance([p.user_importance for p in predictions]),
                                    len(users))
        return self._cache[key]


@dataclass(frozen=True)
class ReportsImportance:
    """Base of a tool that states a user's importance: one `ImportancePriors` per tool, so
    the population's mean weights are computed once however often the tool is called."""

    ctx: ToolContext

    @cached_property
    def priors(self) -> ImportancePriors:
        return ImportancePriors(self.ctx)
