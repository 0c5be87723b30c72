"""The conversation: planners, memory, LLM backends and grounding, built as a LangGraph graph.

`build_agent(context, llm=..., checkpointer=...)` is the one way the CLI, the UI and the
evaluation harness build it; `ElixirAgent.ask(...)` returns a `Turn`. Names are imported on
first use (LangGraph is the `agent` extra).
"""

from elixir_agent._lazy import lazy_exports

_WHERE = {"ElixirAgent": "graph", "build_agent": "graph", "sqlite_checkpointer": "state",
          "ToolCallRecord": "turn", "Turn": "turn", "Verification": "turn"}
__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
