"""The `elixir-agent` command line: one entry point, subcommands live next to what they run.

Each layer exposes `register(app, bench)` in its own `cli.py`, adding its commands to the
top-level app and its benchmarks to `elixir-agent bench ...`. Heavy libraries (torch,
faiss, gradio) are imported inside the commands so `--help` stays fast.

Run with: elixir-agent --help
"""

from __future__ import annotations

import typer

from elixir_agent.agent import cli as agent_cli
from elixir_agent.core_model import cli as core_cli
from elixir_agent.core_model.data import cli as data_cli
from elixir_agent.eval import cli as eval_cli
from elixir_agent.retrieval import cli as retrieval_cli
from elixir_agent.ui import cli as ui_cli

app = typer.Typer(
    name="elixir-agent",
    help="Grounded, conversational explanations of recommendations (ELIXIR core + agent).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)
bench = typer.Typer(
    help="Benchmarks that measure this project against baselines in one run.",
    no_args_is_help=True,
)
app.add_typer(bench, name="bench")

# One line per layer; keep the order of the architecture (core -> retrieval -> agent -> ui).
data_cli.register(app, bench)
core_cli.register(app, bench)
retrieval_cli.register(app, bench)
ui_cli.register(app, bench)
agent_cli.register(app, bench)
eval_cli.register(app, bench)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
