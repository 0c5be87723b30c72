"""The synthetic generator and the on-disk dataset format."""

from __future__ import annotations

import json

import numpy as np
import pytest

from elixir_agent.core_model.data.storage import load_prepared, write_prepared
from elixir_agent.core_model.data.synthetic import ASPECTS, write_synthetic


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "ds"
    write_synthetic(out, n_users=40, n_items=20, n_reviews=400, seed=3)
    return load_prepared(out)


def test_synthetic_is_labelled_and_has_ground_truth(synth):
    assert synth.info.synthetic
    assert all(name.endswith("(synthetic)") for name in synth.split("train")["item_name"])
    truth = json.loads(synth.ground_truth_path.read_text())
    assert truth["aspects"] == ASPECTS
    assert len(truth["user_weights"]) == 40 and len(truth["item_quality"]) == 20
    assert np.allclose([sum(w) for w in truth["user_weights"].values()], 1, atol=1e-3)


def test_synthetic_ratings_follow_the_ground_truth(synth):
    truth = json.loads(synth.ground_truth_path.read_text())
    frame = synth.all_reviews()
    quality = np.array([truth["item_quality"][i][ASPECTS.index("location")] for i in frame["item_id"]])
    assert np.corrcoef(quality, frame["aspect_location"])[0, 1] > 0.8
    assert frame["rating"].between(1, 5).all()


def test_same_seed_same_dataset(tmp_path):
    a = write_synthetic(tmp_path / "a", n_users=10, n_items=5, n_reviews=30, seed=9)
    b = write_synthetic(tmp_path / "b", n_users=10, n_items=5, n_reviews=30, seed=9)
    assert a.checksums == b.checksums


def test_round_trip_keeps_missing_aspects_missing(tmp_path, synth):
    reviews = synth.reviews("train")[:5]
    reviews[0].aspects["rooms"] = None
    info = synth.info
    write_prepared(tmp_path / "rt", info, {"train": reviews, "valid": [], "test": []})
    back = load_prepared(tmp_path / "rt").reviews("train")
    assert back[0].aspects["rooms"] is None
    assert [r.review_id for r in back] == [r.review_id for r in reviews]
    assert back[1].aspects == reviews[1].aspects


def test_existing_output_is_not_overwritten_by_accident(tmp_path):
    write_synthetic(tmp_path / "ds", n_users=5, n_items=5, n_reviews=10)
    with pytest.raises(FileExistsError, match="--overwrite"):
        write_synthetic(tmp_path / "ds", n_users=5, n_items=5, n_reviews=10)


def test_failed_write_leaves_nothing_behind(tmp_path, synth, monkeypatch):
    import elixir_agent.core_model.data.storage as storage

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(storage.pq, "write_table", explode)
    with pytest.raises(OSError):
        write_prepared(tmp_path / "out", synth.info, {"train": synth.reviews("train")})
    assert list(tmp_path.iterdir()) == []


def test_missing_dataset_names_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="data prepare"):
        load_prepared(tmp_path / "nope")
