"""what_if: a hypothetical re-weighting of what matters to the user, and what it changes.

"What if I cared most about aroma?" gives the named aspect half of the user's weight (the
rest keeps its proportions) and moves each predicted rating by how much the importance-
weighted aspect score changes: r' = r + sum_a (w'_a - w_a) * s_a, clamped to 1-5. The
core itself is untouched; the answer says these are hypothetical numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from elixir_agent.tools._common import (
    make_tool,
    percent,
    predict,
    r4,
    resolve_aspects,
    resolve_item,
    resolve_user,
    score,
)
from elixir_agent.tools.arguments import UserId
from elixir_agent.tools.artifacts import Count, Counted, Name, Record, Share, ToolArtifact, Value
from elixir_agent.tools.context import ToolContext

NAME = "what_if"
DESCRIPTION = (
    "Answer 'what if I cared most about X?': re-weight the user's aspect importance so the "
    "named aspects matter most, and show how the predicted rating of an item and the order "
    "of the user's recommendations change. Hypothetical: the model is not changed."
)
_FOCUS_SHARE = 0.5  # the named aspects together get half of the weight
_POOL = 50  # recommendations re-ordered from the core's top items


class RankedItem(Record):
    rank: Count
    item_id: Name
    item_name: Name
    rating: Value  # the core's prediction
    new_rating: Value  # under the hypothetical weights


class WhatIfArtifact(ToolArtifact):
    TOOL = NAME
    user_id: Name
    aspects: list[str]
    weights: dict[str, Share]
    new_weights: dict[str, Share]
    item: RankedItem | None = None
    before: Counted[list[RankedItem]]  # the top k by the core's rating
    after: Counted[list[RankedItem]]  # the top k under the hypothetical weights


class WhatIfArgs(BaseModel):
    user_id: UserId
    aspects: list[str] = Field(description="The aspect(s) the user would care most about.")
    item_id: str | None = Field(default=None, description="An item to re-score (id or name).")
    k: int = Field(default=5, ge=1, le=20, description="How many recommendations to show.")


def reweighted(weights: dict[str, float], focus: list[str]) -> dict[str, float]:
    """`focus` gets `_FOCUS_SHARE` (split evenly); the others share the rest in proportion."""
    rest = {a: w for a, w in weights.items() if a not in focus}
    total = sum(rest.values()) or 1.0
    out = {a: (1 - _FOCUS_SHARE) * w / total for a, w in rest.items()}
    out.update({a: _FOCUS_SHARE / len(focus) for a in focus})
    return out


def _shifted(p, new_weights: dict[str, float]) -> float:
    change = sum((new_weights[a] - p.user_importance.get(a, 0.0)) * p.aspect_ratings[a]
                 for a in new_weights)
    return min(5.0, max(1.0, p.rating + change))


@dataclass(frozen=True)
class WhatIf:
    ctx: ToolContext

    def __call__(self, user_id: str, aspects: list[str], item_id: str | None = None,
                 k: int = 5) -> tuple[str, dict]:
        user = resolve_user(self.ctx, user_id)
        focus = resolve_aspects(self.ctx, aspects)
        pool = self.ctx.recommender.rank(user, None, max(k, _POOL), exclude_seen=True)
        anchor = predict(self.ctx, user, resolve_item(self.ctx, item_id)) if item_id else (
            pool[0] if pool else None)
        weights = {a: r4(w) for a, w in (anchor.user_importance if anchor else {}).items()}
        new_weights = {a: r4(w) for a, w in reweighted(weights, focus).items()} if weights else {}

        def row(rank: int, p) -> dict:
            return {"rank": rank, "item_id": p.item_id,
                    "item_name": self.ctx.catalog.item_name(p.item_id),
                    "rating": r4(p.rating), "new_rating": r4(_shifted(p, new_weights))}

        scored = [row(0, p) for p in pool]
        before = sorted(scored, key=lambda r: -r["rating"])[:k]
        after = sorted(scored, key=lambda r: -r["new_rating"])[:k]
        before = [{**r, "rank": n} for n, r in enumerate(before, start=1)]
        after = [{**r, "rank": n} for n, r in enumerate(after, start=1)]
        item = row(0, anchor) if item_id and anchor is not None else None
        artifact = WhatIfArtifact.build(user_id=user, aspects=focus, weights=weights,
                                        new_weights=new_weights, item=item, before=before,
                                        after=after)
        lines = [f"Hypothetical weights for user {user} with {', '.join(focus)} most important: "
                 + ", ".join(f"{a} {percent(w)} (now {percent(weights.get(a, 0.0))})"
                             for a, w in new_weights.items())]
        if item:
            lines.append(f"{item['item_name']} ({item['item_id']}): {score(item['new_rating'])} "
                         f"instead of {score(item['rating'])}.")
        lines.append("Top items under these weights: " + "; ".join(
            f"{r['rank']}. {r['item_name']} {score(r['new_rating'])}" for r in after))
        return "\n".join(lines), artifact


def make(ctx: ToolContext) -> BaseTool:
    return make_tool(NAME, DESCRIPTION, WhatIfArgs, WhatIf(ctx), intents=("what_if",))
