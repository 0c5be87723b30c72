"""The on-disk form of a review index: one directory, written atomically, never pickled.

Layout::

    manifest.json     embedder name and dimension, count, factory, tuning, splits, data
                      checksum, creation time, and the size and sha256 of every file below
    index.faiss       the FAISS index (faiss.write_index; row i of the index is review i)
    reviews.parquet   review metadata: review_id, user_id, item_id, rating, text, item_name,
                      split and aspect_<name> columns, in index order
    embeddings.npy    the exact (N, D) float32 vectors (numpy format, allow_pickle=False),
                      memory-mapped on load: used for pair search and exact filtered search
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from elixir_agent.atomic import write_directory
from elixir_agent.checksum import file_sha256
from elixir_agent.errors import UserError

MANIFEST_FILE = "manifest.json"
INDEX_FILE = "index.faiss"
REVIEWS_FILE = "reviews.parquet"
VECTORS_FILE = "embeddings.npy"
FORMAT_NAME = "elixir-agent/review-index"
FORMAT_VERSION = 1


class CorruptIndexError(UserError, ValueError):
    """A file of an index directory is unreadable or disagrees with the manifest."""


def write_index_dir(path: str | Path, index: faiss.Index, reviews: pd.DataFrame,
                    vectors: np.ndarray, manifest: dict[str, Any]) -> None:
    """Write the four files into a temporary sibling, then rename it onto `path`.

    A crash leaves either the old index or the new one, never a mixture. An existing `path`
    is replaced only when it is an index directory (or empty), so a typo cannot wipe a folder.
    """
    path = Path(path)
    if path.exists() and not _replaceable(path):
        raise FileExistsError(f"{path} exists and is not a review index directory "
                              f"(no {MANIFEST_FILE}); choose another path")

    def fill(tmp: Path) -> None:
        faiss.write_index(index, str(tmp / INDEX_FILE))
        pq.write_table(pa.Table.from_pandas(reviews, preserve_index=False), tmp / REVIEWS_FILE)
        np.save(tmp / VECTORS_FILE, np.ascontiguousarray(vectors, dtype=np.float32),
                allow_pickle=False)
        files = {name: {"bytes": (tmp / name).stat().st_size, "sha256": file_sha256(tmp / name)}
                 for name in (INDEX_FILE, REVIEWS_FILE, VECTORS_FILE)}
        full = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, **manifest,
                "files": files}
        (tmp / MANIFEST_FILE).write_text(json.dumps(full, indent=2))

    write_directory(path, fill)


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The parsed manifest of the index directory `path`, with clear errors when absent or bad."""
    path = Path(path)
    file = path / MANIFEST_FILE
    if not file.exists():
        hint = "the directory does not exist" if not path.exists() else f"no {MANIFEST_FILE}"
        raise FileNotFoundError(f"{path} is not a review index ({hint}); build one with "
                                "`elixir-agent index build --data DIR --out IDX`")
    try:
        manifest = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CorruptIndexError(f"{file} is not valid JSON: {error}") from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise CorruptIndexError(f"{file} is not a review index manifest "
                                f"(expected format {FORMAT_NAME!r})")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise CorruptIndexError(f"{file} has format_version {manifest.get('format_version')!r}; "
                                f"this version reads {FORMAT_VERSION}: rebuild the index")
    missing = [key for key in ("embedder", "count", "factory", "files") if key not in manifest]
    if missing:
        raise CorruptIndexError(f"{file} lacks {', '.join(missing)}")
    return manifest


def read_index_dir(path: str | Path, manifest: dict[str, Any], *, verify: bool = True,
                   ) -> tuple[faiss.Index, pd.DataFrame, np.ndarray]:
    """Read the index, the metadata and the (memory-mapped) vectors, checking each file.

    Sizes are always checked; with `verify` the sha256 of every file is checked too, so a
    flipped bit is reported instead of silently returning wrong neighbours.
    """
    path = Path(path)
    for name in (INDEX_FILE, REVIEWS_FILE, VECTORS_FILE):
        _check_file(path / name, manifest["files"].get(name), verify)
    count, dimension = int(manifest["count"]), int(manifest["embedder"]["dimension"])
    try:
        index = faiss.read_index(str(path / INDEX_FILE))
    except RuntimeError as error:
        raise CorruptIndexError(f"{path / INDEX_FILE} is not a readable FAISS index: "
                                f"{str(error).strip().splitlines()[-1]}") from error
    if index.d != dimension or index.ntotal != count:
        raise CorruptIndexError(
            f"{path / INDEX_FILE} holds {index.ntotal} vectors of dimension {index.d}, but "
            f"{path / MANIFEST_FILE} says {count} of dimension {dimension}")
    try:
        reviews = pq.read_table(path / REVIEWS_FILE).to_pandas()
    except (pa.ArrowException, OSError) as error:
        raise CorruptIndexError(f"{path / REVIEWS_FILE} is not readable Parquet: {error}") from error
    if len(reviews) != count:
        raise CorruptIndexError(f"{path / REVIEWS_FILE} has {len(reviews)} rows, "
                                f"{path / MANIFEST_FILE} says {count}")
    try:
        vectors = np.load(path / VECTORS_FILE, mmap_mode="r", allow_pickle=False)
    except ValueError as error:
        raise CorruptIndexError(f"{path / VECTORS_FILE} is not a numpy array file: "
                                f"{error}") from error
    if vectors.shape != (count, dimension) or vectors.dtype != np.float32:
        raise CorruptIndexError(f"{path / VECTORS_FILE} holds {vectors.dtype} {vectors.shape}, "
                                f"expected float32 {(count, dimension)}")
    return index, reviews, vectors


def _check_file(file: Path, expected: dict[str, Any] | None, verify: bool) -> None:
    if not file.exists():
        raise FileNotFoundError(f"{file} is missing: the index directory is incomplete; "
                                "rebuild it with `elixir-agent index build`")
    if expected is None:
        raise CorruptIndexError(f"{file.parent / MANIFEST_FILE} does not list {file.name}")
    size = file.stat().st_size
    if size != expected["bytes"]:
        raise CorruptIndexError(f"{file} has {size} bytes, the manifest says {expected['bytes']}: "
                                "the file is truncated or was replaced")
    if verify and file_sha256(file) != expected["sha256"]:
        raise CorruptIndexError(f"{file} does not match its sha256 in the manifest: "
                                "the file is corrupted")


def _replaceable(path: Path) -> bool:
    return path.is_dir() and ((path / MANIFEST_FILE).exists() or not any(path.iterdir()))

