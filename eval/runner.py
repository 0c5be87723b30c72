"""The evaluation runner: every system explains the same test pairs; records, metrics, report.

    pairs = select_pairs(dataset.split("test"), dataset.aspects, n=200, seed=0)
    result = evaluate(pairs, [CoreExplainer(rec), AgentExplainer(ask, rec)], out_dir,
                      aspects=dataset.aspects, encoder=embedder)

Writes into `out_dir`:
  pairs.jsonl      one line per pair, every system's explanation side by side (appended as
                   it goes: a rerun skips the pairs already there, so an interrupted run resumes)
  summary.json     metrics per system with bootstrap intervals, length and latency summaries,
                   judge and scenario results when they were run
  summary.csv      the same metrics as one flat table (system, metric, value, low, high)
  report.md + PNGs (see `eval.report`)
Nothing is printed: the caller reads the files (or the returned summary).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from elixir_agent.agent.explainers import Explainer
from elixir_agent.eval.features import FeatureLexicon
from elixir_agent.eval.metrics import Encoder
from elixir_agent.eval.summary import system_metrics

__all__ = ["Pair", "evaluate", "load_records", "run_pairs", "select_pairs", "write_summary"]

ASPECT_PREFIX = "aspect_"  # column prefix of aspect ratings in a prepared split


@dataclass(frozen=True)
class Pair:
    """A held-out test review: the pair to explain and the real review to compare with."""

    pair_id: str
    user_id: str
    item_id: str
    reference: str
    rating: float | None
    aspects: dict[str, float] = field(default_factory=dict)


def select_pairs(test: pd.DataFrame, aspects: Sequence[str], n: int, seed: int = 0,
                 known: Callable[[str, str], bool] | None = None) -> list[Pair]:
    """`n` test reviews drawn with `seed` (all when fewer), keeping only pairs `known` accepts.

    The draw is a fixed permutation of the whole split, so `--pairs 50` is the first 50 of
    what `--pairs 200` evaluates and a resumed run sees the same pairs.
    """
    if n < 1:
        raise ValueError(f"--pairs must be at least 1 (got {n})")
    order = test.sample(frac=1.0, random_state=seed)
    pairs: list[Pair] = []
    for row in order.itertuples(index=False):
        user, item = str(row.user_id), str(row.item_id)
        if known is not None and not known(user, item):
            continue
        ratings = {a: float(getattr(row, f"{ASPECT_PREFIX}{a}")) for a in aspects
                   if pd.notna(getattr(row, f"{ASPECT_PREFIX}{a}", None))}
        rating = None if pd.isna(row.rating) else float(row.rating)
        pairs.append(Pair(str(row.review_id), user, item, str(row.text), rating, ratings))
        if len(pairs) == n:
            break
    return pairs


def load_records(path: Path) -> dict[str, dict[str, Any]]:
    """pair_id -> record of a `pairs.jsonl`; a torn last line (an interrupted write) is dropped."""
    if not path.exists():
        return {}
    raw = path.read_text(encoding="utf-8")
    lines = raw.split("\n")
    records: dict[str, dict[str, Any]] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            if number == len(lines):  # the last line without its newline: cut it off
                path.write_text(raw[: len(raw) - len(line)], encoding="utf-8")
                break
            raise ValueError(f"{path}:{number}: not a JSON record ({error.msg})") from error
        records[record["pair_id"]] = record
    return records


def run_pairs(pairs: Sequence[Pair], explainers: Sequence[Explainer], path: Path, *,
              progress: bool = True) -> list[dict[str, Any]]:
    """Explain every pair with every system, appending one record per pair to `path`.

    Pairs already recorded with every system are skipped; a pair that misses a system (an
    earlier run without it) gets only the missing explanations.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    done = load_records(path)
    names = [e.name for e in explainers]
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with path.open("a", encoding="utf-8") as sink, Progress(*columns, disable=not progress) as bar:
        task = bar.add_task("explaining pairs", total=len(pairs))
        for pair in pairs:
            record = done.get(pair.pair_id) or {
                "pair_id": pair.pair_id, "user_id": pair.user_id, "item_id": pair.item_id,
                "reference": pair.reference, "rating": pair.rating, "aspects": pair.aspects,
                "systems": {},
            }
            missing = [e for e in explainers if e.name not in record["systems"]]
            for explainer in missing:
                bar.update(task, description=f"{explainer.name}: {pair.user_id} x {pair.item_id}")
                record["systems"][explainer.name] = explainer.explain(pair.user_id, pair.item_id).to_dict()
            if missing:
                sink.write(json.dumps(record, ensure_ascii=False) + "\n")
                sink.flush()  # a crash loses at most the pair in progress
                done[pair.pair_id] = record
            bar.advance(task)
    wanted = {p.pair_id for p in pairs}
    return [done[p] for p in done if p in wanted and all(n in done[p]["systems"] for n in names)]


def write_summary(summary: dict[str, Any], out_dir: Path) -> None:
    """summary.json (everything) and summary.csv (system, metric, value, low, high)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "summary.json").write_text(json.dumps(_finite(summary), indent=2), encoding="utf-8")
    with (out_dir / "summary.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["system", "metric", "value", "low", "high"])
        for system, block in summary["systems"].items():
            for metric, cell in block["metrics"].items():
                writer.writerow([system, metric, cell["value"], cell["low"], cell["high"]])
            for kind in ("length_words", "latency_s"):
                for stat in ("mean", "p50", "p95"):
                    writer.writerow([system, f"{kind}_{stat}", block[kind][stat], "", ""])


def _finite(node: Any) -> Any:
    """NaN -> null, so summary.json is strict JSON."""
    if isinstance(node, dict):
        return {k: _finite(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_finite(v) for v in node]
    if isinstance(node, float) and node != node:
        return None
    return node


def evaluate(pairs: Sequence[Pair], explainers: Sequence[Explainer], out_dir: Path, *,
             aspects: Sequence[str], encoder: Encoder | None = None,
             sentiment: Callable[[str], float] | None = None, resamples: int = 200, seed: int = 0,
             judge: Any | None = None, scenario_results: dict[str, Any] | None = None,
             meta: dict[str, Any] | None = None, progress: bool = True,
             history: dict[str, set[str]] | None = None, questions: Sequence[Explainer] = (),
             previous: Path | None = None) -> dict[str, Any]:
    """Run, score and report. Returns the summary that was written to `out_dir`.

    `questions`: agents asked other kinds of question (rating, aspects, compare, what matters)
    on the same pairs; they are scored on answering and grounding only. `previous`: the
    `pairs.jsonl` of an earlier run whose agent answers are scored beside this run's as
    `agent_previous` (same pairs, same metrics). `history`: user -> training review ids.
    """
    from elixir_agent.eval.report import write_report
    from elixir_agent.eval.summary import answer_metrics

    out_dir = Path(out_dir)
    records = run_pairs(pairs, [*explainers, *questions], out_dir / "pairs.jsonl", progress=progress)
    if not records:
        raise ValueError("no pair was explained by every system; nothing to score")
    systems = [e.name for e in explainers]
    if previous is not None:
        records = _with_previous(records, Path(previous))
        systems.append(PREVIOUS)
    lexicon = FeatureLexicon.for_aspects(aspects)
    if sentiment is None:
        from elixir_agent.eval.metrics import vader_compound

        sentiment = vader_compound()
    summary: dict[str, Any] = {
        "meta": {**(meta or {}), "pairs": len(records), "aspects": list(aspects),
                 "resamples": resamples, "seed": seed},
        "systems": {name: system_metrics(records, name, lexicon, encoder=encoder, sentiment=sentiment,
                                         resamples=resamples, seed=seed, history=history) for name in systems},
    }
    if questions:
        summary["questions"] = {q.name: answer_metrics(records, q.name, lexicon, resamples=resamples, seed=seed)
                                for q in questions}
    if judge is not None and len(explainers) >= 2:
        summary["judge"] = judge.compare(records, explainers[0].name, explainers[1].name,
                                         out_dir / "judge.jsonl", progress=progress)
    if scenario_results is not None:
        summary["scenarios"] = scenario_results
    write_summary(summary, out_dir)
    write_report(summary, records, out_dir)
    return summary


PREVIOUS = "agent_previous"


def _with_previous(records: list[dict[str, Any]], path: Path) -> list[dict[str, Any]]:
    """Records with the earlier run's agent answer added as `agent_previous` (shared pairs only)."""
    earlier = load_records(path)
    if not earlier:
        raise ValueError(f"{path}: no records to compare with (expected an eval run's pairs.jsonl)")
    out = []
    for record in records:
        before = earlier.get(record["pair_id"], {}).get("systems", {}).get("agent")
        if before is not None:
            out.append({**record, "systems": {**record["systems"], PREVIOUS: before}})
    if not out:
        raise ValueError(f"{path} shares no pair with this run: run both with the same --data, --pairs and --seed")
    return out
