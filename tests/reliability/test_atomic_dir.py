"""The one atomic-directory writer: all or nothing, and stale temporaries cleaned up."""

from __future__ import annotations

import pytest

from elixir_agent.atomic import write_directory


def _dead_pid() -> int:
    import os

    pid = 999_999
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid -= 1


def test_a_failed_write_keeps_the_old_directory(tmp_path):
    final = tmp_path / "out"
    write_directory(final, lambda d: (d / "a.txt").write_text("old"))

    def broken(d):
        (d / "a.txt").write_text("new, half written")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        write_directory(final, broken)
    assert (final / "a.txt").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary left behind


def test_stale_temporaries_of_dead_processes_are_removed(tmp_path):
    stale = tmp_path / f".tmp-out-{_dead_pid()}-abc"
    stale.mkdir()
    (stale / "partial.parquet").write_text("x")
    other = tmp_path / ".tmp-another-1-abc"  # not ours: another directory's temporary
    other.mkdir()
    write_directory(tmp_path / "out", lambda d: (d / "a.txt").write_text("new"))
    assert not stale.exists() and other.exists()
    assert (tmp_path / "out" / "a.txt").read_text() == "new"


def test_publish_once_keeps_the_first_copy_and_leaves_no_temporary(tmp_path):
    from elixir_agent.atomic import publish_once

    final = tmp_path / "cache" / "graph"
    publish_once(final, lambda tmp: (tmp / "model.onnx").write_text("first"))
    publish_once(final, lambda tmp: (tmp / "model.onnx").write_text("second"))
    assert (final / "model.onnx").read_text() == "first"  # a reader of the first never loses it
    assert [p.name for p in final.parent.iterdir()] == ["graph"]

    def broken(tmp):
        (tmp / "half.onnx").write_text("x")
        raise RuntimeError("export failed")

    with pytest.raises(RuntimeError, match="export failed"):
        publish_once(tmp_path / "other", broken)
    assert not (tmp_path / "other").exists() and not list(tmp_path.glob(".tmp-*"))
