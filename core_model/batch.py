"""Batch predictions, explanations, recommendations and review embeddings, on Ray Data.

The input (Parquet or CSV: `user_id, item_id` pairs, `user_id` alone for `recommend`,
`review_id, text` for `embed`) is cut into partitions of `partition_rows` rows; partition i is
written as `OUT/part-00000i.parquet` (temp file + rename), so a rerun skips the partitions
already on disk and resumes where a crash or a kill stopped it. Each partition is one Ray Data
block, handed whole to one of a pool of actors (`map_batches`), each loading the model once.
The actor answers it `batch_size` rows at a time and writes its file itself: results never
travel back to the driver, which only counts the rows done for the progress bar (on a cluster
the driver would otherwise receive every result and become the bottleneck). `workers=0` runs
the same code in this process without Ray (the baseline the benchmark compares against, and the
fallback where Ray is not installed).

`embed` writes each review's embedding (`review_id`, `embedding`) with the embedder's name,
dimension, backend and token cut in every file's Parquet metadata: the shards that
`elixir-agent index build --embeddings DIR` turns into an index without embedding again.

Run with: elixir-agent batch predict --run runs/rb --pairs pairs.parquet --out preds/ --workers 2
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

TASKS = ("predict", "explain", "recommend", "embed")
_COLUMNS = {"predict": ["user_id", "item_id"], "explain": ["user_id", "item_id"],
            "recommend": ["user_id"], "embed": ["review_id", "text"]}
_TEXT_COLUMNS = {"text"}  # may be empty; every other input column is an id
STATUS_EVERY_S = 1.0  # how often a worker reports progress within a partition
RAY_HINT = ("batch inference on Ray needs the `scale` extra: pip install 'elixir-agent[scale]' "
            "(or run with --workers 0 for the single-process loop)")
_PARTITION = "__partition"


@dataclass(frozen=True)
class BatchOptions:
    """How to run a batch job; defaults suit a laptop, raise `workers` on a cluster."""

    workers: int = 1  # Ray actors, each with its own copy of the model; 0: no Ray, one process
    batch_size: int = 256  # rows per model call (explain: generation batch, keep it small)
    # Rows per output file, the unit of resumption and of what one actor takes. Each partition
    # is one object the driver puts into Ray's store, a few ms apiece: 2,000 partitions of
    # 10,000 rows cost 11 s before any work started, 200 of 100,000 under 2 s (20M pairs).
    partition_rows: int = 100_000
    threads_per_worker: int = 1  # torch threads inside each actor (and in the 0-worker loop)
    ray_address: str | None = None  # None: start a local Ray; "auto" or ray://host:port: a cluster
    k: int = 10  # recommend: items per user
    max_new_tokens: int = 64  # explain: longest generated review
    int8: bool | None = None  # explain: the decoder's weights in int8; None: default_int8
    cold_start: bool = False  # unknown ids get the mean embedding instead of an error
    embedder: str | None = None  # embed: sentence-transformers name or path; None: bundled MiniLM
    embedder_backend: str = "auto"  # embed: torch, torch-bf16, onnx, onnx-int8 or auto
    max_length: int | None = None  # embed: token cut (None: the backend's default)


@dataclass
class BatchSummary:
    task: str
    rows: int
    partitions: int
    skipped_partitions: int
    seconds: float
    rows_per_s: float
    out: str
    files: list[str] = field(default_factory=list)


def read_pairs(path: str | Path, task: str) -> pa.Table:
    """The input rows as an Arrow table: Parquet (a file or a folder of files) or CSV/TSV with
    the task's columns (`user_id, item_id`; recommend: `user_id`; embed: `review_id, text`),
    as strings. Arrow, not pandas: slicing it into partitions and handing those to Ray copies
    no rows, where a pandas frame of Python strings costs seconds per million rows to convert
    on the driver. Raises ValueError naming the file and the missing column or the row with an
    empty id."""
    import pyarrow.compute as pc

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: --pairs takes a Parquet or CSV file")
    needed = _COLUMNS[task]
    table = _read_table(path, needed)
    missing = [c for c in needed if c not in table.column_names]
    if missing:
        raise ValueError(f"{path} lacks column(s) {', '.join(missing)} (has "
                         f"{', '.join(table.column_names)}); {task} needs {', '.join(needed)}")
    table = pa.table({name: pc.cast(table[name], pa.string()) for name in needed})
    if task == "recommend":  # one row per user, in the order users first appear
        table = pa.table({"user_id": pc.unique(table["user_id"])})
    if "text" in needed:  # a review without text is embedded as the empty string
        table = table.set_column(table.column_names.index("text"), "text",
                                 pc.fill_null(table["text"], ""))
    empty = None
    for name in (c for c in needed if c not in _TEXT_COLUMNS):
        column = table[name]
        bad = pc.or_(pc.is_null(column), pc.equal(pc.utf8_length(column), 0))
        rows = pc.indices_nonzero(pc.fill_null(bad, True))
        if len(rows):
            empty = int(rows[0].as_py()) if empty is None else min(empty, int(rows[0].as_py()))
    if empty is not None:
        raise ValueError(f"{path}: row {empty + 1} has an empty id")
    return table


def _read_table(path: Path, needed: list[str]) -> pa.Table:
    import pyarrow.csv as csv
    import pyarrow.dataset as ds

    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq") or path.is_dir():
        # A folder: its Parquet files (a prepared dataset's splits, or a partitioned table),
        # not the JSON or other files beside them.
        files = sorted(str(f) for f in path.rglob("*.parquet")) if path.is_dir() else [str(path)]
        if not files:
            raise ValueError(f"{path} holds no .parquet file; give a Parquet or CSV file")
        try:
            dataset = ds.dataset(files, format="parquet")
        except pa.ArrowInvalid as error:
            raise ValueError(f"{path}: cannot read it as Parquet ({error})") from error
        present = [c for c in needed if c in dataset.schema.names]
        if len(present) < len(needed):  # only the names, for the error message
            return dataset.schema.empty_table()
        return dataset.to_table(columns=needed)
    if suffix in (".csv", ".tsv"):
        # Ids stay text ("007" is not 7); an empty field is "" (caught as an empty id).
        convert = csv.ConvertOptions(column_types={c: pa.string() for c in needed})
        parse = csv.ParseOptions(delimiter="\t" if suffix == ".tsv" else ",")
        return csv.read_csv(path, parse_options=parse, convert_options=convert)
    raise ValueError(f"{path}: unknown format {path.suffix!r}; give a .parquet or .csv file")


class BatchWorker:
    """Loads a run once and answers whole partitions, writing each one's file (a Ray actor's
    callable, and the plain loop's)."""

    def __init__(self, run: str, task: str, options: BatchOptions, out: str,
                 expected: dict[int, int]):
        import torch

        from elixir_agent.core_model.inference import ElixirRecommender

        torch.set_num_threads(max(1, options.threads_per_worker))
        self.task, self.options, self.out = task, options, Path(out)
        self.expected = expected  # input rows per partition, to refuse a split partition
        self.metadata: dict[bytes, bytes] = {}
        if task == "embed":
            from elixir_agent.retrieval.embedder import embedder_record
            from elixir_agent.retrieval.shards import EMBEDDER_METADATA

            self.embedder = _embedder(options)
            self.metadata = {EMBEDDER_METADATA: json.dumps(embedder_record(self.embedder)).encode()}
            return
        # predict and recommend never touch the text decoder: skip loading it (with a
        # SmolLM2 run that is most of an actor's start-up and 0.5 GB of its memory)
        self.rec = ElixirRecommender.from_run(run, device="cpu", ratings_only=task != "explain",
                                              int8=options.int8 if task == "explain" else False)

    def __call__(self, partition: pd.DataFrame) -> Iterator[pd.DataFrame]:
        """Answer one partition `batch_size` rows at a time, then write the partition's file.
        Yields how many input rows were answered: at most once every STATUS_EVERY_S seconds
        while it works, and once with the file written (every status is an object the driver
        receives; one per batch of a fast task kept a core's tenth busy on the driver)."""
        partition = _numpy_backed(partition)
        part = _only_partition(partition, self.expected)
        answer = {"predict": self._predict, "explain": self._explain,
                  "recommend": self._recommend, "embed": self._embed}[self.task]
        pieces, unreported, last = [], 0, time.monotonic()
        for begin in range(0, len(partition), self.options.batch_size):
            rows = partition.iloc[begin:begin + self.options.batch_size]
            pieces.append(answer(rows))
            unreported += len(rows)
            if time.monotonic() - last >= STATUS_EVERY_S and begin + len(rows) < len(partition):
                yield _status(part, unreported, written=False)
                unreported, last = 0, time.monotonic()
        _write_part(self.out, part, pd.concat(pieces, ignore_index=True), self.metadata)
        yield _status(part, unreported, written=True)

    def _predict(self, batch: pd.DataFrame) -> pd.DataFrame:
        pairs = list(zip(batch["user_id"], batch["item_id"], strict=True))
        table = self.rec.predict_table(pairs, cold_start=self.options.cold_start)
        return pd.DataFrame({"user_id": batch["user_id"].to_numpy(),
                             "item_id": batch["item_id"].to_numpy(), **table})

    def _explain(self, batch: pd.DataFrame) -> pd.DataFrame:
        pairs = list(zip(batch["user_id"], batch["item_id"], strict=True))
        texts = self.rec.explain_batch(pairs, max_new_tokens=self.options.max_new_tokens,
                                       cold_start=self.options.cold_start)
        return pd.DataFrame({"user_id": batch["user_id"].to_numpy(),
                             "item_id": batch["item_id"].to_numpy(), "review": texts})

    def _embed(self, batch: pd.DataFrame) -> pd.DataFrame:
        vectors = self.embedder.encode(batch["text"].tolist())  # (B, D) unit rows
        return pd.DataFrame({"review_id": batch["review_id"].to_numpy(),
                             "embedding": list(vectors)})

    def _recommend(self, batch: pd.DataFrame) -> pd.DataFrame:
        rows = []
        for user in batch["user_id"]:
            ranked = self.rec.rank(user, k=self.options.k, cold_start=self.options.cold_start)
            rows += [{"user_id": user, "rank": rank, "item_id": p.item_id, "rating": p.rating}
                     for rank, p in enumerate(ranked, start=1)]
        return pd.DataFrame(rows, columns=["user_id", "rank", "item_id", "rating"])


def run_batch(task: str, run: str | Path | None, pairs: str | Path, out: str | Path,
              options: BatchOptions = BatchOptions(), *, progress: bool = True) -> BatchSummary:
    """Run `task` over every row of `pairs`, writing `out/part-*.parquet`; skips partitions
    already written by an earlier run with the same `partition_rows`."""
    if task not in TASKS:
        raise ValueError(f"unknown batch task {task!r}; choose one of {', '.join(TASKS)}")
    if task != "embed" and not (Path(run) / "config.json").exists() and not Path(run).is_dir():
        raise FileNotFoundError(f"{run} is not a run directory (from `elixir-agent train`)")
    table = read_pairs(pairs, task)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    size = options.partition_rows
    n_parts = -(-table.num_rows // size)
    done = {p for p in range(n_parts) if _part_path(out, p).exists()}
    # Zero-copy slices, each tagged with its partition number (what the workers write under).
    todo = [_tagged(table.slice(part * size, size), part) for part in range(n_parts)
            if part not in done]
    expected = {part: min(size, table.num_rows - part * size) for part in range(n_parts)
                if part not in done}
    worker_args = dict(run=None if run is None else str(run), task=task, options=options,
                       out=str(out), expected=expected)
    start = time.perf_counter()
    if todo:
        statuses = _run_ray(todo, worker_args) if options.workers > 0 \
            else _run_local(todo, worker_args)
        _follow(statuses, expected, progress, task)
    seconds = time.perf_counter() - start
    n_rows = sum(expected.values())
    return BatchSummary(task=task, rows=n_rows, partitions=n_parts, skipped_partitions=len(done),
                        seconds=round(seconds, 2), rows_per_s=round(n_rows / max(seconds, 1e-9), 1),
                        out=str(out), files=sorted(p.name for p in out.glob("part-*.parquet")))


def _status(part: int, rows: int, *, written: bool) -> pd.DataFrame:
    return pd.DataFrame({_PARTITION: [part], "rows": [rows], "written": [written]})


def _tagged(rows: pa.Table, part: int) -> pa.Table:
    return rows.append_column(_PARTITION, pa.array(np.full(rows.num_rows, part, dtype=np.int64)))


def _run_local(todo: list[pa.Table], worker_args: dict) -> Iterator[pd.DataFrame]:
    worker = BatchWorker(**worker_args)
    for partition in todo:
        yield from worker(partition.to_pandas())


def _run_ray(todo: list[pa.Table], worker_args: dict) -> Iterator[pd.DataFrame]:
    try:
        import ray
        import ray.data
    except ImportError as error:
        raise ImportError(RAY_HINT) from error
    options: BatchOptions = worker_args["options"]
    if not ray.is_initialized():
        if options.ray_address:
            ray.init(address=options.ray_address, log_to_driver=False)
        else:
            # A local Ray sized to the pool (an actor per worker plus a CPU for reading), on
            # loopback, without the usage report: nothing leaves this machine.
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            ray.init(num_cpus=options.workers * options.threads_per_worker + 1,
                     include_dashboard=False, log_to_driver=False,
                     _node_ip_address="127.0.0.1",
                     runtime_env={"env_vars": {"TOKENIZERS_PARALLELISM": "false"}})
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # our own bar counts rows, not Ray's operators
    # One block per partition; batch_size=None hands each block whole to one actor.
    dataset = ray.data.from_arrow(todo)
    statuses = dataset.map_batches(
        BatchWorker, fn_constructor_kwargs=worker_args, batch_size=None, batch_format="pandas",
        compute=ray.data.ActorPoolStrategy(size=options.workers),
        num_cpus=options.threads_per_worker)
    yield from statuses.iter_batches(batch_size=None, batch_format="pandas")


def _only_partition(partition: pd.DataFrame, expected: dict[int, int]) -> int:
    """The one partition this block holds, whole; an error if Ray merged or split blocks (two
    actors would then write parts of the same file)."""
    parts = partition[_PARTITION].unique()
    part = int(parts[0])
    if len(parts) != 1 or len(partition) != expected.get(part):
        raise RuntimeError(f"a batch holds {len(partition)} rows of partition(s) "
                           f"{sorted(int(p) for p in parts)}, not the {expected.get(part)} rows of "
                           f"partition {part}; lower --partition-rows so that each one stays a "
                           "single Ray block")
    return part


def _numpy_backed(frame: pd.DataFrame) -> pd.DataFrame:
    """Ray hands over Arrow-backed columns (large_string[pyarrow]) where the plain loop's
    `to_pandas` gives pandas' own string type: the same values, turned into one set of types
    so both write identical files."""
    types = {}
    for name, dtype in frame.dtypes.items():
        if isinstance(dtype, pd.ArrowDtype):
            is_text = pa.types.is_string(dtype.pyarrow_dtype) or \
                pa.types.is_large_string(dtype.pyarrow_dtype)
            types[name] = str if is_text else dtype.numpy_dtype
    return frame.astype(types) if types else frame


def _follow(statuses: Iterator[pd.DataFrame], expected: dict[int, int], progress: bool,
            task: str) -> None:
    """Advance the progress bar by the rows each status reports; check every partition was
    written."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    written: set[int] = set()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), disable=not progress) as bar:
        bar_task = bar.add_task(f"batch {task}", total=sum(expected.values()))
        for status in statuses:
            bar.advance(bar_task, int(status["rows"].sum()))
            written.update(int(p) for p in status.loc[status["written"].astype(bool), _PARTITION])
    missing = sorted(set(expected) - written)
    if missing:
        raise RuntimeError(f"partition(s) {missing[:5]} were not written; rerun the same command "
                           "to finish them (finished partitions are skipped)")


def _write_part(out: Path, part: int, frame: pd.DataFrame,
                metadata: dict[bytes, bytes] | None = None) -> None:
    import pyarrow.parquet as pq

    target = _part_path(out, part)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if metadata:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **metadata})
    pq.write_table(table, tmp)
    os.replace(tmp, target)


def _embedder(options: BatchOptions):
    from elixir_agent.retrieval.embedder import Embedder

    # The rows of one call are sorted by length and embedded 64 at a time.
    return Embedder(options.embedder, device="cpu", batch_size=64,
                    backend=options.embedder_backend, max_length=options.max_length)


def _part_path(out: Path, part: int) -> Path:
    return out / f"part-{part:05d}.parquet"
