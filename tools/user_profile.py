"""user_profile: a user's reviewing history: count, mean ratings given, recent items."""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from elixir_agent.tools._common import make_tool, resolve_user, score
from elixir_agent.tools.context import ToolContext

NAME = "user_profile"
DESCRIPTION = (
    "Facts about a user from their own reviews: how many they wrote, the mean rating they "
    "give overall and per aspect, and some items they reviewed with their ratings. Use it "
    "for 'what do I usually like?', 'what have I reviewed?'."
)


class UserProfileArgs(BaseModel):
    user_id: str = Field(description="The user's id, e.g. 'u0001'.")
    max_items: int = Field(default=5, ge=0, le=20,
                           description="How many reviewed items to list (highest rated first).")


@dataclass(frozen=True)
class UserProfile:
    ctx: ToolContext

    def __call__(self, user_id: str, max_items: int = 5) -> tuple[str, dict]:
        user_id = resolve_user(self.ctx, user_id)
        stats = self.ctx.catalog.users.get(user_id)
        if stats is None:
            return (f"User {user_id} has no reviews in the data.",
                    {"tool": NAME, "user_id": user_id, "n_reviews": 0, "mean_rating": None,
                     "aspect_means": {}, "items": []})
        top = sorted(stats.history, key=lambda pair: -pair[1])[:max_items]
        items = [{"item_id": i, "item_name": self.ctx.catalog.item_name(i), "rating": r}
                 for i, r in top]
        aspects = "; ".join(f"{a} {score(v)}" for a, v in stats.aspect_means.items())
        lines = [f"User {user_id}: {stats.n_reviews} review(s), mean rating given "
                 f"{score(stats.mean_rating)}" + (f"; per aspect: {aspects}" if aspects else "")]
        lines += [f"- {it['item_name']} ({it['item_id']}): rated {score(it['rating'])}"
                  for it in items]
        return "\n".join(lines), {"tool": NAME, "user_id": user_id, "n_reviews": stats.n_reviews,
                                  "mean_rating": stats.mean_rating,
                                  "aspect_means": dict(stats.aspect_means), "items": items}


def make(ctx: ToolContext) -> BaseTool:
    return make_tool(NAME, DESCRIPTION, UserProfileArgs, UserProfile(ctx),
                     intents=("user_profile", "what_matters"))
