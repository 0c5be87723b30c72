"""`elixir-agent bench startup`: how long a person waits for the first answer, and where it goes.

Each command (`--help`, `predict`, `ask`) runs as a fresh process, as a person would type it,
once with this code and once with a baseline executable (`--baseline`, e.g. an older
install), and the wall time to its exit is reported side by side. One more child process
loads `ask`'s collaborators stage by stage (imports, model, dataset and catalog, embedder,
review index, agent, first turn) and reports each stage's seconds.

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
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

__all__ = ["StartupReport", "measure_stages", "run_startup_bench"]


@dataclass
class StartupReport:
    # command -> {"this": (wall s, cpu s), "baseline": (wall s, cpu s) or None}
    commands: dict[str, dict[str, tuple[float, float] | None]] = field(default_factory=dict)
    stages: dict[str, list[float]] = field(default_factory=dict)  # stage -> [wall s, cpu s]
    repeats: int = 1

    def to_dict(self) -> dict:
        return asdict(self)

    def markdown(self) -> str:
        def cell(value) -> str:
            return "n/a | n/a" if value is None else f"{value[0]:.2f} | {value[1]:.2f}"

        lines = ["| command | baseline wall (s) | baseline CPU (s) | this wall (s) | this CPU (s) |",
                 "| --- | ---: | ---: | ---: | ---: |"]
        for name, row in self.commands.items():
            lines.append(f"| `{name}` | {cell(row.get('baseline'))} | {cell(row['this'])} |")
        lines += ["", "| stage of `ask` (this code) | wall (s) | CPU (s) |", "| --- | ---: | ---: |"]
        lines += [f"| {stage} | {wall:.2f} | {cpu:.2f} |" for stage, (wall, cpu) in self.stages.items()]
        lines.append(f"\nMedian of {self.repeats} run(s) per command, from process start to exit.")
        return "\n".join(lines)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(argv: list[str], repeats: int) -> tuple[float, float]:
    """Median (wall, CPU) seconds of running `argv` to its exit."""
    walls, cpus = [], []
    for _ in range(repeats):
        start, cpu = time.perf_counter(), _children_cpu()
        done = subprocess.run(argv, capture_output=True, text=True, check=False,
                              env={**os.environ, "COLUMNS": "100"})
        walls.append(time.perf_counter() - start)
        cpus.append(_children_cpu() - cpu)
        if done.returncode != 0:
            raise RuntimeError(f"`{' '.join(argv)}` failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return round(statistics.median(walls), 3), round(statistics.median(cpus), 3)


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
            "this": _timed([*this, *args], repeats),
            "baseline": _timed([baseline, *args], repeats) if baseline else None,
        }
    probe = subprocess.run([sys.executable, "-m", "elixir_agent.agent.startup", str(run), str(data),
                            str(index or ""), user, item, question],
                           capture_output=True, text=True, check=True)
    report.stages = json.loads(probe.stdout.strip().splitlines()[-1])
    return report


def measure_stages(run: Path, data: Path, index: Path | None, user: str, item: str,
                   question: str) -> dict[str, list[float]]:
    """[wall, CPU] seconds of each stage before (and of) the first turn, in this process."""
    stages: dict[str, list[float]] = {}
    clock = [time.perf_counter(), time.process_time()]

    def lap(name: str) -> None:
        now = [time.perf_counter(), time.process_time()]
        stages[name] = [round(now[0] - clock[0], 3), round(now[1] - clock[1], 3)]
        clock[:] = now

    from elixir_agent.agent import build_agent
    from elixir_agent.agent.context import build_context
    from elixir_agent.core_model.inference import load_recommender
    from elixir_agent.retrieval import Embedder, ReviewIndex
    from elixir_agent.tools import Catalog  # noqa: F401  (its import cost belongs here)

    lap("imports (torch, transformers, LangGraph, FAISS)")
    recommender = load_recommender(run)
    lap("model")
    embedder = Embedder()
    lap("embedder")
    review_index = None
    if index is not None:
        review_index = ReviewIndex.load(index, embedder)
        lap("review index")
    loaded = build_context(run, None, data, embedder=embedder, recommender=recommender, user=user)
    lap("dataset and catalog")
    context = replace(loaded.context, index=review_index)
    agent = build_agent(context, llm="none", embedder=embedder)
    lap("agent (graph, router)")
    stages["before the turn"] = [round(sum(v[0] for v in stages.values()), 3),
                                 round(sum(v[1] for v in stages.values()), 3)]
    agent.ask(question, conversation_id="startup", user_id=user, item_id=item)
    lap("first turn")
    return stages


if __name__ == "__main__":  # the stage probe run by run_startup_bench in a fresh process
    run_dir, data_dir, index_dir, user_id, item_id, text = sys.argv[1:7]
    print(json.dumps(measure_stages(Path(run_dir), Path(data_dir), Path(index_dir) if index_dir else None,
                                    user_id, item_id, text)))
