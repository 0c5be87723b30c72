"""Top-N baselines for the ranking benchmark, each fit on training reviews only.

Every baseline returns a scorer (user rows -> (U, n_items) scores, higher first). Where a
baseline has a knob (shrinkage, neighbours, epochs) it is chosen on the validation split by
the same protocol the benchmark uses on test.

- most popular: training review count;
- best rated: the item's mean rating shrunk towards the global mean (a Bayesian average);
- user+item bias and biased MF: the rating predictors of `baselines.py`, sorted;
- BPR-MF: matrix factorisation trained on implicit feedback with the BPR pairwise loss;
- item-kNN: cosine similarity of items' co-review vectors, summed over the user's items.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from elixir_agent.core_model.baselines import RatingData, bias_model, biased_mf
from elixir_agent.core_model.rank_protocol import RankingTask, Scorer, evaluate_scorer

__all__ = ["RANKING_BASELINES", "Interactions"]


@dataclass
class Interactions:
    users: np.ndarray  # (N,) user rows
    items: np.ndarray  # (N,) item rows
    ratings: np.ndarray  # (N,) overall ratings
    n_users: int
    n_items: int

    def as_rating_data(self) -> RatingData:
        return RatingData(self.users, self.items, self.ratings.astype(np.float64))

    def binary_matrix(self) -> np.ndarray:
        matrix = np.zeros((self.n_users, self.n_items), dtype=np.float32)
        matrix[self.users, self.items] = 1.0
        return matrix


Fit = Callable[[Interactions, Interactions, RankingTask, int], Scorer]


def _constant(item_scores: np.ndarray) -> Scorer:
    return lambda users: np.broadcast_to(item_scores, (len(users), len(item_scores)))


def _best_on_valid(candidates: dict, valid_task: RankingTask) -> Scorer:
    """The candidate scorer with the highest validation NDCG@10."""
    scores = {key: evaluate_scorer(s, valid_task).summary["ndcg@10"]
              for key, s in candidates.items()}
    return candidates[max(scores, key=scores.get)]


def most_popular(train: Interactions, valid: Interactions, valid_task: RankingTask,
                 seed: int) -> Scorer:
    return _constant(np.bincount(train.items, minlength=train.n_items).astype(float))


def best_rated(train: Interactions, valid: Interactions, valid_task: RankingTask,
               seed: int, priors=(1.0, 5.0, 20.0, 50.0)) -> Scorer:
    """(sum of ratings + m * global mean) / (reviews + m), m chosen on validation."""
    counts = np.bincount(train.items, minlength=train.n_items)
    totals = np.bincount(train.items, train.ratings, minlength=train.n_items)
    mu = float(train.ratings.mean())
    return _best_on_valid({m: _constant((totals + m * mu) / (counts + m)) for m in priors},
                          valid_task)


def _rating_scorer(predict, n_items: int) -> Scorer:
    """Every item's predicted rating, from a (users, items) -> ratings predictor."""
    def score(users: np.ndarray) -> np.ndarray:
        grid_u = np.repeat(users, n_items)
        grid_i = np.tile(np.arange(n_items), len(users))
        return np.asarray(predict(grid_u, grid_i)).reshape(len(users), n_items)

    return score


def user_item_bias(train: Interactions, valid: Interactions, valid_task: RankingTask,
                   seed: int) -> Scorer:
    return _rating_scorer(bias_model(train.as_rating_data(), valid.as_rating_data(),
                                     train.n_users, train.n_items), train.n_items)


def mf_rating(train: Interactions, valid: Interactions, valid_task: RankingTask,
              seed: int) -> Scorer:
    return _rating_scorer(biased_mf(train.as_rating_data(), valid.as_rating_data(),
                                    train.n_users, train.n_items, seed=seed), train.n_items)


def bpr_mf(train: Interactions, valid: Interactions, valid_task: RankingTask, seed: int,
           k: int = 32, epochs: int = 60, check_every: int = 5, l2: float = 1e-4) -> Scorer:
    """BPR (Rendle et al. 2009): a reviewed item above a uniformly drawn unreviewed one.

    The epoch is chosen by validation NDCG@10, checked every `check_every` epochs.
    """
    generator = torch.Generator().manual_seed(seed)
    P = torch.nn.Parameter(torch.randn(train.n_users, k, generator=generator) * 0.05)
    Q = torch.nn.Parameter(torch.randn(train.n_items, k, generator=generator) * 0.05)
    b = torch.nn.Parameter(torch.zeros(train.n_items))
    optimizer = torch.optim.Adam([P, Q, b], lr=5e-3)
    users, pos = torch.tensor(train.users), torch.tensor(train.items)
    seen = torch.as_tensor(train.binary_matrix() > 0)

    def scores() -> np.ndarray:
        return (P @ Q.T + b[None]).detach().numpy()

    best, best_ndcg, bad = None, -1.0, 0
    for epoch in range(1, epochs + 1):
        for idx in torch.randperm(len(users), generator=generator).split(256):
            u, i = users[idx], pos[idx]
            j = torch.randint(0, train.n_items, (len(idx),), generator=generator)
            fresh = ~seen[u, j]  # a drawn item the user did review is no negative
            x = (P[u] * (Q[i] - Q[j])).sum(-1) + b[i] - b[j]
            loss = -(torch.nn.functional.logsigmoid(x) * fresh).mean()
            loss = loss + l2 * (P[u].pow(2).sum() + Q[i].pow(2).sum() + Q[j].pow(2).sum()) / len(idx)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if epoch % check_every:
            continue
        matrix = scores()
        ndcg = evaluate_scorer(lambda rows, m=matrix: m[rows], valid_task).summary["ndcg@10"]
        if ndcg > best_ndcg:
            best, best_ndcg, bad = matrix, ndcg, 0
        else:
            bad += 1
            if bad >= 2:
                break
    return lambda rows: best[rows]


def item_knn(train: Interactions, valid: Interactions, valid_task: RankingTask, seed: int,
             neighbours=(20, 50, 200)) -> Scorer:
    """Score = sum over the user's items of cosine(co-review vectors), top neighbours only."""
    X = train.binary_matrix()  # (U, I)
    co = X.T @ X  # (I, I) users who reviewed both
    norms = np.sqrt(np.diag(co)).clip(min=1e-9)
    similarity = co / norms[:, None] / norms[None]
    np.fill_diagonal(similarity, 0.0)
    candidates = {}
    for n in neighbours:
        kept = similarity.copy()
        if n < kept.shape[0]:  # keep each item's n closest, zero the rest
            cut = np.partition(kept, -n, axis=0)[-n]
            kept[kept < cut[None]] = 0.0
        candidates[n] = (lambda rows, s=kept: X[rows] @ s)
    return _best_on_valid(candidates, valid_task)


RANKING_BASELINES: dict[str, Fit] = {
    "most popular": most_popular,
    "best rated (shrunk mean)": best_rated,
    "user+item bias": user_item_bias,
    "biased MF": mf_rating,
    "BPR-MF": bpr_mf,
    "item-kNN": item_knn,
}
