"""`elixir-agent bench batch`: rows/s of batch inference for each Ray pool size against the
plain single-process loop, and whether the outputs agree. Writes batch.json and batch.md.

Every configuration uses one torch thread per worker, so the pool size is the only thing that
changes; on a shared machine the numbers move with the load (it is recorded in the report).

Run with: elixir-agent bench batch --run runs/rb --pairs pairs.parquet --out runs/bench-batch
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from elixir_agent.core_model.batch import BatchOptions, read_pairs, run_batch

TARGET_SPEEDUP_2_WORKERS = 1.6


def run_batch_bench(run, pairs, out, pool_sizes, *, explain_rows: int = 64,
                    batch_size: int = 4096, partition_rows: int = 100_000,
                    repeats: int = 1) -> str:
    """Measure predict (all rows) and explain (the first `explain_rows`) per pool size.

    Partitions are what actors share out (one partition, one actor), so the input should
    hold several per worker; explain's partitions are one generation batch of 16 rows.
    With `repeats` > 1 every pool size runs that many times, rounds interleaved (0, 1, 2,
    0, 1, 2, ...) so that a slow spell of the machine hits them alike, and the median run
    is reported beside each run's seconds."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="bench-batch-", dir=out))
    rows: list[dict] = []
    _start_ray(max(pool_sizes))  # one local Ray for every pool size: starting one costs seconds
    try:
        tasks = [("predict", Path(pairs), batch_size, partition_rows)]
        if explain_rows:
            few = scratch / "explain-pairs.parquet"
            # The first rows, read and checked as the job reads them (not the whole file).
            pq.write_table(read_pairs(pairs, "explain").slice(0, explain_rows), few)
            tasks.append(("explain", few, 16, 16))
        for task, source, size, part_rows in tasks:
            outputs: dict[int, pd.DataFrame] = {}
            runs: dict[int, list[dict]] = {workers: [] for workers in pool_sizes}
            for round_number in range(repeats):
                for workers in pool_sizes:
                    target = scratch / f"{task}-{workers}-{round_number}"
                    summary = run_batch(task, run, source, target,
                                        BatchOptions(workers=workers, batch_size=size,
                                                     partition_rows=part_rows), progress=False)
                    if round_number == 0:
                        outputs[workers] = _read(target)
                    runs[workers].append({"seconds": summary.seconds, "rows": summary.rows,
                                          "steady_rows_per_s": _steady_rate(target),
                                          "load_average": round(os.getloadavg()[0], 2)})
                    shutil.rmtree(target, ignore_errors=True)
                    rows[:] = [r for r in rows if r["task"] != task] + \
                        [_median_row(task, w, runs[w]) for w in pool_sizes if runs[w]]
                    _report(out, rows, pool_sizes)  # partial numbers survive an interruption
            reference = next((w for w in pool_sizes if w > 0), pool_sizes[0])
            for row in rows:
                if row["task"] == task:
                    row["same_output_as_first_pool"] = _same(outputs[row["workers"]],
                                                             outputs[reference])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        _shutdown_ray()
    return _report(out, rows, pool_sizes)


def _median_row(task: str, workers: int, runs: list[dict]) -> dict:
    """One report row from a pool size's runs: the median run's seconds and rates."""
    import statistics

    seconds = statistics.median(r["seconds"] for r in runs)
    steady = [r["steady_rows_per_s"] for r in runs if r["steady_rows_per_s"]]
    return {"task": task, "workers": workers, "rows": runs[0]["rows"],
            "seconds": round(seconds, 2), "rows_per_s": round(runs[0]["rows"] / seconds, 1),
            "steady_rows_per_s": round(statistics.median(steady), 1) if steady else None,
            "seconds_per_run": [r["seconds"] for r in runs],
            "load_average": max(r["load_average"] for r in runs)}


def _steady_rate(folder: Path) -> float | None:
    """Rows/s once the job runs: from the first partition file written to the last, so
    loading the model and starting actors are left out. None with under three partitions."""
    parts = sorted(folder.glob("part-*.parquet"), key=lambda p: p.stat().st_mtime_ns)
    if len(parts) < 3:
        return None
    span = (parts[-1].stat().st_mtime_ns - parts[0].stat().st_mtime_ns) / 1e9
    if span <= 0:  # written within one clock tick: too fast to time
        return None
    later_rows = sum(pq.ParquetFile(p).metadata.num_rows for p in parts[1:])
    return round(later_rows / span, 1)


def _report(out: Path, rows: list[dict], pool_sizes) -> str:
    for row in rows:
        base = next(r for r in rows if r["task"] == row["task"] and r["workers"] == pool_sizes[0])
        row["speedup"] = round(row["rows_per_s"] / max(base["rows_per_s"], 1e-9), 2)
        if row.get("steady_rows_per_s") and base.get("steady_rows_per_s"):
            row["steady_speedup"] = round(row["steady_rows_per_s"] / base["steady_rows_per_s"], 2)
    report = {"cpus": os.cpu_count(), "rows": rows, "target_speedup_2_workers":
              TARGET_SPEEDUP_2_WORKERS}
    (out / "batch.json").write_text(json.dumps(report, indent=2))
    lines = ["# Batch inference benchmark", "",
             f"{os.cpu_count()} CPUs, one torch thread per worker; speed-up against the first "
             f"configuration (workers 0 = the plain single-process loop, no Ray). rows/s counts "
             f"the whole job, model loading and actor start-up included; steady rows/s the rows "
             f"from the first partition file written to the last; with several runs per "
             f"configuration (rounds interleaved) the median run.", "",
             "| task | workers | rows | seconds | rows/s | speed-up | steady rows/s "
             "| steady speed-up | same output | load avg | s per run |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---|"]
    lines += [f"| {r['task']} | {r['workers']} | {r['rows']} | {r['seconds']} | {r['rows_per_s']} "
              f"| {r['speedup']}x | {r.get('steady_rows_per_s') or '-'} "
              f"| {_times(r.get('steady_speedup'))} | {r.get('same_output_as_first_pool', '-')} "
              f"| {r['load_average']} | {', '.join(map(str, r.get('seconds_per_run', [])))} |"
              for r in rows]
    markdown = "\n".join(lines) + "\n"
    (out / "batch.md").write_text(markdown)
    return markdown


def _times(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio}x"


def _same(a: pd.DataFrame, b: pd.DataFrame) -> bool | str:
    """True for equal text columns and numbers within 1e-5 (the plain loop may batch
    differently); otherwise what differs first, so a "no" in the report can be followed up."""
    if a.shape != b.shape or list(a.columns) != list(b.columns):
        return f"shape or columns differ: {a.shape} {list(a.columns)} vs {b.shape} {list(b.columns)}"
    numbers = a.select_dtypes("number").columns
    for column in a.columns:
        if column in numbers:
            gap = float((a[column] - b[column]).abs().max()) if len(a) else 0.0
            if not gap < 1e-5:
                return f"{column} differs by up to {gap:.3g}"
        elif a[column].astype(str).tolist() != b[column].astype(str).tolist():
            row = int((a[column].astype(str) != b[column].astype(str)).to_numpy().argmax())
            return f"{column} differs first at row {row}: {a[column].iloc[row]!r} vs {b[column].iloc[row]!r}"
    return True


def _read(folder: Path) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(p) for p in sorted(folder.glob("part-*.parquet"))],
                     ignore_index=True)


def _start_ray(max_workers: int) -> None:
    if max_workers < 1:
        return
    import ray

    if not ray.is_initialized():
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(num_cpus=max_workers + 1, include_dashboard=False, log_to_driver=False,
                 _node_ip_address="127.0.0.1")


def _shutdown_ray() -> None:
    try:
        import ray
    except ImportError:
        return
    if ray.is_initialized():
        ray.shutdown()
