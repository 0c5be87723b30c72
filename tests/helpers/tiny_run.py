"""A tiny trained ELIXIR run for any layer's tests: synthetic data + a model trained in seconds.

In a conftest.py:

    from tests.helpers.tiny_run import tiny_run, tiny_data  # noqa: F401  (session fixtures)

`tiny_run` is a `TinyRun` with `.data_dir`, `.run_dir` and `.recommender()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

TINY_TRAIN = dict(progress=False, threads=1, rating_epochs=3, text_epochs=1,
                  checkpoint_every=1000)


@dataclass
class TinyRun:
    data_dir: Path
    run_dir: Path

    def recommender(self, **kwargs):
        from elixir_agent.core_model.inference import ElixirRecommender

        return ElixirRecommender.from_run(self.run_dir, **kwargs)


def write_tiny_data(out_dir: Path, n_users: int = 40, n_items: int = 20, n_reviews: int = 400,
                    seed: int = 7) -> Path:
    from elixir_agent.core_model.data.synthetic import write_synthetic

    write_synthetic(out_dir, n_users=n_users, n_items=n_items, n_reviews=n_reviews, seed=seed)
    return out_dir


def train_tiny(data_dir: Path, run_dir: Path, *, resume: bool = False, **overrides) -> dict:
    """Train the `tiny` preset; `overrides` go to ModelConfig or TrainConfig by name."""
    from dataclasses import fields

    from elixir_agent.core_model.config import ModelConfig, build_configs
    from elixir_agent.core_model.train import train

    model_names = {f.name for f in fields(ModelConfig)}
    model = {k: v for k, v in overrides.items() if k in model_names}
    train_kw = {**TINY_TRAIN, **{k: v for k, v in overrides.items() if k not in model_names}}
    model_cfg, train_cfg = build_configs("tiny", model, train_kw)
    return train(data_dir, run_dir, model_cfg, train_cfg, resume=resume)


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    return write_tiny_data(tmp_path_factory.mktemp("tiny") / "data")


@pytest.fixture(scope="session")
def tiny_run(tiny_data, tmp_path_factory) -> TinyRun:
    run_dir = tmp_path_factory.mktemp("tiny_run") / "run"
    train_tiny(tiny_data, run_dir)
    return TinyRun(tiny_data, run_dir)
