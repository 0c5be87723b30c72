"""A small synthetic world (dataset, catalog, fake core, fake index) for tool and agent tests."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from elixir_agent.core_model.data.storage import load_prepared
from elixir_agent.core_model.data.synthetic import write_synthetic
from elixir_agent.tools.catalog import Catalog
from elixir_agent.tools.context import ToolContext
from tests.helpers.agent_fakes import FakeRecommender, FakeReviewIndex


@dataclass
class World:
    data_dir: Path
    train: pd.DataFrame
    test: pd.DataFrame
    context: ToolContext

    @property
    def catalog(self) -> Catalog:
        return self.context.catalog

    def test_pair(self) -> tuple[str, str]:
        """A (user, item) test pair: the user has not reviewed the item in training."""
        row = self.test.iloc[0]
        return row.user_id, row.item_id

    def with_review(self, item_id: str, review_id: str, text: str, rating: float) -> ToolContext:
        """The context with one more training review of `item_id` in the review index, copied
        from a real one of that item so that only the id, the text and the rating differ."""
        row = self.train[self.train.item_id == item_id].iloc[0].copy()
        row["review_id"], row["text"], row["rating"] = review_id, text, rating
        frame = pd.concat([self.train, row.to_frame().T], ignore_index=True)
        frame["rating"] = frame["rating"].astype(float)
        return replace(self.context, index=FakeReviewIndex(frame))


def build_world(root: Path) -> World:
    data_dir = root / "data"
    write_synthetic(data_dir, n_users=30, n_items=16, n_reviews=300, seed=7)
    dataset = load_prepared(data_dir)
    catalog = Catalog.from_dataset(dataset)
    train = dataset.split("train")
    context = ToolContext(recommender=FakeRecommender(catalog), index=FakeReviewIndex(train),
                          catalog=catalog)
    return World(data_dir, train, dataset.split("test"), context)
