"""The one file checksum of the project (datasets, runs, indexes), in a module that imports
nothing heavy: loading a run checks its files before pandas or FAISS are needed."""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["file_sha256"]


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks (datasets and indexes can be large)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
