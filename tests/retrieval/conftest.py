"""Shared fixtures: the real embedder (loaded once), a small real RateBeer dataset and index,
and a synthetic dataset for fast tests on the fake embedder."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from elixir_agent.core_model.data.storage import PreparedDataset, load_prepared, write_prepared
from elixir_agent.core_model.data.synthetic import write_synthetic
from elixir_agent.retrieval import Embedder, ReviewIndex
from tests.helpers.fake_embedder import FakeEmbedder

RATEBEER = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ratebeer" / "reviews_store"
# The reviews of this many most-reviewed beers: about 300, enough for meaningful neighbours
# and small enough to embed in seconds.
TOP_ITEMS = 8


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture(scope="session")
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder(64)


@pytest.fixture(scope="session")
def ratebeer_dataset(tmp_path_factory) -> PreparedDataset:
    """Real RateBeer reviews of the most reviewed beers, dense enough that every split is
    non-empty and items have several reviewers (about 300 reviews, a few seconds to embed)."""
    if not RATEBEER.is_dir():
        pytest.skip(f"RateBeer data not found at {RATEBEER} (expected ../shared/data beside the repo)")
    from elixir_agent.core_model.data.loaders import load_reviews
    from elixir_agent.core_model.data.prepare import (
        describe,
        iterated_kcore,
        prepare_reviews,
        split_reviews,
    )

    loaded = load_reviews("ratebeer", RATEBEER, on_error="skip")
    # A 9-core: the 10-core unravels once the reviews that are only an edit stamp go.
    dense, _ = prepare_reviews(loaded, kcore=9, max_words=64, seed=7)
    reviews = [r for split in dense.values() for r in split]
    popular = {item for item, _ in Counter(r.item_id for r in reviews).most_common(TOP_ITEMS)}
    subset = iterated_kcore([r for r in reviews if r.item_id in popular], 2)
    info = describe(loaded, name="ratebeer-subset", source_format="ratebeer",
                    source_path=str(RATEBEER), kcore=2, max_words=64, seed=7,
                    fractions=(0.8, 0.1, 0.1))
    out = tmp_path_factory.mktemp("ratebeer_prepared") / "rb"
    write_prepared(out, info, split_reviews(subset, (0.8, 0.1, 0.1), seed=7))
    return load_prepared(out)


@pytest.fixture(scope="session")
def ratebeer_texts() -> list[str]:
    """The first 64 non-empty raw RateBeer review texts (no filtering, no split)."""
    if not RATEBEER.is_dir():
        pytest.skip(f"RateBeer data not found at {RATEBEER} (expected ../shared/data beside the repo)")
    from elixir_agent.core_model.data.loaders import load_reviews

    loaded = load_reviews("ratebeer", RATEBEER, on_error="skip")
    return [r.text for r in loaded.reviews if r.text and r.text.strip()][:64]


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    """A random-weight 2-layer BERT with the bundled model's tokenizer: loads and exports in
    seconds. Loaded by sentence-transformers, it is mean-pooled like all-MiniLM-L6-v2."""
    import shutil

    import torch
    from transformers import BertConfig, BertModel

    from elixir_agent.retrieval.embedder import bundled_model_path

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-bert")
    BertModel(BertConfig(vocab_size=30522, hidden_size=64, num_hidden_layers=2,
                         num_attention_heads=4, intermediate_size=128)).save_pretrained(folder)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        shutil.copy(bundled_model_path() / name, folder / name)
    return folder


@pytest.fixture(scope="session")
def real_index(ratebeer_dataset, embedder) -> ReviewIndex:
    return ReviewIndex.build(ratebeer_dataset, embedder, progress=False)


@pytest.fixture(scope="session")
def synthetic_dataset(tmp_path_factory) -> PreparedDataset:
    out = tmp_path_factory.mktemp("synthetic") / "syn"
    write_synthetic(out, n_users=40, n_items=25, n_reviews=500, seed=3)
    return load_prepared(out)


@pytest.fixture(scope="session")
def fake_index(synthetic_dataset, fake_embedder) -> ReviewIndex:
    return ReviewIndex.build(synthetic_dataset, fake_embedder, progress=False)
