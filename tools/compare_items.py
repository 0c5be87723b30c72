"""compare_items: two items for one user, overall and aspect by aspect."""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.tools import BaseTool, ToolException
from pydantic import BaseModel, Field

from elixir_agent.tools._common import (
    make_tool,
    predict,
    r4,
    resolve_aspects,
    resolve_item,
    resolve_user,
    score,
)
from elixir_agent.tools.artifacts import Counted, Name, Record, Share, ToolArtifact, Value
from elixir_agent.tools.context import ToolContext

NAME = "compare_items"
DESCRIPTION = (
    "Compare two items for one user: the predicted overall rating of each and the predicted "
    "rating per aspect, with the difference (first minus second) and which item wins each "
    "aspect. Use it for 'compare X with Y', 'is X better than Y for me?'."
)


class ComparedItem(Record):
    item_id: Name
    item_name: Name
    rating: Value


class ComparedAspect(Record):
    a: Value
    b: Value
    difference: Value
    better: Name | None
    user_importance: Share = 0.0


class CompareItemsArtifact(ToolArtifact):
    TOOL = NAME
    user_id: Name
    items: Counted[list[ComparedItem]]
    rating_difference: Value
    better: Name | None
    aspects: dict[str, ComparedAspect]


class CompareItemsArgs(BaseModel):
    user_id: str = Field(description="The user's id, e.g. 'u0001'.")
    item_a: str = Field(description="The first item's id or name.")
    item_b: str = Field(description="The second item's id or name.")
    aspects: list[str] | None = Field(default=None,
                                      description="Aspects to compare; empty for all.")


def _better(a: str, va: float, b: str, vb: float) -> str | None:
    """The item with the higher score as printed (two decimals): 3.414 and 3.41 are a tie,
    not a win the reader cannot see."""
    shown_a, shown_b = round(va, 2), round(vb, 2)
    return a if shown_a > shown_b else b if shown_b > shown_a else None


@dataclass(frozen=True)
class CompareItems:
    ctx: ToolContext

    def __call__(self, user_id: str, item_a: str, item_b: str,
                 aspects: list[str] | None = None) -> tuple[str, dict]:
        user_id = resolve_user(self.ctx, user_id)
        a, b = resolve_item(self.ctx, item_a), resolve_item(self.ctx, item_b)
        if a == b:
            raise ToolException(f"Both arguments name the same item ({a}); give two items.")
        wanted = resolve_aspects(self.ctx, aspects)
        pa, pb = predict(self.ctx, user_id, a), predict(self.ctx, user_id, b)
        name_a, name_b = self.ctx.catalog.item_name(a), self.ctx.catalog.item_name(b)
        rows = {}
        for aspect in wanted:
            va, vb = r4(pa.aspect_ratings[aspect]), r4(pb.aspect_ratings[aspect])
            rows[aspect] = {"a": va, "b": vb, "difference": r4(va - vb),
                            "better": _better(a, va, b, vb),
                            "user_importance": r4(pa.user_importance.get(aspect, 0.0))}
        better = _better(a, pa.rating, b, pb.rating)
        lines = [f"For user {user_id}: {name_a} ({a}) predicted {score(pa.rating)}, "
                 f"{name_b} ({b}) predicted {score(pb.rating)}."]
        for aspect, row in rows.items():
            winner = self.ctx.catalog.item_name(row["better"]) if row["better"] else "tie"
            lines.append(f"- {aspect}: {score(row['a'])} vs {score(row['b'])} "
                         f"(difference {row['difference']:+.2f}, better: {winner})")
        return "\n".join(lines), CompareItemsArtifact.build(
            user_id=user_id,
            items=[{"item_id": a, "item_name": name_a, "rating": r4(pa.rating)},
                   {"item_id": b, "item_name": name_b, "rating": r4(pb.rating)}],
            rating_difference=r4(pa.rating - pb.rating), better=better, aspects=rows)


def make(ctx: ToolContext) -> BaseTool:
    return make_tool(NAME, DESCRIPTION, CompareItemsArgs, CompareItems(ctx),
                     intents=("compare",))
