"""Baselines for the core benchmark: rating predictors and retrieval "explanations".

Ratings: global mean, user + item bias (regularised), biased matrix factorisation. Each is
fit per target (the overall rating and every aspect) on the rated training entries.

Text: (1) the training review of the same item most similar (TF-IDF cosine) to the user's
own training reviews, (2) the item's most central training review (highest mean cosine to
the item's other reviews). Neither ever sees the test review.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.feature_extraction.text import TfidfVectorizer


@dataclass
class RatingData:
    users: np.ndarray  # (N,) int
    items: np.ndarray  # (N,) int
    target: np.ndarray  # (N,) float


def _rmse(pred: np.ndarray, target: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.clip(pred, 1, 5) - target) ** 2)))


def global_mean(train: RatingData, _valid: RatingData, n_users: int, n_items: int):
    mean = float(train.target.mean())
    return lambda users, items: np.full(len(users), mean)


def bias_model(train: RatingData, valid: RatingData, n_users: int, n_items: int,
               regs=(1.0, 3.0, 10.0, 25.0), sweeps: int = 10):
    """mu + b_u + b_i by alternating ridge updates; the regulariser is picked on validation."""
    best, best_rmse = None, np.inf
    for reg in regs:
        mu = train.target.mean()
        bu, bi = np.zeros(n_users), np.zeros(n_items)
        for _ in range(sweeps):
            resid = train.target - mu - bi[train.items]
            bu = np.bincount(train.users, resid, n_users) / (np.bincount(train.users,
                                                                         minlength=n_users) + reg)
            resid = train.target - mu - bu[train.users]
            bi = np.bincount(train.items, resid, n_items) / (np.bincount(train.items,
                                                                         minlength=n_items) + reg)
        predict = (lambda m, u_, i_: lambda users, items: m + u_[users] + i_[items])(mu, bu, bi)
        score = _rmse(predict(valid.users, valid.items), valid.target)
        if score < best_rmse:
            best, best_rmse = predict, score
    return best


def biased_mf(train: RatingData, valid: RatingData, n_users: int, n_items: int, k: int = 32,
              weight_decays=(1e-2, 5e-2), epochs: int = 60, seed: int = 42):
    """mu + b_u + b_i + p_u . q_i with Adam; weight decay and epoch picked on validation."""
    best, best_rmse = None, np.inf
    for wd in weight_decays:
        predict, score = _fit_mf(train, valid, n_users, n_items, k, wd, epochs, seed)
        if score < best_rmse:
            best, best_rmse = predict, score
    return best


def _fit_mf(train, valid, n_users, n_items, k, wd, epochs, seed):
    torch.manual_seed(seed)
    P = torch.nn.Parameter(torch.randn(n_users, k) * 0.05)
    Q = torch.nn.Parameter(torch.randn(n_items, k) * 0.05)
    bu = torch.nn.Parameter(torch.zeros(n_users))
    bi = torch.nn.Parameter(torch.zeros(n_items))
    mu = float(train.target.mean())
    opt = torch.optim.Adam([P, Q, bu, bi], lr=5e-3)
    u, i = torch.as_tensor(train.users.copy()), torch.as_tensor(train.items.copy())
    y = torch.from_numpy(train.target).float()

    def forward(users, items):
        return mu + bu[users] + bi[items] + (P[users] * Q[items]).sum(-1)

    best_state, best_rmse, bad = None, np.inf, 0
    for _ in range(epochs):
        for idx in torch.randperm(len(y)).split(256):
            loss = (forward(u[idx], i[idx]) - y[idx]).pow(2).mean()
            loss = loss + wd * (P[u[idx]].pow(2).sum() + Q[i[idx]].pow(2).sum()) / len(idx)
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            score = _rmse(forward(torch.as_tensor(valid.users.copy()),
                                  torch.as_tensor(valid.items.copy())).numpy(), valid.target)
        if score < best_rmse - 1e-5:
            best_rmse, bad = score, 0
            best_state = [t.detach().clone() for t in (P, Q, bu, bi)]
        else:
            bad += 1
            if bad >= 4:  # early stopping on validation RMSE
                break
    Pb, Qb, bub, bib = best_state

    def predict(users, items):
        users, items = torch.as_tensor(users.copy()), torch.as_tensor(items.copy())
        return (mu + bub[users] + bib[items] + (Pb[users] * Qb[items]).sum(-1)).numpy()

    return predict, best_rmse


RATING_BASELINES = {"global mean": global_mean, "user+item bias": bias_model,
                    "biased MF": biased_mf}


# ---- retrieval text baselines ---------------------------------------------------------------

class ReviewRetriever:
    """TF-IDF over the training reviews, grouped by item and by user."""

    def __init__(self, users: list[str], items: list[str], texts: list[str]):
        self.texts = texts
        self.vectorizer = TfidfVectorizer(sublinear_tf=True, min_df=2)
        self.matrix = self.vectorizer.fit_transform(texts)  # (N, V) rows L2-normalised
        self.by_item: dict[str, list[int]] = defaultdict(list)
        self.by_user: dict[str, list[int]] = defaultdict(list)
        for row, (user, item) in enumerate(zip(users, items, strict=True)):
            self.by_item[item].append(row)
            self.by_user[user].append(row)

    def most_similar_to_user(self, user: str, item: str) -> str:
        """The item's training review closest to the user's own training reviews."""
        rows = self.by_item.get(item, [])
        if not rows:
            return ""
        profile = np.asarray(self.matrix[self.by_user.get(user, [])].mean(axis=0))
        if not self.by_user.get(user):
            return self.central(item)
        scores = self.matrix[rows] @ profile.ravel()
        return self.texts[rows[int(np.argmax(scores))]]

    def central(self, item: str) -> str:
        """The item's review with the highest mean cosine to the item's other reviews."""
        rows = self.by_item.get(item, [])
        if not rows:
            return ""
        from elixir_agent.core_model.item_context import most_central

        return self.texts[most_central(self.matrix, rows, 1)[0]]
