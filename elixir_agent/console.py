"""What every command shares on the terminal: quiet third-party output, status lines, JSON.

Importing this module is cheap (no torch, no transformers): the CLI configures logging and
the environment of the heavy libraries here, before any of them is imported.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Any

import typer

from elixir_agent.errors import UserError

__all__ = ["choices", "configure_output", "echo_json", "status", "to_json"]

log = logging.getLogger("elixir_agent")

# Libraries whose progress bars and notices are noise to a person running a command; their
# warnings come back with --verbose. bitsandbytes logs "Failed to load CPU gemm_4bit_forward"
# on every import on some CPUs; transformers draws a weight-loading bar on every load.
_NOISY_LOGGERS = ("bitsandbytes", "transformers", "sentence_transformers", "huggingface_hub",
                  "torch", "faiss", "httpx", "gradio", "langchain", "langgraph", "peft", "accelerate")


def choices(name: str, *values: str) -> type[Enum]:
    """A str Enum of option values, so `--help` lists them and a wrong one is a usage error."""
    return Enum(name, {value: value for value in values}, type=str)


def configure_output(*, verbose: bool) -> None:
    """Route the project's messages through `logging` and silence third-party noise unless verbose."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s" if verbose
                                           else "%(levelname)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    # The project's own progress notes (where a resumed run starts, why training stopped)
    # are for the person at the terminal: shown by default, as plain lines.
    own = logging.StreamHandler(sys.stderr)
    own.setFormatter(logging.Formatter("%(message)s"))
    log.handlers[:] = [] if verbose else [own]
    log.propagate = verbose
    log.setLevel(logging.INFO)
    if verbose:
        return
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    # Read by huggingface_hub / transformers / tqdm when they are first imported.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    for module in ("transformers", "torch", "peft", "bitsandbytes", "sentence_transformers",
                   "faiss", "gradio", "langchain", "langgraph", "pydantic", "sklearn", "accelerate"):
        warnings.filterwarnings("ignore", module=rf"{module}(\.|$)")


@contextmanager
def status(message: str) -> Iterator[None]:
    """A transient status line on stderr while something slow loads (only on a terminal,
    so pipes, logs and error output stay clean)."""
    if not sys.stderr.isatty():
        yield
        return
    from rich.console import Console

    with Console(stderr=True).status(message, spinner="dots"):
        yield


def to_json(value: Any) -> str:
    """Strict JSON (never a bare NaN or Infinity); a non-finite number is an error, not output."""
    bad = _first_non_finite(value)
    if bad is not None:
        raise UserError(f"the result holds a non-finite number at {bad}: the run's weights may be "
                        "corrupted", hint="retrain the run, or restore it from a copy")
    return json.dumps(value, indent=2, default=str, allow_nan=False)


def echo_json(value: Any) -> None:
    typer.echo(to_json(value))


def _first_non_finite(value: Any, path: str = "$") -> str | None:
    if isinstance(value, float):
        return None if math.isfinite(value) else path
    if isinstance(value, dict):
        return next((p for k, v in value.items() if (p := _first_non_finite(v, f"{path}.{k}"))), None)
    if isinstance(value, (list, tuple)):
        return next((p for i, v in enumerate(value) if (p := _first_non_finite(v, f"{path}[{i}]"))), None)
    return None
