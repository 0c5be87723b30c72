"""Typed LangChain tools over the core model, the review index and the catalog.

Each tool is one module with a `make(context)` factory; `load_tools(context)` builds them all.
"""

from elixir_agent.tools.catalog import Catalog
from elixir_agent.tools.context import ToolContext
from elixir_agent.tools.registry import BUILTIN, ENTRY_POINT_GROUP, available, load_tools

__all__ = ["BUILTIN", "ENTRY_POINT_GROUP", "Catalog", "ToolContext", "available", "load_tools"]
