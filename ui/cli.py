"""`elixir-agent ui` (the Gradio app) and `elixir-agent demo` (the offline demo, end to end).

Run with:
    elixir-agent ui --run RUN --index IDX --data DIR [--llm none|local|provider:model] [--port 7860]
                    [--memory PATH|none] [--concurrency 1]
    elixir-agent demo [--data PATH --format ratebeer]

Conversations are kept in a SQLite file (`--memory`, the same default as `elixir-agent chat`),
so a restarted app still remembers them; the browser keeps its conversation id.

The app binds to 127.0.0.1. To expose it (`--host 0.0.0.0`) set basic-auth credentials as
`user:password` in the environment variable named by `--auth-env` (ELIXIR_UI_AUTH by
default); without them an exposed app refuses to start unless `--no-auth` is given.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated

import typer

from elixir_agent.agent.context import build_context, check_paths, default_memory_path, resolve_llm_choice
from elixir_agent.errors import UserError

__all__ = ["memory_path", "register"]

RunOpt = Annotated[Path, typer.Option("--run", help="Trained run directory (`elixir-agent train`).")]
IndexOpt = Annotated[Path | None, typer.Option(
    "--index", help="Review index directory (`elixir-agent index build`); without it no reviews are cited.")]
DataOpt = Annotated[Path, typer.Option("--data", help="Prepared dataset directory (pickers, compare tab).")]
LlmOpt = Annotated[str, typer.Option(
    "--llm", help="auto (local if installed, else none) | none | local | provider:model")]
HostOpt = Annotated[str, typer.Option("--host", help="Interface to bind; 127.0.0.1 keeps it on this machine.")]
PortOpt = Annotated[int, typer.Option("--port", help="Port to serve on.")]
AuthEnvOpt = Annotated[str, typer.Option(
    "--auth-env", help="Environment variable holding 'user:password' for basic auth.")]
MemoryOpt = Annotated[str, typer.Option(
    "--memory", metavar="PATH|none",
    help="SQLite file keeping conversations across restarts; 'none' keeps them in this process only.")]
ConcurrencyOpt = Annotated[int, typer.Option(
    "--concurrency", min=1,
    help="Turns answered at once across all browser sessions. Keep 1 with --llm local: the "
         "embedded llama.cpp model is not thread-safe. A remote provider:model can take more.")]


def register(app: typer.Typer, bench: typer.Typer) -> None:
    """Add `ui` and `demo` to the top-level app (the UI has no benchmark)."""
    app.command("ui")(ui_command)
    app.command("demo")(demo_command)


def _auth(host: str, auth_env: str, no_auth: bool) -> tuple[str, str] | None:
    value = os.environ.get(auth_env, "")
    if value:
        user, sep, password = value.partition(":")
        if not (sep and user and password):
            raise UserError(f"${auth_env} must be 'user:password' (got {len(value)} characters without both parts)")
        return user, password
    if not _is_loopback(host) and not no_auth:
        raise UserError(f"--host {host} exposes the app beyond this machine: set ${auth_env}=user:password "
                    "for basic auth, or pass --no-auth if that is really intended")
    return None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def memory_path(memory: str) -> Path | None:
    """The `--memory` value as a file, or None for "none" (memory in this process only)."""
    return None if memory.strip().lower() == "none" else Path(memory).expanduser()


def build_from_paths(run: Path, index: Path | None, data: Path, llm: str, *, votes: Path | None = None,
                     memory: Path | None = None, concurrency: int = 1, int8: bool | None = None):
    """Check the paths, load the context once (agent.context.build_context) and build the app.

    `memory`: the SQLite conversation file; None keeps conversations in this process only.
    `int8`: the text decoder's weights in int8 (CPU); None: where it helps (default_int8).
    """
    check_paths(run, index if index is not None and index.exists() else None, data)
    notices = []
    if index is None or not index.exists():
        notices.append(f"No review index loaded{f' ({index} does not exist)' if index else ''}: answers "
                       "cannot quote or cite reviews. Build one with: "
                       f"elixir-agent index build --data {data} --out IDX, then pass --index IDX.")
        index = None
    llm, llm_notices = resolve_llm_choice(llm)
    from elixir_agent.agent import sqlite_checkpointer
    from elixir_agent.ui import create_app, load_pairs

    loaded = build_context(run, index, data, int8=int8)
    context = loaded.context
    return create_app(context, llm=llm, embedder=loaded.embedder, pairs=load_pairs(data, context),
                      checkpointer=sqlite_checkpointer(memory) if memory else None,
                      votes_dir=votes or run / "votes", notices=notices + llm_notices,
                      concurrency=concurrency)


def ui_command(run: RunOpt, data: DataOpt, index: IndexOpt = None, llm: LlmOpt = "auto",
               host: HostOpt = "127.0.0.1", port: PortOpt = 7860,
               auth_env: AuthEnvOpt = "ELIXIR_UI_AUTH",
               no_auth: Annotated[bool, typer.Option("--no-auth", help="Expose without a password.")] = False,
               votes: Annotated[Path | None, typer.Option(
                   help="Directory for blind A/B votes (default: RUN/votes).")] = None,
               memory: MemoryOpt = str(default_memory_path()), concurrency: ConcurrencyOpt = 1,
               int8: Annotated[bool | None, typer.Option(
                   "--int8/--no-int8", help="Generated reviews from int8 decoder weights "
                   "(CPU): with a SmolLM2 run about 2x faster at the same quality. Default: on "
                   "for SmolLM2 runs on a CPU with bf16 instructions.")] = None) -> None:
    """Serve the chat, the evidence panel and the compare tab in the browser.

    Run with: elixir-agent ui --run RUN --index IDX --data DIR
    """
    credentials = _auth(host, auth_env, no_auth)
    app = build_from_paths(run, index, data, llm, votes=votes, memory=memory_path(memory),
                           concurrency=concurrency, int8=int8)
    from elixir_agent.ui import launch_app

    _, url, _ = launch_app(app, host=host, port=port, auth=credentials, block=False, quiet=True)
    shown = url.replace("0.0.0.0", "127.0.0.1")
    typer.secho(f"elixir-agent UI running at {shown} (Ctrl-C stops it)", fg=typer.colors.GREEN)
    if credentials:
        typer.echo(f"basic auth: user '{credentials[0]}' (password from ${auth_env})")
    kept = memory_path(memory)
    typer.echo(f"conversations kept in {kept}" if kept else
               "conversations kept in this process only (--memory none)")
    app.block_thread()


def demo_command(
    data: Annotated[Path | None, typer.Option(
        "--data", help="Real review data to use instead of the synthetic set (a file or directory).")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="Format of --data, e.g. ratebeer, lara-dat.")] = None,
    workdir: Annotated[Path, typer.Option(help="Where data, run and index go.")] = Path("runs/demo"),
    minutes: Annotated[float, typer.Option(help="Training time budget in minutes.")] = 6.0,
    llm: LlmOpt = "auto", host: HostOpt = "127.0.0.1", port: PortOpt = 7860,
    launch: Annotated[bool, typer.Option(help="--no-launch prepares everything and exits.")] = True,
) -> None:
    """The offline demo: dataset, a small trained core, the review index, then the app.

    Steps whose output already exists are skipped, so a second run starts the app at once.
    Run with: elixir-agent demo            (synthetic data)
              elixir-agent demo --data ../shared/data/ratebeer/reviews_store --format ratebeer
    """
    from elixir_agent.ui.demo import DemoPlan, prepare_demo

    if (data is None) != (fmt is None):
        raise UserError("--data and --format go together (e.g. --data DIR --format ratebeer)")
    plan = DemoPlan.for_source(workdir, data, fmt, minutes=minutes)
    prepare_demo(plan, echo=typer.echo)
    if launch:
        ui_command(run=plan.run, data=plan.data, index=plan.index, llm=llm, host=host, port=port)
