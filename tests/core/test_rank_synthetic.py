"""On synthetic data with known tastes, the learned ranking finds each user's preferred items
better than popularity does; a run without the ranking head still ranks by rating."""

from __future__ import annotations

import json

import numpy as np
import pytest

from elixir_agent.core_model.data.synthetic import write_synthetic
from tests.helpers.tiny_run import train_tiny


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    data = tmp_path_factory.mktemp("rank-synth") / "data"
    write_synthetic(data, n_users=80, n_items=40, n_reviews=1600, seed=11)
    return data


def _true_utility(data) -> tuple[dict, dict]:
    truth = json.loads((data / "ground_truth.json").read_text())
    quality = {i: np.array(q) for i, q in truth["item_quality"].items()}
    return {u: np.array(w) for u, w in truth["user_weights"].items()}, quality


@pytest.mark.slow
def test_learned_ranking_recovers_preferred_items_better_than_popularity(synth, tmp_path):
    from elixir_agent.core_model.inference import ElixirRecommender

    train_tiny(synth, tmp_path / "run", text=False, rating_epochs=12, rank_epochs=3)
    rec = ElixirRecommender.from_run(tmp_path / "run")
    assert rec.model.rating.interaction is not None
    weights, quality = _true_utility(synth)
    counts = {i: 0 for i in rec.artifacts.items.ids}
    for items in rec.artifacts.seen.values():
        for item in items:
            counts[item] += 1
    learned, popular = [], []
    for user in rec.artifacts.users.ids:
        unseen = [i for i in rec.artifacts.items.ids if i not in set(rec.seen_items(user))]
        utility = {i: weights[user] @ quality[i] for i in unseen}
        preferred = set(sorted(unseen, key=lambda i: -utility[i])[:10])
        ours = [p.item_id for p in rec.rank(user, k=5)]
        most_popular = sorted(unseen, key=lambda i: (-counts[i], i))[:5]
        learned.append(len(preferred & set(ours)) / 5)
        popular.append(len(preferred & set(most_popular)) / 5)
    # precision@5 against each user's true top 10 unseen items
    assert np.mean(learned) > np.mean(popular) + 0.1


def test_old_run_without_ranking_head_still_loads_and_ranks_by_rating(tiny_data, tmp_path):
    from elixir_agent.core_model.checkpoint import RUN_FILES
    from elixir_agent.core_model.inference import ElixirRecommender
    from elixir_agent.core_model.integrity import write_manifest

    train_tiny(tiny_data, tmp_path / "run", text=False, rank_weight=0.0, rating_epochs=1)
    # a run written before the ranking head existed: its config.json has no rank_* fields
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    config["model"] = {k: v for k, v in config["model"].items() if not k.startswith("rank_")}
    config["train"].pop("rank_epochs")
    (tmp_path / "run" / "config.json").write_text(json.dumps(config))
    write_manifest(tmp_path / "run", include=RUN_FILES)  # the edit is ours, not corruption
    rec = ElixirRecommender.from_run(tmp_path / "run")
    assert rec.model.rating.interaction is None
    user = rec.artifacts.users.ids[0]
    ranked = rec.rank(user, k=8)
    assert [p.rating for p in ranked] == sorted((p.rating for p in ranked), reverse=True)
    assert all(p.rank_score is None for p in ranked)
    assert not {p.item_id for p in ranked} & set(rec.seen_items(user))


def test_rating_matrix_matches_the_forward_pass(tiny_data, tmp_path):
    import torch

    from elixir_agent.core_model.checkpoint import load_model

    train_tiny(tiny_data, tmp_path / "run", text=False, rating_epochs=1, rank_epochs=1)
    model = load_model(tmp_path / "run")[0]
    users, items = torch.arange(5), torch.arange(model.cfg.n_items)
    matrix = model.rating.rating_matrix(users, items)
    grid_u, grid_i = users.repeat_interleave(len(items)), items.repeat(len(users))
    with torch.no_grad():
        direct = model.rating(grid_u, grid_i).rating.reshape(len(users), len(items))
    assert torch.allclose(matrix, direct, atol=1e-5)
    assert model.rating.interaction_matrix(users, items).shape == (5, model.cfg.n_items)
