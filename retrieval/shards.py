"""Review embeddings computed elsewhere: the `part-NNNNN.parquet` shards of `batch embed`.

Embedding is the slow step of building an index (about 60 reviews/s per CPU core with the
bundled MiniLM), and it is embarrassingly parallel: `elixir-agent batch embed` spreads it over
Ray actors, on one machine or a cluster, and writes shards of (`review_id`, `embedding`) with
the embedder's record (name, dimension, backend, token cut) in every file's metadata. This
module reads them back in the order of the reviews being indexed, refusing shards that mix
embedders or miss a review, so an index is never built from vectors it cannot query.

Run with: elixir-agent index build --data data/rb --out runs/rb-index --embeddings shards/
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from elixir_agent.errors import UserError

EMBEDDER_METADATA = b"elixir_agent.embedder"


class ShardError(UserError, ValueError):
    """Embedding shards that cannot serve the index being built."""


def read_embedding_shards(folder: str | Path, review_ids: Sequence[str],
                          ) -> tuple[np.ndarray, dict[str, Any]]:
    """The (len(review_ids), D) float32 vectors of `review_ids`, in that order, from the shards
    in `folder`, and the embedder record they were written with. Rows of other reviews are
    ignored (shards may cover more splits than the index)."""
    import pyarrow.parquet as pq

    files = _shard_files(Path(folder))
    record = None
    wanted = {review_id: row for row, review_id in enumerate(review_ids)}
    vectors: np.ndarray | None = None
    filled = np.zeros(len(review_ids), dtype=bool)
    for path in files:
        table = pq.read_table(path)
        shard_record = _record(path, table.schema.metadata or {})
        if record is None:
            record = shard_record
            vectors = np.zeros((len(review_ids), record["dimension"]), dtype=np.float32)
        elif shard_record != record:
            raise ShardError(f"{path} was embedded with {shard_record}, {files[0].name} with "
                             f"{record}; embed every shard with the same embedder")
        if not {"review_id", "embedding"} <= set(table.column_names):
            raise ShardError(f"{path} lacks review_id or embedding columns (has "
                             f"{', '.join(table.column_names)}); it is not a `batch embed` shard")
        block = _matrix(path, table, record["dimension"])  # (n, D)
        rows = np.array([wanted.get(r, -1) for r in table["review_id"].to_pylist()], dtype=np.int64)
        keep = rows >= 0
        vectors[rows[keep]] = block[keep]
        filled[rows[keep]] = True
    if not filled.all():
        missing = [review_ids[i] for i in np.flatnonzero(~filled)[:5]]
        raise ShardError(f"{int((~filled).sum())} of {len(review_ids)} reviews have no embedding "
                         f"in {folder} (e.g. {', '.join(map(str, missing))}); embed the same "
                         "reviews the index is built from (the same splits)")
    return vectors, record


def shard_record(folder: str | Path) -> dict[str, Any]:
    """The embedder record of the shards in `folder` (read from the first one's metadata):
    the model, backend and token cut to embed queries with."""
    import pyarrow.parquet as pq

    first = _shard_files(Path(folder))[0]
    return _record(first, pq.read_schema(first).metadata or {})


def _shard_files(folder: Path) -> list[Path]:
    files = sorted(folder.glob("part-*.parquet"))
    if not files:
        raise ShardError(f"{folder} holds no part-*.parquet shards; write them with "
                         "`elixir-agent batch embed --pairs REVIEWS --out "
                         f"{folder}` (REVIEWS: a file with review_id and text columns)")
    return files


def _record(path: Path, metadata: dict[bytes, bytes]) -> dict[str, Any]:
    raw = metadata.get(EMBEDDER_METADATA)
    if raw is None:
        raise ShardError(f"{path} carries no embedder record in its metadata; it was not "
                         "written by `elixir-agent batch embed`")
    record = json.loads(raw)
    if not isinstance(record.get("name"), str) or not isinstance(record.get("dimension"), int):
        raise ShardError(f"{path}: malformed embedder record {record!r}")
    return record


def _matrix(path: Path, table, dimension: int) -> np.ndarray:
    column = table["embedding"].combine_chunks()
    values = column.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    if values.size != len(table) * dimension:
        raise ShardError(f"{path}: embeddings are not all of dimension {dimension}")
    return values.reshape(len(table), dimension)
