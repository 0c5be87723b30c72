"""The routed planner: the question parser reads the message, tool declarations choose the calls.

For small local models that cannot pick tools: the LLM (if any) only writes the answer.
`plan_turn` parses the message against the remembered state (see `agent.nlu`), and for each
intent asked, in order, calls every tool that declares that intent (`declared_intents`),
filling its arguments by schema field name from the parsed slots (`tools.intents.SLOT_NAMES`),
so a new tool needs no edit here. Each planned call carries the intent it answers.
"""

from __future__ import annotations

import re
from typing import Any

from langchain_core.tools import BaseTool

from elixir_agent.agent.nlu.parser import ParsedQuestion, QuestionParser
from elixir_agent.tools.intents import declared_intents

__all__ = ["ITEM_INTENTS", "after_turn", "plan_turn"]

ITEM_INTENTS = {"rating", "aspects", "explain", "reviews", "generated_review", "item_profile",
                "what_if"}
# An intent no tool declares is served by the tools of a close one.
_FALLBACK = {"own_history": "user_profile", "what_matters": "user_profile",
             "similar_items": "recommend", "what_if": "aspects"}
# A "why" answer quotes reviews on both sides: those that support the verdict and one that
# disagrees. A tool with min/max rating arguments is called once per side for it.
_PRAISING, _CRITICAL = 3.5, 3.0
_CORRECTION = re.compile(r"^\s*(?:i meant|i mean|sorry|oops|no,? i mean|typo|make that)\b",
                         re.IGNORECASE)
_HELP = ("I can predict how much you would like an item, break that down by aspect, show "
         "real reviews as evidence, recommend items you have not reviewed (or ones like an item "
         "you name), compare two items for you and describe an item or your own history. Name "
         "items as you like (short names and typos are fine); say \"it\" for the one we are "
         "talking about.")
_OUT_OF_SCOPE = ("I can only talk about recommendations from this catalog: ratings, aspects, "
                 "reviews, comparisons and suggestions.")
_WHO = "Who are you? Give me your user id (as listed in the data) and I can answer."


def plan_turn(message: str, state: dict[str, Any], parser: QuestionParser,
              tools: dict[str, BaseTool]) -> dict[str, Any]:
    parsed = parser.parse(message, state)
    intents = _guard_rails(message, parsed, state)
    user = parsed.user or state.get("active_user")
    update: dict[str, Any] = {"intent": intents[0], "intents": intents, "active_user": user,
                              "plan": [], "preface": ""}
    prefaces, calls = [], []
    prefs = list(state.get("preferences") or [])
    for asked in intents:
        intent = asked
        if asked == "preference":
            prefs, said = _remember(parsed, prefs, state, update)
            prefaces.append(said)
            if not parsed.likes or not _item(parsed, state):
                continue
            intent = "aspects"  # "taste matters most to me": show it for the item at hand
        if intent == "reset":
            update |= {"preferences": [], "dislikes": [], "what_if": None}
            prefs = []
            prefaces.append("Back to your own weights: I have forgotten the preferences and "
                            "what-ifs you stated; answers use what the model learned from your "
                            "reviews.")
            continue
        if intent == "what_if" and parsed.aspects:
            update["what_if"] = parsed.aspects[:1]  # holds for the rest of the conversation
        if intent in ("help", "out_of_scope"):
            prefaces.append(_HELP if intent == "help" else _OUT_OF_SCOPE)
            continue
        chosen = _tools_for(intent, tools)
        if user is None and any("user_id" in _required(t) for t in chosen):
            prefaces.append(_WHO)
            break
        slots, question = _slots(intent, parsed, state, user, prefs, message, parser)
        if asked == "preference":
            slots["aspects"] = parsed.likes
        if question:
            prefaces.append(question)
            update["clarify_intent"] = intent
            if parsed.ambiguous or parsed.unknown_names:
                update["last_items"] = _offered(parsed, parser)
            continue
        if intent == "compare":
            update["last_items"] = [slots["item_a"], slots["item_b"]]
        if intent == "what_if" and parsed.aspects and "what_if" not in _declared(tools):
            prefaces.append(f"Supposing {', '.join(parsed.aspects)} mattered most to you:")
        for tool in chosen:
            args = _fill(tool, slots)
            if args is not None:
                calls += [{"name": tool.name, "args": a, "intent": asked}
                          for a in _sides(intent, tool, args)]
        calls += _imagined(intent, state, update, slots, tools, asked)
    unique, seen = [], set()
    for call in calls:
        key = (call["name"], repr(sorted(call["args"].items())))
        if key not in seen:
            seen.add(key)
            unique.append(call)
    return update | {"plan": unique, "preface": " ".join(p for p in prefaces if p)}


def _guard_rails(message: str, parsed: ParsedQuestion, state: dict[str, Any]) -> list[str]:
    """Deterministic corrections of the learned intents that are known to be right."""
    intents = list(parsed.intents)
    pending = state.get("pending_intent")
    named = parsed.items or parsed.unknown_names or parsed.ordinal_item
    if pending and named and (_CORRECTION.search(message) or _few_words(message)):
        return [pending]  # "I meant Harbor Inn 0", "the second one": redo what was asked
    if (parsed.ordinal_item and intents[0] in ("out_of_scope", "help", "item_profile")) or (
            parsed.ordinal_item and intents == ["aspects"] and not parsed.aspects):
        return ["rating"]  # "the second one?" after a list: how would I like it
    return intents


def _sides(intent: str, tool: BaseTool, args: dict[str, Any]) -> list[dict[str, Any]]:
    """For "why", reviews on both sides of the verdict; otherwise the call as filled."""
    fields = getattr(tool.args_schema, "model_fields", {})
    if intent != "explain" or not {"min_rating", "max_rating"} <= set(fields):
        return [args]
    base = {"k": 2, **args}
    return [{**base, "min_rating": _PRAISING}, {**base, "max_rating": _CRITICAL}]


def _imagined(intent: str, state: dict[str, Any], update: dict[str, Any], slots: dict[str, Any],
              tools: dict[str, BaseTool], asked: str) -> list[dict[str, Any]]:
    """A what-if stated earlier is shown again beside later verdicts, until "reset"."""
    imagined = state.get("what_if")
    if (not imagined or "what_if" in update or intent not in ("recommend", "rating", "explain")
            or "what_if" not in tools):
        return []
    args = {"user_id": slots.get("user_id"), "aspects": imagined}
    if intent != "recommend" and slots.get("item_id"):
        args["item_id"] = slots["item_id"]
    return [{"name": "what_if", "args": args, "intent": asked}] if args["user_id"] else []


def _few_words(message: str) -> bool:
    return len(re.findall(r"[A-Za-z]{3,}", message)) <= 4


def _remember(parsed: ParsedQuestion, prefs: list[str], state: dict[str, Any],
              update: dict[str, Any]) -> tuple[list[str], str]:
    dislikes = list(state.get("dislikes") or [])
    prefs = [a for a in parsed.likes if a not in parsed.dislikes] + [
        a for a in prefs if a not in parsed.likes and a not in parsed.dislikes]
    dislikes = parsed.dislikes + [a for a in dislikes if a not in parsed.dislikes + parsed.likes]
    update |= {"preferences": prefs, "dislikes": dislikes}
    said = ", ".join(parsed.likes) or "nothing I recognise as an aspect"
    less = f" and less about {', '.join(parsed.dislikes)}" if parsed.dislikes else ""
    return prefs, f"Noted: you care about {said}{less}. I will weigh that from now on."


def _declared(tools: dict[str, BaseTool]) -> set[str]:
    return {i for t in tools.values() for i in declared_intents(t)}


def _tools_for(intent: str, tools: dict[str, BaseTool]) -> list[BaseTool]:
    chosen = [t for t in tools.values() if intent in declared_intents(t)]
    if not chosen and intent in _FALLBACK:
        return _tools_for(_FALLBACK[intent], tools)
    return chosen


def _required(tool: BaseTool) -> set[str]:
    schema = tool.args_schema
    fields = getattr(schema, "model_fields", {}) if schema is not None else {}
    return {name for name, f in fields.items() if f.is_required()}


def _fill(tool: BaseTool, slots: dict[str, Any]) -> dict[str, Any] | None:
    """Arguments by schema field name; None when a required one has no value."""
    fields = getattr(tool.args_schema, "model_fields", {})
    if any(slots.get(name) is None for name in _required(tool)):
        return None
    return {name: slots[name] for name in fields if slots.get(name) is not None}


def _item(parsed: ParsedQuestion, state: dict[str, Any]) -> str | None:
    return (parsed.ordinal_item or (parsed.items[0] if parsed.items else None)
            or parsed.other_item or state.get("active_item"))


def _slots(intent: str, parsed: ParsedQuestion, state: dict[str, Any], user: str | None,
           prefs: list[str], message: str, parser: QuestionParser) -> tuple[dict[str, Any], str]:
    """The slot values this intent uses, or a question to ask when an item is missing."""
    slots: dict[str, Any] = {"user_id": user, "k": parsed.k}
    if intent in ("recommend", "similar_items", "what_if"):
        slots["aspects"] = parsed.aspects or prefs[:2] or None
    elif intent in ("aspects", "compare"):
        slots["aspects"] = parsed.aspects or None
    if intent == "reviews" and parsed.aspects:
        slots["query"] = f"{' '.join(parsed.aspects)} {message}"
    if intent == "similar_items":
        slots["like_item"] = parsed.items[0] if parsed.items else state.get("active_item")
        return slots, "" if slots["like_item"] or not _needs_name(parsed) else _ask(parsed, parser)
    if intent == "compare":
        active = state.get("active_item")
        mentioned = parsed.items or ([parsed.other_item] if parsed.other_item else [])
        pair = parsed.items[:2] if len(parsed.items) >= 2 else (
            [active, *mentioned][:2] if active else [])
        if len(pair) < 2 or pair[0] == pair[1]:
            return slots, _ask(parsed, parser) if _needs_name(parsed) else (
                "Which two items should I compare? Name them, or name one to compare with the "
                "one we are discussing.")
        slots |= {"item_a": pair[0], "item_b": pair[1]}
        return slots, ""
    if intent == "what_if":
        slots["item_id"] = _item(parsed, state)  # optional: the re-ordered list needs none
        return slots, ""
    if intent == "own_history" and not parsed.items:
        slots["query"] = message  # "what have I said about stouts?"
    if intent in ITEM_INTENTS or (intent == "own_history" and parsed.items):
        slots["item_id"] = _item(parsed, state)
        if (intent in ITEM_INTENTS and slots["item_id"] is None) or _needs_name(parsed):
            return slots, _ask(parsed, parser) if _needs_name(parsed) else (
                "Which item do you mean? Name it (a short name is fine), or ask me for "
                "recommendations first.")
    return slots, ""


def _needs_name(parsed: ParsedQuestion) -> bool:
    return bool(parsed.ambiguous or parsed.unknown_names) and not parsed.items


def _ask(parsed: ParsedQuestion, parser: QuestionParser) -> str:
    """Which one of close names, or 'I don't know X; did you mean ...?': never a guess."""
    catalog = parser.catalog
    if parsed.ambiguous:
        said, ids = parsed.ambiguous[0]
        names = [f"{catalog.item_name(i)} ({i})" for i in ids]
        return (f"\"{said}\" could be several items: {_listing(names)}. Which one do you mean? "
                "(Say \"the second one\" or name it.)")
    name = parsed.unknown_names[0]
    close = [f"{m.name} ({m.id})" for m in catalog.suggest_items(name, 3)]
    return f"I don't know \"{name}\"" + (f"; did you mean {_listing(close)}?" if close else ".")


def _offered(parsed: ParsedQuestion, parser: QuestionParser) -> list[str]:
    if parsed.ambiguous:
        return list(parsed.ambiguous[0][1])
    return [m.id for m in parser.catalog.suggest_items(parsed.unknown_names[0], 3)]


def _listing(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def after_turn(state: dict[str, Any]) -> dict[str, Any]:
    """Memory updates once the tools ran: the active item, the last list, a pending intent."""
    update: dict[str, Any] = {"pending_intent": state.get("clarify_intent")}
    failed_on_name = False
    for record in state.get("records") or []:
        artifact = record.get("artifact") or {}
        if record["status"] != "success":
            failed_on_name = failed_on_name or "Unknown" in record["content"]
            continue
        if record["name"] in ("recommend_items", "compare_items"):
            update["last_items"] = [it["item_id"] for it in artifact["items"]]
            if record["name"] == "compare_items" and not state.get("active_item"):
                update["active_item"] = artifact["items"][0]["item_id"]
        elif artifact.get("item_id"):
            update["active_item"] = artifact["item_id"]
        if artifact.get("user_id"):
            update["active_user"] = artifact["user_id"]
    if failed_on_name:
        update["pending_intent"] = state.get("intent")
    return update
