"""ELIXIR's ranking of unseen items, and the choice of its blend on the validation split.

A model with the ranking head scores an item for a user as

    interaction(u, i) - pop_discount * log(1 + training reviews of i) + rating_weight * rating(u, i)

The interaction score says how likely the user is to seek the item out, the predicted rating
how much they would like it; the discount takes back part of the popularity the interaction
score learns. Both weights are chosen on validation, never on test. A model without the
head (older runs, rank_weight = 0) ranks by predicted rating, as it always did.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from elixir_agent.core_model.config import ModelConfig
from elixir_agent.core_model.model import Elixir
from elixir_agent.core_model.rank_protocol import RankingTask, build_task, evaluate_scorer

__all__ = ["BLEND_GRID", "MIN_PERSONALISATION", "choose_blend", "elixir_scorer",
           "validation_ndcg"]

# (pop_discount, rating_weight) pairs tried on validation.
BLEND_GRID = [(p, r) for p in (0.0, 0.25, 0.5, 0.75, 1.0) for r in (0.0, 0.5, 1.0, 2.0, 4.0)]
# A list that is the same for everyone is not a recommendation: among the blends, those whose
# validation top-10 lists are at least this personal (1 - mean pairwise Jaccard) come first.
MIN_PERSONALISATION = 0.9


def elixir_scorer(model: Elixir, cfg: ModelConfig, *, pop_discount: float | None = None,
                  rating_weight: float | None = None, device: str | torch.device = "cpu"):
    """A scorer (user rows -> (U, n_items) scores) following the run's blend, or the one given."""
    head = model.rating.interaction
    pop_discount = cfg.rank_pop_discount if pop_discount is None else pop_discount
    rating_weight = cfg.rank_rating_weight if rating_weight is None else rating_weight
    items = torch.arange(cfg.n_items, device=device)

    def score(users: np.ndarray) -> np.ndarray:
        model.eval()
        rows = torch.as_tensor(np.asarray(users), dtype=torch.long, device=device)
        rating = model.rating.rating_matrix(rows, items)
        if head is None:
            return rating.float().cpu().numpy()
        total = model.rating.interaction_matrix(rows, items)
        total = total - pop_discount * head.log_popularity[None] + rating_weight * rating
        return total.float().cpu().numpy()

    return score


def choose_blend(model: Elixir, cfg: ModelConfig, train, valid,
                 device: str | torch.device = "cpu", seed: int = 0
                 ) -> tuple[ModelConfig, list[dict]]:
    """The config with the blend that ranks the validation items best, and every blend tried.

    "Best" follows what rank() is for, items the user will seek out and rate highly: the mean
    of validation NDCG@10 with all of a user's validation items relevant and with only those
    rated at or above the user's training mean, among the blends whose lists are at least
    MIN_PERSONALISATION personal (all blends compete when none is).
    """
    if model.rating.interaction is None:
        return cfg, []
    def arrays(data):
        return data.users.cpu().numpy(), data.items.cpu().numpy(), data.rating.cpu().numpy()

    (tu, ti, tr), (vu, vi, vr) = arrays(train), arrays(valid)
    task: RankingTask = build_task(tu, ti, vu, vi, cfg.n_items)
    liked = build_task(tu, ti, vu, vi, cfg.n_items, train_ratings=tr, eval_ratings=vr)
    if len(task.users) < 2 or not len(liked.users):
        return cfg, []
    # Both parts once for the users evaluated; each blend is then a weighted sum.
    model.eval()
    rows = torch.as_tensor(task.users, device=device)
    items = torch.arange(cfg.n_items, device=device)
    rating = model.rating.rating_matrix(rows, items).float().cpu().numpy()
    interaction = model.rating.interaction_matrix(rows, items).float().cpu().numpy()
    log_pop = model.rating.interaction.log_popularity.float().cpu().numpy()[None]
    position = {user: n for n, user in enumerate(task.users.tolist())}
    tried = []
    for pop_discount, rating_weight in BLEND_GRID:
        blended = interaction - pop_discount * log_pop + rating_weight * rating

        def scorer(users: np.ndarray, blended=blended) -> np.ndarray:
            return blended[[position[u] for u in users.tolist()]]

        summary = evaluate_scorer(scorer, task, seed=seed).summary
        liked_ndcg = evaluate_scorer(scorer, liked, seed=seed).summary["ndcg@10"]
        tried.append({"pop_discount": pop_discount, "rating_weight": rating_weight,
                      "valid_ndcg@10": round(summary["ndcg@10"], 5),
                      "valid_liked_ndcg@10": round(liked_ndcg, 5),
                      "valid_personalisation": round(summary["personalisation"], 4)})
    personal = [t for t in tried if t["valid_personalisation"] >= MIN_PERSONALISATION]
    best = max(personal or tried,
               key=lambda t: t["valid_ndcg@10"] + t["valid_liked_ndcg@10"])
    return replace(cfg, rank_pop_discount=best["pop_discount"],
                   rank_rating_weight=best["rating_weight"]), tried


def validation_ndcg(model: Elixir, cfg: ModelConfig, train, valid,
                    device: str | torch.device = "cpu") -> float:
    """NDCG@10 of the interaction score alone on the validation split (ranking phase)."""
    task = build_task(train.users.cpu().numpy(), train.items.cpu().numpy(),
                      valid.users.cpu().numpy(), valid.items.cpu().numpy(), cfg.n_items)
    if not len(task.users):
        return 0.0
    scorer = elixir_scorer(model, cfg, pop_discount=0.0, rating_weight=0.0, device=device)
    return evaluate_scorer(scorer, task).summary["ndcg@10"]
