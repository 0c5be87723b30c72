"""The conversation: planners, memory, LLM backends and grounding, built as a LangGraph graph.

`build_agent(context, llm=..., checkpointer=...)` is the one way the CLI, the UI and the
evaluation harness build it; `ElixirAgent.ask(...)` returns a `Turn`.
"""

from elixir_agent.agent.graph import ElixirAgent, build_agent
from elixir_agent.agent.state import sqlite_checkpointer
from elixir_agent.agent.turn import ToolCallRecord, Turn, Verification

__all__ = ["ElixirAgent", "ToolCallRecord", "Turn", "Verification", "build_agent",
           "sqlite_checkpointer"]
