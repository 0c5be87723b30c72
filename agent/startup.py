"""`elixir-agent bench startup`: how long a person waits for the first answer, and where it goes.

Each command (`--help`, `predict`, `ask`) runs as a fresh process, as a person would type it,
once with this code and once with a baseline executable (`--baseline`, e.g. an older
install), and the wall time to its exit is reported side by side. One more child process
loads `ask`'s collaborators stage by stage (imports, model, dataset and catalog, embedder,
review index, agent, first turn) and reports each stage's seconds.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["StartupReport", "measure_stages", "run_startup_bench"]


@dataclass
class StartupReport:
    commands: dict[str, dict[str, float | None]] = field(default_factory=dict)  # cmd -> {this, baseline}
    stages: dict[str, float] = field(default_factory=dict)  # stage -> seconds (this code)
    repeats: int = 1

    def to_dict(self) -> dict:
        return asdict(self)

    def markdown(self) -> str:
        lines = ["| command | baseline (s) | this (s) |", "| --- | ---: | ---: |"]
        for name, row in self.commands.items():
            base = "n/a" if row.get("baseline") is None else f"{row['baseline']:.2f}"
            lines.append(f"| `{name}` | {base} | {row['this']:.2f} |")
        lines += ["", "| stage of `ask` (this code) | seconds |", "| --- | ---: |"]
        lines += [f"| {stage} | {seconds:.2f} |" for stage, seconds in self.stages.items()]
        lines.append(f"\nMedian of {self.repeats} run(s) per command; wall time from process start to exit.")
        return "\n".join(lines)


def _wall(argv: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, check=False,
                              env={**os.environ, "COLUMNS": "100"})
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise RuntimeError(f"`{' '.join(argv)}` failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return round(statistics.median(times), 3)


def run_startup_bench(run: Path, data: Path, index: Path | None, user: str, item: str, *,
                      baseline: str | None, repeats: int = 1,
                      question: str = "Would I like it?") -> StartupReport:
    this = [sys.executable, "-m", "elixir_agent.cli"]
    common = ["--run", str(run), "--user", user, "--item", item]
    ask = ["ask", *common, "--data", str(data), "--llm", "none",
           *(["--index", str(index)] if index else []), question]
    commands = {"--help": ["--help"], "predict": ["predict", *common], "ask --llm none": ask}
    report = StartupReport(repeats=repeats)
    for name, args in commands.items():
        report.commands[name] = {
            "this": _wall([*this, *args], repeats),
            "baseline": _wall([baseline, *args], repeats) if baseline else None,
        }
    probe = subprocess.run([sys.executable, "-m", "elixir_agent.agent.startup", str(run), str(data),
                            str(index or ""), user, item, question],
                           capture_output=True, text=True, check=True)
    report.stages = json.loads(probe.stdout.strip().splitlines()[-1])
    return report


def measure_stages(run: Path, data: Path, index: Path | None, user: str, item: str,
                   question: str) -> dict[str, float]:
    """Seconds of each stage before (and of) the first turn, in this process."""
    start = time.perf_counter()
    from elixir_agent.agent.context import build_context

    seconds = {"python + CLI imports": round(time.perf_counter() - start, 3)}
    loaded = build_context(run, index, data, user=user)
    seconds.update(loaded.seconds)
    begin = time.perf_counter()
    from elixir_agent.agent import build_agent

    agent = build_agent(loaded.context, llm="none", embedder=loaded.embedder)
    seconds["agent (graph, router)"] = round(time.perf_counter() - begin, 3)
    seconds["before the turn"] = round(time.perf_counter() - start, 3)
    begin = time.perf_counter()
    agent.ask(question, conversation_id="startup", user_id=user, item_id=item)
    seconds["first turn"] = round(time.perf_counter() - begin, 3)
    return seconds


if __name__ == "__main__":  # the stage probe run by run_startup_bench in a fresh process
    run_dir, data_dir, index_dir, user_id, item_id, text = sys.argv[1:7]
    print(json.dumps(measure_stages(Path(run_dir), Path(data_dir), Path(index_dir) if index_dir else None,
                                    user_id, item_id, text)))
