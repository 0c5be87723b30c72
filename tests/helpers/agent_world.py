"""A small synthetic world (dataset, catalog, fake core, fake index) for tool and agent tests."""

from __future__ import annotations

from dataclasses import dataclass
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


def build_world(root: Path) -> World:
    data_dir = root / "data"
    write_synthetic(data_dir, n_users=30, n_items=16, n_reviews=300, seed=7)
    dataset = load_prepared(data_dir)
    catalog = Catalog.from_dataset(dataset)
    train = dataset.split("train")
    context = ToolContext(recommender=FakeRecommender(catalog), index=FakeReviewIndex(train),
                          catalog=catalog)
    return World(data_dir, train, dataset.split("test"), context)
