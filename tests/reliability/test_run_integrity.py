"""Damaged runs and checkpoints fail with one error naming the file; NaN is never an answer.

The drill of the issue: overwrite 4,000 bytes in the middle of `elixir.safetensors` (with
NaN floats or random bytes), truncate it, truncate config.json, corrupt the checkpoint and
resume. Before manifests existed these loaded and answered "nan / 5" or a silently wrong 2.68.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import struct

import pytest

from elixir_agent.agent import grounding
from elixir_agent.core_model.checkpoint import RunDirError
from elixir_agent.core_model.inference import ElixirRecommender, NonFinitePredictionError
from elixir_agent.core_model.integrity import MANIFEST_FILE, CorruptRunError, UnverifiedRunWarning
from tests.helpers.tiny_run import train_tiny

WEIGHTS = "elixir.safetensors"


@pytest.fixture
def run_copy(tiny_run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(tiny_run.run_dir, copy)
    return copy


def _overwrite_middle(path, payload: bytes) -> None:
    data = bytearray(path.read_bytes())
    start = len(data) // 2
    data[start:start + len(payload)] = payload
    path.write_bytes(bytes(data))


def _nan_bytes(n: int = 4000) -> bytes:
    return struct.pack("<f", math.nan) * (n // 4)


def _as_old_run(run) -> None:
    """What a run written before manifests looks like: no manifest, no "integrity" key."""
    (run / MANIFEST_FILE).unlink()
    config = json.loads((run / "config.json").read_text())
    config.pop("integrity")
    (run / "config.json").write_text(json.dumps(config))


def test_a_finished_run_lists_every_file_in_its_manifest(tiny_run):
    listed = json.loads((tiny_run.run_dir / MANIFEST_FILE).read_text())["files"]
    assert {"config.json", WEIGHTS, "ids.json", "catalog.json", "summary.json"} <= set(listed)
    assert any(name.startswith("backbone/") for name in listed)
    assert not any(name.startswith("checkpoint/") for name in listed)  # it has its own
    assert (tiny_run.run_dir / "checkpoint" / MANIFEST_FILE).exists()


@pytest.mark.parametrize("payload", [_nan_bytes(), random.Random(3).randbytes(4000)],
                         ids=["nan-floats", "random-bytes"])
def test_overwritten_weights_fail_naming_the_file_and_both_hashes(run_copy, payload):
    _overwrite_middle(run_copy / WEIGHTS, payload)
    with pytest.raises(CorruptRunError) as caught:
        ElixirRecommender.from_run(run_copy)
    message = str(caught.value)
    assert str(run_copy / WEIGHTS) in message and "is corrupted: sha256" in message
    assert "manifest says" in message and len(message.splitlines()) == 1


def test_truncated_weights_and_config_fail_with_one_line(run_copy):
    weights = run_copy / WEIGHTS
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(CorruptRunError, match=r"elixir\.safetensors is truncated or altered"):
        ElixirRecommender.from_run(run_copy)
    config = run_copy / "config.json"
    config.write_text(config.read_text()[:40])
    with pytest.raises(CorruptRunError, match=r"config\.json is truncated or not JSON"):
        ElixirRecommender.from_run(run_copy)


def test_a_run_missing_its_manifest_is_incomplete(run_copy):
    (run_copy / MANIFEST_FILE).unlink()
    with pytest.raises(CorruptRunError, match=r"manifest\.json is missing"):
        ElixirRecommender.from_run(run_copy)


def test_old_runs_load_with_a_warning_and_still_refuse_garbage(run_copy):
    _as_old_run(run_copy)
    with pytest.warns(UnverifiedRunWarning, match="cannot be checked"):
        rec = ElixirRecommender.from_run(run_copy)
    user, item = rec.artifacts.users.ids[0], rec.artifacts.items.ids[0]
    assert 1 <= rec.predict(user, item).rating <= 5
    weights = run_copy / WEIGHTS
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.warns(UnverifiedRunWarning), \
            pytest.raises(CorruptRunError, match=r"elixir\.safetensors is truncated or not a safetensors"):
        ElixirRecommender.from_run(run_copy)


def test_nan_weights_never_become_an_answer(run_copy):
    """An old run (nothing to check against) with NaN weights: prediction raises."""
    _as_old_run(run_copy)
    with pytest.warns(UnverifiedRunWarning):
        rec = ElixirRecommender.from_run(run_copy)
    with __import__("torch").no_grad():
        rec.model.rating.user_emb.weight.fill_(float("nan"))
    user, item = rec.artifacts.users.ids[0], rec.artifacts.items.ids[0]
    with pytest.raises(NonFinitePredictionError, match=f"user {user!r}"):
        rec.predict(user, item)
    with pytest.raises(NonFinitePredictionError):
        rec.rank(user, k=3)


def test_corrupted_checkpoint_fails_under_resume(tiny_run, run_copy):
    (run_copy / "config.json").unlink()  # an interrupted run: only the checkpoint remains
    _overwrite_middle(run_copy / "checkpoint" / "model.safetensors", b"\x00" * 4000)
    with pytest.raises(CorruptRunError, match=r"checkpoint/model\.safetensors is corrupted.*"
                                              r"delete .*checkpoint to start again"):
        train_tiny(tiny_run.data_dir, run_copy, resume=True)


def test_truncated_old_checkpoint_fails_under_resume(tiny_run, run_copy):
    (run_copy / "config.json").unlink()
    (run_copy / "checkpoint" / MANIFEST_FILE).unlink()
    state = run_copy / "checkpoint" / "optimizer.safetensors"
    state.write_bytes(state.read_bytes()[:100])
    with pytest.warns(UnverifiedRunWarning), \
            pytest.raises(CorruptRunError, match=r"optimizer\.safetensors is truncated"):
        train_tiny(tiny_run.data_dir, run_copy, resume=True)


def test_missing_run_directory_is_a_run_dir_error(tmp_path):
    with pytest.raises(RunDirError, match="does not exist"):
        ElixirRecommender.from_run(tmp_path / "nothing")


@pytest.mark.parametrize("answer", ["You would rate it nan out of 5.",
                                    "Predicted: NaN / 5", "the rating is inf"])
def test_the_verifier_refuses_non_finite_numbers_in_the_answer(answer):
    evidence = grounding.Evidence.from_artifacts([{"rating": 3.5}])
    result = grounding.check(answer, evidence)
    assert not result.ok and result.unsupported_numbers


def test_the_verifier_refuses_non_finite_evidence():
    from elixir_agent.tools.predict_rating import PredictRatingArtifact

    evidence = grounding.Evidence.from_artifacts([PredictRatingArtifact.build(
        user_id="u1", item_id="i1", item_name="Harbor Inn", rating=float("nan"),
        cold_user=False, cold_item=False)])
    result = grounding.check("It is hard to say.", evidence)
    assert not result.ok and result.unsupported_numbers == ["value=non-finite"]


def test_ask_never_answers_from_nan_weights(tiny_run, run_copy):
    """The drill's `ask`: "nan out of 5 ... verified" before; now the turn fails, unanswered."""
    import torch

    from elixir_agent.agent import build_agent
    from elixir_agent.core_model.data.storage import load_prepared
    from elixir_agent.tools.catalog import Catalog
    from elixir_agent.tools.context import ToolContext
    from tests.helpers.agent_fakes import BagOfWordsEmbedder, FakeReviewIndex

    _as_old_run(run_copy)
    with pytest.warns(UnverifiedRunWarning):
        rec = ElixirRecommender.from_run(run_copy)
    with torch.no_grad():
        rec.model.rating.user_emb.weight.fill_(float("nan"))
    dataset = load_prepared(tiny_run.data_dir)
    context = ToolContext(recommender=rec, index=FakeReviewIndex(dataset.split("train")),
                          catalog=Catalog.from_dataset(dataset))
    agent = build_agent(context, llm="none", embedder=BagOfWordsEmbedder())
    user, item = rec.artifacts.users.ids[0], rec.artifacts.items.ids[0]
    with pytest.raises(NonFinitePredictionError):
        agent.ask("Would I like it?", conversation_id="nan", user_id=user, item_id=item)
