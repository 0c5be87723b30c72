"""The steps of one turn as they happen: plan, tool results, writing, checking, the turn.

`ElixirAgent.stream(...)` yields these events so a front end can show a tool call while it
runs and its result as soon as it is back, instead of waiting for the whole turn. The last
event is always a `TurnEvent` carrying the same `Turn` that `ElixirAgent.ask` returns.

Events come from the graph's per-node state updates (LangGraph `stream_mode="updates"`):

    routed:        understand -> PlanEvent, act -> ToolEvent per call as it finishes (stream
                   mode "custom") + PhaseEvent("writing"),
                   write -> PhaseEvent("verifying"), verify -> TurnEvent
    tool-calling:  call_model -> PlanEvent (the calls the model asked for) or
                   PhaseEvent("verifying") (it wrote the answer), tools -> ToolEvent per new
                   call + PhaseEvent("writing"), verify -> TurnEvent
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from elixir_agent.agent.turn import ToolCallRecord, Turn, Verification

__all__ = ["AgentEvent", "PhaseEvent", "PlanEvent", "PlannedCall", "ToolEvent", "TurnEvent",
           "stream_turn"]


@dataclass(frozen=True)
class PlannedCall:
    """A tool call that is about to run: which tool, with which arguments."""

    name: str
    args: dict[str, Any]


@dataclass(frozen=True)
class PlanEvent:
    """The planner decided what to call next.

    The routed planner plans once per turn and names its intent; the tool-calling planner
    plans once per model round (several rounds per turn are possible) and has no intent.
    """

    intent: str | None
    calls: tuple[PlannedCall, ...]


@dataclass(frozen=True)
class ToolEvent:
    """One tool call finished (successfully or with the error message the LLM reads)."""

    record: ToolCallRecord
    index: int  # position among this turn's tool calls, from 0


@dataclass(frozen=True)
class PhaseEvent:
    """The turn entered a phase with no tool calls: writing the answer or checking it."""

    phase: Literal["writing", "verifying"]


@dataclass(frozen=True)
class TurnEvent:
    """The turn is over: the verified answer and everything it rests on."""

    turn: Turn


AgentEvent = PlanEvent | ToolEvent | PhaseEvent | TurnEvent


def stream_turn(graph, update: dict[str, Any], config: dict[str, Any], *, question: str,
                conversation_id: str, planner: str) -> Iterator[AgentEvent]:
    """Run one turn of a compiled agent graph and yield its events, ending with the `Turn`.

    `update` is the turn's input state and `config` names the conversation's thread. The
    graph also streams its full state after each step ("values"); the last one is the final
    state, exactly what `graph.invoke` would have returned.
    """
    start = time.perf_counter()
    final: dict[str, Any] = {}
    records_seen = 0
    for mode, chunk in graph.stream(update, config, stream_mode=["updates", "values", "custom"]):
        if mode == "values":
            final = chunk
            continue
        if mode == "custom":  # the routed planner's `act` reports each call as it finishes
            if isinstance(chunk, dict) and "tool_record" in chunk:
                yield ToolEvent(ToolCallRecord.from_dict(chunk["tool_record"]), chunk["index"])
                records_seen += 1
            continue
        for node, node_update in chunk.items():
            events = _node_events(node, node_update or {}, records_seen)
            records_seen += sum(isinstance(e, ToolEvent) for e in events)
            yield from events
    yield TurnEvent(_turn_from_state(final, question=question, conversation_id=conversation_id,
                                     planner=planner, seconds=time.perf_counter() - start))


def _node_events(node: str, update: dict[str, Any], records_seen: int) -> list[AgentEvent]:
    """What one node's state update means to someone watching the turn."""
    if node == "understand":
        return [PlanEvent(update.get("intent"), _planned(update.get("plan") or []))]
    if node in ("act", "tools"):
        # `tools` returns every record of the turn so far; only the new ones are events.
        new = (update.get("records") or [])[records_seen:]
        return [*(ToolEvent(ToolCallRecord.from_dict(r), records_seen + n)
                  for n, r in enumerate(new)), PhaseEvent("writing")]
    if node == "call_model":
        asked = [m for m in update.get("messages") or [] if getattr(m, "tool_calls", None)]
        if asked:
            return [PlanEvent(None, _planned(asked[-1].tool_calls))]
        return [PhaseEvent("verifying")]
    if node == "write":
        return [PhaseEvent("verifying")]
    return []  # verify: its result is the final state, reported as the TurnEvent


def _planned(calls: list[dict[str, Any]]) -> tuple[PlannedCall, ...]:
    return tuple(PlannedCall(c["name"], dict(c.get("args") or {})) for c in calls)


def _turn_from_state(state: dict[str, Any], *, question: str, conversation_id: str,
                     planner: str, seconds: float) -> Turn:
    records = [ToolCallRecord.from_dict(r) for r in state.get("records") or []]
    verification = Verification.from_dict(state["verification"])
    return Turn(conversation_id=conversation_id, question=question, answer=state["answer"],
                intent=state.get("intent"), planner=planner, tool_calls=records,
                verification=verification,
                # Only ids of retrieved reviews: an unknown id is a flaw, never a citation.
                cited_review_ids=[i for i in verification.cited_ids
                                  if i not in verification.unknown_ids],
                active_user=state.get("active_user"), active_item=state.get("active_item"),
                seconds=round(seconds, 4))
