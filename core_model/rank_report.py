"""Markdown rendering of the ranking benchmark's report dictionary."""

from __future__ import annotations

from elixir_agent.core_model.bench_report import _table

__all__ = ["render_rank_markdown"]


def _with_ci(model: dict, name: str) -> str:
    low, high = model[f"{name}_ci"]
    return f"{model[name]:.4f} [{low:.4f}, {high:.4f}]"


def _model_rows(models: dict[str, dict], k: int, fit_s: dict) -> list[list]:
    return [[name, _with_ci(m, f"hr@{k}"), _with_ci(m, f"ndcg@{k}"), _with_ci(m, "mrr"),
             f"{100 * m[f'coverage@{k}']:.1f}%", f"{m['personalisation']:.3f}",
             f"{m['popularity_pct']:.1f}", f"{fit_s.get(name, 0):.0f}"]
            for name, m in models.items()]


def render_rank_markdown(report: dict) -> str:
    k = report["k"]
    lines = [f"# Ranking benchmark: {report['dataset']} (preset `{report['preset']}`, seed "
             f"{report['seed']})", "",
             f"Catalogue: {report['n_items']} items; {report['n_train']} training reviews; "
             f"test rows with an item or user unknown to training (not rankable): "
             f"{report['dropped_test_rows']}. Whole benchmark {report['bench_time_s']:.0f}s"
             + (" (finished runs reused: ELIXIR training not included)"
                if report.get("reused_runs") else ", training included") + ".", "",
             "Protocol: for each test user, every item they did not review in training is "
             "ranked (full ranking, no sampled negatives). HR, NDCG and MRR are means over "
             "users with a 95% bootstrap interval over users in brackets; coverage is the "
             f"share of the catalogue in anyone's top {k}; personalisation is 1 - the mean "
             f"pairwise Jaccard overlap of users' top-{k} lists; popularity is the mean "
             "popularity percentile of the recommended items (50 = the median item).", ""]
    header = ["model", f"HR@{k}", f"NDCG@{k}", "MRR", f"coverage@{k}", "personalisation",
              "popularity pct", "fit / train s"]
    for title, table in report["tables"].items():
        lines += [f"## Relevant = {title} ({table['n_users']} users)", "",
                  *_table(header, _model_rows(table["models"], k, report["fit_time_s"])), ""]
    lines += ["## Rating accuracy of the two ELIXIR runs (test, overall rating)", "",
              *_table(["run", "RMSE", "MAE"],
                      [[name, f"{r['rmse']:.4f}", f"{r['mae']:.4f}"]
                       for name, r in report["ratings"].items()]), ""]
    blend = report["blend"]
    lines += ["## The learned ranking's blend (chosen on validation)", "",
              f"score = interaction - {blend['pop_discount']} x log(1 + train count) + "
              f"{blend['rating_weight']} x predicted rating; ranking loss weight "
              f"{blend['rank_weight']}.", ""]
    tried = blend["tried_on_valid"]
    if tried:
        rows = [[t["pop_discount"], t["rating_weight"], f"{t['valid_ndcg@10']:.4f}",
                 f"{t.get('valid_liked_ndcg@10', float('nan')):.4f}",
                 f"{t['valid_personalisation']:.3f}"] for t in tried]
        lines += [*_table(["pop discount", "rating weight", "valid NDCG@10",
                           "valid NDCG@10 (liked)", "valid personalisation"], rows), ""]
    lines += ["## Targets (first table)", "",
              *_table(["target", "met"], [[k_, v] for k_, v in report["targets"].items()])]
    return "\n".join(lines) + "\n"
