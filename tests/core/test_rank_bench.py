"""`bench rank` end to end on a tiny synthetic dataset: every model scored, report written."""

from __future__ import annotations

import json

import pytest

from elixir_agent.core_model.rank_baselines import RANKING_BASELINES
from tests.helpers.tiny_run import write_tiny_data


@pytest.mark.slow
def test_bench_rank_scores_every_model_and_writes_the_report(tmp_path):
    from elixir_agent.core_model.rank_bench import AFTER, BEFORE, RankBenchOptions, run_rank_bench

    data = write_tiny_data(tmp_path / "data", n_users=40, n_items=20, n_reviews=400)
    report = run_rank_bench(data, tmp_path / "report",
                            RankBenchOptions(preset="tiny", bootstrap=100, progress=False,
                                             threads=1))
    saved = json.loads((tmp_path / "report" / "report.json").read_text())
    assert saved["targets"] == report.data["targets"]
    for table in saved["tables"].values():
        assert set(table["models"]) == {*RANKING_BASELINES, BEFORE, AFTER}
        for scores in table["models"].values():
            low, high = scores["ndcg@10_ci"]
            assert low <= scores["ndcg@10"] <= high
            assert 0 < scores["coverage@10"] <= 1
    assert set(saved["ratings"]) == {BEFORE, AFTER}
    markdown = (tmp_path / "report" / "report.md").read_text()
    assert "most popular" in markdown and "item-kNN" in markdown and AFTER in markdown
