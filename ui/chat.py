"""The chat adapter: one agent turn becomes chat messages (tool steps, then the answer).

While a turn runs, `TurnProgress` maps the agent's events to messages: each planned tool
call is a pending step until its result arrives, then a done step with its time and result;
a pending note says when the answer is being written or checked.

Each browser session holds a `Session` in `gr.State` (server-side, one per session), so two
people never share a conversation id, a transcript or an evidence panel. The agent's memory
is keyed by that conversation id; "new conversation" just draws a new one. The browser also
keeps the id in its local storage, so a reload (or a restart of an app whose memory is a
file) resumes the conversation.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import gradio as gr

from elixir_agent.agent.streaming import AgentEvent, PhaseEvent, PlanEvent, PlannedCall, ToolEvent
from elixir_agent.agent.turn import ToolCallRecord, Turn
from elixir_agent.tools.catalog import Catalog
from elixir_agent.ui.evidence import EvidenceView

__all__ = ["BACKEND_ERRORS", "Session", "TurnProgress", "as_text", "check_ids",
           "conversation_storage_key",
           "notice_message", "pending_message", "planned_step_message", "step_message", "stream_answer",
           "turn_messages"]

_RESULT_CHARS = 600  # a tool step shows the start of the result text the LLM read
_STREAM_CHUNKS = 8  # the answer appears in this many steps
_PHASE_NOTES = {"writing": "Writing the answer…", "verifying": "Checking every number…"}


def _backend_errors() -> tuple[type[BaseException], ...]:
    """Exceptions meaning "the LLM backend is not reachable", from whichever clients exist."""
    errors: list[type[BaseException]] = [ConnectionError, TimeoutError]
    for module, name in (("httpx", "TransportError"), ("openai", "APIConnectionError"),
                         ("anthropic", "APIConnectionError"), ("ollama", "ResponseError")):
        try:
            errors.append(getattr(__import__(module), name))
        except (ImportError, AttributeError):
            continue
    return tuple(errors)


BACKEND_ERRORS = _backend_errors()


@dataclass(frozen=True)
class Session:
    """One browser session's state; frozen, so each handler returns a new one."""

    conversation_id: str = ""
    messages: tuple[Any, ...] = ()  # gr.ChatMessage, user and assistant
    sent_user: str | None = None  # the picker values the agent was last told about
    sent_item: str | None = None
    evidence: EvidenceView = field(default_factory=EvidenceView)

    @classmethod
    def new(cls) -> Session:
        return cls(conversation_id=uuid.uuid4().hex)

    def ensure_id(self) -> Session:
        return self if self.conversation_id else replace(self, conversation_id=uuid.uuid4().hex)

    @classmethod
    def resumed(cls, conversation_id: str, transcript: list[tuple[str, str]],
                user: str | None, item: str | None) -> Session:
        """A remembered conversation: its ("user" | "assistant", text) transcript and pair."""
        messages = tuple(gr.ChatMessage(role=role, content=text) for role, text in transcript)
        return cls(conversation_id=conversation_id, messages=messages, sent_user=user,
                   sent_item=item)


def conversation_storage_key(catalog: Catalog) -> str:
    """The browser storage key of the conversation id: one per catalog, so an app over other
    data (on the same host and port) never resumes a conversation about users it lacks."""
    ids = "\n".join([*sorted(catalog.users), "", *sorted(catalog.items)])
    return "elixir-agent-conversation-" + hashlib.sha256(ids.encode()).hexdigest()[:16]


def check_ids(catalog: Catalog, known_user, known_item, user: str | None,
              item: str | None) -> str | None:
    """A message for the person when a picked or typed id is unknown, else None.

    `known_user` / `known_item` are the recommender's own checks: the catalog holds only
    users and items with training reviews.
    """
    problems = []
    if user and not (catalog.resolve_user(user) or known_user(user)):
        close = ", ".join(f"`{m.id}` ({m.name})" for m in catalog.suggest_users(user, 3))
        problems.append(f"Unknown user `{user}`." + (f" Did you mean {close}?" if close else ""))
    if item and not (catalog.resolve_item(item) or known_item(item)):
        close = ", ".join(f"`{m.id}` ({m.name})" for m in catalog.suggest_items(item, 3))
        problems.append(f"Unknown item `{item}`." + (f" Did you mean {close}?" if close else ""))
    return " ".join(problems) or None


def step_message(call: ToolCallRecord, index: int) -> dict[str, Any]:
    """A collapsible assistant message for one tool call: arguments, result summary, time."""
    args = json.dumps(call.args, ensure_ascii=False, sort_keys=True)
    result = call.content if len(call.content) <= _RESULT_CHARS else call.content[:_RESULT_CHARS] + " …"
    result = result.replace("```", "`\u200b``")  # review text cannot close the code block
    failed = call.status != "success"
    title = f"{'⚠️' if failed else '🔧'} {call.name}" + (" (error)" if failed else "")
    body = f"**arguments** `{args}`\n\n**result**\n```text\n{result}\n```"
    return gr.ChatMessage(role="assistant", content=body, metadata={
        "title": title, "id": f"step-{index}", "status": "done",
        "duration": round(call.seconds, 3)})


def planned_step_message(call: PlannedCall, index: int) -> Any:
    """The step of a tool call that is running: its arguments and a spinner, no result yet."""
    args = json.dumps(call.args, ensure_ascii=False, sort_keys=True)
    return gr.ChatMessage(role="assistant", content=f"**arguments** `{args}`", metadata={
        "title": f"🔧 {call.name}", "id": f"step-{index}", "status": "pending"})


class TurnProgress:
    """The chat messages of a turn while it runs, updated by each event of `ElixirAgent.stream`."""

    def __init__(self):
        self.steps: list[Any] = []  # one per tool call, in the order they were planned
        self.note: Any = pending_message()

    def update(self, event: AgentEvent) -> list[Any]:
        """Apply one event; returns the messages to show now."""
        if isinstance(event, PlanEvent):
            self.steps += [planned_step_message(call, len(self.steps) + n)
                           for n, call in enumerate(event.calls)]
            self.note = None if event.calls else self.note
        elif isinstance(event, ToolEvent):
            # Calls run in the order they were planned, so the index names the pending step.
            done = step_message(event.record, event.index)
            if event.index < len(self.steps):
                self.steps[event.index] = done
            else:
                self.steps.append(done)
        elif isinstance(event, PhaseEvent):
            self.note = pending_message(_PHASE_NOTES[event.phase])
        return self.messages()

    def messages(self) -> list[Any]:
        return [*self.steps, *([self.note] if self.note is not None else [])]


def as_text(answer: str) -> str:
    """The answer with HTML neutralised: it quotes reviews written by strangers, whose tags
    (`<img src=x>`, scripts) must show as text. Markdown (`**`, `>` quotes) still renders."""
    return answer.replace("&", "&amp;").replace("<", "&lt;")


def turn_messages(turn: Turn) -> list[Any]:
    """The tool steps of a turn followed by its answer (shown as text, never as HTML)."""
    steps = [step_message(call, n) for n, call in enumerate(turn.tool_calls)]
    return [*steps, gr.ChatMessage(role="assistant", content=as_text(turn.answer))]


def stream_answer(answer: str) -> Iterator[str]:
    """Growing prefixes of the answer, cut at word boundaries, ending with the whole text;
    each is escaped with `as_text`."""
    answer = as_text(answer)
    words = answer.split(" ")
    size = max(1, len(words) // _STREAM_CHUNKS)
    for end in range(size, len(words), size):
        yield " ".join(words[:end])
    yield answer


def pending_message(text: str = "Looking it up…") -> Any:
    return gr.ChatMessage(role="assistant", content="", metadata={
        "title": text, "id": "pending", "status": "pending"})


def notice_message(text: str) -> Any:
    """An assistant message that is a notice from the app, not from the agent."""
    return gr.ChatMessage(role="assistant", content=f"ℹ️ {text}")
