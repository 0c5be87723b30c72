"""One way to write a directory so it appears complete or not at all (datasets, runs, indexes).

`write_directory(final, fill)` lets `fill(tmp)` write into a temporary sibling named
`.tmp-<name>-<pid>-<random>`, then swaps it onto `final`; on failure the old directory stays
as it was and the temporary one is removed. Temporary siblings left by a killed process
(its pid no longer runs) are removed the next time the same directory is written.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["publish_once", "remove_stale_temps", "write_directory"]

# A temporary directory in the old naming (no pid) counts as abandoned after this long.
_UNNAMED_STALE_S = 6 * 3600


def write_directory(final: Path, fill: Callable[[Path], None]) -> None:
    """Fill a temporary sibling with `fill(tmp)`, then rename it onto `final` (replacing it)."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(final)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{final.name}-{os.getpid()}-", dir=final.parent))
    old = final.with_name(f".old-{final.name}-{os.getpid()}")
    try:
        fill(tmp)
        if final.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(final, old)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not final.exists():
            os.replace(old, final)  # put the previous version back
        raise
    shutil.rmtree(old, ignore_errors=True)


def publish_once(final: Path, fill: Callable[[Path], None]) -> None:
    """For content-addressed caches: fill a temporary sibling and rename it to `final`
    unless another process published `final` meanwhile, in which case that copy is kept and
    ours is dropped. Unlike `write_directory`, a published directory is never replaced, so
    a process reading it (another Ray actor exporting the same graph) never sees it vanish."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(final)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{final.name}-{os.getpid()}-", dir=final.parent))
    try:
        fill(tmp)
        try:
            os.rename(tmp, final)  # fails on Linux when `final` exists and is not empty
        except OSError:
            if not final.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def remove_stale_temps(final: Path) -> list[Path]:
    """Remove `.tmp-<name>-*` / `.old-<name>-*` siblings whose writing process is gone."""
    final = Path(final)
    if not final.parent.is_dir():
        return []
    removed = []
    for prefix in (f".tmp-{final.name}-", f".old-{final.name}-"):
        for path in final.parent.glob(f"{prefix}*"):
            if path.is_dir() and _abandoned(path, path.name[len(prefix):]):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
    return removed


def _abandoned(path: Path, suffix: str) -> bool:
    pid_text = suffix.split("-", 1)[0]
    if pid_text.isdigit():
        return not _process_alive(int(pid_text))
    try:
        return time.time() - path.stat().st_mtime > _UNNAMED_STALE_S
    except OSError:
        return False


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True
