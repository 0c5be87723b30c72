"""ReviewIndex behaviour on synthetic data with the fake embedder: pair search, add,
persistence errors, factories. Fast: no model is loaded."""

from __future__ import annotations

import json

import faiss
import numpy as np
import pandas as pd
import pytest

from elixir_agent.core_model.data.storage import load_prepared, write_prepared
from elixir_agent.retrieval import (
    CorruptIndexError,
    EmptyIndexError,
    FactoryError,
    ReviewHit,
    ReviewIndex,
    faiss_ops,
)
from tests.helpers.fake_embedder import FakeEmbedder


def _unit(v):
    return v / np.linalg.norm(v)


def _train(dataset, embedder):
    train = dataset.split("train").reset_index(drop=True)
    return train, embedder.encode(train["text"].tolist())


def test_hits_carry_metadata_and_rated_aspects(fake_index, synthetic_dataset):
    row = synthetic_dataset.split("train").iloc[0]
    hit = fake_index.get(row.review_id)
    assert isinstance(hit, ReviewHit)
    assert (hit.user_id, hit.item_id, hit.text) == (row.user_id, row.item_id, row.text)
    assert hit.item_name == row.item_name and hit.item_name.endswith("(synthetic)")
    assert set(hit.aspects) == {"cleanliness", "location", "service", "value", "rooms"}
    with pytest.raises(KeyError, match="not in this index"):
        fake_index.get("no-such-review")


def test_reviews_for_pair_ranks_item_reviews_by_user_profile(fake_index, synthetic_dataset,
                                                             fake_embedder):
    train, vectors = _train(synthetic_dataset, fake_embedder)
    user = train["user_id"].value_counts().index[0]
    item = train["item_id"].value_counts().index[0]
    profile = _unit(vectors[(train["user_id"] == user).to_numpy()].mean(axis=0))
    rows = np.flatnonzero((train["item_id"] == item).to_numpy())
    scores = vectors[rows] @ profile
    hits = fake_index.reviews_for_pair(user, item, k=4)
    assert [h.item_id for h in hits] == [item] * 4
    np.testing.assert_allclose([h.score for h in hits], np.sort(scores)[::-1][:4], atol=1e-5)


def test_reviews_for_pair_falls_back_to_central_reviews_for_unknown_user(
        fake_index, synthetic_dataset, fake_embedder):
    train, vectors = _train(synthetic_dataset, fake_embedder)
    item = train["item_id"].iloc[0]
    rows = np.flatnonzero((train["item_id"] == item).to_numpy())
    centre = _unit(vectors[rows].mean(axis=0))
    hits = fake_index.reviews_for_pair("new-user", item, k=3)
    np.testing.assert_allclose([h.score for h in hits], np.sort(vectors[rows] @ centre)[::-1][:3],
                               atol=1e-5)
    assert fake_index.reviews_for_pair("new-user", "new-item") == []


def test_user_reviews_like_item_ranks_the_users_other_items(fake_index, synthetic_dataset,
                                                             fake_embedder):
    train, vectors = _train(synthetic_dataset, fake_embedder)
    user = train["user_id"].value_counts().index[0]
    item = train.loc[train["user_id"] == user, "item_id"].iloc[0]
    target = _unit(vectors[(train["item_id"] == item).to_numpy()].mean(axis=0))
    mine = train[(train["user_id"] == user) & (train["item_id"] != item)]
    expected = sorted(
        (float(_unit(vectors[(train["item_id"] == other).to_numpy()].mean(axis=0)) @ target), rid)
        for other, rid in zip(mine["item_id"], mine["review_id"], strict=True))[::-1]
    hits = fake_index.user_reviews_like_item(user, item, k=3)
    assert all(h.user_id == user and h.item_id != item for h in hits)
    np.testing.assert_allclose([h.score for h in hits], [s for s, _ in expected[:3]], atol=1e-5)
    assert fake_index.user_reviews_like_item("new-user", item) == []


def test_nearest_to_text_can_be_limited_to_items(fake_index):
    item = fake_index.get(fake_index.review_ids[3]).item_id
    hits = fake_index.nearest_to_text("the staff was rude and the room was dirty", 3, items=[item])
    assert hits and all(h.item_id == item for h in hits)


def test_all_splits_flag_indexes_held_out_reviews(synthetic_dataset, fake_embedder):
    index = ReviewIndex.build(synthetic_dataset, fake_embedder, splits=("train", "valid", "test"),
                              progress=False)
    test_id = synthetic_dataset.split("test")["review_id"].iloc[0]
    assert len(index) == sum(len(synthetic_dataset.split(s)) for s in ("train", "valid", "test"))
    assert index.get(test_id).review_id == test_id


def test_add_appends_searchable_reviews_and_rejects_duplicates(synthetic_dataset, fake_embedder):
    index = ReviewIndex.build(synthetic_dataset, fake_embedder, progress=False)
    before = len(index)
    valid = synthetic_dataset.split("valid")
    index.add(valid)
    assert len(index) == before + len(valid) == index.manifest["count"]
    row = valid.iloc[0]
    assert index.get(row.review_id).text == row.text
    assert row.review_id in {h.review_id for h in index.search(row.text, 3)}
    with pytest.raises(ValueError, match="duplicate review ids"):
        index.add(valid.head(2))
    with pytest.raises(ValueError, match="lacks column"):
        index.add(pd.DataFrame({"review_id": ["x"]}))


@pytest.mark.parametrize("factory", ["Flat", "HNSW16", "IVF4,Flat",
                                     pytest.param("IVF4,PQ8x4", marks=pytest.mark.slow)])
def test_factories_build_search_and_reload(factory, synthetic_dataset, fake_embedder, tmp_path):
    index = ReviewIndex.build(synthetic_dataset, fake_embedder, factory=factory, progress=False)
    row = synthetic_dataset.split("train").iloc[7]
    hits = index.search(row.text, 5)
    assert len(hits) == 5 and row.text in {h.text for h in hits}
    index.save(tmp_path / "idx")
    assert ReviewIndex.load(tmp_path / "idx", fake_embedder).search(row.text, 5) == hits


def test_compressed_index_reranks_its_short_list_to_the_exact_neighbours(
        synthetic_dataset, fake_embedder, tmp_path):
    flat = ReviewIndex.build(synthetic_dataset, fake_embedder, progress=False)
    small = ReviewIndex.build(synthetic_dataset, fake_embedder, factory="compressed",
                              progress=False)
    assert small.factory == "IVF16,PQ16x4fs" and small.manifest["tuning"] == "nprobe=64"
    queries = synthetic_dataset.split("valid")["text"].head(30).tolist()
    found = [len({h.review_id for h in small.search(q, 5)} & {h.review_id for h in flat.search(q, 5)})
             for q in queries]
    assert sum(found) / (5 * len(queries)) >= 0.95
    # The approximate codes alone would rank and score differently: the scores are exact.
    hits = small.search(queries[0], 5)
    assert [h.score for h in hits] == pytest.approx([h.score for h in flat.search(queries[0], 5)],
                                                    abs=1e-5)
    small.save(tmp_path / "idx")
    assert ReviewIndex.load(tmp_path / "idx", fake_embedder).search(queries[0], 5) == hits


def test_hnsw_graphs_are_built_with_a_wide_candidate_list():
    # FAISS's default of 40 capped recall near 0.86 at 1M vectors (docs/scaling.md).
    index = faiss.downcast_index(faiss_ops.make_index(16, "HNSW16"))
    assert index.hnsw.efConstruction == faiss_ops.DEFAULT_EF_CONSTRUCTION == 200


@pytest.mark.parametrize("factory,lossy", [("Flat", False), ("HNSW16", False),
                                           ("IVF4,Flat", False), ("IVF4,PQ8x4fs", True),
                                           ("IVF4,SQ8", True), ("HNSW16_PQ8", True)])
def test_lossy_codes_are_told_apart_from_stored_vectors(factory, lossy):
    assert faiss_ops.approximate_codes(faiss_ops.make_index(16, factory)) is lossy


@pytest.mark.parametrize("factory", ["Flat", "HNSW16", "IVF4,Flat"])
def test_faiss_selector_only_returns_allowed_positions(factory):
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(500, 16)).astype(np.float32)
    faiss.normalize_L2(vectors)
    index = faiss_ops.make_index(16, factory)
    faiss_ops.train_if_needed(index, vectors, factory)
    index.add(vectors)
    faiss_ops.apply_tuning(index, faiss_ops.default_tuning(index))
    allowed = np.zeros(500, dtype=bool)
    allowed[rng.choice(500, 60, replace=False)] = True
    _, positions = faiss_ops.search(index, vectors[:5], 10, allowed)
    found = positions[positions >= 0]
    assert found.size > 0 and allowed[found].all()


def test_bad_factories_raise_clear_errors(synthetic_dataset, fake_embedder):
    with pytest.raises(FactoryError, match="invalid FAISS factory"):
        ReviewIndex.build(synthetic_dataset, fake_embedder, factory="NoSuchIndex", progress=False)
    with pytest.raises(FactoryError, match="4096 lists"):
        ReviewIndex.build(synthetic_dataset, fake_embedder, factory="IVF4096,Flat", progress=False)


def test_empty_split_raises(synthetic_dataset, fake_embedder, tmp_path):
    info = synthetic_dataset.info
    write_prepared(tmp_path / "empty", info, {"train": [], "valid": [], "test": []})
    with pytest.raises(EmptyIndexError, match="nothing to index"):
        ReviewIndex.build(load_prepared(tmp_path / "empty"), fake_embedder, progress=False)


@pytest.fixture
def saved(fake_index, tmp_path):
    path = tmp_path / "idx"
    fake_index.save(path)
    return path


def test_missing_directory_and_files_are_named(saved, fake_embedder, tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a review index"):
        ReviewIndex.load(tmp_path / "nowhere", fake_embedder)
    (saved / "reviews.parquet").unlink()
    with pytest.raises(FileNotFoundError, match=r"reviews\.parquet is missing"):
        ReviewIndex.load(saved, fake_embedder)


@pytest.mark.parametrize("name", ["index.faiss", "reviews.parquet", "embeddings.npy"])
def test_corrupted_or_truncated_files_are_named(saved, fake_embedder, name):
    file = saved / name
    data = bytearray(file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    file.write_bytes(bytes(data))
    with pytest.raises(CorruptIndexError, match=rf"{name} does not match its sha256"):
        ReviewIndex.load(saved, fake_embedder)
    file.write_bytes(bytes(data[:-10]))
    with pytest.raises(CorruptIndexError, match=rf"{name} has .* bytes"):
        ReviewIndex.load(saved, fake_embedder)


def test_unverified_load_still_catches_unreadable_index(saved, fake_embedder):
    file = saved / "index.faiss"
    file.write_bytes(b"\0" * file.stat().st_size)
    with pytest.raises(CorruptIndexError, match=r"index\.faiss is not a readable FAISS index"):
        ReviewIndex.load(saved, fake_embedder, verify=False)


def test_bad_manifest_is_named(saved, fake_embedder):
    (saved / "manifest.json").write_text("{not json")
    with pytest.raises(CorruptIndexError, match=r"manifest\.json is not valid JSON"):
        ReviewIndex.load(saved, fake_embedder)
    (saved / "manifest.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(CorruptIndexError, match="not a review index manifest"):
        ReviewIndex.load(saved, fake_embedder)


def test_manifest_records_the_build(saved, synthetic_dataset, fake_embedder):
    manifest = json.loads((saved / "manifest.json").read_text())
    assert manifest["embedder"] == {"name": fake_embedder.name, "dimension": 64}
    assert manifest["count"] == len(synthetic_dataset.split("train"))
    assert manifest["factory"] == "Flat" and manifest["splits"] == ["train"]
    assert len(manifest["data"]["checksum"]) == 64 and manifest["created"]


def test_save_refuses_to_replace_a_foreign_directory(fake_index, tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not a review index directory"):
        fake_index.save(tmp_path / "notes")
    assert (tmp_path / "notes" / "todo.txt").read_text() == "keep me"


def test_save_over_an_existing_index_replaces_it(fake_index, saved, fake_embedder):
    fake_index.save(saved)
    assert len(ReviewIndex.load(saved, fake_embedder)) == len(fake_index)
    assert not [p for p in saved.parent.iterdir() if p.name.startswith((".tmp-", ".old-"))]


def test_bad_queries_raise(fake_index):
    with pytest.raises(ValueError, match="k must be"):
        fake_index.search("x", 0)
    with pytest.raises(ValueError, match="dimension 3"):
        fake_index.search(np.ones(3), 2)
    with pytest.raises(ValueError, match="zero"):
        fake_index.search(np.zeros(64), 2)


def test_fake_embedder_is_deterministic_and_normalised():
    embedder = FakeEmbedder(32)
    a = embedder.encode(["Clean room, rude staff", ""])
    np.testing.assert_array_equal(a, FakeEmbedder(32).encode(["Clean room, rude staff", ""]))
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-6)
