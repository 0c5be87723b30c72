"""`elixir-agent train` under `accelerate launch`: two CPU processes over gloo, tiny preset."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import time
from importlib.util import find_spec

import pytest
import torch

from elixir_agent.core_model.distributed import Processes
from tests.helpers.launch import launch_command, launch_env
from tests.helpers.tiny_run import train_tiny

CPU = torch.device("cpu")
launched = pytest.mark.skipif(find_spec("accelerate") is None,
                              reason="launching needs accelerate (the train extra)")
TRAIN = ["train", "--preset", "tiny", "--device", "cpu", "--threads", "1"]


@pytest.mark.parametrize("rows", [32, 31, 3])
def test_each_process_gets_a_disjoint_share_of_every_global_batch(rows):
    batch = torch.arange(rows)
    shares = [Processes(CPU, rank=r, world_size=2).shard(batch) for r in range(2)]
    assert torch.equal(torch.cat([share for share, _ in shares]), batch)
    # DDP averages the weighted per-process mean losses: that is the global batch's mean
    losses = torch.rand(rows)
    averaged = sum(weight * losses[share].mean() for share, weight in shares) / 2
    assert averaged == pytest.approx(losses.mean())


def test_a_last_batch_smaller_than_the_process_count_is_dropped():
    order = torch.arange(33)
    assert [len(b) for b in Processes(CPU, world_size=2).global_batches(order, 16)] == [32]
    assert [len(b) for b in Processes(CPU).global_batches(order, 32)] == [32, 1]


def _launch(tmp_path, *args, processes=2, module="elixir_agent.cli", **popen):
    return subprocess.Popen(launch_command(processes, module, *args), env=launch_env(),
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, **popen)


def _finish(process, timeout=300) -> str:
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, output[-3000:]
    return output


@pytest.fixture(scope="module")
def two_process_run(tiny_data, tmp_path_factory):
    where = tmp_path_factory.mktemp("ddp")
    output = _finish(_launch(where, *TRAIN, "--data", str(tiny_data), "--out", "run",
                             "--batch-size", "16", "--text-batch-size", "8"))
    return where / "run", output


@launched
def test_two_processes_write_one_valid_run_directory(two_process_run):
    from elixir_agent.core_model.inference import ElixirRecommender

    run, output = two_process_run
    assert output.count("wrote run:") == 1  # rank 0 speaks for both
    summary = json.loads((run / "summary.json").read_text())
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [(r["phase"], r["epoch"]) for r in lines] == [(h["phase"], h["epoch"])
                                                         for h in summary["history"]]
    assert [s["phase"] for s in summary["stops"]] == ["rating", "rank", "text"]
    assert not list(run.rglob("*.bin")) and not list(run.rglob("*.pt"))
    rec = ElixirRecommender.from_run(run)  # checks every file against manifest.json
    user, item = rec.artifacts.users.ids[0], rec.artifacts.items.ids[0]
    assert 1 <= rec.predict(user, item).rating <= 5


@launched
def test_a_killed_two_process_run_resumes_and_finishes(tiny_data, tmp_path, two_process_run):
    args = [*TRAIN, "--data", str(tiny_data), "--out", "run", "--batch-size", "16",
            "--text-batch-size", "8", "--checkpoint-every", "5"]
    process = _launch(tmp_path, *args)
    state = tmp_path / "run" / "checkpoint" / "state.json"
    deadline = time.monotonic() + 240
    while not state.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    _kill_hard(process)
    assert state.exists() and not (tmp_path / "run" / "config.json").exists()
    killed_at = json.loads(state.read_text())
    _finish(_launch(tmp_path, *args, "--resume"))
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    steps = [(h["phase"], h["step"]) for h in summary["history"]]
    reference = json.loads((two_process_run[0] / "summary.json").read_text())
    assert steps == [(h["phase"], h["step"]) for h in reference["history"]]
    assert killed_at["step"] >= 5


def _kill_hard(process: subprocess.Popen) -> None:
    """SIGKILL the launcher and its workers (which run in sessions of their own), as a crash
    or a lost machine would: nothing gets to clean up or finish writing."""
    import psutil

    launcher = psutil.Process(process.pid)
    for proc in [launcher, *launcher.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.send_signal(signal.SIGKILL)
    process.communicate()


@launched
def test_two_processes_match_one_process_with_twice_the_batch(tiny_data, tmp_path):
    """DDP averages the two half-batch gradients: the same steps as one process's batch.

    Without dropout (its masks depend on each process's RNG stream) and without the ranking
    head (its in-batch negatives change with the batch, and its gradients enter the clipped
    norm), only float summation order differs: predictions agree to 1e-4 on a 1-5 scale,
    while another seed moves them by far more.
    """
    exact = dict(text=False, dropout=0.0, rank_weight=0.0)
    pairs = [f"{k}={json.dumps(v)}" for k, v in {**exact, "batch_size": 16}.items()]
    _finish(_launch(tmp_path, str(tiny_data), "two", *pairs, module="tests.helpers.launch"))
    train_tiny(tiny_data, tmp_path / "one", batch_size=32, **exact)
    train_tiny(tiny_data, tmp_path / "other-seed", batch_size=32, seed=1, **exact)

    def ratings(run):
        from elixir_agent.core_model.inference import ElixirRecommender

        rec = ElixirRecommender.from_run(tmp_path / run)
        grid = [(u, i) for u in rec.artifacts.users.ids for i in rec.artifacts.items.ids]
        return torch.tensor([[p.rating, *p.aspect_ratings.values()]
                             for p in rec.predict_batch(grid)])

    one = ratings("one")
    assert (ratings("two") - one).abs().max() < 1e-4
    assert (ratings("other-seed") - one).abs().max() > 1e-2
