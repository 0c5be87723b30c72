"""The top-N protocol shared by the ranking benchmark and the choice of ELIXIR's ranking blend.

For every evaluated user, every catalogue item the user did not review in training is ranked
(full ranking, no sampled negatives); the relevant items are the user's held-out items
(optionally only those rated at or above the user's own training mean). A scorer is any
function from a batch of user rows to a (users, items) score matrix; higher is better and
ties go to the lower item row, so every model is ranked the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from elixir_agent.core_model.rank_metrics import (
    catalog_coverage,
    hit_rate_at_k,
    ndcg_at_k,
    personalisation,
    popularity_percentile,
    reciprocal_rank,
)

__all__ = ["RankingTask", "Scorer", "TopNResult", "build_task", "evaluate_scorer"]

Scorer = Callable[[np.ndarray], np.ndarray]  # user rows (U,) -> scores (U, n_items)


@dataclass
class RankingTask:
    users: np.ndarray  # (U,) user rows that have at least one relevant item
    train_items: list[np.ndarray]  # per user: item rows reviewed in training (never ranked)
    relevant: list[set[int]]  # per user: held-out item rows
    n_items: int
    item_counts: np.ndarray  # (n_items,) training reviews per item


@dataclass
class TopNResult:
    per_user: dict[str, np.ndarray]  # metric -> (U,) values, for intervals over users
    top_lists: list[list[int]]  # per user: the top k item rows
    summary: dict[str, float]  # means plus the list-level metrics


def build_task(train_users: np.ndarray, train_items: np.ndarray, eval_users: np.ndarray,
               eval_items: np.ndarray, n_items: int, *, train_ratings: np.ndarray | None = None,
               eval_ratings: np.ndarray | None = None) -> RankingTask:
    """Users with held-out items; with ratings, only items at or above the user's train mean."""
    liked_only = train_ratings is not None and eval_ratings is not None
    seen: dict[int, list[int]] = {}
    for user, item in zip(train_users.tolist(), train_items.tolist(), strict=True):
        seen.setdefault(user, []).append(item)
    means: dict[int, float] = {}
    if liked_only:
        totals = np.bincount(train_users, train_ratings)
        counts = np.bincount(train_users)
        means = {u: totals[u] / counts[u] for u in seen}
    relevant: dict[int, set[int]] = {}
    for n, (user, item) in enumerate(zip(eval_users.tolist(), eval_items.tolist(),
                                         strict=True)):
        if user not in seen:  # a user without training history cannot be personalised
            continue
        if liked_only and eval_ratings[n] < means[user]:
            continue
        relevant.setdefault(user, set()).add(item)
    # An item reviewed in both splits is not something to recommend: it is already known.
    relevant = {u: items - set(seen[u]) for u, items in relevant.items()}
    users = np.array(sorted(u for u, items in relevant.items() if items), dtype=np.int64)
    return RankingTask(users=users,
                       train_items=[np.array(sorted(set(seen[u])), dtype=np.int64)
                                    for u in users.tolist()],
                       relevant=[relevant[u] for u in users.tolist()], n_items=n_items,
                       item_counts=np.bincount(train_items, minlength=n_items))


def ranked_lists(scorer: Scorer, task: RankingTask, batch: int = 256):
    """Yield (position in task, full ranked list of item rows without the training items)."""
    for start in range(0, len(task.users), batch):
        rows = task.users[start: start + batch]
        scores = np.asarray(scorer(rows), dtype=np.float64).copy()
        if scores.shape != (len(rows), task.n_items):
            raise ValueError(f"a scorer returned shape {scores.shape}; expected "
                             f"{(len(rows), task.n_items)}")
        for n in range(len(rows)):
            scores[n, task.train_items[start + n]] = -np.inf
        order = np.argsort(-scores, axis=1, kind="stable")
        for n in range(len(rows)):
            keep = len(order[n]) - len(task.train_items[start + n])
            yield start + n, order[n, :keep].tolist()  # -inf rows sort last


def evaluate_scorer(scorer: Scorer, task: RankingTask, k: int = 10, seed: int = 0,
                    batch: int = 256) -> TopNResult:
    """Per-user HR@k, NDCG@k and MRR; coverage, personalisation and popularity of the lists."""
    names = (f"hr@{k}", f"ndcg@{k}", "mrr")
    per_user = {name: np.zeros(len(task.users)) for name in names}
    top_lists: list[list[int]] = [[] for _ in task.users]
    for n, ranked in ranked_lists(scorer, task, batch):
        relevant = task.relevant[n]
        per_user[f"hr@{k}"][n] = hit_rate_at_k(ranked, relevant, k)
        per_user[f"ndcg@{k}"][n] = ndcg_at_k(ranked, relevant, k)
        per_user["mrr"][n] = reciprocal_rank(ranked, relevant)
        top_lists[n] = ranked[:k]
    summary = {name: float(values.mean()) for name, values in per_user.items()}
    counts = dict(enumerate(task.item_counts.tolist()))
    summary[f"coverage@{k}"] = catalog_coverage(top_lists, task.n_items)
    summary["personalisation"] = (personalisation(top_lists, seed=seed)
                                  if len(top_lists) > 1 else float("nan"))
    summary["popularity_pct"] = popularity_percentile(top_lists, counts)
    return TopNResult(per_user, top_lists, summary)
