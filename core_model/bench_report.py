"""The core and ranking benchmarks' report: its Markdown rendering and how it is saved."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BenchReport", "render_markdown", "save_report"]


@dataclass
class BenchReport:
    data: dict
    markdown: str


def save_report(out_dir: Path, report: dict, markdown: str) -> BenchReport:
    """Write `report.json` and `report.md`, each by rename, so a reader never sees half of one."""
    for name, text in (("report.json", json.dumps(report, indent=2)), ("report.md", markdown)):
        tmp = out_dir / f".{name}.tmp"
        tmp.write_text(text)
        os.replace(tmp, out_dir / name)
    return BenchReport(report, markdown)


def _row(cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _table(header: list[str], rows: list[list]) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *(_row(r) for r in rows)]


def _f(value, digits: int = 4) -> str:
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _seed_table(seeds: dict) -> list[str]:
    rows = [[r["seed"], _f(r["valid_rmse"]), _f(r["rmse"]), _f(r["mae"])] for r in seeds["runs"]]
    return ["", "### ELIXIR ratings over seeds (rating-only runs, same split)", "",
            *_table(["seed", "valid RMSE", "test RMSE", "test MAE"], rows), "",
            f"Test RMSE {seeds['rmse_mean']:.4f} ± {seeds['rmse_sd']:.4f} (mean ± sd over "
            f"{len(rows)} seeds)."]


def _latency_table(latency: dict) -> list[str]:
    rows = [[k, _f(v["p50"], 1), _f(v["p95"], 1)] if "p50" in v else [k, v["error"], "-"]
            for k, v in latency.items()]
    return _table(["precision", "p50", "p95"], rows)


_BACKBONE_KEYS = ("bleu4", "rougeL", "chrf", "unique", "distinct1", "distinct2",
                  "personalisation", "fluency_nll", "agreement", "spearman", "reader_spearman")
_BACKBONE_HEADER = ["BLEU-4", "ROUGE-L", "chrF", "unique %", "distinct-1 %", "distinct-2 %",
                    "personalisation", "fluency NLL", "agreement", "Spearman",
                    "reader Spearman"]


def _backbone_section(table: dict) -> list[str]:
    """Backbones x decodings, the real reviews beside them, latency and examples."""
    rows = [[name, v["decoding"], *(_f(v.get(k, "-"), 2) for k in _BACKBONE_KEYS)]
            for name, v in table["variants"].items()]
    ref = table["reference"]
    rows.append(["real test reviews", "-", *(_f(ref[k], 2) if k in ref else "-"
                                             for k in _BACKBONE_KEYS)])
    lines = ["", "## Reviews by backbone and decoding", "",
             f"{table['n_pairs']} test pairs; personalisation over {table['n_personal']} "
             "generations (items each written for several users).", "",
             *_table(["variant", "decoding", *_BACKBONE_HEADER], rows), "",
             "personalisation: for one item, mean pairwise 1 - Jaccard of the word bigrams of "
             "reviews written for different users (0: the same review for everyone). fluency "
             "NLL: nats per token under the frozen SmolLM2 (lower is more fluent). agreement: "
             "share of pairs whose VADER polarity matches the (predicted, or for real reviews "
             "the true) rating's side of the scale midpoint; Spearman: rank correlation of the "
             "VADER compound score with that rating. reader Spearman: the same with the rating "
             "a reader fitted on the training reviews (MiniLM embedding + ridge) gives the "
             "text.", *_guidance_note(table), *_agreement_bands(table)]
    for name, latency in table["latency_ms"].items():
        lines += ["", f"### Latency, {name} (64 new tokens, one pair, ms)", "",
                  *_latency_table(latency)]
    for name, v in table["variants"].items():
        lines += ["", f"### Examples, {name}", ""]
        lines += [f"- user {ex['user']}, item {ex['item']}: {ex['generated']}"
                  for ex in v.get("examples", [])]
    return lines


def _agreement_bands(table: dict) -> list[str]:
    """Agreement within each side of the scale, with what always-positive text would score."""
    scored = [(name, v) for name, v in table["variants"].items() if "bands" in v]
    if not scored:
        return []  # a report written before the bands were kept
    ref = table["reference"]
    rows = [[name, v["decoding"], *_band_cells(v)] for name, v in scored]
    if "bands" in ref:
        rows.append(["real test reviews (true ratings)", "-", *_band_cells(ref)])
    return ["", "### Agreement by side of the scale", "",
            *_table(["variant", "decoding", "below 2.6", "2.6-3.4 (neutral)", "3.4 and up",
                     "agreement", "always-positive text"], rows), "",
            "Each side: pairs, and the share whose VADER polarity matches it. \"always-positive "
            "text\": the agreement a review VADER reads as positive for every pair would get "
            "(the share of pairs above the neutral band)."]


def _band_cells(scores: dict) -> list[str]:
    bands = scores["bands"]
    return [*(f"{bands[k]['pairs']}: {_f(bands[k]['agreement'], 2)}"
              for k in ("below", "neutral", "above")),
            _f(scores["agreement"], 2), _f(scores["praise_only"], 2)]


def _guidance_note(table: dict) -> list[str]:
    strength = table.get("rating_guidance", 0)
    if not strength:
        return []
    return ["", f"Rating guidance {strength:g} on the SmolLM2 rows (lexicon: "
                f"{table.get('rating_lexicon', '-')}); the row marked \"no rating guidance\" "
                "is the same decoding without it."]


def render_markdown(report: dict) -> str:
    aspects = report["aspects"]
    lines = [f"# Core benchmark: {report['dataset']} (preset `{report['preset']}`)", "",
             f"Train reviews: {report['n_train']}; scored test pairs (known user and item): "
             f"{report['n_test_scored']}; ELIXIR training budget {report['budget_s']:.0f}s, "
             f"actual training time {report['train_time_s']:.0f}s; whole benchmark "
             f"{report['bench_time_s']:.0f}s"
             + (" (finished runs reused: training time not included)"
                if report.get("reused_runs") else "") + ".", "",
             "## Ratings (test, 1-5 scale)", ""]
    header = ["model", "RMSE", "MAE", *(f"RMSE {a}" for a in aspects)]
    rows = [[name, _f(t["overall"]["rmse"]), _f(t["overall"]["mae"]),
             *(_f(t[a]["rmse"]) if a in t else "-" for a in aspects)]
            for name, t in report["ratings"].items()]
    lines += _table(header, rows)
    if "rating_seeds" in report:
        lines += _seed_table(report["rating_seeds"])
    metric = "meteor" if "meteor" in report["text"]["ELIXIR"] else "chrf"
    lines += ["", f"## Explanations (test sample; third metric: {report['text_metric_note']})",
              ""]
    header = ["model", "BLEU-4", "ROUGE-1", "ROUGE-2", "ROUGE-L", metric, "unique %",
              "distinct-2 %"]
    keys = ("bleu4", "rouge1", "rouge2", "rougeL", metric, "unique", "distinct2")
    text_rows = [[name, *(_f(s[k], 2) if k in s else "-" for k in keys)]
                 for name, s in report["text"].items()]
    lines += _table(header, text_rows)
    lines += ["", "unique %: share of distinct texts; distinct-2 %: distinct word bigrams over "
              "all bigrams. Both compare the texts with one another, not with the references."]
    if "ablations" in report:
        lines += ["", "## Ablations (each trained with the same shorter budget)", ""]
        rows = [[name, _f(s["budget_s"], 0), _f(s["rmse_on_text_pairs"]),
                 *(_f(s[k], 2) if k in s else "-" for k in keys)]
                for name, s in report["ablations"].items()]
        lines += _table(["variant", "budget s", "RMSE (text pairs)", *header[1:]], rows)
    p = report["params"]
    lines += ["", "## Parameters", "", *_table(["what", "count"], [
        ["total", f"{p['total']:,}"], ["trainable", f"{p['trainable']:,}"],
        ["rating model", f"{p['rating']:,}"], ["backbone", f"{p['backbone']:,}"],
        ["our prompt generator", f"{p['generator']:,}"],
        [f"paper generator, same sizes {p['sizes']}", f"{p['paper_generator_same_size']:,}"],
        ["ratio ours / paper (same sizes)", f"{100 * p['generator_ratio_same_size']:.2f}%"],
        ["ours at paper sizes (d 256, P 50, width 512)", f"{p['ours_generator_paper_size']:,}"],
        ["paper at paper sizes", f"{p['paper_generator_paper_size']:,}"],
        ["ratio at paper sizes", f"{100 * p['generator_ratio_paper_size']:.3f}%"]])]
    lines += ["", "## CPU explanation latency (64 new tokens, one pair, ms)", "",
              *_latency_table(report["latency_ms"])]
    if "backbones" in report:
        lines += _backbone_section(report["backbones"])
    lines += ["", "## Targets", "",
              *_table(["target", "met"], [[k, _f(v, 3)] for k, v in report["targets"].items()])]
    examples = report["text"]["ELIXIR"].get("examples", [])
    if examples:
        lines += ["", "## Example generations", ""]
        for ex in examples:
            lines += [f"- user {ex['user']}, item {ex['item']}", f"  - generated: {ex['generated']}",
                      f"  - reference: {ex['reference']}"]
    return "\n".join(lines) + "\n"
