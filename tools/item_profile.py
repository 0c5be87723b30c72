"""item_profile: what the data says about an item: name, review count, mean ratings."""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from elixir_agent.tools._common import make_tool, resolve_item, score
from elixir_agent.tools.artifacts import Count, Name, ToolArtifact, Value
from elixir_agent.tools.context import ToolContext

NAME = "item_profile"
DESCRIPTION = (
    "Facts about an item from its reviews (not a prediction): its name, how many reviews it "
    "has, the mean overall rating and the mean rating per aspect. Use it for 'tell me about "
    "X', 'how do people rate X?', or to find an item's id from its name."
)


class ItemProfileArtifact(ToolArtifact):
    TOOL = NAME
    item_id: Name
    item_name: Name
    n_reviews: Count
    mean_rating: Value | None
    aspect_means: dict[str, Value]


class ItemProfileArgs(BaseModel):
    item_id: str = Field(description="The item's id or its name.")


@dataclass(frozen=True)
class ItemProfile:
    ctx: ToolContext

    def __call__(self, item_id: str) -> tuple[str, dict]:
        item_id = resolve_item(self.ctx, item_id)
        stats = self.ctx.catalog.items.get(item_id)
        if stats is None:  # known to the model but without training reviews
            return (f"{item_id} has no reviews in the data.",
                    ItemProfileArtifact.build(item_id=item_id, item_name=item_id, n_reviews=0,
                                              mean_rating=None, aspect_means={}))
        aspects = "; ".join(f"{a} {score(v)}" for a, v in stats.aspect_means.items())
        text = (f"{stats.name} ({item_id}): {stats.n_reviews} review(s), mean rating "
                f"{score(stats.mean_rating)}" + (f"; mean per aspect: {aspects}" if aspects else "")
                + ".")
        return text, ItemProfileArtifact.build(
            item_id=item_id, item_name=stats.name, n_reviews=stats.n_reviews,
            mean_rating=stats.mean_rating, aspect_means=dict(stats.aspect_means))


def make(ctx: ToolContext) -> BaseTool:
    return make_tool(NAME, DESCRIPTION, ItemProfileArgs, ItemProfile(ctx),
                     intents=("item_profile",))
