"""predict_rating: the core model's overall rating (1-5) for one user and one item."""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.tools import BaseTool
from pydantic import BaseModel

from elixir_agent.tools._common import cold_note, make_tool, predict, r4, resolve_item, resolve_user, score
from elixir_agent.tools.arguments import ItemRef, UserId
from elixir_agent.tools.artifacts import Count, Name, ToolArtifact, Value
from elixir_agent.tools.context import ToolContext

NAME = "predict_rating"
DESCRIPTION = (
    "Predict how much a user would like an item: the recommender's overall rating on a 1-5 "
    "scale. Use it for 'would I like X?', 'what would I rate it?'. Returns the rating and "
    "whether the user or item is new to the model (cold start)."
)


class PredictRatingArtifact(ToolArtifact):
    TOOL = NAME
    user_id: Name
    item_id: Name
    item_name: Name
    rating: Value
    cold_user: bool
    cold_item: bool
    user_mean_rating: Value | None = None  # the user's usual rating in the training data
    user_n_reviews: Count = 0


class PredictRatingArgs(BaseModel):
    user_id: UserId
    item_id: ItemRef


@dataclass(frozen=True)
class PredictRating:
    ctx: ToolContext

    def __call__(self, user_id: str, item_id: str) -> tuple[str, dict]:
        user_id = resolve_user(self.ctx, user_id)
        item_id = resolve_item(self.ctx, item_id)
        prediction = predict(self.ctx, user_id, item_id)
        name = self.ctx.catalog.item_name(item_id)
        stats = self.ctx.catalog.users.get(user_id)
        usual = (f"; the user's mean rating given is {score(stats.mean_rating)} over "
                 f"{stats.n_reviews} reviews" if stats else "")
        text = (f"Predicted rating of {name} ({item_id}) for user {user_id}: "
                f"{score(prediction.rating)} out of 5{cold_note(prediction)}{usual}.")
        return text, PredictRatingArtifact.build(
            user_id=user_id, item_id=item_id, item_name=name, rating=r4(prediction.rating),
            cold_user=bool(prediction.cold_user), cold_item=bool(prediction.cold_item),
            user_mean_rating=r4(stats.mean_rating) if stats else None,
            user_n_reviews=stats.n_reviews if stats else 0)


def make(ctx: ToolContext) -> BaseTool:
    return make_tool(NAME, DESCRIPTION, PredictRatingArgs, PredictRating(ctx),
                     intents=("rating",))
