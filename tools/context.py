"""The collaborators every tool is built with, passed in rather than looked up.

Tools only need the structural protocols below, so tests hand in small fakes and the real
objects (`elixir_agent.core_model.inference.ElixirRecommender`,
`elixir_agent.retrieval.ReviewIndex`) are imported only by whoever builds the context (the
CLI, the UI, the evaluation harness): importing the tools never loads torch or FAISS.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from elixir_agent.tools.catalog import Catalog

__all__ = ["RecommenderLike", "ReviewIndexLike", "ToolContext"]


@runtime_checkable
class RecommenderLike(Protocol):
    """The part of `core_model.inference.Recommender` the tools use."""

    aspects: list[str]

    def predict(self, user_id: str, item_id: str, *, cold_start: bool = False) -> Any: ...

    def explain(self, user_id: str, item_id: str, *, max_new_tokens: int = 128) -> str: ...

    def rank(self, user_id: str, candidates: Sequence[str] | None = None, k: int = 10, *,
             exclude_seen: bool = True) -> list[Any]: ...

    def has_user(self, user_id: str) -> bool: ...

    def has_item(self, item_id: str) -> bool: ...


@runtime_checkable
class ReviewIndexLike(Protocol):
    """The part of `retrieval.ReviewIndex` the tools use; hits are `retrieval.ReviewHit`s."""

    def search(self, query: Any, k: int = 5, *, items=None, users=None, min_rating=None,
               max_rating=None, exclude_ids=None) -> list[Any]: ...

    def reviews_for_pair(self, user_id: str, item_id: str, k: int = 5) -> list[Any]: ...


@dataclass(frozen=True)
class ToolContext:
    """Everything a tool factory may use. Frozen: a tool never swaps its collaborators."""

    recommender: RecommenderLike
    index: ReviewIndexLike | None
    catalog: Catalog

    @property
    def aspects(self) -> list[str]:
        return list(self.recommender.aspects)
