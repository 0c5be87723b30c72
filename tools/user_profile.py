"""user_profile: a user's reviewing history and what matters to them, with how sure that is."""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from elixir_agent.tools._common import make_tool, percent, r4, resolve_user, score
from elixir_agent.tools._importance import ImportanceReport, ReportsImportance
from elixir_agent.tools.arguments import UserId
from elixir_agent.tools.artifacts import Count, Counted, Name, Record, ToolArtifact, Value
from elixir_agent.tools.context import ToolContext

NAME = "user_profile"
DESCRIPTION = (
    "Facts about a user from their own reviews: how many they wrote, the mean rating they "
    "give overall and per aspect, some items they reviewed with their ratings, and how much "
    "each aspect matters to them (with whether there are enough of their reviews to tell). "
    "Use it for 'what do I usually like?', 'what matters most to me?'."
)


class RatedItem(Record):
    item_id: Name
    item_name: Name
    rating: Value


class UserProfileArtifact(ToolArtifact):
    TOOL = NAME
    user_id: Name
    n_reviews: Count
    mean_rating: Value | None
    aspect_means: dict[str, Value]
    items: Counted[list[RatedItem]]
    importance: ImportanceReport | None = None


class UserProfileArgs(BaseModel):
    user_id: UserId
    max_items: int = Field(default=5, ge=0, le=20,
                           description="How many reviewed items to list (highest rated first).")


@dataclass(frozen=True)
class UserProfile(ReportsImportance):
    def __call__(self, user_id: str, max_items: int = 5) -> tuple[str, dict]:
        user_id = resolve_user(self.ctx, user_id)
        importance = self._importance(user_id)
        stats = self.ctx.catalog.users.get(user_id)
        if stats is None:
            return (f"User {user_id} has no reviews in the data.",
                    UserProfileArtifact.build(user_id=user_id, n_reviews=0, mean_rating=None,
                                              aspect_means={}, items=[], importance=importance))
        top = sorted(stats.history, key=lambda pair: -pair[1])[:max_items]
        items = [{"item_id": i, "item_name": self.ctx.catalog.item_name(i), "rating": r}
                 for i, r in top]
        aspects = "; ".join(f"{a} {score(v)}" for a, v in stats.aspect_means.items())
        lines = [f"User {user_id}: {stats.n_reviews} review(s), mean rating given "
                 f"{score(stats.mean_rating)}" + (f"; per aspect: {aspects}" if aspects else "")]
        lines += [f"- {it['item_name']} ({it['item_id']}): rated {score(it['rating'])}"
                  for it in items]
        if importance is not None:
            weights = importance.stated()
            whose = "to the user" if importance.known else (
                f"to people with more reviews ({importance.prior}; the user's own "
                f"{importance.n_reviews} review(s) are too few to tell)")
            lines.append("Importance " + whose + ": " + ", ".join(
                f"{a} {percent(w)}" for a, w in sorted(weights.items(), key=lambda kv: -kv[1])))
        return "\n".join(lines), UserProfileArtifact.build(
            user_id=user_id, n_reviews=stats.n_reviews, mean_rating=r4(stats.mean_rating),
            aspect_means={a: r4(v) for a, v in stats.aspect_means.items()}, items=items,
            importance=importance)

    def _importance(self, user_id: str) -> ImportanceReport | None:
        anchor = next(iter(self.ctx.catalog.items), None)
        if anchor is None or not self.ctx.recommender.has_user(user_id):
            return None
        # The user's weights do not depend on the item; any item gives them.
        prediction = self.ctx.recommender.predict(user_id, anchor)
        return self.priors.report(user_id, {a: r4(w) for a, w in
                                            prediction.user_importance.items()})


def make(ctx: ToolContext) -> BaseTool:
    return make_tool(NAME, DESCRIPTION, UserProfileArgs, UserProfile(ctx),
                     intents=("user_profile", "what_matters"))
