"""Typed LangChain tools over the core model, the review index and the catalog.

Each tool is one module with a `make(context)` factory; `load_tools(context)` builds them all.
Names are imported on first use (LangChain is the `agent` extra).
"""

from elixir_agent._lazy import lazy_exports

_WHERE = {"Catalog": "catalog", "ToolContext": "context", "BUILTIN": "registry",
          "ENTRY_POINT_GROUP": "registry", "available": "registry", "load_tools": "registry"}
__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
