"""Does an answer answer? Is it about this person? Do two people get different answers?

Pure functions over an answer's text and what the evaluation knows about its question, so a
non-answer ("Who are you? Give me your user id") fails instead of being vacuously grounded.

Required content per question kind:
    why           states the predicted rating, gives a reason (names an aspect) and cites a
                  review that is in the evidence
    rating        states the predicted rating (to the precision it is written with)
    aspects       names an aspect and states one of the predicted aspect ratings
    compare       names both items and a winner (or says they are level)
    what_matters  names the top aspect (the user's, or the stated prior's) in its first sentence
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from elixir_agent.agent.explainers import QUESTION_KINDS  # the questions asked, by kind
from elixir_agent.eval.features import FeatureLexicon

__all__ = ["QUESTION_KINDS", "answers_question", "cites_own", "mentions_personal",
           "sentence_overlap", "states_number"]

_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w])")
_WINNER = re.compile(r"\b(?:beats|better|ahead|wins|level|tie)\b", re.IGNORECASE)
_PERSONAL = re.compile(r"\byou (?:gave|wrote|rated|reviewed|already)\b|\byour (?:usual|own|"
                       r"reviews?|weight|ratings?)\b|\bof what you weigh\b|\bmatters most to "
                       r"you\b|\bpeople like you\b", re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def states_number(text: str, value: float | None) -> bool:
    """Whether `text` writes `value` with at least one decimal, rounded as written."""
    if value is None:
        return False
    return any(abs(float(n) - value) <= 0.5 * 10 ** -len(n.split(".")[1]) + 1e-9
               for n in _NUMBER.findall(text) if "." in n)


def _first_sentence(text: str) -> str:
    parts = [p for p in _SENTENCE.split(text.strip()) if p.strip()]
    return parts[0] if parts else ""


def answers_question(kind: str, explanation: Mapping[str, Any], lexicon: FeatureLexicon) -> bool:
    """Whether the answer has the content its question kind requires (see the module doc)."""
    text = explanation.get("text") or ""
    extra = explanation.get("extra") or {}
    grounding = explanation.get("grounding") or {}
    known_citations = grounding.get("cited_known", len(explanation.get("cited_ids") or []))
    if kind == "why":
        return (states_number(text, explanation.get("rating")) and known_citations > 0
                and bool(lexicon.features(text)))
    if kind == "rating":
        return states_number(text, explanation.get("rating"))
    if kind == "aspects":
        ratings = (explanation.get("aspect_ratings") or {}).values()
        return bool(lexicon.features(text)) and any(states_number(text, r) for r in ratings)
    if kind == "compare":
        names = extra.get("compared") or []
        ids = extra.get("compared_ids") or [None] * len(names)
        lowered = text.lower()
        return (len(names) == 2 and all(n.lower() in lowered or (i and i in text)
                                        for n, i in zip(names, ids, strict=False))
                and bool(_WINNER.search(text)))
    if kind == "what_matters":
        top = extra.get("top_aspect")
        return bool(top) and top in lexicon.features(_first_sentence(text))
    raise ValueError(f"unknown question kind {kind!r}; known: {', '.join(QUESTION_KINDS)}")


def mentions_personal(text: str) -> bool:
    """Whether the answer speaks of the user's own history or their aspect weights."""
    return bool(_PERSONAL.search(text))


def cites_own(cited_ids: Iterable[str], own_review_ids: set[str]) -> bool:
    """Whether the answer cites at least one of the user's own training reviews."""
    return any(c in own_review_ids for c in cited_ids)


def _sentences(text: str) -> set[str]:
    return {" ".join(s.lower().split()) for s in _SENTENCE.split(text) if len(s.split()) >= 3}


def sentence_overlap(a: str, b: str) -> float | None:
    """Share of sentences two answers have in common (over the shorter one's sentences)."""
    sa, sb = _sentences(a), _sentences(b)
    if not sa or not sb:
        return None
    return len(sa & sb) / min(len(sa), len(sb))


def overlaps_by_item(rows: Sequence[tuple[str, str, str]]) -> list[float]:
    """For (item, user, answer) rows: the sentence overlap of every two users' answers about
    the same item."""
    by_item: dict[str, list[tuple[str, str]]] = {}
    for item, user, text in rows:
        by_item.setdefault(item, []).append((user, text))
    out = []
    for answers in by_item.values():
        for n, (user_a, text_a) in enumerate(answers):
            for user_b, text_b in answers[n + 1:]:
                if user_a != user_b:
                    overlap = sentence_overlap(text_a, text_b)
                    if overlap is not None:
                        out.append(overlap)
    return out
