"""The deterministic grounded composer: an answer written only from tool artifacts.

It is the `--llm none` writer and the fallback when an LLM's draft fails the grounding
check, so everything it states comes straight from the evidence and passes that check by
construction. Review text is never interpreted, only quoted.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from elixir_agent.tools._common import ADVICE_TO_LLM, percent, score

__all__ = ["compose", "digest", "error_text"]

_QUOTE_WORDS = 30  # long reviews are shortened when quoted


def compose(records: list[dict[str, Any]], *, preferences: list[str] = (),
            intent: str | None = None) -> str:
    """One paragraph per tool call, in call order, with review ids cited in [brackets]."""
    parts = []
    for record in records:
        if record["status"] != "success":
            said = error_text(record["content"])
            parts.append(f"I could not answer that: {said}"
                         + (" Which one do you mean?" if "Closest matches" in said else ""))
            continue
        writer = _WRITERS.get(record["name"])
        artifact = record.get("artifact") or {}
        parts.append(writer(artifact, list(preferences)) if writer else record["content"])
    return "\n\n".join(p for p in parts if p)


def error_text(content: str) -> str:
    """A tool's error for the person: its last sentence is advice to an LLM, not to them."""
    return content.split(f" {ADVICE_TO_LLM}")[0]


def digest(records: list[dict[str, Any]], *, preferences: list[str] = (),
           intent: str | None = None, max_chars: int = 700) -> str:
    """The composed answer with every quotation taken out: the facts a lead-in is written from.

    A small local model writing one opening sentence needs the verdicts and numbers, not the
    reviews; leaving review text out also keeps strangers' words out of its prompt entirely.
    """
    text = compose(records, preferences=preferences, intent=intent)
    lines = [_QUOTE.sub("(a quote)", line) for line in text.splitlines()
             if line.strip() and not line.startswith(">")]
    out = "\n".join(lines)
    return out if len(out) <= max_chars else out[:max_chars].rsplit("\n", 1)[0]


_QUOTE = re.compile(r'"[^"]*"')


def _verdict(rating: float) -> str:
    if rating >= 4.0:
        return "you would probably like it"
    if rating >= 3.0:
        return "you would probably find it fine, not great"
    return "it is probably not for you"


def _rating(a: dict, prefs: list[str]) -> str:
    cold = " The model has not seen this user or item before, so this is a cold-start guess." \
        if a.get("cold_user") or a.get("cold_item") else ""
    return (f"Predicted rating of {a['item_name']} for you: {score(a['rating'])} out of 5, "
            f"so {_verdict(a['rating'])}.{cold}")


def _aspects(a: dict, prefs: list[str]) -> str:
    rows = a["aspects"]
    order = sorted(rows, key=lambda k: (k not in prefs, -rows[k]["user_importance"]))
    lines = [f"{a['item_name']} by aspect (overall {score(a['rating'])} out of 5):"]
    for aspect in order:
        row = rows[aspect]
        said = " (you said this matters to you)" if aspect in prefs else ""
        lines.append(f"- {aspect}: predicted {score(row['rating'])}, "
                     f"{percent(row['user_importance'])} of what you weigh{said}")
    if len(rows) > 1:
        best = max(rows, key=lambda k: rows[k]["rating"])
        worst = min(rows, key=lambda k: rows[k]["rating"])
        lines.append(f"Strongest: {best} ({score(rows[best]['rating'])}); weakest: {worst} "
                     f"({score(rows[worst]['rating'])}).")
    return "\n".join(lines)


def _generated(a: dict, prefs: list[str]) -> str:
    return (f"The model's own review of {a['item_name']} for you (predicted "
            f"{score(a['rating'])}), generated text, not a real review:\n"
            f"> {_shorten(a['generated_review'])}")


def _reviews(a: dict, prefs: list[str]) -> str:
    if not a["reviews"]:
        return "I found no matching reviews."
    lines = ["What other reviewers wrote (quoted as written):"]
    for r in a["reviews"]:
        lines.append(f"- {r['item_name']}, rated {score(r['rating'])}: "
                     f"\"{_shorten(r['text'])}\" [{r['review_id']}]")
    return "\n".join(lines)


def _recommend(a: dict, prefs: list[str]) -> str:
    focus = f", favouring {', '.join(a['aspects'])}" if a["aspects"] else ""
    lines = [f"Items you have not reviewed yet{focus}, best first:"]
    for it in a["items"]:
        extra = "".join(f", {k} {score(v)}" for k, v in it["aspect_ratings"].items())
        lines.append(f"{it['rank']}. {it['item_name']} ({it['item_id']}): predicted "
                     f"{score(it['rating'])}{extra}")
    return "\n".join(lines)


def _item(a: dict, prefs: list[str]) -> str:
    if not a["n_reviews"]:
        return f"{a['item_name']} has no reviews in the data yet."
    means = ", ".join(f"{k} {score(v)}" for k, v in a["aspect_means"].items())
    return (f"{a['item_name']} ({a['item_id']}) has {a['n_reviews']} reviews with a mean rating "
            f"of {score(a['mean_rating'])}" + (f"; per aspect: {means}." if means else "."))


def _user(a: dict, prefs: list[str]) -> str:
    if not a["n_reviews"]:
        return "You have no reviews in the data yet."
    lines = [f"You wrote {a['n_reviews']} reviews with a mean rating of "
             f"{score(a['mean_rating'])}."]
    if a["items"]:
        liked = "; ".join(f"{it['item_name']} ({score(it['rating'])})" for it in a["items"])
        lines.append(f"Highest rated by you: {liked}.")
    if prefs:
        lines.append(f"You told me you care about {', '.join(prefs)}.")
    return " ".join(lines)


def _compare(a: dict, prefs: list[str]) -> str:
    first, second = a["items"]
    names = {first["item_id"]: first["item_name"], second["item_id"]: second["item_name"]}
    lead = f"For you, {names[a['better']]} comes out ahead" if a["better"] else "For you, the two are level"
    lines = [f"{lead}: {first['item_name']} {score(first['rating'])} vs {second['item_name']} "
             f"{score(second['rating'])}."]
    order = sorted(a["aspects"], key=lambda k: k not in prefs)
    for aspect in order:
        row = a["aspects"][aspect]
        winner = names[row["better"]] if row["better"] else "tie"
        said = " (matters to you)" if aspect in prefs else ""
        lines.append(f"- {aspect}{said}: {score(row['a'])} vs {score(row['b'])}, "
                     f"better: {winner}")
    return "\n".join(lines)


def _shorten(text: str) -> str:
    words = " ".join(text.split()).replace('"', "'").split(" ")
    return " ".join(words[:_QUOTE_WORDS]) + (" ..." if len(words) > _QUOTE_WORDS else "")


_WRITERS: dict[str, Callable[[dict, list[str]], str]] = {
    "predict_rating": _rating,
    "aspect_ratings": _aspects,
    "generate_review": _generated,
    "similar_reviews": _reviews,
    "recommend_items": _recommend,
    "item_profile": _item,
    "user_profile": _user,
    "compare_items": _compare,
}
