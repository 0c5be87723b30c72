"""A tiny trained world for the UI: synthetic data, a tiny ELIXIR run, a real FAISS index
over a fake embedder, the routed agent with the composer (no LLM), and a launcher that
serves the app on 127.0.0.1 in this process."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.agent_fakes import BagOfWordsEmbedder
from tests.helpers.tiny_run import tiny_data, tiny_run  # noqa: F401  (session fixtures)


@dataclass
class UiWorld:
    data_dir: Path
    context: object
    embedder: object
    pairs: list


@pytest.fixture(scope="session")
def ui_world(tiny_run) -> UiWorld:  # noqa: F811
    from elixir_agent.core_model.data.storage import load_prepared
    from elixir_agent.retrieval.index import ReviewIndex
    from elixir_agent.tools.catalog import Catalog
    from elixir_agent.tools.context import ToolContext
    from elixir_agent.ui import load_pairs

    embedder = BagOfWordsEmbedder()
    dataset = load_prepared(tiny_run.data_dir)
    index = ReviewIndex.build(dataset, embedder, progress=False)
    context = ToolContext(recommender=tiny_run.recommender(), index=index,
                          catalog=Catalog.from_dataset(dataset))
    return UiWorld(tiny_run.data_dir, context, embedder, load_pairs(tiny_run.data_dir, context, limit=20))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def make_app(ui_world, tmp_path):
    from elixir_agent.ui import create_app

    def make(**kwargs):
        kwargs.setdefault("embedder", ui_world.embedder)
        kwargs.setdefault("pairs", ui_world.pairs)
        kwargs.setdefault("votes_dir", tmp_path / "votes")
        return create_app(ui_world.context, **kwargs)
    return make


@pytest.fixture
def served(make_app):
    """Launch an app on 127.0.0.1 with a free port; yields (app, url); closes it after."""
    from elixir_agent.ui import launch_app

    launched = []

    def serve(**kwargs):
        app = make_app(**kwargs)
        _, url, _ = launch_app(app, port=free_port(), block=False, quiet=True)
        launched.append(app)
        return app, url
    yield serve
    for app in launched:
        app.close()
