"""Helpers shared by the tool files: id resolution with suggestions, formatting, the factory.

Numbers in a tool's text are written with `score()` / `percent()` so that the text and the
artifact say the same thing at the precision the grounding verifier checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel

from elixir_agent.tools.aspects import match_aspect
from elixir_agent.tools.context import ToolContext
from elixir_agent.tools.intents import INTENTS

REVIEW_FENCE = "<<<REVIEW"
REVIEW_FENCE_END = "REVIEW>>>"


def make_tool(name: str, description: str, args_schema: type[BaseModel],
              func: Callable[..., tuple[str, dict[str, Any]]], *,
              intents: tuple[str, ...] = ()) -> BaseTool:
    """A LangChain tool returning (text for the LLM, artifact); `ToolException` -> observation.

    `intents` names the questions it answers (see `tools.intents.INTENTS`); the routed
    planner reads them from `metadata["intents"]`.
    """
    unknown = [i for i in intents if i not in INTENTS]
    if unknown:
        raise ValueError(f"tool {name!r} declares unknown intent(s) {unknown}; "
                         f"known: {sorted(INTENTS)}")
    return StructuredTool.from_function(
        func=func, name=name, description=description, args_schema=args_schema,
        response_format="content_and_artifact", handle_tool_error=True,
        metadata={"intents": list(intents)},
    )


def score(value: float) -> str:
    """A 1-5 rating as written everywhere: two decimals."""
    return f"{value:.2f}"


def percent(share: float) -> str:
    return f"{100 * share:.0f}%"


def r4(value: float) -> float:
    return round(float(value), 4)


# Unknown-name errors end with advice to the LLM; a front end showing the error to the person
# cuts it off here (see `agent.compose.error_text`).
ADVICE_TO_LLM = "Ask the person which one they mean"


@dataclass(frozen=True)
class _IdKind:
    """One kind of id (user or item): where it is looked up, and how an unknown one is
    explained to the LLM. Users and items resolve the same way; only these differ."""

    kind: str
    resolve: Callable[[ToolContext, str], str | None]  # exact id or name in the catalog
    known: Callable[[ToolContext, str], bool]  # an id the recommender knows (not in the data)
    suggest: Callable[[ToolContext, str], list[Any]]  # closest catalog matches, best first
    closest: str  # how the suggestion list is introduced
    label: str  # how one suggestion is written, from its id and name
    advice: str  # what to do next, after ADVICE_TO_LLM


_USER = _IdKind("user", lambda ctx, t: ctx.catalog.resolve_user(t),
                lambda ctx, t: ctx.recommender.has_user(t),
                lambda ctx, t: ctx.catalog.suggest_users(t, 5),
                "Closest known users", "{id} ({name})", ".")
_ITEM = _IdKind("item", lambda ctx, t: ctx.catalog.resolve_item(t),
                lambda ctx, t: ctx.recommender.has_item(t),
                lambda ctx, t: ctx.catalog.suggest_items(t, 5),
                "Closest matches", "{id} '{name}'", ", or use one of these ids.")


def _resolve(ctx: ToolContext, text: str, how: _IdKind) -> str:
    found = how.resolve(ctx, text)
    if found is None and how.known(ctx, text.strip()):
        found = text.strip()
    if found is None:
        close = ", ".join(how.label.format(id=m.id, name=m.name) for m in how.suggest(ctx, text))
        raise ToolException(f"Unknown {how.kind} '{text}'. {how.closest}: {close or 'none'}. "
                            f"{ADVICE_TO_LLM}{how.advice}")
    return found


def resolve_user(ctx: ToolContext, text: str) -> str:
    return _resolve(ctx, text, _USER)


def resolve_item(ctx: ToolContext, text: str) -> str:
    return _resolve(ctx, text, _ITEM)


def resolve_aspects(ctx: ToolContext, names: list[str] | None) -> list[str]:
    """Aspect arguments mapped onto the model's aspects; all aspects when none are given."""
    if not names:
        return ctx.aspects
    out: list[str] = []
    for name in names:
        aspect = match_aspect(name, ctx.aspects)
        if aspect is None:
            raise ToolException(f"Unknown aspect '{name}'. Known aspects: "
                                f"{', '.join(ctx.aspects)}.")
        if aspect not in out:
            out.append(aspect)
    return out


def predict(ctx: ToolContext, user_id: str, item_id: str):
    """The core's prediction; unseen ids use the model's explicit cold-start path."""
    cold = not (ctx.recommender.has_user(user_id) and ctx.recommender.has_item(item_id))
    return ctx.recommender.predict(user_id, item_id, cold_start=cold)


def cold_note(prediction) -> str:
    parts = [kind for kind, flag in (("user", getattr(prediction, "cold_user", False)),
                                     ("item", getattr(prediction, "cold_item", False))) if flag]
    return f" (cold start: the model has not seen this {' or '.join(parts)})" if parts else ""


def fence(text: str) -> str:
    """Review text quoted as data: fence markers inside the text are defused."""
    clean = text.replace(REVIEW_FENCE, "<<REVIEW").replace(REVIEW_FENCE_END, "REVIEW>>")
    return f"{REVIEW_FENCE}\n{clean.strip()}\n{REVIEW_FENCE_END}"
