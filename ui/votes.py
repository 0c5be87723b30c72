"""Blind A/B votes of evaluators, kept on disk as JSONL with a running summary.

Each vote is one line appended to `votes.jsonl` (one `write` of a whole line, flushed and
fsynced, so a crash can only lose the line being written, never corrupt earlier ones) and
`summary.json` is rewritten atomically (temporary file + `os.replace`) after every vote. On
start the summary is recomputed from the JSONL, so the two files can never disagree for long.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["CHOICES", "Vote", "VoteStore", "summary_markdown"]

CHOICES = ("A", "B", "tie", "both bad")


@dataclass(frozen=True)
class Vote:
    """One blind judgement: which side won, and which system each side was."""

    user_id: str
    item_id: str
    sides: dict[str, str]  # {"A": "agent" | "core", "B": ...}
    choice: str  # one of CHOICES
    time: str  # ISO 8601, UTC
    session: str = ""  # the browser session's conversation id prefix, to spot repeat voters

    @property
    def winner(self) -> str:
        """The system that won ("agent", "core"), or the choice itself ("tie", "both bad")."""
        return self.sides[self.choice] if self.choice in ("A", "B") else self.choice


class VoteStore:
    """Append-only vote log + summary in one directory; safe for concurrent Gradio workers."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.log = self.directory / "votes.jsonl"
        self.summary_file = self.directory / "summary.json"
        self._lock = threading.Lock()
        self._summary = _summarise(self._read())
        self._write_summary()

    def add(self, vote: Vote) -> dict[str, Any]:
        if vote.choice not in CHOICES:
            raise ValueError(f"vote choice {vote.choice!r}: expected one of {', '.join(CHOICES)}")
        if set(vote.sides) != {"A", "B"}:
            raise ValueError(f"vote sides {vote.sides!r}: expected keys 'A' and 'B'")
        line = json.dumps(asdict(vote), sort_keys=True) + "\n"
        with self._lock:
            with self.log.open("a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
            self._summary = _summarise([vote], self._summary)
            self._write_summary()
            return dict(self._summary)

    def summary(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._summary)

    def votes(self) -> list[Vote]:
        with self._lock:
            return self._read()

    def _read(self) -> list[Vote]:
        if not self.log.exists():
            return []
        out = []
        for line in self.log.read_text(encoding="utf-8").splitlines():
            try:
                out.append(Vote(**json.loads(line)))
            except (json.JSONDecodeError, TypeError):
                continue  # a line cut short by a crash: the only one that can be damaged
        return out

    def _write_summary(self) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".summary-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(self._summary, handle, indent=2, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.summary_file)


def _summarise(votes: Iterable[Vote], start: dict[str, Any] | None = None) -> dict[str, Any]:
    summary = dict(start or {"votes": 0, "agent": 0, "core": 0, "tie": 0, "both bad": 0})
    for vote in votes:
        summary["votes"] += 1
        summary[vote.winner] = summary.get(vote.winner, 0) + 1
    decided = summary["agent"] + summary["core"]
    summary["agent_win_rate"] = round(summary["agent"] / decided, 4) if decided else None
    return summary


def summary_markdown(summary: dict[str, Any]) -> str:
    """The running tally as one line for the compare tab."""
    if not summary.get("votes"):
        return "No votes yet."
    rate = summary.get("agent_win_rate")
    share = f"; agent preferred in {100 * rate:.0f}% of decided votes" if rate is not None else ""
    return (f"{summary['votes']} vote(s): agent {summary['agent']}, core-only {summary['core']}, "
            f"tie {summary['tie']}, both bad {summary['both bad']}{share}.")
