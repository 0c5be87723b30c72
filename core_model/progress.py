"""Rich progress bars with the running loss and an ETA; silent when disabled (tests)."""

from __future__ import annotations

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as _RichProgress


class Progress:
    """`with Progress() as bars: task = bars.start(name, total); bars.advance(task, loss)`."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self._bars = None
        self._loss: dict[int, float] = {}

    def __enter__(self) -> Progress:
        if self.enabled:
            self._bars = _RichProgress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]:.4f}"), TimeElapsedColumn(),
                TextColumn("eta"), TimeRemainingColumn(), transient=False)
            self._bars.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._bars is not None:
            self._bars.__exit__(*exc)

    def start(self, description: str, total: int, done: int = 0) -> int:
        if self._bars is None:
            return 0
        return self._bars.add_task(description, total=total, completed=done, loss=float("nan"))

    def advance(self, task: int, loss: float) -> None:
        if self._bars is None:
            return
        # Exponential moving average: a readable loss rather than per-batch noise.
        smooth = self._loss.get(task)
        self._loss[task] = loss if smooth is None else 0.95 * smooth + 0.05 * loss
        self._bars.update(task, advance=1, loss=self._loss[task])
