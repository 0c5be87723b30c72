"""The question kinds (intents) a tool can serve, and how a tool declares them.

A tool lists the intents it answers when it is built (`make_tool(..., intents=(...))`); the
declaration is kept in the LangChain tool's `metadata["intents"]`. The routed planner reads
it to decide which tools a question needs, and fills each tool's arguments by the names of
its schema fields (`SLOT_NAMES`), so a new tool needs no edit of the planner or a prompt.
"""

from __future__ import annotations

from langchain_core.tools import BaseTool

__all__ = ["INTENTS", "SLOT_NAMES", "declared_intents"]

# name -> what a person means by it; the planner's intent vocabulary.
INTENTS: dict[str, str] = {
    "rating": "how much the user would like an item ('would I like X?', 'what would I rate X?')",
    "aspects": "the item's predicted scores on aspects ('how is the cleanliness?')",
    "explain": "why the user would or would not like the item ('why?')",
    "reviews": "other people's real reviews of the item as evidence ('show me reviews')",
    "generated_review": "the review this user would write about the item",
    "item_profile": "a description of the item ('tell me about X')",
    "recommend": "items the user has not tried, best for them first ('recommend me 3')",
    "similar_items": "items like a named item ('something like X')",
    "compare": "which of two items suits the user better ('X or Y?')",
    "user_profile": "the user's own profile: what they rated, their usual rating",
    "what_matters": "which aspects matter most to the user ('what do I care about most?')",
    "own_history": "what the user said or rated before ('what have I said about stouts?')",
    "preference": "a statement of what the user cares about ('I care about location')",
    "what_if": "a hypothetical re-weighting ('what if I cared most about aroma?')",
    "reset": "undo stated preferences and hypotheticals",
    "help": "what the assistant can do",
    "out_of_scope": "anything else",
}

# Argument names a planner knows how to fill from a parsed question. A tool whose schema
# uses other required names can still be called by a tool-calling LLM, not by the router.
SLOT_NAMES: dict[str, str] = {
    "user_id": "the active user",
    "item_id": "the item the question is about",
    "item_a": "the first of two items being compared",
    "item_b": "the second of two items being compared",
    "like_item": "the item named in 'something like X'",
    "aspects": "aspects named in the question",
    "k": "how many results were asked for",
    "query": "free text to search reviews with",
}


def declared_intents(tool: BaseTool) -> tuple[str, ...]:
    """The intents `tool` says it serves (none for a tool that declares nothing)."""
    return tuple((tool.metadata or {}).get("intents", ()))
