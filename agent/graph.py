"""`build_agent`: the LangGraph graph shared by the CLI, the UI and the evaluation harness.

Two planners over the same tools, memory and grounding::

    routed:        start -> understand -> act -> write -> verify -> END
    tool-calling:  start -> call_model <-> tools -> verify -> END

`verify` checks the draft against the evidence, asks the LLM to revise once if it fails and
otherwise replaces it with the deterministic composer; the result is part of the turn.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph

from elixir_agent.agent import grounding
from elixir_agent.agent.compose import compose, error_text
from elixir_agent.agent.llm import ChatModelWriter, Writer, load_prompt, resolve_llm
from elixir_agent.agent.nlu import QuestionParser, load_or_train
from elixir_agent.agent.routed import after_turn, plan_turn
from elixir_agent.agent.state import TURN_FIELDS, AgentState
from elixir_agent.agent.streaming import AgentEvent, stream_turn
from elixir_agent.agent.turn import Turn, Verification
from elixir_agent.agent.writing import Drafter, default_drafting
from elixir_agent.tools._common import REVIEW_FENCE, REVIEW_FENCE_END
from elixir_agent.tools.context import ToolContext
from elixir_agent.tools.registry import load_tools

__all__ = ["ElixirAgent", "build_agent"]



class ElixirAgent:
    """A compiled graph plus `ask()`, which runs one turn and returns a `Turn`, and `stream()`,
    which yields the turn's steps as they happen (see `elixir_agent.agent.streaming`)."""

    def __init__(self, graph, planner: str):
        self.graph = graph
        self.planner = planner

    def ask(self, message: str, *, conversation_id: str | None = None,
            user_id: str | None = None, item_id: str | None = None) -> Turn:
        *_, last = self.stream(message, conversation_id=conversation_id, user_id=user_id,
                               item_id=item_id)
        return last.turn  # stream() always ends with the TurnEvent

    def stream(self, message: str, *, conversation_id: str | None = None,
               user_id: str | None = None, item_id: str | None = None) -> Iterator[AgentEvent]:
        """Run one turn, yielding plan, tool and phase events; the last one is a `TurnEvent`.

        `user_id` / `item_id` set the conversation's active user and item before the turn.
        """
        conversation_id = conversation_id or uuid.uuid4().hex
        update: dict[str, Any] = {"messages": [HumanMessage(message)], "question": message,
                                  **TURN_FIELDS}
        if user_id:
            update["active_user"] = user_id
        if item_id:
            update["active_item"] = item_id
        return stream_turn(self.graph, update, {"configurable": {"thread_id": conversation_id}},
                           question=message, conversation_id=conversation_id,
                           planner=self.planner)

    def memory(self, conversation_id: str) -> dict[str, Any]:
        """The remembered state of a conversation (empty if it never happened)."""
        snapshot = self.graph.get_state({"configurable": {"thread_id": conversation_id}})
        return dict(snapshot.values)

    def transcript(self, conversation_id: str) -> list[tuple[str, str]]:
        """The conversation as ("user", question) and ("assistant", answer) pairs, oldest first.

        Only what the person saw: the model's tool requests and the tool results are left out.
        """
        said = []
        for message in self.memory(conversation_id).get("messages") or []:
            if isinstance(message, HumanMessage):
                said.append(("user", message.text))
            elif isinstance(message, AIMessage) and not message.tool_calls and message.text:
                said.append(("assistant", message.text))
        return said


def build_agent(context: ToolContext, llm: Any = "none", checkpointer: BaseCheckpointSaver |
                None = None, *, planner: str | None = None, embedder: Any = None,
                parser: QuestionParser | None = None, tools: dict[str, BaseTool] | None = None,
                max_tool_steps: int = 6, max_tokens: int = 160,
                drafting: str | None = None) -> ElixirAgent:
    """Build the agent.

    `llm`: "none" (composer only), "local" (SmolLM2 via llama-cpp), "provider:model", a chat
    model or a `Writer`. `planner`: "routed" or "tool-calling"; by default tool-calling for a
    chat model and routed otherwise. The routed planner reads messages with `parser`, by
    default the cached intent classifier (trained once if missing, see `agent.nlu`) over this
    context's catalog; `embedder` is kept for callers that share one. Without a checkpointer,
    memory lives in this process only.
    """
    model = resolve_llm(llm)
    planner = planner or ("tool-calling" if isinstance(model, BaseChatModel) else "routed")
    tools = tools if tools is not None else load_tools(context)
    if planner == "tool-calling" and not isinstance(model, BaseChatModel):
        raise ValueError("the tool-calling planner needs a chat model with tool support "
                         "(--llm provider:model); use planner='routed' otherwise")
    if planner not in ("routed", "tool-calling"):
        raise ValueError(f"planner {planner!r}: expected 'routed' or 'tool-calling'")
    writer: Writer | None = ChatModelWriter(model) if isinstance(model, BaseChatModel) else model
    if drafting == "lead" and planner == "tool-calling":
        raise ValueError("drafting='lead' is for the routed planner; a tool-calling model "
                         "writes its whole answer")
    drafter = None if writer is None else Drafter(
        writer, drafting or ("full" if planner == "tool-calling" else default_drafting(writer)),
        max_tokens)
    nodes = _Nodes(context, tools, writer, drafter)

    graph = StateGraph(AgentState)
    if planner == "routed":
        if parser is None:
            parser = QuestionParser(load_or_train(None, progress=_progress), context.catalog,
                                    context.aspects)
        nodes.parser = parser
        graph.add_node("understand", nodes.understand)
        graph.add_node("act", nodes.act)
        graph.add_node("write", nodes.write)
        graph.add_edge(START, "understand")
        graph.add_edge("understand", "act")
        graph.add_edge("act", "write")
        graph.add_edge("write", "verify")
    else:
        nodes.chat = model.bind_tools(list(tools.values()))
        nodes.max_tool_steps = max_tool_steps
        graph.add_node("call_model", nodes.call_model)
        graph.add_node("tools", nodes.run_tool_calls)
        graph.add_edge(START, "call_model")
        graph.add_conditional_edges("call_model", nodes.route_after_model,
                                    {"tools": "tools", "verify": "verify"})
        graph.add_edge("tools", "call_model")
    graph.add_node("verify", nodes.verify)
    graph.add_edge("verify", END)
    from langgraph.checkpoint.memory import InMemorySaver

    return ElixirAgent(graph.compile(checkpointer=checkpointer or InMemorySaver()), planner)


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class _Nodes:
    """The graph's node functions; they share the tools, the writer and the context."""

    def __init__(self, context: ToolContext, tools: dict[str, BaseTool], writer: Writer | None,
                 drafter: Drafter | None):
        self.context, self.tools, self.writer, self.drafter = context, tools, writer, drafter
        self.parser: QuestionParser | None = None
        self.chat = None
        self.max_tool_steps = 6

    # -- routed ---------------------------------------------------------------------------

    def understand(self, state: AgentState) -> dict:
        return plan_turn(state["question"], state, self.parser, self.tools)

    def act(self, state: AgentState) -> dict:
        # Each result goes out as soon as it is back (stream mode "custom"), so a front end
        # can finish that step while the next tool still runs.
        emit = get_stream_writer()
        records = []
        for k, call in enumerate(state.get("plan") or []):
            records.append(self._run(call["name"], call["args"]) | (
                {"intent": call["intent"]} if call.get("intent") else {}))
            emit({"tool_record": records[-1], "index": k})
        return {"records": records}

    def write(self, state: AgentState) -> dict:
        records = state.get("records") or []
        if self.drafter is None or not records:
            return {"draft": self._compose(state)}
        return {"draft": self.drafter.draft(state["question"], records,
                                            state.get("preferences") or [], state.get("intent"))}

    # -- tool-calling ---------------------------------------------------------------------

    def call_model(self, state: AgentState) -> dict:
        item = state.get("active_item")
        system = load_prompt(
            "tool_calling", user=state.get("active_user") or "unknown (ask for a user id)",
            item=f"{self.context.catalog.item_name(item)} ({item})" if item else "none yet",
            preferences=", ".join(state.get("preferences") or []) or "none")
        reply = self.chat.invoke([SystemMessage(system), *state["messages"]])
        if reply.tool_calls and state.get("tool_steps", 0) < self.max_tool_steps:
            return {"messages": [reply]}
        return {"draft": _content(reply.content)}

    @staticmethod
    def route_after_model(state: AgentState) -> str:
        last = state["messages"][-1]
        return "tools" if isinstance(last, AIMessage) and last.tool_calls else "verify"

    def run_tool_calls(self, state: AgentState) -> dict:
        calls = state["messages"][-1].tool_calls
        records, messages = list(state.get("records") or []), []
        for call in calls:
            record = self._run(call["name"], call["args"])
            records.append(record)
            messages.append(ToolMessage(record["content"], tool_call_id=call["id"],
                                        name=call["name"], status=record["status"]))
        memory = after_turn({**state, "records": records})
        memory.pop("pending_intent", None)
        return {"records": records, "messages": messages,
                "tool_steps": state.get("tool_steps", 0) + 1, **memory}

    # -- shared ---------------------------------------------------------------------------

    def _run(self, name: str, args: dict) -> dict:
        start = time.perf_counter()
        tool = self.tools.get(name)
        if tool is None:
            content, artifact, status = (f"There is no tool named {name!r}; available: "
                                         f"{', '.join(self.tools)}."), None, "error"
        else:
            message = tool.invoke({"type": "tool_call", "id": uuid.uuid4().hex, "name": name,
                                   "args": args})
            content, artifact, status = message.content, message.artifact, message.status
        return {"name": name, "args": dict(args), "content": content, "artifact": artifact,
                "status": status, "seconds": round(time.perf_counter() - start, 4)}

    def _compose(self, state: AgentState) -> str:
        body = compose(state.get("records") or [], preferences=state.get("preferences") or [],
                       intent=state.get("intent"), intents=state.get("intents"))
        return "\n\n".join(p for p in (state.get("preface") or "", body) if p)

    def verify(self, state: AgentState) -> dict:
        records = state.get("records") or []
        evidence = grounding.Evidence.from_artifacts(
            [r["artifact"] for r in records if r["status"] == "success" and r["artifact"]],
            # Error messages (unknown id + close matches) may be repeated as they are.
            # The planner's own preface ("did you mean Harbor Inn 9 (h0009)?") names catalog facts.
            extra_strings=[s for s in (state.get("active_user"), state.get("active_item"),
                                       state.get("preface")) if s]
            + [error_text(r["content"]) for r in records if r["status"] != "success"])
        question, preface = state["question"], state.get("preface") or ""
        preferences, intent = state.get("preferences") or [], state.get("intent")

        def review(draft: str) -> tuple[str, grounding.CheckResult, list[str]]:
            answer = draft
            if self.writer is not None and preface and not draft.startswith(preface):
                answer = f"{preface}\n\n{draft}" if draft else preface
            result = grounding.check(answer, evidence, question=question)
            problems = self._problems(draft, answer, result, records, question, preferences,
                                      intent)
            return answer, result, problems

        draft = state.get("draft") or ""
        answer, result, problems = review(draft)
        draft_ok, action = not problems, "accepted"
        if problems and self.drafter is not None and records:
            draft = self.drafter.revise(draft, problems, question, records, preferences, intent)
            (answer, result, problems), action = review(draft), "revised"
        if problems:
            answer, action = self._compose(state), "replaced"
            result = grounding.check(answer, evidence, question=question)
        verification = Verification(
            ok=result.ok, action=action, checked_numbers=result.checked_numbers,
            unsupported_numbers=result.unsupported_numbers, cited_ids=result.cited_ids,
            unknown_ids=result.unknown_ids, draft_ok=draft_ok)
        update = {"answer": answer, "verification": verification.__dict__,
                  "messages": [AIMessage(answer)]}
        return update | after_turn({**state, "records": records})

    def _problems(self, draft: str, answer: str, result: grounding.CheckResult,
                  records: list[dict], question: str, preferences: list[str],
                  intent: str | None) -> list[str]:
        """Why an answer cannot stand: ungrounded numbers or ids, and for LLM drafts, gaps."""
        problems = [f"- the number {n} is not in the evidence" for n in result.unsupported_numbers]
        problems += [f"- [{i}] is not a review id in the evidence" for i in result.unknown_ids]
        if not answer.strip():
            problems.append("- the answer was empty")
        if self.writer is not None:
            problems += _gaps(records, result) + _echoes(answer)
        if self.drafter is not None and records:
            problems += self.drafter.problems(draft, question, records, preferences, intent)
        return problems


def _gaps(records: list[dict], result: grounding.CheckResult) -> list[str]:
    """What a grounded answer must not leave out, given the tools that ran.

    A draft with no wrong number can still be empty of content ("the evidence is that the user
    liked it"); small local models write such drafts. When the tools predicted ratings the
    answer must state one, and when they retrieved reviews it must cite one.
    """
    ran = {r["name"] for r in records if r["status"] == "success"}
    gaps = []
    if ran & _RATING_TOOLS and not result.checked_numbers:
        gaps.append("- the answer states none of the predicted ratings from the evidence")
    if "similar_reviews" in ran and not result.cited_ids:
        gaps.append("- the answer cites no review: cite at least one as [review id]")
    return gaps


_RATING_TOOLS = {"predict_rating", "aspect_ratings", "compare_items"}
# Pieces of the prompts and tool outputs a small model copies into its answer instead of
# answering: they are never part of a good answer, and a fence means raw review text.
_SCAFFOLDING = (REVIEW_FENCE, REVIEW_FENCE_END, "[tool ", "Evidence from the tools",
                "Rewrite it", "Previous answer:", "Question:")


def _echoes(answer: str) -> list[str]:
    found = [s for s in _SCAFFOLDING if s.lower() in answer.lower()]
    return [f"- the answer copies the prompt ({', '.join(repr(s) for s in found)}) instead of "
            "answering in your own words"] if found else []


def _content(content: Any) -> str:
    if isinstance(content, str):
        return content.strip()
    return "".join(c.get("text", "") if isinstance(c, dict) else str(c) for c in content).strip()
