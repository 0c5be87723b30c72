"""The tool registry: one line per built-in tool, plus third-party tools from entry points.

A tool is a module with a `make(context) -> BaseTool` factory. Built-ins are listed in
`BUILTIN`; another package adds one without touching this project by declaring, in its own
pyproject.toml::

    [project.entry-points."elixir_agent.tools"]
    weather = "my_package.weather_tool:make"

Planners and prompts read names and descriptions from the tools themselves, so a new tool
needs no prompt edit (see docs/adding-a-tool.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from importlib.metadata import entry_points

from langchain_core.tools import BaseTool

from elixir_agent.tools import (
    aspect_ratings,
    compare_items,
    generate_review,
    item_profile,
    predict_rating,
    recommend_items,
    similar_reviews,
    user_history,
    user_profile,
    what_if,
)
from elixir_agent.tools.context import ToolContext

__all__ = ["BUILTIN", "ENTRY_POINT_GROUP", "ToolFactory", "available", "load_tools"]

ToolFactory = Callable[[ToolContext], BaseTool]
ENTRY_POINT_GROUP = "elixir_agent.tools"

# The routed planner calls an intent's tools in this order: for "why", the item's aspects,
# then the user's own history, then other reviewers.
BUILTIN: dict[str, ToolFactory] = {
    "predict_rating": predict_rating.make,
    "aspect_ratings": aspect_ratings.make,
    "user_history": user_history.make,
    "generate_review": generate_review.make,
    "similar_reviews": similar_reviews.make,
    "recommend_items": recommend_items.make,
    "item_profile": item_profile.make,
    "user_profile": user_profile.make,
    "compare_items": compare_items.make,
    "what_if": what_if.make,
}


def available(*, include_plugins: bool = True) -> dict[str, ToolFactory]:
    """Every known tool factory by name; a plugin may not shadow a built-in."""
    factories = dict(BUILTIN)
    if include_plugins:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name in BUILTIN:
                raise ValueError(f"entry point {ep.value!r} in group {ENTRY_POINT_GROUP!r} "
                                 f"reuses the built-in tool name {ep.name!r}; rename it")
            factories[ep.name] = ep.load()
    return factories


def load_tools(context: ToolContext, names: Iterable[str] | None = None, *,
               include_plugins: bool = True) -> dict[str, BaseTool]:
    """Build the named tools (all of them by default) around `context`."""
    factories = available(include_plugins=include_plugins)
    wanted = list(factories) if names is None else list(names)
    unknown = [n for n in wanted if n not in factories]
    if unknown:
        raise KeyError(f"unknown tool(s) {unknown}; available: {sorted(factories)}")
    tools = {}
    for name in wanted:
        tool = factories[name](context)
        if tool.name != name:
            raise ValueError(f"tool factory {name!r} built a tool named {tool.name!r}")
        tools[name] = tool
    return tools
