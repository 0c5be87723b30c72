"""The routed planner: intent router + argument extraction choose the tool calls.

For small local models that cannot pick tools: the LLM (if any) only writes the answer.
`plan_turn` reads the message and the remembered state and returns the state update for
this turn: the intent, the tool calls to make, memory changes and a deterministic preface.
"""

from __future__ import annotations

import re
from typing import Any

from elixir_agent.agent.extract import Extracted, extract
from elixir_agent.agent.router import IntentRouter
from elixir_agent.tools.catalog import Catalog

__all__ = ["ITEM_INTENTS", "plan_turn"]

ITEM_INTENTS = {"rating", "aspects", "explain", "reviews", "generated_review", "item_profile",
                "own_history"}
_PRAISING, _CRITICAL = 3.5, 3.0  # review ratings that argue for / against an item
_CORRECTION = re.compile(r"^\s*(?:i meant|i mean|sorry|oops|no,? i mean|typo|make that)\b",
                         re.IGNORECASE)
_WHAT_MATTERS = re.compile(r"\b(?:matters?|care|weigh\w*|important|importance)\b.*\bmost\b|"
                           r"\bmost\b.*\b(?:matters?|important|care|weigh\w*)\b", re.IGNORECASE)
_WHAT_IF = re.compile(r"\bwhat if i (?:cared|care|cares)\b", re.IGNORECASE)
_RESET = re.compile(r"^\s*(?:reset|start over|undo that|back to (?:my|normal))\b", re.IGNORECASE)
_ASPECT_QUESTION = re.compile(r"^\s*(?:and\s+)?(?:how|what about|is|are)\b", re.IGNORECASE)
_HELP = ("I can predict how much you would like an item, break that down by aspect, show "
         "real reviews as evidence, recommend items you have not reviewed, compare two items "
         "for you and describe an item or your own history. Name an item by id or name; say "
         "\"this one\" for the one we are talking about.")
_OUT_OF_SCOPE = ("I can only talk about recommendations from this catalog: ratings, aspects, "
                 "reviews, comparisons and suggestions.")


def plan_turn(message: str, state: dict[str, Any], router: IntentRouter,
              catalog: Catalog, aspects: list[str]) -> dict[str, Any]:
    ex = extract(message, catalog, aspects, last_items=state.get("last_items") or [])
    route = router.route(message)
    intent = route.intent
    pending = state.get("pending_intent")
    mentions = _mentions(ex)
    if pending and mentions and (_CORRECTION.search(message) or _few_words(message, ex)):
        intent = pending  # "I meant Harbor Inn 0": redo what failed, with the right name
    elif ex.ordinal_item and intent in ("out_of_scope", "help", "item_profile"):
        intent = "rating"  # "the second one?" after a list: how would I like it
    elif ex.aspects and not route.by_cue and _ASPECT_QUESTION.match(message) and intent in (
            "reviews", "item_profile", "rating", "out_of_scope"):
        intent = "aspects"  # "how is the appearance of X?" names an aspect: score it

    if _RESET.search(message):
        intent = "reset"
    elif _WHAT_IF.search(message) and ex.aspects:
        intent = "what_if"
    elif intent in ("user_profile", "aspects") and _WHAT_MATTERS.search(message):
        intent = "what_matters"  # "which aspect matters most to me?" asks for the weights

    user = ex.user or state.get("active_user")
    prefs = list(state.get("preferences") or [])
    dislikes = list(state.get("dislikes") or [])
    update: dict[str, Any] = {"intent": intent, "intents": [intent], "active_user": user,
                              "plan": [], "preface": ""}

    if intent == "preference":
        prefs = [a for a in ex.likes if a not in ex.dislikes] + [
            a for a in prefs if a not in ex.likes and a not in ex.dislikes]
        dislikes = ex.dislikes + [a for a in dislikes if a not in ex.dislikes + ex.likes]
        update |= {"preferences": prefs, "dislikes": dislikes}
        said = ", ".join(ex.likes) or "nothing I recognise as an aspect"
        less = f" and less about {', '.join(ex.dislikes)}" if ex.dislikes else ""
        update["preface"] = f"Noted: you care about {said}{less}. I will weigh that from now on."
    if intent == "reset":
        return update | {"what_if": None, "preface": "Back to your own weights: answers use "
                                                     "what the model learned from your reviews."}
    if intent == "help":
        return update | {"preface": _HELP}
    if intent == "out_of_scope":
        return update | {"preface": _OUT_OF_SCOPE}
    if user is None:
        return update | {"preface": "Who are you? Give me your user id (as listed in the data) "
                                    "and I can answer."}

    item = ex.ordinal_item or (mentions[0] if mentions else None) or state.get("active_item")
    calls: list[dict[str, Any]] = []
    imagined = ex.aspects[:1] if intent == "what_if" else state.get("what_if")
    if intent == "what_if":
        update["what_if"] = imagined
        calls.append(_call("what_if", user_id=user, aspects=imagined, item_id=item))
        return update | {"plan": [{**c, "intent": intent} for c in calls]}
    wanted = ex.aspects or None
    if intent == "preference":
        if item and ex.likes:
            calls.append(_call("aspect_ratings", user_id=user, item_id=item, aspects=ex.likes))
    elif intent == "recommend":
        calls.append(_call("recommend_items", user_id=user, k=ex.k or 5,
                           aspects=ex.aspects or prefs[:2] or None))
    elif intent in ("user_profile", "what_matters"):
        calls.append(_call("user_profile", user_id=user))
    elif intent == "own_history" and not (mentions or ex.ordinal_item):
        calls.append(_call("user_history", user_id=user, query=message))
    elif intent == "compare":
        active = state.get("active_item")
        pair = mentions[:2] if len(mentions) >= 2 else ([active, *mentions] if active else [])
        if len(pair) < 2 or pair[0] == pair[1]:
            return update | {"preface": "Which two items should I compare? Name them, or name "
                                        "one to compare with the one we are discussing."}
        calls.append(_call("compare_items", user_id=user, item_a=pair[0], item_b=pair[1],
                           aspects=wanted))
        update["last_items"] = list(pair)
    elif intent in ITEM_INTENTS:
        if item is None:
            return update | {"preface": "Which item do you mean? Name it by id or name, or ask "
                                        "me for recommendations first."}
        if intent == "rating":
            calls.append(_call("predict_rating", user_id=user, item_id=item))
        elif intent == "aspects":
            calls.append(_call("aspect_ratings", user_id=user, item_id=item, aspects=wanted))
        elif intent == "explain":
            # The user's own reviews, then others' on both sides: the composer quotes the
            # side that supports the verdict and one review that disagrees.
            calls.append(_call("aspect_ratings", user_id=user, item_id=item, aspects=None))
            calls.append(_call("user_history", user_id=user, item_id=item, k=2))
            calls.append(_call("similar_reviews", user_id=user, item_id=item, k=2,
                               min_rating=_PRAISING))
            calls.append(_call("similar_reviews", user_id=user, item_id=item, k=2,
                               max_rating=_CRITICAL))
        elif intent == "own_history":
            calls.append(_call("user_history", user_id=user, item_id=item))
        elif intent == "reviews":
            query = " ".join(ex.aspects) if ex.aspects else None
            args = {"query": f"{query} {message}"} if query else {"user_id": user}
            calls.append(_call("similar_reviews", item_id=item, k=ex.k or 3, **args))
        elif intent == "generated_review":
            calls.append(_call("generate_review", user_id=user, item_id=item))
        elif intent == "item_profile":
            calls.append(_call("item_profile", item_id=item))
    if imagined and intent in ("recommend", "rating", "explain"):
        # A what-if holds for the rest of the conversation, until "reset".
        calls.append(_call("what_if", user_id=user, aspects=imagined,
                           item_id=item if intent != "recommend" else None))
    return update | {"plan": [{**c, "intent": intent} for c in calls]}


def after_turn(state: dict[str, Any]) -> dict[str, Any]:
    """Memory updates once the tools ran: the active item, the last list, a pending intent."""
    update: dict[str, Any] = {"pending_intent": None}
    failed_on_name = False
    for record in state.get("records") or []:
        artifact = record.get("artifact") or {}
        if record["status"] != "success":
            failed_on_name = failed_on_name or "Unknown" in record["content"]
            continue
        if record["name"] == "recommend_items":
            update["last_items"] = [it["item_id"] for it in artifact["items"]]
        elif record["name"] == "compare_items":
            update["last_items"] = [it["item_id"] for it in artifact["items"]]
            if not state.get("active_item"):
                update["active_item"] = artifact["items"][0]["item_id"]
        elif artifact.get("item_id"):
            update["active_item"] = artifact["item_id"]
        if artifact.get("user_id"):
            update["active_user"] = artifact["user_id"]
    if failed_on_name:
        update["pending_intent"] = state.get("intent")
    return update


def _mentions(ex: Extracted) -> list[str]:
    out = [ex.ordinal_item] if ex.ordinal_item else []
    return out + [i for i in ex.items + ex.unknown_items + ex.unknown_names if i not in out]


def _few_words(message: str, ex: Extracted) -> bool:
    return len(re.findall(r"[A-Za-z]{3,}", message)) <= 4 and bool(ex.items)


def _call(name: str, **args: Any) -> dict[str, Any]:
    return {"name": name, "args": {k: v for k, v in args.items() if v is not None}}
