"""The conversation state kept by the checkpointer, and the SQLite checkpointer itself.

Memory (active user and item, the last list shown, stated preferences, a pending intent
after an unknown name) survives between turns and restarts; the per-turn fields (question,
plan, tool records, draft, answer, verification) are reset at the start of every turn.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph.message import add_messages

__all__ = ["TURN_FIELDS", "AgentState", "sqlite_checkpointer"]


class AgentState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    # memory
    active_user: str | None
    active_item: str | None
    last_items: list[str]  # the last list shown (recommendations, a comparison): "the second one"
    preferences: list[str]  # aspects the person said matter to them, most important first
    dislikes: list[str]  # aspects the person said matter less
    pending_intent: str | None  # the intent of a turn that failed on an unknown name
    what_if: list[str] | None  # aspects the person asked to imagine caring most about
    # this turn
    question: str
    intent: str | None  # the first of `intents`
    intents: list[str]  # every intent asked this turn, in order
    clarify_intent: str | None  # the intent of a question put back to the person this turn
    preface: str  # deterministic sentences put before the written answer (acknowledgements)
    plan: list[dict[str, Any]]
    records: list[dict[str, Any]]
    draft: str
    answer: str
    verification: dict[str, Any]
    tool_steps: int


TURN_FIELDS: dict[str, Any] = {"intent": None, "intents": [], "clarify_intent": None, "preface": "", "plan": [], "records": [],
                               "draft": "", "answer": "", "verification": {}, "tool_steps": 0}


def sqlite_checkpointer(path: str | Path) -> SqliteSaver:
    """A checkpointer writing every conversation (thread id = conversation id) to one file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The graph may run in worker threads (LangGraph executes nodes in a pool).
    connection = sqlite3.connect(str(path), check_same_thread=False)
    saver = SqliteSaver(connection)
    saver.setup()
    return saver
