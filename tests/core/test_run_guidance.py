"""`elixir-agent add-guidance`: a run trained without rating guidance gets the lexicon training
would have built, keeps a valid manifest, refuses other data, and is left as it was when
interrupted."""

import json
import shutil

import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from elixir_agent.cli import app
from elixir_agent.core_model import run_guidance
from elixir_agent.core_model.data.storage import load_prepared
from elixir_agent.core_model.inference import ElixirRecommender
from elixir_agent.core_model.integrity import verify_manifest
from tests.helpers.tiny_causal import write_tiny_causal_lm
from tests.helpers.tiny_run import train_tiny


@pytest.fixture(scope="module")
def runs(tiny_data, tmp_path_factory):
    """The same tiny causal run trained twice: with guidance 16 and without."""
    texts = list(load_prepared(tiny_data).split("train")["text"])
    lm = write_tiny_causal_lm(tmp_path_factory.mktemp("lm") / "tiny-llama", texts)
    out = {}
    for strength in (16.0, 0.0):
        out[strength] = tmp_path_factory.mktemp("run") / "run"
        train_tiny(tiny_data, out[strength], backbone=str(lm), finetune="lora",
                   max_text_steps=2, rating_guidance=strength)
    return out


@pytest.fixture
def unguided(runs, tmp_path):
    copy = tmp_path / "unguided"
    shutil.copytree(runs[0.0], copy)
    return copy


def _add(run, data, *extra):
    return CliRunner().invoke(app, ["add-guidance", "--run", str(run), "--data", str(data),
                                    *extra])


def test_an_unguided_run_gets_the_lexicon_training_would_have_built(runs, unguided,
                                                                    tiny_data):
    result = _add(unguided, tiny_data)
    assert result.exit_code == 0, result.output
    assert "most positive:" in result.output and "strength 16" in result.output
    verify_manifest(unguided, required=True)  # every rewritten file is listed as it is now
    rec = ElixirRecommender.from_run(unguided)
    assert rec.default_decoding().guidance == 16.0
    rec._load_deferred_text()
    trained = ElixirRecommender.from_run(runs[16.0])
    trained._load_deferred_text()
    assert torch.equal(rec.model.rating_lexicon.weights, trained.model.rating_lexicon.weights)
    assert rec.model.rating_lexicon.mean_rating == trained.model.rating_lexicon.mean_rating
    summary = json.loads((unguided / "summary.json").read_text())
    assert summary["rating_lexicon"] == json.loads(
        (runs[16.0] / "summary.json").read_text())["rating_lexicon"]
    assert rec.explain(rec.artifacts.users.ids[0], rec.artifacts.items.ids[0],
                       max_new_tokens=4)
    assert not list(unguided.glob(".*.tmp"))


def test_a_run_with_a_lexicon_is_refitted_only_when_asked(unguided, tiny_data):
    assert _add(unguided, tiny_data).exit_code == 0
    again = _add(unguided, tiny_data, "--strength", "8")
    assert again.exit_code == 2 and "already has a rating lexicon" in again.output
    assert ElixirRecommender.from_run(unguided).default_decoding().guidance == 16.0
    refit = _add(unguided, tiny_data, "--strength", "8", "--refit")
    assert refit.exit_code == 0, refit.output
    assert ElixirRecommender.from_run(unguided).default_decoding().guidance == 8.0


def test_other_data_and_a_zero_strength_are_refused(unguided, tiny_data, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(tiny_data, other)
    train = pd.read_parquet(other / "train.parquet")
    train["user_id"] = "someone-else-" + train["user_id"].astype(str)
    train.to_parquet(other / "train.parquet")
    result = _add(unguided, other)
    assert result.exit_code == 2 and "not the data the run was trained on" in " ".join(
        result.output.split())
    zero = _add(unguided, tiny_data, "--strength", "0")
    assert zero.exit_code == 2 and "strength above 0" in zero.output
    assert ElixirRecommender.from_run(unguided).default_decoding().guidance == 0.0


def test_an_interrupted_update_leaves_the_run_as_it_was(unguided, tiny_data, monkeypatch):
    before = {p.name: p.read_bytes() for p in unguided.iterdir() if p.is_file()}

    def interrupted(*_, **__):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_guidance, "write_manifest", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_guidance.add_rating_guidance(unguided, tiny_data, 16.0)
    after = {p.name: p.read_bytes() for p in unguided.iterdir() if p.is_file()}
    assert after == before  # no temporary file left, nothing changed
    assert ElixirRecommender.from_run(unguided).default_decoding().guidance == 0.0
