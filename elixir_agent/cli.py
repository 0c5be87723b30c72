"""The `elixir-agent` command line: one entry point, subcommands live next to what they run.

Each layer exposes `register(app, bench)` in its own `cli.py`, adding its commands to the
top-level app and its benchmarks to `elixir-agent bench ...`. Those modules import only
typer and the standard library at the top: heavy libraries (torch, faiss, gradio) are
imported inside the commands, so `--help` stays fast and a base install runs every command
whose extra it has.

Errors: a `UserError` (elixir_agent.errors), a usage error, a missing optional package or a
missing file is printed as one line on stderr with a hint, exit code 2, no traceback
(`--debug` shows it). Anything else is a bug and keeps its traceback.

Run with: elixir-agent --help
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from elixir_agent import __version__
from elixir_agent.agent import cli as agent_cli
from elixir_agent.core_model import cli as core_cli
from elixir_agent.core_model.data import cli as data_cli
from elixir_agent.errors import MissingExtraError, UserError, extra_for
from elixir_agent.eval import cli as eval_cli
from elixir_agent.retrieval import cli as retrieval_cli
from elixir_agent.ui import cli as ui_cli

__all__ = ["app", "error_line", "main"]

USAGE_EXIT = 2


class ElixirGroup(TyperGroup):
    """The top-level group: turns anticipated failures into one line on stderr."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        debug = "--debug" in _global_flags(argv)
        try:
            code = super().main(argv, prog_name=prog_name or "elixir-agent", complete_var=complete_var,
                                standalone_mode=False, **extra)
        except typer.Abort:
            _print_error("aborted", None)
            sys.exit(1)
        except KeyboardInterrupt:
            _print_error("interrupted", None)
            sys.exit(130)
        except Exception as error:
            line = error_line(error)
            if line is None or debug:
                raise
            typer.echo(line, err=True)
            sys.exit(USAGE_EXIT)
        sys.exit(code if isinstance(code, int) else 0)


def error_line(error: BaseException) -> str | None:
    """The one line shown for an anticipated failure, or None for a bug (keep its traceback)."""
    if isinstance(error, typer.TyperException) and hasattr(error, "format_message"):
        # typer's (vendored click) usage errors: bad choice, missing option, bad value.
        ctx = getattr(error, "ctx", None)
        hint = f"see: {ctx.command_path} --help" if ctx is not None else None
        return _format(error.format_message(), hint)
    if isinstance(error, ModuleNotFoundError) and extra_for(error.name):
        error = MissingExtraError(error.name or "", "this command")
    if isinstance(error, UserError):
        return _format(str(error), error.hint)
    if isinstance(error, (FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError,
                          PermissionError)):
        where = f"{error.filename}: " if error.filename else ""
        return _format(f"{where}{error.strerror or error}", "check the path")
    return None


def _format(message: str, hint: str | None) -> str:
    message = re.sub(r"\s*\n\s*", " ", message.strip())
    return f"error: {message}" + (f" (hint: {hint})" if hint else "")


def _print_error(message: str, hint: str | None) -> None:
    typer.echo(_format(message, hint), err=True)


def _global_flags(argv: list[str]) -> list[str]:
    """The options before the first command word (`elixir-agent --debug train ...`)."""
    flags = []
    for word in argv:
        if not word.startswith("-"):
            break
        flags.append(word)
    return flags


def _version(value: bool) -> None:
    if value:
        typer.echo(f"elixir-agent {__version__}")
        raise typer.Exit()


app = typer.Typer(
    cls=ElixirGroup,
    name="elixir-agent",
    help="Grounded, conversational explanations of recommendations (ELIXIR core + agent).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _global_options(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show third-party warnings, "
                                          "progress bars and info logs.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback of handled errors.")
                     ] = False,
) -> None:
    """Grounded, conversational explanations of recommendations (ELIXIR core + agent)."""
    from elixir_agent.console import configure_output

    configure_output(verbose=verbose or debug)


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
