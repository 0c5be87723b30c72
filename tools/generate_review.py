"""generate_review: the core model's own personalised review (the core-only explanation)."""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from elixir_agent.tools._common import fence, make_tool, predict, r4, resolve_item, resolve_user, score
from elixir_agent.tools.arguments import ItemRef, UserId
from elixir_agent.tools.artifacts import Name, Quote, ToolArtifact, Value
from elixir_agent.tools.context import ToolContext

NAME = "generate_review"
DESCRIPTION = (
    "Generate the review the recommender expects this user would write about this item "
    "(a personalised explanation written by the core model), with the predicted rating. "
    "Use it for 'what would I say about it?' or to compare the agent with the core model. "
    "The generated text is model output, not a real review: quote it, do not cite it as one."
)


class GenerateReviewArtifact(ToolArtifact):
    TOOL = NAME
    user_id: Name
    item_id: Name
    item_name: Name
    rating: Value
    generated_review: Quote


class GenerateReviewArgs(BaseModel):
    user_id: UserId
    item_id: ItemRef
    max_new_tokens: int = Field(default=96, ge=8, le=256,
                                description="Length limit of the generated text in tokens.")


@dataclass(frozen=True)
class GenerateReview:
    ctx: ToolContext

    def __call__(self, user_id: str, item_id: str, max_new_tokens: int = 96) -> tuple[str, dict]:
        user_id = resolve_user(self.ctx, user_id)
        item_id = resolve_item(self.ctx, item_id)
        p = predict(self.ctx, user_id, item_id)
        review = self.ctx.recommender.explain(user_id, item_id, max_new_tokens=max_new_tokens)
        name = self.ctx.catalog.item_name(item_id)
        text = (f"Generated review of {name} ({item_id}) for user {user_id} (predicted rating "
                f"{score(p.rating)}), quoted as data:\n{fence(review)}")
        return text, GenerateReviewArtifact.build(user_id=user_id, item_id=item_id, item_name=name,
                                                  rating=r4(p.rating), generated_review=review)


def make(ctx: ToolContext) -> BaseTool:
    return make_tool(NAME, DESCRIPTION, GenerateReviewArgs, GenerateReview(ctx),
                     intents=("generated_review",))
