"""`elixir-agent ask`, `elixir-agent chat` and `elixir-agent bench agent`.

Run with:
    elixir-agent ask --run RUN --index IDX --data DIR --user U [--item I] [--llm local] "Would I like it?"
    elixir-agent chat --run RUN --index IDX --data DIR --user U
    elixir-agent bench agent --run RUN --index IDX --data DIR --llm local,none --drafting lead,full

`--llm`: `auto` (the default: the embedded model if installed, else the composer; the CLI
says which), `local` (embedded SmolLM2 via llama-cpp), `none` (deterministic grounded
composer, no LLM) or `provider:model` (any LangChain chat model; drives the tool-calling
planner). Conversations are kept in a SQLite file (`--memory`) keyed by `--conversation`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from elixir_agent.console import choices
from elixir_agent.errors import UserError

__all__ = ["register"]


Planner = choices("Planner", "routed", "tool-calling")


RunOpt = Annotated[Path, typer.Option("--run", help="Trained run directory (core model).")]
IndexOpt = Annotated[Path | None, typer.Option("--index", help="Review index directory.")]
DataOpt = Annotated[Path, typer.Option("--data", help="Prepared dataset directory.")]
LlmOpt = Annotated[str, typer.Option(
    "--llm", help="auto (local if installed, else none) | local | none | provider:model")]
PlannerOpt = Annotated[Planner | None, typer.Option(
    "--planner", help="Default: tool-calling for provider:model, routed otherwise.")]
MemoryOpt = Annotated[Path | None, typer.Option(
    help="SQLite conversation file (default for chat: the user cache directory).")]
Int8Opt = Annotated[bool | None, typer.Option(
    "--int8/--no-int8", help="Generated reviews from int8 decoder weights (CPU): with a SmolLM2 "
    "run about 2x faster at the same quality (docs/core-benchmark.md). Default: on for SmolLM2 "
    "runs on a CPU with bf16 instructions, off otherwise.")]


def _agent(run, index, data, llm, planner, memory: Path | None, *, user: str | None = None,
           int8: bool | None = None):
    from elixir_agent.agent.context import build_context, check_paths, resolve_llm_choice

    check_paths(run, index, data)  # a wrong path fails at once, before any heavy import
    # Then, without the agent extra, this fails in one line before the model loads.
    from elixir_agent.agent import build_agent, sqlite_checkpointer
    from elixir_agent.console import status

    llm, notices = resolve_llm_choice(llm)
    with status(f"loading {run}, {data}" + (f" and {index}" if index else "")):
        loaded = build_context(run, index, data, user=user, int8=int8)
    for notice in notices:  # which writer answers (--llm auto), once everything loaded
        typer.echo(notice, err=True)
    with status(f"starting the agent (--llm {llm})"):
        checkpointer = sqlite_checkpointer(memory) if memory else None
        return build_agent(loaded.context, llm=llm, checkpointer=checkpointer,
                           planner=planner.value if planner else None, embedder=loaded.embedder)


def _print_turn(turn, as_json: bool) -> None:
    if as_json:
        from elixir_agent.console import echo_json

        echo_json(json.loads(json.dumps(turn.to_dict(), default=str)))
        return
    from rich.console import Console

    console = Console()
    console.print(turn.answer, markup=False, highlight=False)
    if turn.cited_review_ids:
        console.print(f"[dim]cited: {', '.join(turn.cited_review_ids)}[/dim]")
    tools = ", ".join(f"{c.name}({c.status}, {c.seconds:.2f}s)" for c in turn.tool_calls)
    v = turn.verification
    badge = "[green]verified[/green]" if v.ok else "[red]NOT verified[/red]"
    console.print(f"[dim]tools: {tools or 'none'} | {badge} ({v.action}; "
                  f"{len(v.checked_numbers)} numbers checked) | {turn.seconds:.2f}s[/dim]")


def ask(question: Annotated[str, typer.Argument(help="The question.")], run: RunOpt,
        data: DataOpt, user: Annotated[str, typer.Option("--user")], index: IndexOpt = None,
        item: Annotated[str | None, typer.Option("--item")] = None, llm: LlmOpt = "auto",
        planner: PlannerOpt = None, memory: MemoryOpt = None,
        conversation: Annotated[str, typer.Option(help="Conversation id.")] = "cli",
        as_json: Annotated[bool, typer.Option("--json", help="Print the Turn as JSON.")] = False,
        int8: Int8Opt = None) -> None:
    """Ask one question; prints the answer, the citations and the verification.

    Run with: elixir-agent ask --run RUN --index IDX --data DIR --user U --item I "Why?"
    """
    agent = _agent(run, index, data, llm, planner, memory, user=user, int8=int8)
    _print_turn(agent.ask(question, conversation_id=conversation, user_id=user, item_id=item),
                as_json)


def chat(run: RunOpt, data: DataOpt, user: Annotated[str, typer.Option("--user")],
         index: IndexOpt = None, item: Annotated[str | None, typer.Option("--item")] = None,
         llm: LlmOpt = "auto", planner: PlannerOpt = None, memory: MemoryOpt = None,
         conversation: Annotated[str, typer.Option(help="Conversation id.")] = "chat",
         int8: Int8Opt = None) -> None:
    """A terminal conversation; it resumes where `--conversation` left off. Ctrl-D ends it.

    Run with: elixir-agent chat --run RUN --index IDX --data DIR --user U
    """
    from elixir_agent.agent.context import default_memory_path

    agent = _agent(run, index, data, llm, planner, memory or default_memory_path(), user=user,
                   int8=int8)
    first = True
    while True:
        try:
            question = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            typer.echo("")
            return
        if not question:
            continue
        turn = agent.ask(question, conversation_id=conversation,
                         user_id=user if first else None, item_id=item if first else None)
        first = False
        _print_turn(turn, as_json=False)


def bench_agent(run: RunOpt, data: DataOpt, index: IndexOpt = None,
                llm: Annotated[str, typer.Option(
                    "--llm", help="Comma-separated backends to compare, e.g. local,none.")] = "local,none",
                drafting: Annotated[str, typer.Option(
                    help="Comma-separated drafting modes for LLM backends: lead (the LLM writes "
                         "the opening, the composer the facts), full (the LLM writes it all), "
                         "auto (lead for local, full otherwise).")] = "auto",
                planner: PlannerOpt = None,
                n: Annotated[int, typer.Option(help="Questions (>= 50 for the report).")] = 50,
                out: Annotated[Path | None, typer.Option(help="Write the JSON here.")] = None,
                seed: int = 0) -> None:
    """p50/p95 turn latency and the share of verified turns, side by side per configuration.

    Every configuration answers the same generated questions over test pairs, each in a
    fresh conversation, on the same loaded run and index.

    Run with: elixir-agent bench agent --run RUN --index IDX --data DIR --llm local,none --drafting lead,full
    """
    from elixir_agent.agent import build_agent
    from elixir_agent.agent.bench import generate_questions, markdown_table, run_bench
    from elixir_agent.agent.context import build_context
    from elixir_agent.agent.llm import resolve_llm

    start = time.perf_counter()
    loaded = build_context(run, index, data)
    context, embedder, dataset = loaded.context, loaded.embedder, loaded.dataset
    names = dict(zip(dataset.split("train").item_id, dataset.split("train").item_name, strict=True))
    questions = generate_questions(dataset.split("test"), dataset.info.aspects, names, n=n,
                                   seed=seed)
    load_s = time.perf_counter() - start
    results = []
    for spec in [s.strip() for s in llm.split(",") if s.strip()]:
        start = time.perf_counter()
        model = resolve_llm(spec)  # loaded once, shared by the drafting modes
        model_s = time.perf_counter() - start
        modes = [None] if model is None else [
            None if m.strip() == "auto" else m.strip() for m in drafting.split(",")]
        for mode in modes:
            agent = build_agent(context, llm=model, planner=planner.value if planner else None,
                                embedder=embedder,
                                drafting=mode)
            label = spec if model is None else f"{spec} ({mode or 'auto'})"
            results.append(run_bench(agent, questions, llm=label, load_s=load_s + model_s))
    typer.echo(markdown_table(results))
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(out.suffix + ".tmp")
        tmp.write_text(json.dumps([r.to_dict() for r in results], indent=2, default=str))
        tmp.replace(out)
        typer.echo(f"wrote {out}")


def bench_startup(run: RunOpt, data: DataOpt, user: Annotated[str, typer.Option("--user")],
                  item: Annotated[str, typer.Option("--item")], index: IndexOpt = None,
                  baseline: Annotated[str | None, typer.Option(
                      help="Another elixir-agent executable to time beside this one (e.g. an "
                           "older install's bin/elixir-agent).")] = None,
                  repeats: Annotated[int, typer.Option(min=1, help="Runs per command (median).")] = 1,
                  out: Annotated[Path | None, typer.Option(help="Also write the JSON here.")] = None,
                  as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Time to first answer of `--help`, `predict` and `ask`, each a fresh process, beside a
    baseline executable, and the stages `ask` spends before its turn.

    Run with: elixir-agent bench startup --run RUN --data DIR --index IDX --user U --item I --baseline OLD/bin/elixir-agent
    """
    from elixir_agent.agent.context import check_paths
    from elixir_agent.agent.startup import run_startup_bench
    from elixir_agent.console import echo_json, to_json

    check_paths(run, index, data)
    try:
        report = run_startup_bench(run, data, index, user, item, baseline=baseline, repeats=repeats)
    except RuntimeError as error:
        raise UserError(str(error), hint="run that command alone to see its error") from error
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(to_json(report.to_dict()))
    if as_json:
        echo_json(report.to_dict())
    else:
        typer.echo(report.markdown())


def register(app: typer.Typer, bench: typer.Typer) -> None:
    from elixir_agent.agent.nlu import cli as nlu_cli

    app.command("ask")(ask)
    app.command("chat")(chat)
    bench.command("agent")(bench_agent)
    bench.command("startup")(bench_startup)
    bench.command("nlu")(nlu_cli.bench_nlu)
    nlu = typer.Typer(help="The question parser of the routed planner.", no_args_is_help=True)
    nlu.command("train")(nlu_cli.train)
    app.add_typer(nlu, name="nlu")
