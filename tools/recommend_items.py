"""recommend_items: top-k items a user has not reviewed, optionally favouring some aspects."""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from elixir_agent.tools._common import make_tool, r4, resolve_aspects, resolve_user, score
from elixir_agent.tools.artifacts import Count, Counted, Name, Record, ToolArtifact, Value
from elixir_agent.tools.context import ToolContext

NAME = "recommend_items"
DESCRIPTION = (
    "Recommend items a user has not reviewed yet, best first, with the predicted rating of "
    "each. Give `aspects` (e.g. ['taste'] or ['location', 'value']) to favour items predicted "
    "to be good on those aspects. Use it for 'what should I try next?', 'find me a clean hotel'."
)
# How much the requested aspects weigh against the overall rating when re-ranking.
_ASPECT_WEIGHT = 0.5
_POOL = 50  # candidates taken from the core's ranking before re-ranking by aspects


class RecommendedItem(Record):
    rank: Count
    item_id: Name
    item_name: Name
    rating: Value
    aspect_ratings: dict[str, Value]


class RecommendItemsArtifact(ToolArtifact):
    TOOL = NAME
    user_id: Name
    k: Count
    aspects: list[str]
    items: Counted[list[RecommendedItem]]


class RecommendItemsArgs(BaseModel):
    user_id: str = Field(description="The user's id, e.g. 'u0001'.")
    k: int = Field(default=5, ge=1, le=20, description="How many items to recommend.")
    aspects: list[str] | None = Field(
        default=None, description="Aspects the items should be good at; empty for none.")


@dataclass(frozen=True)
class RecommendItems:
    ctx: ToolContext

    def __call__(self, user_id: str, k: int = 5,
                 aspects: list[str] | None = None) -> tuple[str, dict]:
        user_id = resolve_user(self.ctx, user_id)
        wanted = resolve_aspects(self.ctx, aspects) if aspects else []
        pool = self.ctx.recommender.rank(user_id, None, max(k, _POOL) if wanted else k,
                                         exclude_seen=True)

        def key(p) -> float:
            if not wanted:
                return p.rating
            focus = sum(p.aspect_ratings[a] for a in wanted) / len(wanted)
            return (1 - _ASPECT_WEIGHT) * p.rating + _ASPECT_WEIGHT * focus

        top = sorted(pool, key=key, reverse=True)[:k]
        items = [{"rank": n, "item_id": p.item_id,
                  "item_name": self.ctx.catalog.item_name(p.item_id), "rating": r4(p.rating),
                  "aspect_ratings": {a: r4(p.aspect_ratings[a]) for a in wanted}}
                 for n, p in enumerate(top, start=1)]
        focus = f", favouring {', '.join(wanted)}" if wanted else ""
        lines = [f"Top {len(items)} items for user {user_id} not reviewed yet{focus}:"]
        for it in items:
            extra = "".join(f"; {a} {score(v)}" for a, v in it["aspect_ratings"].items())
            lines.append(f"{it['rank']}. {it['item_name']} ({it['item_id']}): predicted "
                         f"{score(it['rating'])}{extra}")
        return "\n".join(lines), RecommendItemsArtifact.build(user_id=user_id, k=k,
                                                               aspects=wanted, items=items)


def make(ctx: ToolContext) -> BaseTool:
    return make_tool(NAME, DESCRIPTION, RecommendItemsArgs, RecommendItems(ctx),
                     intents=("recommend", "similar_items"))
