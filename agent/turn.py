"""What one turn of the conversation returns: the answer and everything it rests on."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["ToolCallRecord", "Turn", "Verification"]


@dataclass(frozen=True)
class ToolCallRecord:
    """One tool call: what was asked, what came back (text and artifact) and how long it took."""

    name: str
    args: dict[str, Any]
    content: str
    artifact: dict[str, Any] | None
    status: str  # "success" or "error" (an error's content is the message the LLM read)
    seconds: float
    intent: str | None = None  # the intent the planner made this call for, if it said

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToolCallRecord:
        return cls(**data)


@dataclass(frozen=True)
class Verification:
    """The grounding check of the final answer.

    `action` says what happened to the first draft: "accepted", "revised" (the LLM rewrote it
    once and the rewrite passed) or "replaced" (by the deterministic grounded composer).
    """

    ok: bool
    action: str
    checked_numbers: list[str] = field(default_factory=list)
    unsupported_numbers: list[str] = field(default_factory=list)
    cited_ids: list[str] = field(default_factory=list)
    unknown_ids: list[str] = field(default_factory=list)
    draft_ok: bool = True  # whether the first draft passed before any revision

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verification:
        return cls(**data)


@dataclass(frozen=True)
class Turn:
    conversation_id: str
    question: str
    answer: str
    intent: str | None  # the routed planner's intent; None for the tool-calling planner
    planner: str
    tool_calls: list[ToolCallRecord]
    verification: Verification
    cited_review_ids: list[str]
    active_user: str | None
    active_item: str | None
    seconds: float

    @property
    def evidence(self) -> list[dict[str, Any]]:
        """The artifacts of the successful tool calls: what the answer may state."""
        return [c.artifact for c in self.tool_calls if c.status == "success" and c.artifact]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["evidence"] = self.evidence
        return data
