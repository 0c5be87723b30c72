"""The ranking benchmark: top-N quality of every model, side by side, on one split in one run.

Trains two rating-phase ELIXIR runs (the ranking lives in the rating model): one without the
ranking head, which ranks by predicted rating as `rank()` did before, and one with it. Fits
the baselines of `rank_baselines.py` on the same training reviews, then ranks, for every test
user, every item they did not review in training (`rank_protocol.py`). Two tables: relevant =
all of the user's test items; relevant = only those rated at or above the user's train mean.
Writes `report.json` and `report.md` into the output directory (runs go to `runs/`).

Run with: elixir-agent bench rank --data /tmp/rb --out reports/rank
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from elixir_agent.core_model.bench import _overall_errors, open_bench
from elixir_agent.core_model.bench_report import BenchReport, save_report
from elixir_agent.core_model.checkpoint import load_model
from elixir_agent.core_model.config import build_configs
from elixir_agent.core_model.encoding import IdMap, known_rows
from elixir_agent.core_model.inference import ElixirRecommender
from elixir_agent.core_model.rank_baselines import RANKING_BASELINES, Interactions
from elixir_agent.core_model.rank_metrics import bootstrap_interval
from elixir_agent.core_model.rank_protocol import RankingTask, build_task, evaluate_scorer
from elixir_agent.core_model.rank_report import render_rank_markdown
from elixir_agent.core_model.ranking import elixir_scorer
from elixir_agent.core_model.train import train

__all__ = ["RankBenchOptions", "run_rank_bench"]

BEFORE, AFTER = "ELIXIR rating order (before)", "ELIXIR learned ranking"
K = 10
INTERVAL_METRICS = (f"hr@{K}", f"ndcg@{K}", "mrr")


@dataclass
class RankBenchOptions:
    preset: str = "cpu"
    threads: int | None = None
    seed: int = 42
    bootstrap: int = 1000  # resamples of the users for the 95% intervals
    progress: bool = True
    reuse_runs: bool = False  # score finished runs already under OUT/runs


def run_rank_bench(data_dir: str | Path, out_dir: str | Path,
                   options: RankBenchOptions) -> BenchReport:
    started = time.monotonic()
    data_dir, out_dir, dataset = open_bench(data_dir, out_dir, options.threads)
    runs = {BEFORE: _train_rating_run(data_dir, out_dir / "runs" / "rating_order", options,
                                      rank_weight=0.0),
            AFTER: _train_rating_run(data_dir, out_dir / "runs" / "learned_ranking", options)}
    models = {name: load_model(run)[0] for name, run in runs.items()}
    artifacts = ElixirRecommender.from_run(runs[AFTER], device="cpu").artifacts
    splits = {s: _interactions(dataset.split(s), artifacts.users, artifacts.items)
              for s in ("train", "valid", "test")}
    train_part, valid_part, test_part = splits["train"], splits["valid"], splits["test"]
    valid_task = _task(train_part, valid_part)
    tasks = {"all test items": _task(train_part, test_part),
             "test items rated at or above the user's train mean": _task(
                 train_part, test_part, liked_only=True)}
    scorers, fit_s = {}, {}
    for name, fit in RANKING_BASELINES.items():
        fit_started = time.monotonic()
        scorers[name] = fit(train_part, valid_part, valid_task, options.seed)
        fit_s[name] = round(time.monotonic() - fit_started, 1)
    for name, model in models.items():
        scorers[name] = elixir_scorer(model, model.cfg)
        fit_s[name] = json.loads((runs[name] / "summary.json").read_text())["train_time_s"]
    report: dict = {
        "dataset": dataset.info.name, "preset": options.preset, "seed": options.seed,
        "k": K, "n_items": len(artifacts.items), "n_train": len(train_part.users),
        "dropped_test_rows": len(dataset.split("test")) - len(test_part.users),
        "fit_time_s": fit_s, "tables": {}}
    for table, task in tasks.items():
        report["tables"][table] = {"n_users": len(task.users), "models": {
            name: _scored(scorer, task, options) for name, scorer in scorers.items()}}
    report["ratings"] = _ratings(runs, dataset.split("test"))
    summary = json.loads((runs[AFTER] / "summary.json").read_text())
    cfg = models[AFTER].cfg
    report["blend"] = {"rank_weight": cfg.rank_weight, "pop_discount": cfg.rank_pop_discount,
                       "rating_weight": cfg.rank_rating_weight,
                       "tried_on_valid": summary.get("rank_blend", [])}
    report["bench_time_s"] = round(time.monotonic() - started, 1)
    report["reused_runs"] = options.reuse_runs
    report["targets"] = _targets(report["tables"]["all test items"]["models"])
    return save_report(out_dir, report, render_rank_markdown(report))


def _train_rating_run(data_dir: Path, run_dir: Path, options: RankBenchOptions,
                      **model_overrides) -> Path:
    if options.reuse_runs and (run_dir / "config.json").exists():
        return run_dir
    model_cfg, train_cfg = build_configs(options.preset, {"text": False, **model_overrides},
                                         dict(seed=options.seed, threads=options.threads,
                                              progress=options.progress))
    train(data_dir, run_dir, model_cfg, train_cfg, overwrite=True)
    return run_dir


def _interactions(frame: pd.DataFrame, users: IdMap, items: IdMap) -> Interactions:
    frame = known_rows(frame, users, items)
    return Interactions(users=frame.user_id.map(users.index).to_numpy(dtype=np.int64),
                        items=frame.item_id.map(items.index).to_numpy(dtype=np.int64),
                        ratings=frame.rating.to_numpy(dtype=np.float64),
                        n_users=len(users), n_items=len(items))


def _task(train_part: Interactions, held_out: Interactions, liked_only: bool = False
          ) -> RankingTask:
    ratings = ({"train_ratings": train_part.ratings, "eval_ratings": held_out.ratings}
               if liked_only else {})
    return build_task(train_part.users, train_part.items, held_out.users, held_out.items,
                      train_part.n_items, **ratings)


def _scored(scorer, task: RankingTask, options: RankBenchOptions) -> dict:
    result = evaluate_scorer(scorer, task, k=K, seed=options.seed)
    out = {name: round(value, 5) for name, value in result.summary.items()}
    for name in INTERVAL_METRICS:
        low, high = bootstrap_interval(result.per_user[name], options.bootstrap,
                                       seed=options.seed)
        out[f"{name}_ci"] = [round(low, 5), round(high, 5)]
    return out


def _ratings(runs: dict[str, Path], test: pd.DataFrame) -> dict:
    """Test RMSE/MAE of both ELIXIR runs: the ranking head must not cost rating accuracy."""
    out = {}
    for name, run in runs.items():
        rec = ElixirRecommender.from_run(run, device="cpu")
        known = test[test.user_id.map(rec.has_user) & test.item_id.map(rec.has_item)]
        out[name] = {k: round(v, 5) for k, v in _overall_errors(rec, known).items()}
    return out


def _targets(models: dict[str, dict]) -> dict[str, bool]:
    ours, popular = models[AFTER], models["most popular"]
    others = [m for name, m in models.items() if name != AFTER]
    return {
        "ndcg@10 above every baseline": all(ours["ndcg@10"] > m["ndcg@10"] for m in others),
        "ndcg@10 interval above most popular's": ours["ndcg@10_ci"][0] > popular["ndcg@10_ci"][1],
        "personalisation >= 0.90": ours["personalisation"] >= 0.90,
        "coverage@10 >= 5x most popular's": ours["coverage@10"] >= 5 * popular["coverage@10"],
    }
