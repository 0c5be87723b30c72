"""aspect_ratings: per-aspect predicted ratings with the user's and the item's aspect importance."""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from elixir_agent.tools._common import (
    cold_note,
    make_tool,
    percent,
    predict,
    r4,
    resolve_aspects,
    resolve_item,
    resolve_user,
    score,
)
from elixir_agent.tools._importance import ImportanceReport, ReportsImportance
from elixir_agent.tools.arguments import ItemRef, UserId
from elixir_agent.tools.artifacts import Name, Record, Share, ToolArtifact, Value
from elixir_agent.tools.context import ToolContext

NAME = "aspect_ratings"
DESCRIPTION = (
    "Break a user-item prediction down by aspect (e.g. cleanliness, location, service; or "
    "taste, aroma for beers): the predicted 1-5 rating per aspect, how much each aspect "
    "matters to this user (importance, shares summing to 100%) and how much it defines the "
    "item. Use it for 'how is the cleanliness?', 'why would I like it?', 'what matters to me?'."
)


class AspectRow(Record):
    rating: Value  # predicted 1-5
    user_importance: Share
    item_importance: Share


class AspectRatingsArtifact(ToolArtifact):
    TOOL = NAME
    user_id: Name
    item_id: Name
    item_name: Name
    rating: Value
    aspects: dict[str, AspectRow]
    importance: ImportanceReport | None = None  # what the user's weights rest on


class AspectRatingsArgs(BaseModel):
    user_id: UserId
    item_id: ItemRef
    aspects: list[str] | None = Field(
        default=None,
        description="Aspects to report, e.g. ['cleanliness']. Leave empty for all aspects.")


@dataclass(frozen=True)
class AspectRatings(ReportsImportance):
    def __call__(self, user_id: str, item_id: str,
                 aspects: list[str] | None = None) -> tuple[str, dict]:
        user_id = resolve_user(self.ctx, user_id)
        item_id = resolve_item(self.ctx, item_id)
        wanted = resolve_aspects(self.ctx, aspects)
        p = predict(self.ctx, user_id, item_id)
        name = self.ctx.catalog.item_name(item_id)
        rows = {
            a: {"rating": r4(p.aspect_ratings[a]),
                "user_importance": r4(p.user_importance.get(a, 0.0)),
                "item_importance": r4(p.item_importance.get(a, 0.0))}
            for a in wanted
        }
        importance = self.priors.report(user_id, {a: r4(v) for a, v in p.user_importance.items()},
                                        item_id)
        lines = [f"Aspects of {name} ({item_id}) for user {user_id}{cold_note(p)} "
                 f"(overall {score(p.rating)}):"]
        if not importance.known:
            lines.append(f"(The user's importance rests on {importance.n_reviews} review(s) and "
                         "is not reliable; people with more reviews weigh "
                         f"{importance.top()} most.)")
        for a, row in sorted(rows.items(), key=lambda kv: -kv[1]["user_importance"]):
            lines.append(f"- {a}: predicted {score(row['rating'])}; matters "
                         f"{percent(row['user_importance'])} to the user, "
                         f"{percent(row['item_importance'])} of the item's profile")
        return "\n".join(lines), AspectRatingsArtifact.build(
            user_id=user_id, item_id=item_id, item_name=name, rating=r4(p.rating),
            aspects=rows, importance=importance)


def make(ctx: ToolContext) -> BaseTool:
    return make_tool(NAME, DESCRIPTION, AspectRatingsArgs, AspectRatings(ctx),
                     intents=("aspects", "explain"))
