"""`predict` loads the rating model only; its numbers equal those of the full model."""

from __future__ import annotations

import pytest

from elixir_agent.core_model.inference import ElixirRecommender


def test_ratings_only_load_predicts_the_same(tiny_run):
    full = tiny_run.recommender()
    light = ElixirRecommender.from_run(tiny_run.run_dir, ratings_only=True)
    assert light.model.backbone is None and light.tokenizer is None
    user, item = full.artifacts.users.ids[0], full.artifacts.items.ids[0]
    a, b = full.predict(user, item), light.predict(user, item)
    assert b.rating == pytest.approx(a.rating, abs=1e-6)
    assert b.aspect_ratings == pytest.approx(a.aspect_ratings, abs=1e-6)
    assert b.user_importance == pytest.approx(a.user_importance, abs=1e-6)
    with pytest.raises(ValueError, match="no text model"):
        light.explain(user, item)
