"""RateBeer and LARA catalogs from the raw files in ../shared/data, for the question-parser tests.

RateBeer is read from a few hundred user files (plus the ones holding the beers the tests
name), the ten LARA hotels from both folders; each comes with a fake core and review index
so the real tools and the agent can run on them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from elixir_agent.core_model.data.loaders import load_reviews
from elixir_agent.tools.catalog import Catalog
from elixir_agent.tools.context import ToolContext
from tests.helpers.agent_fakes import FakeRecommender, FakeReviewIndex

# User files that hold beers the tests name (Ayinger Celebrator, Southern Tier Imperial Oat,
# Westmalle Tripel, North Coast Old Rasputin).
_RATEBEER_FILES = ["103083.csv", "115925.csv", "109016.csv", "102874.csv"]


def _frame(reviews, aspects: list[str]) -> pd.DataFrame:
    rows = [{"review_id": r.review_id, "user_id": r.user_id, "item_id": r.item_id,
             "rating": r.rating, "text": r.text, "item_name": r.item_name or r.item_id,
             "user_name": r.user_name, **{f"aspect_{a}": r.aspects.get(a) for a in aspects}}
            for r in reviews]
    return pd.DataFrame(rows)


def ratebeer_context(shared_data: Path) -> ToolContext:
    folder = shared_data / "ratebeer" / "reviews_store"
    files = sorted(folder.glob("*.csv"))[:250] + [folder / f for f in _RATEBEER_FILES]
    reviews, aspects = [], []
    for file in dict.fromkeys(files):
        result = load_reviews("ratebeer", file, on_error="skip")
        reviews += result.reviews
        aspects = result.aspects
    return _context(_frame(reviews, aspects), aspects)


def lara_context(shared_data: Path) -> ToolContext:
    reviews, aspects = [], []
    for name in ("tripadvisor-lara", "tripadvisor-lara-extra"):
        result = load_reviews("lara-dat", shared_data / name, on_error="skip")
        reviews += result.reviews
        aspects += [a for a in result.aspects if a not in aspects]
    return _context(_frame(reviews, aspects), aspects)


def _context(frame: pd.DataFrame, aspects: list[str]) -> ToolContext:
    catalog = Catalog.from_frame(frame, aspects)
    return ToolContext(recommender=FakeRecommender(catalog), index=FakeReviewIndex(frame),
                       catalog=catalog)
