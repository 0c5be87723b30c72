"""The two systems that explain a recommendation, behind one small protocol.

An `Explainer` answers "would user U like item I, and why?" with an `Explanation`: the text
and what the metrics need beside it (the rating it rests on, the predicted aspect ratings,
cited review ids, the grounding check's counts, the latency). The evaluation runner and the
UI's compare tab both use it, so the tab shows exactly what the evaluation measures; the
runner only knows this protocol, so it is tested end to end with fakes and any new system
plugs in the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from elixir_agent.tools.artifacts import parse_artifact
from elixir_agent.tools.aspect_ratings import AspectRatingsArtifact
from elixir_agent.tools.predict_rating import PredictRatingArtifact
from elixir_agent.tools.user_history import UserHistoryArtifact
from elixir_agent.tools.user_profile import UserProfileArtifact

__all__ = [
    "QUESTION",
    "QUESTION_KINDS",
    "AgentExplainer",
    "CoreExplainer",
    "Explainer",
    "Explanation",
    "GroundingCounts",
]

# kind -> the question asked; the user and item travel as structured context, never only in
# the text, so ids with spaces or odd characters work.
QUESTION_KINDS: dict[str, str] = {
    "why": "Would I like it, and why?",
    "rating": "What would I rate it?",
    "aspects": "How does it do on each aspect for me?",
    "compare": "Compare it with {other_name}.",
    "what_matters": "Which aspect matters most to me?",
}
QUESTION = QUESTION_KINDS["why"]


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
    """The agent, asked one kind of question (`QUESTION_KINDS`) in a fresh conversation per pair.

    `ask(question, conversation_id, user_id=..., item_id=...)` returns the agent's turn
    (`elixir_agent.agent.turn.Turn` or anything with `answer`, `tool_calls`,
    `cited_review_ids`, `verification`, `evidence`); the user and the item go in as the
    conversation's context, not only inside the question, so any id works. The rating and
    aspect ratings are read from the turn's evidence (the typed rating artifacts); when the
    agent did not look them up, `fallback` (the core recommender) supplies them so that
    rating-text consistency is judged on the same numbers. A "compare" question needs
    `other_item(user, item) -> (item id, name)`, the item to compare with.
    """

    def __init__(self, ask: Callable[..., Any], fallback: Any | None = None,
                 question: str | None = None, conversation_prefix: str = "eval", *,
                 kind: str = "why", other_item: Callable[[str, str], tuple[str, str]] | None = None,
                 item_name: Callable[[str], str] | None = None):
        if kind not in QUESTION_KINDS:
            raise ValueError(f"unknown question kind {kind!r}; known: {', '.join(QUESTION_KINDS)}")
        if kind == "compare" and other_item is None:
            raise ValueError("a compare question needs other_item(user, item)")
        self.ask = ask
        self.fallback = fallback
        self.question = question or QUESTION_KINDS[kind]
        self.conversation_prefix = conversation_prefix
        self.kind = kind
        self.name = "agent" if kind == "why" else f"agent:{kind}"
        self.other_item = other_item
        self.item_name = item_name or (lambda item: item)

    def explain(self, user_id: str, item_id: str) -> Explanation:
        extra: dict[str, Any] = {"kind": self.kind}
        format_args = {"user": user_id, "item": item_id}
        if self.other_item is not None and self.kind == "compare":
            other, other_name = self.other_item(user_id, item_id)
            format_args["other_name"] = other_name
            extra["compared"] = [self.item_name(item_id), other_name]
            extra["compared_ids"] = [item_id, other]
        question = self.question.format(**format_args)
        start = time.perf_counter()
        turn = self.ask(question, f"{self.conversation_prefix}:{self.kind}:{user_id}:{item_id}",
                        user_id=user_id, item_id=item_id)
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
        if self.kind == "what_matters":
            extra["top_aspect"] = _top_aspect(turn.evidence, self.fallback, user_id, item_id)
        return Explanation(
            text=turn.answer, rating=rating, aspect_ratings=aspects,
            cited_ids=list(turn.cited_review_ids), grounding=counts, latency=latency,
            extra={**extra, "question": question, "tools": [c.name for c in turn.tool_calls],
                   "action": v.action, "planner": getattr(turn, "planner", None)},
        )


def _models(evidence: list[dict[str, Any]]) -> list[Any]:
    return [m for m in (parse_artifact(a) for a in evidence) if m is not None]


def _ratings_from_evidence(evidence: list[dict[str, Any]]) -> tuple[float | None, dict[str, float]]:
    rating: float | None = None
    aspects: dict[str, float] = {}
    for model in _models(evidence):
        if isinstance(model, (PredictRatingArtifact, AspectRatingsArtifact)) and rating is None:
            rating = float(model.rating)
        if isinstance(model, UserHistoryArtifact) and rating is None and model.predicted_rating:
            rating = float(model.predicted_rating)
        if isinstance(model, AspectRatingsArtifact):
            aspects.update({a: float(row.rating) for a, row in model.aspects.items()})
    return rating, aspects


def _top_aspect(evidence: list[dict[str, Any]], fallback: Any, user_id: str, item_id: str) -> str | None:
    """The aspect a 'what matters most to me?' answer must name: the top of the weights the
    tools say should be stated (the user's, or the prior's when the user's are unknown)."""
    for model in _models(evidence):
        if isinstance(model, (UserProfileArtifact, AspectRatingsArtifact)) and model.importance:
            return model.importance.top()
    if fallback is None:
        return None
    weights = fallback.predict(user_id, item_id).user_importance
    return max(weights, key=weights.get)
