"""`elixir-agent bench startup`: how long a person waits for the first answer, and where it goes.

Each command (`--help`, `predict`, `ask` with a question the planner answers from a
prediction, `ask` with one whose answer searches review text) runs as a fresh process, as a
person would type it, once with this code and once with a baseline executable (`--baseline`,
e.g. an older install), side by side. Each run is timed to its answer (the first byte on
stdout) and to its exit; `ask` runs with `--json`, and its Turn's own clock (`seconds`)
splits the time to the answer into "before the turn" (imports, loading) and "first turn".
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
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["CommandTiming", "StartupReport", "measure_stages", "run_startup_bench"]

# A question the routed planner answers from a prediction alone, and one whose answer
# searches review text (the user's own reviews), so it needs the embedder.
PREDICT_QUESTION = "Would I like it?"
REVIEWS_QUESTION = "Why would I like it?"


@dataclass(frozen=True)
class CommandTiming:
    """Median seconds of one command: to its first output (the answer), and to its exit."""

    answered: float  # process start to the first byte on stdout: what a person waits for
    wall: float  # process start to exit (after the answer, the interpreter tears down)
    cpu: float  # user + system of the child process
    turn: float | None = None  # the first turn's own clock, when the command reports it

    @property
    def before_turn(self) -> float:
        return round(self.answered - (self.turn or 0.0), 3)


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
                return "n/a | n/a | n/a | n/a"
            turn = "-" if timing.turn is None else f"{timing.turn:.2f}"
            return f"{timing.before_turn:.2f} | {turn} | {timing.wall:.2f} | {timing.cpu:.2f}"

        sides = [f"{side}: {column}" for side in ("baseline", "this")
                 for column in ("before the turn", "first turn", "to exit", "CPU")]
        lines = ["| command | " + " | ".join(f"{c} (s)" for c in sides) + " |",
                 "| --- |" + " ---: |" * len(sides)]
        for name, row in self.commands.items():
            lines.append(f"| `{name}` | {cells(row.get('baseline'))} | {cells(row['this'])} |")
        lines += ["", "| stage of `ask` (this code) | wall (s) | CPU (s) |", "| --- | ---: | ---: |"]
        lines += [f"| {stage} | {wall:.2f} | {'-' if cpu is None else f'{cpu:.2f}'} |"
                  for stage, (wall, cpu) in self.stages.items()]
        lines.append(f"\nMedian of {self.repeats} run(s) per command. 'Before the turn' runs from process "
                     "start to the answer's first byte, less the turn's own clock; a first turn of '-' "
                     "is inside it (`predict` answers in milliseconds once loaded). 'To exit' adds the "
                     "interpreter's tear-down after the answer.")
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


def _run_once(argv: list[str]) -> tuple[float, float, float, str]:
    """(seconds to the first byte on stdout, seconds to exit, CPU seconds, stdout) of one run."""
    with tempfile.TemporaryFile() as errors:
        start, cpu = time.perf_counter(), _children_cpu()
        child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=errors,
                                 env={**os.environ, "COLUMNS": "100"})
        first = child.stdout.read(1)  # blocks until the command prints its answer
        answered = time.perf_counter() - start
        out = first + child.stdout.read()
        child.stdout.close()
        code = child.wait()
        wall, cpu = time.perf_counter() - start, _children_cpu() - cpu
        if code != 0:
            errors.seek(0)
            message = errors.read().decode(errors="replace").strip()[-500:]
            raise RuntimeError(f"`{' '.join(argv)}` failed ({code}): {message}")
    return answered, wall, cpu, out.decode(errors="replace")


def _timed(argv: list[str], repeats: int) -> CommandTiming:
    """Median answer, exit, CPU and first-turn seconds of running `argv`."""
    runs = [_run_once(argv) for _ in range(repeats)]
    turns = [turn_seconds(out) for *_, out in runs]
    median = lambda values: round(statistics.median(values), 3)  # noqa: E731
    return CommandTiming(answered=median([r[0] for r in runs]), wall=median([r[1] for r in runs]),
                         cpu=median([r[2] for r in runs]),
                         turn=None if None in turns else median(turns))


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
