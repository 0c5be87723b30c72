"""recommend_items: a user's top-k unseen items by the core's learned ranking, each with why.

Candidates come from the core's `rank()` (the learned ranking when the run has one, else
predicted rating). They are re-ordered by the aspects asked for, pulled towards a named item
for "something like X", and spread out by maximal marginal relevance (MMR) so the list is
not five near-copies. Item similarity is the cosine of the items' co-review vectors (who
reviewed them), averaged with the core's own item vectors when the core offers them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from elixir_agent.tools._common import (
    make_tool,
    r4,
    resolve_aspects,
    resolve_item,
    resolve_user,
    score,
)
from elixir_agent.tools.arguments import UserId
from elixir_agent.tools.artifacts import Count, Counted, Name, Record, Share, ToolArtifact, Value
from elixir_agent.tools.context import ToolContext

NAME = "recommend_items"
DESCRIPTION = (
    "Recommend items a user has not reviewed yet, best for this user first, each with why: "
    "the aspects this user weighs that the item is predicted strong on, and the item the user "
    "already liked that it is closest to. Give `aspects` (e.g. ['taste'] or ['location', "
    "'value']) to favour items predicted good on those aspects; give `like_item` (an item id "
    "or name) for 'something like X'. Use it for 'what should I try next?', 'find me a clean "
    "hotel', 'anything like Chimay Bleue?'."
)
_ASPECT_WEIGHT = 0.5  # requested aspects against the personal ranking when re-ordering
_LIKE_WEIGHT = 0.6  # closeness to the named item against the personal ranking
_POOL = 50  # candidates taken from the core's ranking before re-ordering
_LIKE_POOL = 30  # items nearest the named item considered for "something like X"
_STRONG = 3.5  # a predicted aspect rating at or above this is "strong" (1-5 scale)


class LikedItem(Record):
    item_id: Name
    item_name: Name
    similarity: Share


class RecommendedItem(Record):
    rank: Count
    item_id: Name
    item_name: Name
    rating: Value
    aspect_ratings: dict[str, Value]
    rank_score: Value | None = None  # the learned ranking's score (None: rating order)
    why_aspects: dict[str, Value]  # aspects this user weighs that the item is strong on
    similar_liked_item: LikedItem | None = None  # the closest item the user already liked


class RecommendItemsArtifact(ToolArtifact):
    TOOL = NAME
    user_id: Name
    k: Count
    aspects: list[str]
    like_item: Name | None = None
    diversity: Share
    items: Counted[list[RecommendedItem]]


class RecommendItemsArgs(BaseModel):
    user_id: UserId
    k: int = Field(default=5, ge=1, le=20, description="How many items to recommend.")
    aspects: list[str] | None = Field(
        default=None, description="Aspects the items should be good at; empty for none.")
    like_item: str | None = Field(
        default=None, description="An item id or name: recommend items like this one "
                                  "('something like X'); empty for none.")
    diversity: float = Field(
        default=0.3, ge=0.0, le=1.0,
        description="How much to avoid recommending near-duplicates of one another: 0 = pure "
                    "ranking order, 1 = as varied as possible. The default 0.3 suits most asks.")


@dataclass(frozen=True)
class RecommendItems:
    ctx: ToolContext

    def __call__(self, user_id: str, k: int = 5, aspects: list[str] | None = None,
                 like_item: str | None = None, diversity: float = 0.3) -> tuple[str, dict]:
        user_id = resolve_user(self.ctx, user_id)
        wanted = resolve_aspects(self.ctx, aspects) if aspects else []
        like = resolve_item(self.ctx, like_item) if like_item else None
        co_review = _co_review_vectors(self.ctx)
        seen = {item for item, _ in self.ctx.catalog.users[user_id].history} \
            if user_id in self.ctx.catalog.users else set()
        candidates = None
        if like is not None:
            others = [i for i in self.ctx.catalog.items if i != like and i not in seen]
            near = _similarity(self.ctx, co_review, [like], others)[0]
            candidates = [others[n] for n in np.argsort(-near, kind="stable")[:_LIKE_POOL]]
        pool = self.ctx.recommender.rank(user_id, candidates, max(k, _POOL), exclude_seen=True)
        if not pool:
            return (f"User {user_id} has reviewed every item I know; nothing left to recommend.",
                    _artifact(user_id, k, wanted, like, diversity, []))
        relevance = _relevance(pool, wanted)
        ids = [p.item_id for p in pool]
        if like is not None:
            closeness = _similarity(self.ctx, co_review, [like], ids)[0]
            relevance = (1 - _LIKE_WEIGHT) * relevance + _LIKE_WEIGHT * _unit(closeness)
        similarity = _similarity(self.ctx, co_review, ids, ids)
        chosen = _mmr(relevance, similarity, k, diversity)
        liked = _liked_items(self.ctx, user_id)
        items = [self._entry(n, pool[c], wanted, liked, co_review)
                 for n, c in enumerate(chosen, start=1)]
        return (_text(user_id, wanted, like and self.ctx.catalog.item_name(like), items),
                _artifact(user_id, k, wanted, like, diversity, items))

    def _entry(self, rank: int, prediction, wanted: list[str], liked: list[str],
               co_review) -> dict:
        item_id = prediction.item_id
        weighs = _weighed_aspects(prediction)
        strong = [a for a in weighs if prediction.aspect_ratings[a] >= _STRONG]
        closest = None
        if liked:
            sims = _similarity(self.ctx, co_review, [item_id], liked)[0]
            best = int(np.argmax(sims))
            closest = {"item_id": liked[best], "item_name": self.ctx.catalog.item_name(liked[best]),
                       "similarity": r4(sims[best])}
        rank_score = getattr(prediction, "rank_score", None)
        return {"rank": rank, "item_id": item_id, "item_name": self.ctx.catalog.item_name(item_id),
                "rating": r4(prediction.rating),
                "aspect_ratings": {a: r4(prediction.aspect_ratings[a]) for a in wanted},
                "rank_score": None if rank_score is None else r4(rank_score),
                "why_aspects": {a: r4(prediction.aspect_ratings[a]) for a in strong},
                "similar_liked_item": closest}


def _artifact(user_id, k, wanted, like, diversity, items) -> dict:
    return RecommendItemsArtifact.build(user_id=user_id, k=k, aspects=wanted, like_item=like,
                                        diversity=diversity, items=items)


def _text(user_id: str, wanted: list[str], like_name: str | None, items: list[dict]) -> str:
    focus = f", favouring {', '.join(wanted)}" if wanted else ""
    near = f", like {like_name}" if like_name else ""
    lines = [f"Top {len(items)} items for user {user_id} not reviewed yet{near}{focus}:"]
    for it in items:
        extra = "".join(f"; {a} {score(v)}" for a, v in it["aspect_ratings"].items())
        reasons = []
        if it["why_aspects"]:
            reasons.append("strong on what this user weighs most: " + ", ".join(
                f"{a} {score(v)}" for a, v in it["why_aspects"].items()))
        if it["similar_liked_item"]:
            close = it["similar_liked_item"]
            reasons.append(f"closest to {close['item_name']} ({close['item_id']}), which this "
                           "user liked")
        why = f". Why: {'; '.join(reasons)}" if reasons else ""
        lines.append(f"{it['rank']}. {it['item_name']} ({it['item_id']}): predicted "
                     f"{score(it['rating'])}{extra}{why}")
    return "\n".join(lines)


def _unit(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    span = values.max() - values.min()
    return (values - values.min()) / span if span > 0 else np.zeros_like(values)


def _relevance(pool, wanted: list[str]) -> np.ndarray:
    """0-1 personal relevance: the core's rank order (or rating), tilted to wanted aspects."""
    ranked = [getattr(p, "rank_score", None) for p in pool]
    base = _unit(np.array(ranked if None not in ranked else [p.rating for p in pool]))
    if not wanted:
        return base
    focus = _unit(np.array([np.mean([p.aspect_ratings[a] for a in wanted]) for p in pool]))
    rating = _unit(np.array([p.rating for p in pool]))
    return (1 - _ASPECT_WEIGHT) * (base + rating) / 2 + _ASPECT_WEIGHT * focus


def _mmr(relevance: np.ndarray, similarity: np.ndarray, k: int, diversity: float) -> list[int]:
    """Maximal marginal relevance (Carbonell & Goldstein 1998): each next pick trades its
    relevance against its closeness to what is already picked."""
    chosen: list[int] = []
    left = list(range(len(relevance)))
    while left and len(chosen) < k:
        def gain(c: int) -> float:
            redundancy = max((similarity[c, s] for s in chosen), default=0.0)
            return (1 - diversity) * relevance[c] - diversity * redundancy

        best = max(left, key=lambda c: (gain(c), -c))
        chosen.append(best)
        left.remove(best)
    return chosen


def _weighed_aspects(prediction) -> list[str]:
    """The aspects this user weighs above an even share, heaviest first (at most two)."""
    weights = prediction.user_importance
    even = 1.0 / max(len(weights), 1)
    heavy = sorted((a for a, w in weights.items() if w > even), key=lambda a: -weights[a])
    return heavy[:2]


def _liked_items(ctx: ToolContext, user_id: str) -> list[str]:
    """Items the user rated at or above their own mean."""
    stats = ctx.catalog.users.get(user_id)
    if stats is None:
        return []
    return [item for item, rating in stats.history if rating >= stats.mean_rating]


def _co_review_vectors(ctx: ToolContext) -> dict[str, set[str]]:
    reviewers: dict[str, set[str]] = defaultdict(set)
    for user_id, stats in ctx.catalog.users.items():
        for item, _ in stats.history:
            reviewers[item].add(user_id)
    return reviewers


def _similarity(ctx: ToolContext, reviewers: dict[str, set[str]], items: list[str],
                others: list[str]) -> np.ndarray:
    """(len(items), len(others)) cosine of co-review sets, averaged with the core's vectors."""
    out = np.zeros((len(items), len(others)))
    for a, x in enumerate(items):
        rx = reviewers.get(x, set())
        for b, y in enumerate(others):
            ry = reviewers.get(y, set())
            if rx and ry:
                out[a, b] = len(rx & ry) / np.sqrt(len(rx) * len(ry))
    core = getattr(ctx.recommender, "item_similarity", None)
    if core is not None:
        out = 0.5 * out + 0.5 * np.asarray(core(items, others))
    return out


def make(ctx: ToolContext) -> BaseTool:
    return make_tool(NAME, DESCRIPTION, RecommendItemsArgs, RecommendItems(ctx),
                     intents=("recommend", "similar_items"))
