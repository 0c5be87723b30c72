"""Benchmark parts: baselines, text metrics, and one end-to-end run on synthetic data."""

import json

import numpy as np
import pytest

from elixir_agent.core_model.baselines import (
    RatingData,
    ReviewRetriever,
    bias_model,
    global_mean,
)
from elixir_agent.core_model.bench import BenchOptions, run_bench
from elixir_agent.core_model.text_metrics import text_scores


def test_bias_model_recovers_user_and_item_offsets():
    rng = np.random.default_rng(0)
    users, items = rng.integers(0, 20, 2000), rng.integers(0, 10, 2000)
    bu, bi = rng.normal(0, 0.5, 20), rng.normal(0, 0.5, 10)
    data = RatingData(users, items, 3 + bu[users] + bi[items] + rng.normal(0, 0.1, 2000))
    predict = bias_model(data, data, 20, 10)
    mean = global_mean(data, data, 20, 10)
    err = np.sqrt(np.mean((predict(users, items) - data.target) ** 2))
    assert err < 0.15 < np.sqrt(np.mean((mean(users, items) - data.target) ** 2))


def test_text_scores_on_hand_checked_cases():
    same = text_scores(["the beer pours a dark brown"], ["the beer pours a dark brown"])
    assert same["bleu4"] == pytest.approx(100) and same["rougeL"] == pytest.approx(100)
    disjoint = text_scores(["alpha beta gamma delta"], ["one two three four"])
    assert disjoint["bleu4"] == pytest.approx(0) and disjoint["rouge1"] == pytest.approx(0)
    # ROUGE-1 F1 by hand: 2 of 4 words shared each way -> P = R = 0.5 -> F1 = 50.
    half = text_scores(["dark beer good head"], ["dark beer bad taste"])
    assert half["rouge1"] == pytest.approx(50)


def test_diversity_exposes_a_generator_that_writes_the_same_review_for_everyone():
    same = text_scores(["pours dark with a tan head"] * 4, ["dark stout", "pale lager",
                                                           "hazy ipa", "red ale"])
    varied = text_scores(["pours dark with a tan head", "hazy and juicy with citrus",
                          "crisp clean lager", "pours dark with a tan head"],
                         ["dark stout", "pale lager", "hazy ipa", "red ale"])
    assert same["unique"] == pytest.approx(25) and varied["unique"] == pytest.approx(75)
    # 5 bigrams repeated 4 times -> 5 of 20 distinct.
    assert same["distinct2"] == pytest.approx(25)
    assert varied["distinct2"] > same["distinct2"]


def test_retrieval_baselines_pick_from_the_same_item():
    retriever = ReviewRetriever(
        ["a", "b", "c", "a"], ["x", "x", "x", "y"],
        ["hoppy bitter pine", "sweet malty caramel", "sweet caramel malty toffee",
         "hoppy bitter citrus"])
    assert retriever.most_similar_to_user("a", "x") == "hoppy bitter pine"
    assert retriever.central("x") in {"sweet malty caramel", "sweet caramel malty toffee"}


@pytest.mark.slow
def test_bench_core_end_to_end(tiny_data, tmp_path):
    options = BenchOptions(preset="tiny", time_budget_s=4, eval_pairs=16, latency_runs=2,
                           latency_tokens=8, threads=1, progress=False)
    report = run_bench(tiny_data, tmp_path / "report", options)
    saved = json.loads((tmp_path / "report" / "report.json").read_text())
    assert set(saved["ratings"]) == {"global mean", "user+item bias", "biased MF", "ELIXIR"}
    assert set(saved["ablations"]) == {"ELIXIR (same budget)", "no aspects", "no attention"}
    ratio = saved["params"]["generator_ratio_same_size"]
    assert 0 < ratio < 1  # the low-rank generator is smaller than the paper's at the same size
    assert saved["targets"]["generator_at_most_5pct_of_paper"] is (ratio <= 0.05)
    assert [r["seed"] for r in saved["rating_seeds"]["runs"]] == [42, 43, 44]
    assert "rmse_ratio_seed_mean_to_best_baseline" in saved["targets"]
    assert "## Ratings" in report.markdown and (tmp_path / "report" / "report.md").exists()


def test_reuse_runs_scores_a_finished_run_without_training_it_again(tmp_path, monkeypatch):
    from elixir_agent.core_model import bench

    def no_training(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(bench, "train", no_training)
    finished = tmp_path / "runs" / "elixir"
    finished.mkdir(parents=True)
    (finished / "config.json").write_text("{}")
    options = BenchOptions(preset="tiny", reuse_runs=True)
    assert bench._train_variant(tmp_path, finished, options, 1.0) == finished

    unfinished = tmp_path / "runs" / "no_aspects"  # no config.json: interrupted, train it
    unfinished.mkdir()
    with pytest.raises(AssertionError, match="trained again"):
        bench._train_variant(tmp_path, unfinished, options, 1.0)


def test_rating_seeds_train_one_rating_only_run_per_seed_and_report_the_spread(
        tiny_data, tmp_path):
    from elixir_agent.core_model import bench
    from elixir_agent.core_model.bench_report import _seed_table
    from elixir_agent.core_model.data.storage import load_prepared

    test = load_prepared(tiny_data).split("test")
    options = BenchOptions(preset="tiny", rating_seeds=2, seed=7, threads=1, progress=False)
    seeds = bench._rating_seeds(tiny_data, tmp_path, options, 30.0, test)

    assert [r["seed"] for r in seeds["runs"]] == [7, 8]
    for seed in (7, 8):
        config = json.loads((tmp_path / "runs" / f"rating_seed{seed}" / "config.json").read_text())
        assert config["train"]["seed"] == seed and config["model"]["text"] is False
    rmses = [r["rmse"] for r in seeds["runs"]]
    assert seeds["rmse_mean"] == pytest.approx(np.mean(rmses))
    assert seeds["rmse_sd"] == pytest.approx(np.std(rmses, ddof=1))
    assert rmses[0] != rmses[1]  # the seed changes the run
    assert any("mean ± sd over 2 seeds" in line for line in _seed_table(seeds))
