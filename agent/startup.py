"""`elixir-agent bench startup`: how long a person waits for the first answer, and where it goes.

Each command (`--help`, `predict`, `ask` with a question that only predicts, `ask` with one
that searches reviews) runs as a fresh process, as a person would type it, once with this
code and once with a baseline executable (`--baseline`, e.g. an older install), and the wall
time to its exit is reported side by side. `ask` runs with `--json`, and its Turn's own clock
(`seconds`) splits that wall time into "before the turn" (imports, loading) and "first turn".
One more child process loads `ask`'s collaborators stage by stage (the stages of
`build_context`, the agent, the first turn) and reports each stage's seconds.

Wall time is what a person waits; CPU time (user + system of the child) is reported beside
it because on a shared machine the wall time mostly measures the other processes.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["CommandTiming", "StartupReport", "measure_stages", "run_startup_bench"]

# A question the routed planner answers from a prediction alone, and one that needs reviews.
PREDICT_QUESTION = "Would I like it?"
REVIEWS_QUESTION = "Show me reviews that say why."


@dataclass(frozen=True)
class CommandTiming:
    """Median seconds of one command, from process start to exit."""

    wall: float
    cpu: float  # user + system of the child process
    turn: float | None = None  # the first turn's own clock, when the command reports it

    @property
    def before_turn(self) -> float:
        return round(self.wall - (self.turn or 0.0), 3)


@dataclass
class StartupReport:
    # command -> {"this": CommandTiming, "baseline": CommandTiming or None}
    commands: dict[str, dict[str, CommandTiming | None]] = field(default_factory=dict)
    stages: dict[str, list[float | None]] = field(default_factory=dict)  # stage -> [wall s, cpu s]
    repeats: int = 1

    def to_dict(self) -> dict:
        data = asdict(self)
        for name, row in self.commands.items():  # the derived column, for readers of the JSON
            for side, timing in row.items():
                if timing is not None:
                    data["commands"][name][side]["before_turn"] = timing.before_turn
        return data

    def markdown(self) -> str:
        def cells(timing: CommandTiming | None) -> str:
            if timing is None:
                return "n/a | n/a | n/a"
            turn = "-" if timing.turn is None else f"{timing.turn:.2f}"
            return f"{timing.before_turn:.2f} | {turn} | {timing.cpu:.2f}"

        lines = ["| command | baseline: before the turn (s) | baseline: first turn (s) | baseline CPU (s) "
                 "| this: before the turn (s) | this: first turn (s) | this CPU (s) |",
                 "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for name, row in self.commands.items():
            lines.append(f"| `{name}` | {cells(row.get('baseline'))} | {cells(row['this'])} |")
        lines += ["", "| stage of `ask` (this code) | wall (s) | CPU (s) |", "| --- | ---: | ---: |"]
        lines += [f"| {stage} | {wall:.2f} | {'-' if cpu is None else f'{cpu:.2f}'} |"
                  for stage, (wall, cpu) in self.stages.items()]
        lines.append(f"\nMedian of {self.repeats} run(s) per command, from process start to exit; "
                     "a first turn of '-' is inside the command's wall time (`predict` answers "
                     "in milliseconds once loaded).")
        return "\n".join(lines)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def turn_seconds(stdout: str) -> float | None:
    """The `seconds` of the Turn that `ask --json` printed, or None for other output."""
    try:
        printed = json.loads(stdout)
    except json.JSONDecodeError:
        return None
    seconds = printed.get("seconds") if isinstance(printed, dict) else None
    return float(seconds) if isinstance(seconds, (int, float)) else None


def _timed(argv: list[str], repeats: int) -> CommandTiming:
    """Median wall, CPU and first-turn seconds of running `argv` to its exit."""
    walls, cpus, turns = [], [], []
    for _ in range(repeats):
        start, cpu = time.perf_counter(), _children_cpu()
        done = subprocess.run(argv, capture_output=True, text=True, check=False,
                              env={**os.environ, "COLUMNS": "100"})
        walls.append(time.perf_counter() - start)
        cpus.append(_children_cpu() - cpu)
        if done.returncode != 0:
            raise RuntimeError(f"`{' '.join(argv)}` failed ({done.returncode}): {done.stderr.strip()[-500:]}")
        turns.append(turn_seconds(done.stdout))
    turn = None if None in turns else round(statistics.median(turns), 3)
    return CommandTiming(round(statistics.median(walls), 3), round(statistics.median(cpus), 3), turn)


def run_startup_bench(run: Path, data: Path, index: Path | None, user: str, item: str, *,
                      baseline: str | None, repeats: int = 1) -> StartupReport:
    this = [sys.executable, "-m", "elixir_agent.cli"]
    common = ["--run", str(run), "--user", user, "--item", item]
    ask = ["ask", *common, "--data", str(data), "--llm", "none", "--json",
           *(["--index", str(index)] if index else [])]
    commands = {"--help": ["--help"], "predict": ["predict", *common],
                f"ask --llm none '{PREDICT_QUESTION}'": [*ask, PREDICT_QUESTION]}
    if index is not None:
        commands[f"ask --llm none '{REVIEWS_QUESTION}'"] = [*ask, REVIEWS_QUESTION]
    report = StartupReport(repeats=repeats)
    for name, args in commands.items():
        report.commands[name] = {
            "this": _timed([*this, *args], repeats),
            "baseline": _timed([baseline, *args], repeats) if baseline else None,
        }
    probe = subprocess.run([sys.executable, "-m", "elixir_agent.agent.startup", str(run), str(data),
                            str(index or ""), user, item, PREDICT_QUESTION],
                           capture_output=True, text=True, check=True)
    report.stages = json.loads(probe.stdout.strip().splitlines()[-1])
    return report


def measure_stages(run: Path, data: Path, index: Path | None, user: str, item: str,
                   question: str) -> dict[str, list[float | None]]:
    """[wall, CPU] seconds of each stage before (and of) the first turn, in this process.

    `build_context` times its own stages (imports, model, dataset and catalog, review index)
    by wall clock only; their CPU is None."""
    stages: dict[str, list[float | None]] = {}
    start = [time.perf_counter(), time.process_time()]
    clock = list(start)

    def lap(name: str, since: list[float] = clock) -> None:
        now = [time.perf_counter(), time.process_time()]
        stages[name] = [round(now[0] - since[0], 3), round(now[1] - since[1], 3)]
        clock[:] = now

    from elixir_agent.agent.context import build_context

    loaded = build_context(run, index, data, user=user)
    stages.update({f"context: {name}": [wall, None] for name, wall in loaded.seconds.items()})
    clock[:] = [time.perf_counter(), time.process_time()]
    from elixir_agent.agent import build_agent

    lap("agent imports (LangGraph, LangChain)")
    agent = build_agent(loaded.context, llm="none", embedder=loaded.embedder)
    lap("agent (graph, question parser)")
    lap("before the turn", since=start)
    agent.ask(question, conversation_id="startup", user_id=user, item_id=item)
    lap("first turn")
    return stages


if __name__ == "__main__":  # the stage probe run by run_startup_bench in a fresh process
    run_dir, data_dir, index_dir, user_id, item_id, text = sys.argv[1:7]
    print(json.dumps(measure_stages(Path(run_dir), Path(data_dir), Path(index_dir) if index_dir else None,
                                    user_id, item_id, text)))
