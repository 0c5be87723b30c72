"""What a review search returns, in a module of its own so that code which only reads hits
(tools, fakes in tests) does not import FAISS."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ReviewHit"]


@dataclass(frozen=True)
class ReviewHit:
    """One retrieved review; `score` is the cosine similarity to the query (higher is closer)."""

    review_id: str
    user_id: str
    item_id: str
    rating: float
    text: str
    score: float
    aspects: dict[str, float] = field(default_factory=dict)  # rated aspects only, 1-5
    item_name: str | None = None
