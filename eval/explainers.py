"""The two systems under evaluation behind one small protocol.

An `Explainer` answers "would user U like item I, and why?" with an `Explanation`: the text
and what the metrics need beside it (the rating it rests on, the predicted aspect ratings,
cited review ids, the grounding check's counts, the latency). The runner only knows this
protocol, so it is tested end to end with fakes and any new system plugs in the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

__all__ = [
    "QUESTION",
    "AgentExplainer",
    "CoreExplainer",
    "Explainer",
    "Explanation",
    "GroundingCounts",
]

QUESTION = "Would user {user} like item {item}, and why?"


@dataclass(frozen=True)
class GroundingCounts:
    """What the verifier checked in one answer: numbers and cited review ids, and how many held."""

    numbers: int
    numbers_supported: int
    cited: int
    cited_known: int
    ok: bool

    @property
    def claims(self) -> int:
        return self.numbers + self.cited

    @property
    def verified(self) -> int:
        return self.numbers_supported + self.cited_known


@dataclass(frozen=True)
class Explanation:
    text: str
    rating: float | None  # the overall rating the explanation rests on (1-5)
    aspect_ratings: dict[str, float] = field(default_factory=dict)
    cited_ids: list[str] = field(default_factory=list)
    grounding: GroundingCounts | None = None  # None: the system has no verifier
    latency: float = 0.0  # seconds
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. the agent's planner and tool names

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Explanation:
        data = dict(data)
        if data.get("grounding") is not None:
            data["grounding"] = GroundingCounts(**data["grounding"])
        return cls(**data)


class Explainer(Protocol):
    name: str

    def explain(self, user_id: str, item_id: str) -> Explanation: ...


class CoreExplainer:
    """Core-only: the ELIXIR core's generated personalised review, next to its predictions."""

    name = "core"

    def __init__(self, recommender: Any, max_new_tokens: int = 128):
        self.recommender = recommender
        self.max_new_tokens = max_new_tokens

    def explain(self, user_id: str, item_id: str) -> Explanation:
        start = time.perf_counter()
        text = self.recommender.explain(user_id, item_id, max_new_tokens=self.max_new_tokens)
        prediction = self.recommender.predict(user_id, item_id)
        return Explanation(text=text, rating=float(prediction.rating),
                           aspect_ratings={a: float(v) for a, v in prediction.aspect_ratings.items()},
                           latency=time.perf_counter() - start)


class AgentExplainer:
    """The agent, asked the evaluation question in a fresh conversation per pair.

    `ask(question, conversation_id)` returns the agent's turn (`elixir_agent.agent.turn.Turn`
    or anything with `answer`, `tool_calls`, `cited_review_ids`, `verification`, `evidence`).
    The rating and aspect ratings are read from the turn's evidence (the predict_rating and
    aspect_ratings tool artifacts); when the agent did not look them up, `fallback` (the core
    recommender) supplies them so that rating-text consistency is judged on the same numbers.
    """

    name = "agent"

    def __init__(self, ask: Callable[[str, str], Any], fallback: Any | None = None,
                 question: str = QUESTION, conversation_prefix: str = "eval"):
        self.ask = ask
        self.fallback = fallback
        self.question = question
        self.conversation_prefix = conversation_prefix

    def explain(self, user_id: str, item_id: str) -> Explanation:
        question = self.question.format(user=user_id, item=item_id)
        start = time.perf_counter()
        turn = self.ask(question, f"{self.conversation_prefix}:{user_id}:{item_id}")
        latency = time.perf_counter() - start
        rating, aspects = _ratings_from_evidence(turn.evidence)
        if (rating is None or not aspects) and self.fallback is not None:
            prediction = self.fallback.predict(user_id, item_id)
            rating = float(prediction.rating) if rating is None else rating
            aspects = aspects or {a: float(v) for a, v in prediction.aspect_ratings.items()}
        v = turn.verification
        counts = GroundingCounts(
            numbers=len(v.checked_numbers),
            numbers_supported=len(v.checked_numbers) - len(v.unsupported_numbers),
            cited=len(v.cited_ids),
            cited_known=len(v.cited_ids) - len(v.unknown_ids),
            ok=bool(v.ok),
        )
        return Explanation(
            text=turn.answer, rating=rating, aspect_ratings=aspects,
            cited_ids=list(turn.cited_review_ids), grounding=counts, latency=latency,
            extra={"tools": [c.name for c in turn.tool_calls], "action": v.action,
                   "planner": getattr(turn, "planner", None)},
        )


def _ratings_from_evidence(evidence: list[dict[str, Any]]) -> tuple[float | None, dict[str, float]]:
    rating: float | None = None
    aspects: dict[str, float] = {}
    for artifact in evidence:
        tool, value = artifact.get("tool"), artifact.get("rating")
        if tool in ("predict_rating", "aspect_ratings") and rating is None and isinstance(value, (int, float)):
            rating = float(value)
        if artifact.get("tool") == "aspect_ratings":
            for aspect, row in (artifact.get("aspects") or {}).items():
                if isinstance(row, dict) and isinstance(row.get("rating"), (int, float)):
                    aspects[aspect] = float(row["rating"])
    return rating, aspects
