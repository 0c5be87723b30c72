"""One answer section per intent, each opening with the sentence that answers the question.

Every writer takes the turn's artifacts (as their tools' typed models) and returns the
section's lines, or None when the artifacts it needs are missing (the composer then falls
back to one paragraph per tool). Every number comes straight from an artifact, written with
`score()`/`percent()`, so the grounding check passes by construction; review text is only
ever quoted, never read for meaning.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from elixir_agent.tools._common import percent, score
from elixir_agent.tools._importance import ImportanceReport
from elixir_agent.tools.artifacts import ToolArtifact
from elixir_agent.tools.aspect_ratings import AspectRatingsArtifact
from elixir_agent.tools.aspects import aspects_in_text
from elixir_agent.tools.compare_items import CompareItemsArtifact
from elixir_agent.tools.predict_rating import PredictRatingArtifact
from elixir_agent.tools.similar_reviews import ReviewRecord, SimilarReviewsArtifact
from elixir_agent.tools.user_history import UserHistoryArtifact
from elixir_agent.tools.user_profile import UserProfileArtifact
from elixir_agent.tools.what_if import WhatIfArtifact

__all__ = ["DISSENT", "SECTIONS", "Verdict", "driving_aspects", "excerpt", "verdict"]

_QUOTE_WORDS = 30  # a quoted sentence is cut after this many words
_CLOSE = 0.1  # a prediction this close to the usual rating is "about your usual"
_LIKED_FROM = 4.0  # a prediction this high is "you'd like it" whatever the user's usual
_PRAISE_FROM = 3.5  # a review rated at least this argues for an item, below 3 against it
_CRITICAL_BELOW = 3.0
# The label of the one review that argues against the verdict. Plainly a dissent, in words
# that carry no sentiment of their own ("disagrees" reads as negative about the item).
DISSENT = "A dissenting view"
_QUOTABLE_WORDS = 4  # "mmmmmmm...." says nothing worth quoting as evidence
_WORDY = re.compile(r"[^\W\d_]{2,}")

A = TypeVar("A", bound=ToolArtifact)


def first(models: Sequence[ToolArtifact], kind: type[A]) -> A | None:
    return next((m for m in models if isinstance(m, kind)), None)


# -- the verdict --------------------------------------------------------------------------

@dataclass(frozen=True)
class Verdict:
    item_name: str
    rating: float
    usual: float | None  # the user's mean rating in the training data

    @property
    def positive(self) -> bool:
        """Whether the prediction argues for the item (for this user, not in general).

        A 4 or more is a "you'd like it" even for someone whose usual is higher, and the
        evidence must then argue that way too, not "what holds it back"."""
        bar = self.usual if self.usual is not None else _PRAISE_FROM
        return self.rating >= _LIKED_FROM or self.rating >= bar - _CLOSE

    @property
    def liked(self) -> bool:
        """"You'd probably like it", rather than "fine, not great" or "not for you"."""
        return self.positive and self.rating >= _PRAISE_FROM

    def against_usual(self) -> str:
        if self.usual is None:
            return ""
        gap = self.rating - self.usual
        where = "above" if gap > _CLOSE else "below" if gap < -_CLOSE else "close to"
        return f", {where} your usual {score(self.usual)}"

    def gist(self) -> str:
        if self.liked:
            return "you would probably like it"
        return "you would probably find it fine, not great" if self.positive else \
            "it is probably not for you"

    def sentence(self) -> str:
        said = f"{score(self.rating)}{self.against_usual()}"
        if self.liked:
            return f"You'd probably like {self.item_name}: I predict you'd rate it {said}."
        if self.positive:
            return f"You'd probably find {self.item_name} fine: I predict you'd rate it {said}."
        return f"{self.item_name} is probably not for you: I predict you'd rate it {said}."


def verdict(models: Sequence[ToolArtifact]) -> Verdict | None:
    history = first(models, UserHistoryArtifact)
    rated = first(models, AspectRatingsArtifact) or first(models, PredictRatingArtifact)
    usual = history.mean_rating if history else None
    if isinstance(rated, PredictRatingArtifact) and usual is None:
        usual = rated.user_mean_rating
    if rated is not None:
        return Verdict(rated.item_name, rated.rating, usual)
    if history is not None and history.predicted_rating is not None:
        return Verdict(history.item_name or "it", history.predicted_rating, usual)
    return None


# -- quoting ------------------------------------------------------------------------------

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def excerpt(text: str, prefer: Sequence[str] = (), avoid: Sequence[str] = (),
            aspects: Sequence[str] = (), *, strict: bool = False) -> str | None:
    """A short contiguous piece of `text` to quote: the first sentence naming a `prefer`
    aspect and no `avoid` aspect, else the first naming no `avoid` aspect, else (unless
    `strict`, which then gives None) the start."""
    flat = " ".join(text.split()).replace('"', "'")
    sentences = [s for s in _SENTENCE.split(flat) if s.strip()] or [flat]
    # "mmmmmmm...." opening a longer review is no quote; a sentence with words is.
    sentences = [s for s in sentences if quotable(s)] or sentences

    def named(sentence: str) -> set[str]:
        return set(aspects_in_text(sentence, list(aspects))) if aspects else set()

    ranked = ([s for s in sentences if named(s) & set(prefer) and not named(s) & set(avoid)]
              + [s for s in sentences if not named(s) & set(avoid)]
              + ([] if strict else sentences))
    if not ranked:
        return None
    words = ranked[0].split(" ")
    return " ".join(words[:_QUOTE_WORDS]) + (" ..." if len(words) > _QUOTE_WORDS else "")


def quotable(text: str) -> bool:
    """Whether a review has words enough to quote as evidence."""
    return len(_WORDY.findall(text)) >= _QUOTABLE_WORDS


def _quote(review: ReviewRecord, rows: dict[str, float], prefer: Sequence[str]) -> str | None:
    """Quote the part of a review that does not argue against the predicted aspect scores:
    a praising review's words about an aspect predicted below 3 (or a critical review's about
    one predicted above 3) would contradict the numbers beside them. None when every
    sentence would (or there are no words to quote): then the review is cited, not quoted."""
    if not quotable(review.text):
        return None
    praising = review.rating >= _PRAISE_FROM
    avoid = [a for a, v in rows.items() if (v < 3.0) == praising]
    said = excerpt(review.text, prefer, avoid, list(rows), strict=True)
    return None if said is None else f"\"{said}\" [{review.review_id}]"


def _wrote(review: ReviewRecord, rows: dict[str, float], prefer: Sequence[str]) -> str:
    """' and wrote "..." [id]', or just ' [id]' when nothing in it can be quoted fairly."""
    quoted = _quote(review, rows, prefer)
    return f" and wrote {quoted}" if quoted else f" [{review.review_id}]"


# -- the sections -------------------------------------------------------------------------

Section = Callable[[Sequence[ToolArtifact], list[str]], list[str] | None]


def _rating(models: Sequence[ToolArtifact], prefs: list[str]) -> list[str] | None:
    v = verdict(models)
    if v is None:
        return None
    predicted = first(models, PredictRatingArtifact)
    lines = [f"You'd probably rate {v.item_name} {score(v.rating)}{v.against_usual()}.",
             f"So {v.gist()}."]
    if predicted is not None and (predicted.cold_user or predicted.cold_item):
        lines.append("The model has not seen this user or item before, so this is a "
                     "cold-start guess.")
    return [" ".join(lines)]


def _drivers(aspects: AspectRatingsArtifact, history: UserHistoryArtifact | None,
             v: Verdict) -> tuple[list[str], str]:
    """The one or two aspects that push this prediction most, and the sentence saying so.

    An aspect pushes by how much it matters to the user times how far the item's predicted
    score is from the user's usual score on it.
    """
    importance = aspects.importance
    weights = importance.stated() if importance else {
        a: row.user_importance for a, row in aspects.aspects.items()}
    usual_by_aspect = history.aspect_means if history else {}
    fallback = v.usual
    pushes = {}
    for a, row in aspects.aspects.items():
        typical = usual_by_aspect.get(a, fallback)
        if typical is not None:
            pushes[a] = (weights.get(a, 0.0) * (row.rating - typical), typical)
    if not pushes:
        return [], ""
    order = sorted(pushes, key=lambda a: pushes[a][0], reverse=v.positive)
    chosen = [a for a in order[:2] if (pushes[a][0] > 0) == v.positive] or order[:1]
    parts = [f"{a} (predicted {score(aspects.aspects[a].rating)} against your usual "
             f"{score(pushes[a][1])}, {percent(weights.get(a, 0.0))} of "
             f"{'your' if importance is None or importance.known else 'their'} weight)"
             for a in chosen]
    lead = "What drives it for you" if v.positive else "What holds it back for you"
    sentence = f"{lead}: {' and '.join(parts)}."
    if importance is not None and not importance.known:
        sentence += " " + _unknown_importance(importance)
    return chosen, sentence


def driving_aspects(models: Sequence[ToolArtifact]) -> list[str]:
    """The one or two aspects driving the verdict (what a "why" answer names), if known."""
    v, aspects = verdict(models), first(models, AspectRatingsArtifact)
    if v is None or aspects is None:
        return []
    return _drivers(aspects, first(models, UserHistoryArtifact), v)[0]


def _unknown_importance(importance: ImportanceReport) -> str:
    weights = importance.stated()
    top = importance.top()
    least = importance.min_reviews
    who = {"item_reviewers": f"the {importance.prior_users} users with at least {least} "
                             "reviews who reviewed this item",
           "population": f"the {importance.prior_users} users with at least {least} reviews",
           "all_users": f"all {importance.prior_users} users (too few have {least} reviews)"}
    if importance.n_reviews < least:
        why = (f"There are not enough of your reviews to tell what matters to you "
               f"({importance.n_reviews} review{'' if importance.n_reviews == 1 else 's'} "
               "so far)")
    else:
        why = (f"Your {importance.n_reviews} reviews show no clear preference among aspects "
               "(the weights the model learned for you are nearly even)")
    return (f"{why}, so I go by people like you: {who[importance.prior]} weigh {top} most "
            f"({percent(weights[top])}).")


def _own(history: UserHistoryArtifact | None, rows: dict[str, float], prefer: list[str],
         v: Verdict, limit: int = 2) -> list[str]:
    """The user's own review of the item, then their reviews of similar items, those that
    argue the verdict's way first: for "probably not for you", the similar things they rated
    below their usual."""
    if history is None:
        return []
    lines = []
    usual = v.usual if v.usual is not None else _PRAISE_FROM
    similar = sorted(history.similar, key=lambda r: (r.rating >= usual) != v.positive)
    if history.own_review is not None:
        r = history.own_review
        lines.append(f"You already reviewed it: you gave it {score(r.rating)}"
                     f"{_wrote(r, rows, prefer)}.")
    for r in similar[:limit]:
        lines.append(f"You gave {r.item_name} {score(r.rating)}{_wrote(r, rows, prefer)}.")
    return lines


def _others(models: Sequence[ToolArtifact], user_id: str | None, v: Verdict,
            rows: dict[str, float], prefer: list[str]) -> list[str]:
    """Other reviewers' quotes that support the verdict, then one that disagrees, labelled."""
    pool: dict[str, ReviewRecord] = {}
    for m in models:
        if isinstance(m, SimilarReviewsArtifact):
            for r in m.reviews:
                if r.user_id != user_id and quotable(r.text):
                    pool.setdefault(r.review_id, r)
    if v.positive:
        support = sorted((r for r in pool.values() if r.rating >= _PRAISE_FROM),
                         key=lambda r: -r.rating)
        dissent = sorted((r for r in pool.values() if r.rating < _CRITICAL_BELOW),
                         key=lambda r: r.rating)
    else:
        support = sorted((r for r in pool.values() if r.rating < _PRAISE_FROM),
                         key=lambda r: r.rating)
        dissent = sorted((r for r in pool.values() if r.rating >= _PRAISE_FROM),
                         key=lambda r: -r.rating)
    # Quotes that argue the verdict's way; reviews with nothing fair to quote are passed over.
    quoted = [(r, q) for r in support for q in [_quote(r, rows, prefer)] if q][:2]
    lines = []
    if quoted:
        lines.append(("Reviewers who liked it" if v.positive else "Reviewers who rated it low")
                     + ": " + "; ".join(f"one rated it {score(r.rating)} and wrote {q}"
                                        for r, q in quoted) + ".")
    if dissent:
        r = dissent[0]
        q = _quote(r, rows, prefer)
        lines.append(f"{DISSENT}: rated {score(r.rating)}" + (f", {q}." if q else f" [{r.review_id}]."))
    return lines


def _explain(models: Sequence[ToolArtifact], prefs: list[str]) -> list[str] | None:
    v = verdict(models)
    if v is None:
        return None
    aspects = first(models, AspectRatingsArtifact)
    history = first(models, UserHistoryArtifact)
    rows = {a: row.rating for a, row in aspects.aspects.items()} if aspects else {}
    lines = [v.sentence()]
    drivers: list[str] = []
    if aspects is not None:
        drivers, sentence = _drivers(aspects, history, v)
        if sentence:
            lines.append(sentence)
    lines += _own(history, rows, drivers, v)
    if history is not None and history.n_reviews and not (history.similar or history.own_review):
        lines.append("None of your own reviews is of anything like it.")
    lines += _others(models, history.user_id if history else None, v, rows, drivers)
    return lines


def _aspects(models: Sequence[ToolArtifact], prefs: list[str]) -> list[str] | None:
    a = first(models, AspectRatingsArtifact)
    if a is None or not a.aspects:
        return None
    rows = a.aspects
    best = max(rows, key=lambda k: rows[k].rating)
    worst = min(rows, key=lambda k: rows[k].rating)
    if len(rows) == 1:
        head = (f"{best.replace('_', ' ').capitalize()} of {a.item_name}: I predict "
                f"{score(rows[best].rating)} for you (overall {score(a.rating)}).")
    else:
        head = (f"For you, {a.item_name} is strongest on {best} ({score(rows[best].rating)}) "
                f"and weakest on {worst} ({score(rows[worst].rating)}); overall "
                f"{score(a.rating)}.")
    known = a.importance is None or a.importance.known
    order = sorted(rows, key=lambda k: (k not in prefs, -rows[k].user_importance))
    lines = [head]
    for aspect in order:
        said = " (you said this matters to you)" if aspect in prefs else ""
        weight = f", {percent(rows[aspect].user_importance)} of what you weigh" if known else ""
        lines.append(f"- {aspect}: predicted {score(rows[aspect].rating)}{weight}{said}")
    if not known:
        lines.append(_unknown_importance(a.importance))
    return lines


def _what_matters(models: Sequence[ToolArtifact], prefs: list[str]) -> list[str] | None:
    holder = first(models, UserProfileArtifact) or first(models, AspectRatingsArtifact)
    importance = holder.importance if holder is not None else None
    if importance is None:
        return None
    weights = importance.stated()
    order = sorted(weights, key=lambda k: -weights[k])
    if importance.known:
        top = order[0]
        lines = [f"{top.replace('_', ' ').capitalize()} matters most to you: "
                 f"{percent(weights[top])} of your weight."]
        if len(order) > 1:
            lines.append("Then " + ", ".join(f"{a} ({percent(weights[a])})" for a in order[1:])
                         + f", learned from your {importance.n_reviews} reviews.")
    else:
        lines = [_unknown_importance(importance)]
    if prefs:
        lines.append(f"You told me you care about {', '.join(prefs)}.")
    return [" ".join(lines)]


def _compare(models: Sequence[ToolArtifact], prefs: list[str]) -> list[str] | None:
    c = first(models, CompareItemsArtifact)
    if c is None:
        return None
    one, two = c.items
    names = {one.item_id: one.item_name, two.item_id: two.item_name}
    if c.better is None:
        head = (f"For you, {one.item_name} and {two.item_name} are level: "
                f"{score(one.rating)} each.")
    else:
        win, lose = (one, two) if c.better == one.item_id else (two, one)
        sign = 1 if win is one else -1
        mainly = max(c.aspects, key=lambda k: sign * c.aspects[k].difference
                     * (c.aspects[k].user_importance or 1.0), default=None)
        on = (f", mainly on {mainly}" if mainly and c.aspects[mainly].better == win.item_id
              else "")
        head = (f"For you, {win.item_name} beats {lose.item_name}: {score(win.rating)} against "
                f"{score(lose.rating)}{on}.")
    lines = [head]
    for aspect in sorted(c.aspects, key=lambda k: k not in prefs):
        row = c.aspects[aspect]
        winner = names[row.better] if row.better else "tie"
        said = " (matters to you)" if aspect in prefs else ""
        lines.append(f"- {aspect}{said}: {score(row.a)} vs {score(row.b)}, better: {winner}")
    return lines


def _own_history(models: Sequence[ToolArtifact], prefs: list[str]) -> list[str] | None:
    h = first(models, UserHistoryArtifact)
    if h is None:
        return None
    if not h.n_reviews:
        return ["You have no reviews in the data yet."]
    about = f" about '{h.query}'" if h.query else (f" like {h.item_name}" if h.item_name else "")
    lines = []
    if h.own_review is not None:
        r = h.own_review
        lines.append(f"Yes, you reviewed {h.item_name}: you gave it {score(r.rating)} and wrote "
                     f"\"{excerpt(r.text)}\" [{r.review_id}].")
    elif h.item_name:
        lines.append(f"You have not reviewed {h.item_name} yet.")
    if h.similar:
        lines.append(f"Your reviews closest{about}:" if lines else
                     f"Here is what you said{about}, closest first:")
        lines += [f"- {r.item_name}, you gave it {score(r.rating)}: \"{excerpt(r.text)}\" "
                  f"[{r.review_id}]" for r in h.similar]
    lines.append(f"You wrote {h.n_reviews} reviews in all, usually rating "
                 f"{score(h.mean_rating)}.")
    return lines


def _what_if(models: Sequence[ToolArtifact], prefs: list[str]) -> list[str] | None:
    w = first(models, WhatIfArtifact)
    if w is None or not w.new_weights:
        return None
    named = " and ".join(w.aspects)
    share = sum(w.new_weights[a] for a in w.aspects)
    now = sum(w.weights.get(a, 0.0) for a in w.aspects)
    lines = [f"If {named} mattered most to you ({percent(share)} of your weight instead of "
             f"{percent(now)}), "
             + (f"{w.item.item_name} would come to {score(w.item.new_rating)} instead of "
                f"{score(w.item.rating)}." if w.item else "your recommendations would change.")]
    if [r.item_id for r in w.after] == [r.item_id for r in w.before]:
        lines.append(f"Your top {len(w.after)} would stay in the same order.")
    else:
        lines.append(f"Your top {len(w.after)} would become (hypothetical):")
        lines += [f"{r.rank}. {r.item_name} ({r.item_id}): {score(r.new_rating)}" for r in w.after]
        lines.append("instead of, in order: " + "; ".join(f"{r.item_name} {score(r.rating)}"
                                                          for r in w.before) + ".")
    lines.append("Say \"reset\" to go back to your own weights.")
    return lines


SECTIONS: dict[str, Section] = {
    "rating": _rating,
    "explain": _explain,
    "aspects": _aspects,
    "what_matters": _what_matters,
    "compare": _compare,
    "own_history": _own_history,
    "what_if": _what_if,
}
