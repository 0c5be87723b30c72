"""The deterministic grounded composer: an answer written only from tool artifacts.

It is the `--llm none` writer and the fallback when an LLM's draft fails the grounding
check, so everything it states comes straight from the evidence and passes that check by
construction. Review text is never interpreted, only quoted.

The answer is organised by intent: one section per intent the planner recognised (in the
order of `intents`, the tool calls tagged with the intent they serve), each opening with the
sentence that answers the question as asked (see `agent.answers`). Without tags, the turn's
intent gets one section over all the artifacts; a tool whose artifact no section used gets a
paragraph of its own, as does every tool of a turn with no known intent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from elixir_agent.agent.answers import SECTIONS
from elixir_agent.tools._common import ADVICE_TO_LLM, score
from elixir_agent.tools.artifacts import ToolArtifact, parse_artifact
from elixir_agent.tools.aspect_ratings import AspectRatingsArtifact
from elixir_agent.tools.compare_items import CompareItemsArtifact
from elixir_agent.tools.generate_review import GenerateReviewArtifact
from elixir_agent.tools.item_profile import ItemProfileArtifact
from elixir_agent.tools.predict_rating import PredictRatingArtifact
from elixir_agent.tools.recommend_items import RecommendItemsArtifact
from elixir_agent.tools.similar_reviews import SimilarReviewsArtifact
from elixir_agent.tools.user_history import UserHistoryArtifact
from elixir_agent.tools.user_profile import UserProfileArtifact
from elixir_agent.tools.what_if import WhatIfArtifact

__all__ = ["compose", "digest", "error_text"]

# The artifacts a section reads; a section that wrote from them covers them.
_COVERS: dict[str, tuple[type[ToolArtifact], ...]] = {
    "rating": (PredictRatingArtifact, AspectRatingsArtifact, UserHistoryArtifact),
    "explain": (PredictRatingArtifact, AspectRatingsArtifact, UserHistoryArtifact,
                SimilarReviewsArtifact),
    "aspects": (AspectRatingsArtifact,),
    "what_matters": (UserProfileArtifact, AspectRatingsArtifact),
    "compare": (CompareItemsArtifact,),
    "own_history": (UserHistoryArtifact,),
    "what_if": (WhatIfArtifact,),
}


def compose(records: list[dict[str, Any]], *, preferences: Sequence[str] = (),
            intent: str | None = None, intents: Sequence[str] | None = None) -> str:
    """The answer: per intent, the answering sentence first, review ids cited in [brackets]."""
    prefs = list(preferences)
    errors = [_error(r) for r in records if r["status"] != "success"]
    done = [(r, parse_artifact(r.get("artifact"))) for r in records if r["status"] == "success"]
    tagged = [r.get("intent") for r, _ in done]
    if any(tagged):
        order = list(dict.fromkeys([*(intents or []), *(t for t in tagged if t)]))
        # "Would I like it, and why?": the why opens with the verdict, so a rating section
        # before it would say the same thing twice; the why reads the rating's artifacts.
        merged = {"rating": "explain"} if "explain" in order else {}
        order = [name for name in order if name not in merged]
        groups = [(name, [(r, m) for r, m in done if merged.get(r.get("intent"), r.get("intent")) == name])
                  for name in order]
        untagged = [(r, m) for r, m in done if not r.get("intent")]
    else:
        groups, untagged = [(intent, done)], []
    parts: list[str] = []
    for name, group in groups:
        parts += _section(name, group, prefs)
    parts += [_paragraph(r, m, prefs) for r, m in untagged]
    return "\n\n".join(p for p in [*parts, *errors] if p)


def _section(intent: str | None, group: list[tuple[dict, ToolArtifact | None]],
             prefs: list[str]) -> list[str]:
    writer = SECTIONS.get(intent or "")
    models = [m for _, m in group if m is not None]
    lines = writer(models, prefs) if writer and models else None
    if lines is None:
        return [_paragraph(r, m, prefs) for r, m in group]
    covered = _COVERS.get(intent or "", ())
    rest = [_paragraph(r, m, prefs) for r, m in group if not isinstance(m, covered)]
    return ["\n".join(lines), *rest]


def _error(record: dict[str, Any]) -> str:
    said = error_text(record["content"])
    return (f"I could not answer that: {said}"
            + (" Which one do you mean?" if "Closest matches" in said else ""))


def error_text(content: str) -> str:
    """A tool's error for the person: its last sentence is advice to an LLM, not to them."""
    return content.split(f" {ADVICE_TO_LLM}")[0]


def digest(records: list[dict[str, Any]], *, preferences: Sequence[str] = (),
           intent: str | None = None, intents: Sequence[str] | None = None,
           max_chars: int = 700) -> str:
    """The composed answer with every quotation taken out: the facts a lead-in is written from.

    A small local model writing one opening sentence needs the verdicts and numbers, not the
    reviews; leaving review text out also keeps strangers' words out of its prompt entirely.
    """
    text = compose(records, preferences=preferences, intent=intent, intents=intents)
    lines = [_QUOTE.sub("(a quote)", line) for line in text.splitlines()
             if line.strip() and not line.startswith(">")]
    out = "\n".join(lines)
    return out if len(out) <= max_chars else out[:max_chars].rsplit("\n", 1)[0]


_QUOTE = re.compile(r'"[^"]*"')


# -- one paragraph per tool, for intents without a section -------------------------------

def _paragraph(record: dict[str, Any], model: ToolArtifact | None, prefs: list[str]) -> str:
    if model is None:
        return record.get("content", "")
    for kind, writer in _WRITERS:
        if isinstance(model, kind):
            return writer(model, prefs)
    section = next((name for kind, name in _SINGLE if isinstance(model, kind)), None)
    lines = SECTIONS[section]([model], prefs) if section else None
    return "\n".join(lines) if lines else record.get("content", "")


# An artifact answering on its own: the section that reads it best.
_SINGLE = ((PredictRatingArtifact, "rating"), (AspectRatingsArtifact, "aspects"),
           (UserHistoryArtifact, "own_history"), (WhatIfArtifact, "what_if"))


def _generated(a: GenerateReviewArtifact, prefs: list[str]) -> str:
    return (f"Here is the review the model expects you would write about {a.item_name} "
            f"(predicted {score(a.rating)}); it is generated text, not a real review:\n"
            f"> {_shorten(a.generated_review)}")


def _reviews(a: SimilarReviewsArtifact, prefs: list[str]) -> str:
    if not a.reviews:
        return "I found no matching reviews."
    names = {r.item_name for r in a.reviews}
    about = f" about {next(iter(names))}" if len(names) == 1 else ""
    lines = [f"Here is what other reviewers wrote{about} (quoted as written):"]
    for r in a.reviews:
        lines.append(f"- {r.item_name}, rated {score(r.rating)}: "
                     f"\"{_shorten(r.text)}\" [{r.review_id}]")
    return "\n".join(lines)


def _recommend(a: RecommendItemsArtifact, prefs: list[str]) -> str:
    if not a.items:
        return "I found nothing you have not reviewed yet."
    focus = f", favouring {', '.join(a.aspects)}" if a.aspects else ""
    top = a.items[0]
    lines = [f"Try {top.item_name} first: I predict you'd rate it {score(top.rating)}.",
             f"Items you have not reviewed yet{focus}, best first:"]
    for it in a.items:
        extra = "".join(f", {k} {score(v)}" for k, v in it.aspect_ratings.items())
        lines.append(f"{it.rank}. {it.item_name} ({it.item_id}): predicted "
                     f"{score(it.rating)}{extra}")
    return "\n".join(lines)


def _item(a: ItemProfileArtifact, prefs: list[str]) -> str:
    if not a.n_reviews:
        return f"{a.item_name} has no reviews in the data yet."
    means = ", ".join(f"{k} {score(v)}" for k, v in a.aspect_means.items())
    return (f"{a.item_name} ({a.item_id}) has {a.n_reviews} reviews with a mean rating "
            f"of {score(a.mean_rating)}" + (f"; per aspect: {means}." if means else "."))


def _user(a: UserProfileArtifact, prefs: list[str]) -> str:
    if not a.n_reviews:
        return "You have no reviews in the data yet."
    lines = [f"You wrote {a.n_reviews} reviews with a mean rating of "
             f"{score(a.mean_rating)}."]
    if a.items:
        liked = "; ".join(f"{it.item_name} ({score(it.rating)})" for it in a.items)
        lines.append(f"Highest rated by you: {liked}.")
    matters = SECTIONS["what_matters"]([a], prefs)
    if matters:
        lines += matters
    elif prefs:
        lines.append(f"You told me you care about {', '.join(prefs)}.")
    return " ".join(lines)


def _compare(a: CompareItemsArtifact, prefs: list[str]) -> str:
    return "\n".join(SECTIONS["compare"]([a], prefs) or [])


def _shorten(text: str, words: int = 30) -> str:
    parts = " ".join(text.split()).replace('"', "'").split(" ")
    return " ".join(parts[:words]) + (" ..." if len(parts) > words else "")


_WRITERS: list[tuple[type, Callable[[Any, list[str]], str]]] = [
    (GenerateReviewArtifact, _generated),
    (SimilarReviewsArtifact, _reviews),
    (RecommendItemsArtifact, _recommend),
    (ItemProfileArtifact, _item),
    (UserProfileArtifact, _user),
    (CompareItemsArtifact, _compare),
]
