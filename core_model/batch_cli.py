"""`elixir-agent batch predict|explain|recommend|embed`: the core (or the review embedder)
over many rows, on Ray Data.

Run with: elixir-agent batch predict --run runs/rb --pairs pairs.parquet --out preds/
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Run = Annotated[Path, typer.Option("--run", help="Run directory written by `elixir-agent train`.")]
Pairs = Annotated[Path, typer.Option("--pairs", help="Parquet or CSV with user_id, item_id "
                                     "columns (recommend: user_id only).")]
Out = Annotated[Path, typer.Option("--out", help="Output directory of part-NNNNN.parquet files; "
                                   "a rerun skips the parts already there.")]
Workers = Annotated[int, typer.Option(min=0, help="Ray actors, one model each; 0 runs the plain "
                                      "single-process loop without Ray.")]
RayAddress = Annotated[str | None, typer.Option(
    "--ray-address", help="Ray cluster to join ('auto' or ray://host:10001); default: a local "
    "Ray on this machine.", show_default=False)]
BatchSize = Annotated[int, typer.Option(min=1, help="Rows per model call.")]
PartitionRows = Annotated[int, typer.Option(min=1, help="Rows per output file (the resume unit).")]
Threads = Annotated[int, typer.Option(min=1, help="Torch threads per worker.")]
ColdStart = Annotated[bool, typer.Option(help="Unknown ids get the mean embedding, flagged.")]


def register(app: typer.Typer, bench: typer.Typer) -> None:
    """Add the `batch` group (predict, explain, recommend, embed) to the app and `bench batch`."""
    batch_app = typer.Typer(help="Run the core over many users and items (Ray Data; local by "
                            "default, --ray-address for a cluster).", no_args_is_help=True)
    batch_app.command("predict")(predict)
    batch_app.command("explain")(explain)
    batch_app.command("recommend")(recommend)
    batch_app.command("embed")(embed)
    app.add_typer(batch_app, name="batch")
    bench.command("batch")(bench_batch)


def predict(run: Run, pairs: Pairs, out: Out, workers: Workers = 1, ray_address: RayAddress = None,
            batch_size: BatchSize = 4096, partition_rows: PartitionRows = 100_000,
            threads: Threads = 1, cold_start: ColdStart = False) -> None:
    """Overall rating, aspect ratings and aspect importance for every (user, item) pair.

    Run with: elixir-agent batch predict --run runs/rb --pairs pairs.parquet --out preds/
    """
    _run("predict", run, pairs, out, dict(workers=workers, ray_address=ray_address,
         batch_size=batch_size, partition_rows=partition_rows, threads_per_worker=threads,
         cold_start=cold_start))


def explain(run: Run, pairs: Pairs, out: Out, workers: Workers = 1, ray_address: RayAddress = None,
            batch_size: BatchSize = 16, partition_rows: PartitionRows = 1_000,
            threads: Threads = 1, cold_start: ColdStart = False,
            max_new_tokens: Annotated[int, typer.Option(min=1, help="Longest review in tokens.")] = 64,
            int8: Annotated[bool | None, typer.Option(
                "--int8/--no-int8",
                help="The decoder's weights in int8: with a SmolLM2 run about 2x faster at "
                     "the same quality (docs/core-benchmark.md). Default: on for SmolLM2 runs "
                     "on a CPU with bf16 instructions.")] = None,
            ) -> None:
    """The generated personalised review for every (user, item) pair.

    Run with: elixir-agent batch explain --run runs/rb --pairs pairs.parquet --out reviews/
    """
    _run("explain", run, pairs, out, dict(workers=workers, ray_address=ray_address,
         batch_size=batch_size, partition_rows=partition_rows, threads_per_worker=threads,
         cold_start=cold_start, max_new_tokens=max_new_tokens, int8=int8))


def recommend(run: Run, pairs: Pairs, out: Out, workers: Workers = 1,
              ray_address: RayAddress = None, batch_size: BatchSize = 64,
              partition_rows: PartitionRows = 1_000, threads: Threads = 1,
              k: Annotated[int, typer.Option("-k", "--k", min=1, help="Items per user.")] = 10,
              ) -> None:
    """The k best unseen items of every user in the file's user_id column.

    Run with: elixir-agent batch recommend --run runs/rb --pairs users.csv --out recs/ -k 10
    """
    _run("recommend", run, pairs, out, dict(workers=workers, ray_address=ray_address,
         batch_size=batch_size, partition_rows=partition_rows, threads_per_worker=threads, k=k))


def embed(
    pairs: Annotated[Path, typer.Option("--pairs", help="Parquet (a file, or a folder such as a "
                                        "prepared dataset's) or CSV with review_id and text "
                                        "columns.")],
    out: Out, workers: Workers = 1, ray_address: RayAddress = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Reviews per embedding call (sorted "
                                            "by length inside it).")] = 1024,
    partition_rows: PartitionRows = 10_000, threads: Threads = 1,
    embedder: Annotated[str | None, typer.Option(
        help="sentence-transformers model name or local path; default: bundled "
        "all-MiniLM-L6-v2.", show_default=False)] = None,
    embedder_backend: Annotated[str, typer.Option(
        help="torch, torch-bf16, onnx, onnx-int8 or auto (on CPU: torch-bf16 where the CPU "
        "has native bf16, else onnx when installed, else torch).")] = "auto",
    max_length: Annotated[int | None, typer.Option(
        help="Cut reviews at this many tokens (default: the backend's).", show_default=False)] = None,
) -> None:
    """Embed many reviews into shards that `index build --embeddings` indexes without
    embedding again: part-NNNNN.parquet files of review_id and embedding, each recording the
    embedder in its metadata. Each actor loads the embedder once.

    Run with: elixir-agent batch embed --pairs data/rb/train.parquet --out shards/ --workers 2
    """
    _run("embed", None, pairs, out, dict(workers=workers, ray_address=ray_address,
         batch_size=batch_size, partition_rows=partition_rows, threads_per_worker=threads,
         embedder=embedder, embedder_backend=embedder_backend, max_length=max_length))


def _run(task: str, run: Path | None, pairs: Path, out: Path, options: dict) -> None:
    from elixir_agent.core_model.batch import BatchOptions, run_batch
    from elixir_agent.core_model.inference import UnknownIdError

    try:
        summary = run_batch(task, run, pairs, out, BatchOptions(**options))
    except (ValueError, FileNotFoundError, ImportError, UnknownIdError) as error:
        typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=2) from error
    typer.echo(f"wrote {summary.out}: {summary.rows} rows in {summary.seconds}s "
               f"({summary.rows_per_s} rows/s), {summary.partitions} parts "
               f"({summary.skipped_partitions} already done)")


def bench_batch(
    run: Run, pairs: Pairs,
    out: Annotated[Path, typer.Option("--out", help="Report directory (batch.json, batch.md).")],
    workers: Annotated[str, typer.Option(help="Comma-separated pool sizes; 0 is the plain "
                                         "single-process loop.")] = "0,1,2",
    explain_rows: Annotated[int, typer.Option(min=0, help="Rows of --pairs also explained "
                                              "(0: ratings only).")] = 64,
    batch_size: BatchSize = 4096,
    partition_rows: PartitionRows = 100_000,
    repeats: Annotated[int, typer.Option(min=1, help="Runs of each pool size, rounds "
                                         "interleaved; the median run is reported.")] = 1,
) -> None:
    """Rows/s of `batch predict` (and `explain`) for each pool size, and whether every pool
    size wrote the same output as the first Ray pool. Each partition goes to one actor: give
    several partitions per worker (ten per worker: two million pairs at the default
    100,000 rows, for two workers).

    Run with: elixir-agent bench batch --run runs/rb --pairs pairs.parquet --out runs/bench-batch
    """
    from elixir_agent.core_model.batch_bench import run_batch_bench

    sizes = [int(w) for w in workers.split(",") if w.strip()]
    report = run_batch_bench(run, pairs, out, sizes, explain_rows=explain_rows,
                             batch_size=batch_size, partition_rows=partition_rows,
                             repeats=repeats)
    typer.echo(report)
