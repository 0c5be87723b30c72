"""`ElixirAgent.stream`: the steps of a turn as they happen, for both planners.

The stream must announce the plan before any tool result, report each tool call once, and
end with the same `Turn` that `ask()` returns.
"""

from __future__ import annotations

from dataclasses import replace

from langchain_core.messages import AIMessage

from elixir_agent.agent import build_agent
from elixir_agent.agent.streaming import PhaseEvent, PlanEvent, ToolEvent, TurnEvent
from tests.helpers.fake_chat import ScriptedChatModel


def _shape(events) -> list[tuple]:
    """Each event as (kind, what): tool names for plans and tool calls, the phase name."""
    shape = []
    for e in events:
        if isinstance(e, PlanEvent):
            shape.append(("plan", tuple(c.name for c in e.calls)))
        elif isinstance(e, ToolEvent):
            shape.append(("tool", e.record.name, e.index))
        elif isinstance(e, PhaseEvent):
            shape.append(("phase", e.phase))
        else:
            shape.append(("turn",))
    return shape


def _comparable(turn):
    """The turn without what differs between two runs of the same question: ids and timings."""
    return replace(turn, conversation_id="-", seconds=0.0,
                   tool_calls=[replace(c, seconds=0.0) for c in turn.tool_calls])


def test_routed_stream_plans_then_runs_then_ends_with_the_turn_ask_returns(routed_agent, pair):
    user, item = pair
    agent = routed_agent()
    events = list(agent.stream("Why would I like it?", conversation_id="streamed",
                               user_id=user, item_id=item))
    tools = ("aspect_ratings", "user_history", "similar_reviews", "similar_reviews")
    assert _shape(events) == [("plan", tools), *(("tool", t, n) for n, t in enumerate(tools)),
                              ("phase", "writing"), ("phase", "verifying"), ("turn",)]
    plan, turn = events[0], events[-1].turn
    assert plan.intent == "explain" == turn.intent
    assert plan.calls[0].args == {"user_id": user, "item_id": item}
    assert [e.record for e in events if isinstance(e, ToolEvent)] == turn.tool_calls
    assert turn.conversation_id == "streamed" and turn.verification.ok

    asked = agent.ask("Why would I like it?", conversation_id="asked", user_id=user, item_id=item)
    assert _comparable(asked) == _comparable(turn)


def test_stream_keeps_memory_like_ask(routed_agent, pair):
    user, item = pair
    agent = routed_agent()
    list(agent.stream("Would I like it?", conversation_id="mem", user_id=user, item_id=item))
    *_, last = agent.stream("what about the location?", conversation_id="mem")
    assert last.turn.active_user == user and last.turn.active_item == item
    assert [c.name for c in last.turn.tool_calls] == ["aspect_ratings"]


def test_a_turn_without_tools_still_ends_with_a_turn(routed_agent):
    events = list(routed_agent().stream("hello, what can you do?", conversation_id="help"))
    assert isinstance(events[0], PlanEvent) and events[0].calls == ()
    assert not any(isinstance(e, ToolEvent) for e in events)
    assert isinstance(events[-1], TurnEvent) and events[-1].turn.answer


def test_tool_calling_stream_reports_each_round_and_each_call_once(world, pair):
    user, item = pair

    def script(messages, n):
        if n < 2:
            name, args = [("predict_rating", {"user_id": user, "item_id": item}),
                          ("aspect_ratings", {"user_id": user, "item_id": item,
                                              "aspects": ["clean"]})][n]
            return AIMessage("", tool_calls=[{"name": name, "args": args, "id": f"call-{n}"}])
        return AIMessage("Here is what the tools said.")

    agent = build_agent(world.context, llm=ScriptedChatModel(script=script))
    events = list(agent.stream("Would I like it, and is it clean?", conversation_id="tc",
                               user_id=user, item_id=item))
    assert _shape(events) == [("plan", ("predict_rating",)), ("tool", "predict_rating", 0),
                              ("phase", "writing"),
                              ("plan", ("aspect_ratings",)), ("tool", "aspect_ratings", 1),
                              ("phase", "writing"), ("phase", "verifying"), ("turn",)]
    plan, turn = events[0], events[-1].turn
    assert plan.intent is None and plan.calls[0].args == {"user_id": user, "item_id": item}
    assert turn.planner == "tool-calling"
    assert [e.record for e in events if isinstance(e, ToolEvent)] == turn.tool_calls
    # What the person saw, without the model's tool requests or the tool results.
    assert agent.transcript("tc") == [("user", "Would I like it, and is it clean?"),
                                      ("assistant", turn.answer)]


def test_each_tool_result_arrives_before_the_next_tool_runs(world, embedder, pair):
    """A front end can finish the first step while the second is still running.

    The review index blocks until the test has seen the first tool's result; were results
    only sent when all tools are done, the gate would time out.
    """
    import threading
    from dataclasses import replace as replace_context

    user, item = pair
    first_seen, waits = threading.Event(), []

    class GatedIndex:
        def __init__(self, index):
            self.index = index

        def __getattr__(self, name):
            waits.append(first_seen.wait(timeout=5))
            return getattr(self.index, name)

    context = replace_context(world.context, index=GatedIndex(world.context.index))
    agent = build_agent(context, llm="none", embedder=embedder)
    stream = agent.stream("Why would I like it?", conversation_id="gated", user_id=user,
                          item_id=item)
    first_tool = next(e for e in stream if isinstance(e, ToolEvent))
    assert first_tool.record.name == "aspect_ratings"
    first_seen.set()
    rest = list(stream)
    assert [e.record.name for e in rest if isinstance(e, ToolEvent)] == [
        "user_history", "similar_reviews", "similar_reviews"]
    assert waits and all(waits)  # the index was reached only after the first result was out
    assert isinstance(rest[-1], TurnEvent)
