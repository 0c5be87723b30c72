"""Behaviour on a small real index (RateBeer reviews, all-MiniLM-L6-v2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from elixir_agent.retrieval import DEFAULT_EMBEDDER, DeferredEmbedder, IndexMismatchError, ReviewIndex
from tests.helpers.fake_embedder import FakeEmbedder


def test_embedder_gives_unit_float32_rows(embedder):
    vectors = embedder.encode(["a hoppy pale ale", "roasty stout with coffee notes", ""])
    assert embedder.name == DEFAULT_EMBEDDER and embedder.dimension == 384
    assert vectors.dtype == np.float32 and vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.encode([]).shape == (0, 384)


def test_index_holds_only_the_training_split(real_index, ratebeer_dataset):
    train = ratebeer_dataset.split("train")
    assert len(real_index) == len(train) > 100
    assert set(real_index.review_ids) == set(train["review_id"])
    assert real_index.manifest["splits"] == ["train"]


def test_own_text_returns_the_review_first(real_index, ratebeer_dataset):
    train = ratebeer_dataset.split("train")
    unique = train.drop_duplicates("text", keep=False).sample(30, random_state=0)
    for row in unique.head(3).itertuples():  # by text, through the embedder
        hits = real_index.search(row.text, k=3)
        assert hits[0].review_id == row.review_id
        assert hits[0].score == pytest.approx(1.0, abs=1e-4)
        assert hits[0].rating == pytest.approx(row.rating)
    vectors = real_index.embedder.encode(unique["text"].tolist())  # the rest in one batch
    for vector, review_id in zip(vectors, unique["review_id"], strict=True):
        assert real_index.search(vector, k=3)[0].review_id == review_id


def test_held_out_reviews_never_appear(real_index, ratebeer_dataset):
    held_out = pd.concat([ratebeer_dataset.split("valid"), ratebeer_dataset.split("test")])
    held_ids = set(held_out["review_id"])
    assert held_ids
    vectors = real_index.embedder.encode(held_out["text"].tolist())
    for vector, review_id in zip(vectors, held_out["review_id"], strict=True):
        hits = real_index.search(vector, k=10)
        assert not held_ids & {h.review_id for h in hits}
        with pytest.raises(KeyError, match="held-out"):
            real_index.get(review_id)


def test_save_then_load_gives_identical_results(real_index, embedder, tmp_path):
    real_index.save(tmp_path / "idx")
    assert {p.name for p in (tmp_path / "idx").iterdir()} == {
        "index.faiss", "reviews.parquet", "embeddings.npy", "manifest.json"}
    loaded = ReviewIndex.load(tmp_path / "idx", embedder)
    train_item = real_index.get(real_index.review_ids[0]).item_id
    queries = ["sweet malty and smooth", "very bitter, hoppy, pine and citrus", "sour cherry"]
    for query in queries:
        assert loaded.search(query, k=7) == real_index.search(query, k=7)
        assert (loaded.search(query, k=3, items=[train_item], min_rating=2)
                == real_index.search(query, k=3, items=[train_item], min_rating=2))
    assert loaded.manifest["count"] == len(real_index)


def test_load_without_embedder_uses_the_manifest_one(real_index, tmp_path):
    real_index.save(tmp_path / "idx")
    loaded = ReviewIndex.load(tmp_path / "idx")
    assert loaded.embedder.name == DEFAULT_EMBEDDER
    assert loaded.search("dark chocolate porter", k=4) == real_index.search("dark chocolate porter", k=4)


def test_a_deferred_embedder_loads_on_the_first_text_search(real_index, tmp_path):
    real_index.save(tmp_path / "idx")
    loaded = ReviewIndex.load(tmp_path / "idx", defer_embedder=True)
    assert isinstance(loaded.embedder, DeferredEmbedder) and not loaded.embedder.is_loaded
    assert (loaded.embedder.name, loaded.embedder.dimension) == (DEFAULT_EMBEDDER, 384)
    assert loaded.search("dark chocolate porter", k=4) == real_index.search("dark chocolate porter", k=4)
    assert loaded.embedder.is_loaded and loaded.embedder.device == real_index.embedder.device


def test_a_deferred_embedder_of_another_dimension_fails_when_it_loads():
    wrong = DeferredEmbedder(DEFAULT_EMBEDDER, 32)
    with pytest.raises(IndexMismatchError, match="gives 384-dimensional vectors"):
        wrong.encode(["a stout"])


@pytest.mark.parametrize("other", [FakeEmbedder(384), FakeEmbedder(32)], ids=["same-dim", "other-dim"])
def test_manifest_mismatch_raises(real_index, tmp_path, other):
    real_index.save(tmp_path / "idx")
    with pytest.raises(IndexMismatchError) as error:
        ReviewIndex.load(tmp_path / "idx", other)
    assert DEFAULT_EMBEDDER in str(error.value) and other.name in str(error.value)
    assert "manifest.json" in str(error.value)
