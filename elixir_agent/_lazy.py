"""Lazy re-exports for the layer packages, so importing one name does not import them all.

`from elixir_agent.agent import build_agent` still works; it imports `agent.graph` (and
LangGraph) only when `build_agent` is asked for, which keeps `elixir-agent --help` fast and
lets a base install import any package whose extras it lacks.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, where: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """`__getattr__` and `__dir__` for a package: `where` maps each public name to its module."""

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    def __dir__() -> list[str]:
        return sorted(where)

    return __getattr__, __dir__
