"""The steps of the offline demo, each skipped when its output already exists.

Every step runs the project's own command (`elixir-agent data ...`, `train`, `index build`)
in a child process, so the demo does exactly what a person would type and a failure shows
that command's own error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DemoPlan", "prepare_demo", "training_cut_short"]


@dataclass(frozen=True)
class DemoPlan:
    data: Path  # prepared dataset directory
    run: Path
    index: Path
    source: Path | None = None  # real data to prepare; None: synthetic
    fmt: str | None = None
    minutes: float = 6.0  # training budget; with data and index the demo stays near 10 minutes

    @classmethod
    def for_source(cls, workdir: Path, source: Path | None, fmt: str | None, *,
                   minutes: float = 6.0) -> DemoPlan:
        # One folder per source, so switching between synthetic and real data never mixes them.
        name = "synthetic" if source is None else f"{fmt}-{source.resolve().name}"
        base = workdir / name
        return cls(base / "data", base / "run", base / "index", source, fmt, minutes)

    @property
    def text_epochs(self) -> str:
        """About one text epoch per two minutes of budget, at most the cpu preset's own number.

        The text learning rate decays over the planned epochs; planning more than the budget
        can finish would stop training while the rate is still high.
        """
        from elixir_agent.core_model.config import PRESETS

        most = PRESETS["cpu"]["train"]["text_epochs"]
        return str(min(most, max(1, round(self.minutes / 2))))

    def steps(self) -> list[tuple[str, Path, list[str]]]:
        """(what, output that proves it is done, command arguments) in order."""
        if self.source is None:
            make_data = ["data", "synth", "--out", str(self.data)]
        else:
            make_data = ["data", "prepare", "--format", str(self.fmt), "--input", str(self.source),
                         "--out", str(self.data)]
        threads = str(min(4, os.cpu_count() or 1))
        return [
            ("dataset", self.data / "dataset.json", make_data),
            # The cpu preset (random-init T5 "mini", own tokenizer: no download), stopped by
            # a time budget so the demo fits in about ten minutes on a 2-core machine.
            ("core model", self.run / "summary.json",
             ["train", "--data", str(self.data), "--out", str(self.run), "--preset", "cpu",
              "--time-budget", str(int(self.minutes * 60)), "--text-epochs", self.text_epochs,
              "--threads", threads, "--overwrite"]),
            ("review index", self.index / "manifest.json",
             ["index", "build", "--data", str(self.data), "--out", str(self.index)]),
        ]


def prepare_demo(plan: DemoPlan, *, echo: Callable[[str], None] = print) -> dict[str, float]:
    """Run the missing steps; returns the seconds each took (0 for a skipped one)."""
    timings: dict[str, float] = {}
    for what, done, args in plan.steps():
        if done.exists():
            echo(f"[demo] {what}: {done.parent} exists, skipped")
            timings[what] = 0.0
            continue
        echo(f"[demo] {what}: elixir-agent {' '.join(args)}")
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "elixir_agent.cli", *args], check=False)
        if result.returncode != 0:
            raise SystemExit(f"[demo] {what} failed (exit {result.returncode}); see the error above")
        timings[what] = round(time.perf_counter() - start, 1)
        echo(f"[demo] {what}: done in {timings[what]:.0f} s")
    warning = training_cut_short(plan)
    if warning:
        echo(warning)
    return timings


def training_cut_short(plan: DemoPlan) -> str | None:
    """A warning when the time budget stopped the demo's training before its planned epochs."""
    summary_file = plan.run / "summary.json"
    try:
        stops = json.loads(summary_file.read_text()).get("stops", [])
    except (OSError, ValueError):
        return None
    cut = [s for s in stops if s.get("cut_short")]
    if not cut:
        return None
    phases = "; ".join(f"{s['phase']} phase {s['reason']}" for s in cut)
    more = max(plan.minutes * 2, plan.minutes + 6)
    return (f"[demo] warning: training was cut short by its {plan.minutes:g}-minute budget ({phases}); "
            f"the app serves a less trained model. Give it more time: elixir-agent demo --minutes {more:g} "
            f"(or make demo DEMO_ARGS='--minutes {more:g}'), after removing {plan.run}")
