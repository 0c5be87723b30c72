"""Checksums of run directories and training checkpoints: a flipped or missing byte is an error.

Each finished run and each checkpoint holds ``manifest.json``: the size and sha256 of every
file written with it. Loading checks the manifest first, so a corrupted weight file fails
with one message naming the file instead of giving answers computed from damaged weights.
Files added to a run later (UI votes, benchmark outputs) are not listed and not checked.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable
from pathlib import Path

from elixir_agent.checksum import file_sha256
from elixir_agent.errors import UserError

MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = "elixir-agent/file-manifest"

__all__ = ["MANIFEST_FILE", "CorruptRunError", "UnverifiedRunWarning", "verify_manifest",
           "write_manifest"]


class CorruptRunError(UserError, ValueError):
    """A file of a run or checkpoint disagrees with its manifest or cannot be parsed."""


class UnverifiedRunWarning(UserWarning):
    """A run or checkpoint written before manifests existed: loaded, but not checked."""


def _listed_files(directory: Path, include: Iterable[str] | None) -> list[Path]:
    wanted = None if include is None else set(include)
    out = []
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if not path.is_file() or relative.parts[0] == MANIFEST_FILE:
            continue
        if wanted is not None and relative.parts[0] not in wanted:
            continue
        if any(part.startswith(".") for part in relative.parts):
            continue  # temporary files of an atomic write
        out.append(path)
    return out


def write_manifest(directory: Path, *, include: Iterable[str] | None = None,
                   extra: Iterable[Path] = ()) -> None:
    """Write `directory/manifest.json` (via a temporary file) over the files below it.

    `include` names the top-level entries to list (None: all); entries that change later
    (the live checkpoint, the metrics log, UI votes) are left out. `extra` lists files still
    at their temporary path ``.NAME.tmp``, recorded as ``NAME`` (renamed after the manifest).
    """
    directory = Path(directory)
    files = {}
    for path in [*_listed_files(directory, include), *extra]:
        name = path.relative_to(directory).as_posix()
        if path.name.startswith(".") and path.name.endswith(".tmp"):
            name = path.with_name(path.name[1:-4]).relative_to(directory).as_posix()
        files[name] = {"bytes": path.stat().st_size, "sha256": file_sha256(path)}
    payload = {"format": MANIFEST_FORMAT, "format_version": 1, "files": files}
    tmp = directory / f".{MANIFEST_FILE}.tmp"
    tmp.write_text(json.dumps(payload, indent=1, sort_keys=True))
    os.replace(tmp, directory / MANIFEST_FILE)


def verify_manifest(directory: Path, *, what: str = "run", required: bool = False,
                    fix: str = "") -> bool:
    """Check every listed file's size and sha256; False (with a warning) when there is no manifest.

    `required` turns a missing manifest into an error (a run whose config says it has one).
    Raises `CorruptRunError` naming the first bad file, with the expected and actual values.
    """
    directory = Path(directory)
    manifest_path = directory / MANIFEST_FILE
    fix = fix or f"restore the {what} from a backup or retrain it"
    if not manifest_path.exists():
        if required:
            raise CorruptRunError(f"{manifest_path} is missing, although {directory} was written "
                                  f"with one: the {what} is incomplete; {fix}")
        warnings.warn(f"{directory} has no {MANIFEST_FILE} (written by an older version): "
                      f"its files cannot be checked for corruption", UnverifiedRunWarning,
                      stacklevel=3)
        return False
    try:
        manifest = json.loads(manifest_path.read_text())
        files = manifest["files"]
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as error:
        raise CorruptRunError(f"{manifest_path} is not a valid manifest ({error}); {fix}") from error
    for name, expected in sorted(files.items()):
        path = directory / name
        if not path.is_file():
            raise CorruptRunError(f"{path} is missing (listed in {manifest_path}); {fix}")
        size = path.stat().st_size
        if size != expected["bytes"]:
            raise CorruptRunError(f"{path} is truncated or altered: {size} bytes, the manifest "
                                  f"says {expected['bytes']}; {fix}")
        actual = file_sha256(path)
        if actual != expected["sha256"]:
            raise CorruptRunError(f"{path} is corrupted: sha256 {actual}, the manifest says "
                                  f"{expected['sha256']}; {fix}")
    return True
