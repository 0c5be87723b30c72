"""report.md and its plots, from the summary the runner computed (no metric is computed here)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from elixir_agent.eval.summary import METRIC_LABELS

__all__ = ["write_report"]

_TEXT = ("bleu1", "bleu4", "rouge1", "rouge2", "rougeL", "meteor", "chrf")
_SHARES = ("embedding_similarity", "usr", "fmr", "fcr", "consistency", "answers", "groundedness",
           "citation_rate", "verified_ok", "personal", "cites_own", "distinct")


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None or value != value else f"{value:.{digits}f}"


def _cell(cell: dict[str, float | None] | None) -> str:
    if cell is None:
        return "n/a"
    text = _fmt(cell["value"])
    if cell.get("low") is not None:
        text += f" [{_fmt(cell['low'])}, {_fmt(cell['high'])}]"
    return text


def _metric_table(summary: dict[str, Any]) -> list[str]:
    systems = list(summary["systems"])
    keys = [k for k in METRIC_LABELS if any(k in summary["systems"][s]["metrics"] for s in systems)]
    lines = ["| metric | " + " | ".join(systems) + " |", "|---|" + "---|" * len(systems)]
    for key in keys:
        cells = [_cell(summary["systems"][s]["metrics"].get(key)) for s in systems]
        lines.append(f"| {METRIC_LABELS[key]} | " + " | ".join(cells) + " |")
    for kind, label in (("length_words", "Length (words)"), ("latency_s", "Latency (s)")):
        for stat in ("mean", "p50", "p95"):
            cells = [_fmt(summary["systems"][s][kind][stat], 2) for s in systems]
            lines.append(f"| {label} {stat} | " + " | ".join(cells) + " |")
    return lines


def _plots(summary: dict[str, Any], records: Sequence[dict[str, Any]], out_dir: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt
    import numpy as np

    systems = list(summary["systems"])
    written = []

    def bars(keys: Sequence[str], title: str, name: str) -> None:
        keys = [k for k in keys if any(summary["systems"][s]["metrics"].get(k, {}).get("value") is not None
                                       for s in systems)]
        if not keys:
            return
        fig, ax = plt.subplots(figsize=(max(5, 1.3 * len(keys) * len(systems)), 3.6))
        width = 0.8 / len(systems)
        for j, system in enumerate(systems):
            cells = [summary["systems"][system]["metrics"].get(k) or {} for k in keys]
            values = np.array([c.get("value") if c.get("value") is not None else np.nan for c in cells], float)
            low = np.array([c.get("low") if c.get("low") is not None else v for c, v in zip(cells, values, strict=True)], float)
            high = np.array([c.get("high") if c.get("high") is not None else v for c, v in zip(cells, values, strict=True)], float)
            x = np.arange(len(keys)) + j * width
            ax.bar(x, values, width, label=system,
                   yerr=np.vstack([np.clip(values - low, 0, None), np.clip(high - values, 0, None)]), capsize=3)
        ax.set_xticks(np.arange(len(keys)) + width * (len(systems) - 1) / 2)
        ax.set_xticklabels([METRIC_LABELS[k] for k in keys], rotation=20, ha="right")
        ax.set_title(title)
        ax.legend()
        fig.tight_layout()
        fig.savefig(out_dir / name, dpi=110)
        plt.close(fig)
        written.append(name)

    bars(_TEXT, "Text overlap with the real review (95% bootstrap CI)", "metrics_text.png")
    bars(_SHARES, "Explanation quality and grounding (95% bootstrap CI)", "metrics_explanation.png")
    bars(("groundedness", "citation_rate", "consistency"), "Groundedness and consistency per system",
         "grounding_consistency.png")

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    latencies = [[r["systems"][s]["latency"] for r in records] for s in systems]
    ax.boxplot(latencies, showfliers=True)
    ax.set_xticks(range(1, len(systems) + 1))
    ax.set_xticklabels(systems)
    ax.set_ylabel("seconds per explanation")
    ax.set_title("Latency distribution")
    fig.tight_layout()
    fig.savefig(out_dir / "latency.png", dpi=110)
    plt.close(fig)
    written.append("latency.png")
    return written


def write_report(summary: dict[str, Any], records: Sequence[dict[str, Any]], out_dir: Path) -> Path:
    """Write report.md and its PNG plots into `out_dir`; returns the report's path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = _plots(summary, records, out_dir)
    meta = summary["meta"]
    text_metrics = {b["text_metric"] for b in summary["systems"].values()}
    lines = [
        "# Explanation evaluation: " + " vs ".join(summary["systems"]),
        "",
        *_failed_section(summary),
        f"{meta['pairs']} test pairs; aspects: {', '.join(meta['aspects'])}.",
        *(f"- {k}: {v}" for k, v in meta.items() if k not in ("pairs", "aspects")),
        "",
        "Text-overlap metrics are percentages against the held-out real review; "
        + ("METEOR" if text_metrics == {"meteor"} else "chrF (WordNet data for METEOR is not installed)")
        + " is the character/synonym-aware metric. Intervals are 95% percentile-bootstrap over pairs "
        "(none for USR, FCR and DIV, which resampling with replacement would bias). Groundedness is "
        "n/a for a system without a verifier.",
        "",
        *_metric_table(summary),
        "",
    ]
    if "questions" in summary:
        lines += _questions_section(summary["questions"])
    if "judge" in summary:
        lines += _judge_section(summary["judge"])
    if "scenarios" in summary:
        lines += _scenario_section(summary["scenarios"])
    lines += ["## Plots", "", *(f"![{p}]({p})" for p in plots), "", "## Examples", ""]
    for record in list(records)[:3]:
        lines += [f"### {record['user_id']} x {record['item_id']} (real rating {_fmt(record['rating'])})", "",
                  f"- **real review**: {record['reference']}"]
        lines += [f"- **{s}**: {record['systems'][s]['text']}" for s in summary["systems"]]
        lines.append("")
    path = out_dir / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _judge_section(judge: dict[str, Any]) -> list[str]:
    lines = ["## Pairwise LLM judge", "",
             f"Model `{judge['model']}`; each pair judged twice with the order swapped; a pair whose two "
             "verdicts disagree counts as a tie.", "",
             f"| criterion | {judge['a']} wins | {judge['b']} wins | ties |", "|---|---|---|---|"]
    for criterion, counts in judge["criteria"].items():
        lines.append(f"| {criterion} | {counts['a']} | {counts['b']} | {counts['tie']} |")
    return [*lines, ""]


def _scenario_section(scenarios: dict[str, Any]) -> list[str]:
    lines = ["## Multi-turn scenarios", "", "| check | passed | total | pass rate |", "|---|---|---|---|"]
    for check, c in scenarios["checks"].items():
        lines.append(f"| {check} | {c['passed']} | {c['total']} | {_fmt(c['passed'] / c['total'] if c['total'] else None)} |")
    lines += ["", "| scenario | runs | all checks passed |", "|---|---|---|"]
    for name, s in scenarios["scenarios"].items():
        lines.append(f"| {name} | {s['runs']} | {s['passed_runs']} |")
    return [*lines, ""]


def _failed_section(summary: dict[str, Any]) -> list[str]:
    """Every answer that did not answer its question, verbatim: the first thing to read."""
    blocks = {name: block.get("failed") or [] for name, block in summary["systems"].items()}
    blocks.update({name: block.get("failed") or [] for name, block in (summary.get("questions") or {}).items()})
    failed = [(name, f) for name, items in blocks.items() for f in items]
    if not failed:
        return ["Every agent answer answered its question.", ""]
    lines = [f"## Failed answers ({len(failed)})", "",
             "Answers without the content their question requires (a rating, a reason and a citation, "
             "both items and a winner, the top aspect); they count as failures in every metric.", ""]
    for name, f in failed:
        text = " ".join(str(f["text"]).split())
        lines.append(f"- **{name}** {f['user_id']} x {f['item_id']}: \"{f['question']}\" -> {text}")
    return [*lines, ""]


def _questions_section(questions: dict[str, Any]) -> list[str]:
    lines = ["## Other questions on the same pairs", "",
             "| question | answers | answers and passes verifier | groundedness (answers that answer) |",
             "|---|---|---|---|"]
    for name, block in questions.items():
        m = block["metrics"]
        lines.append(f"| {name} | {_cell(m.get('answers'))} | {_cell(m.get('verified_ok'))} | "
                     f"{_cell(m.get('groundedness'))} |")
    return [*lines, ""]
