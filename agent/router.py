"""The intent router of the routed planner: which kind of question is this?

Each intent has a handful of example questions; a message goes to the intent of its most
similar examples (cosine similarity of sentence embeddings, MiniLM by default). A few
unambiguous phrasings ("compare", "recommend", "I care about") are decided by cues first:
they are cheap, and no embedding should overrule "compare X with Y". The embedder is
injected, so tests use a deterministic fake.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

import numpy as np

__all__ = ["EXEMPLARS", "INTENTS", "IntentRouter", "Route"]

EXEMPLARS: dict[str, list[str]] = {
    "rating": [
        "would I like this?", "would I like it", "what rating would I give it?",
        "how much would I enjoy this place?", "is it a good match for me?",
        "should I book this hotel?", "will I like this beer?", "what's my predicted score?",
    ],
    "aspects": [
        "how is the cleanliness?", "what about the location?", "and the service?",
        "how are the rooms?", "is it good value for money?", "how does it do on each aspect?",
        "break it down by aspect", "what about the aroma?", "how is the taste?",
    ],
    "explain": [
        "why?", "why would I like it?", "explain the prediction", "why do you think so?",
        "what makes it a good fit for me?", "why is the rating so low?", "justify that",
    ],
    "reviews": [
        "show me reviews that say so", "what do other people say about it?",
        "show me reviews about the staff", "any reviews mentioning dirty rooms?",
        "quote some reviews", "what did reviewers write?", "evidence please",
    ],
    "generated_review": [
        "write the review I would write", "what would my review say?",
        "generate a review for me", "what would I write about it?",
    ],
    "recommend": [
        "what should I try next?", "recommend me something", "suggest some hotels",
        "give me the top 5 items", "find me a clean hotel", "what else would I like?",
        "any recommendations with great taste?",
    ],
    "compare": [
        "compare it with the Hilton", "which is better for me, this or that?",
        "how does it stack up against the other one?", "and compared with Grand Inn?",
        "is this one better than the other?",
    ],
    "item_profile": [
        "tell me about this hotel", "tell me about this one", "tell me about it",
        "how do people rate it on average?",
        "how many reviews does it have?", "what is this place like?", "describe this beer",
    ],
    "user_profile": [
        "what do I usually like?", "what have I reviewed?", "tell me about my tastes",
        "what's my average rating?", "show my history",
    ],
    "preference": [
        "I care about taste more than looks", "cleanliness matters most to me",
        "I don't care about the location", "I prefer good service", "value is important to me",
    ],
    "help": ["help", "what can you do?", "how does this work?", "what can I ask?"],
    "out_of_scope": [
        "what's the weather tomorrow?", "write me a poem", "who won the football match?",
        "what is the capital of France?", "tell me a joke",
    ],
}
INTENTS = list(EXEMPLARS)

# Cues decide before the embeddings; they are ordered, the first match wins.
_CUES: list[tuple[str, re.Pattern]] = [
    # A question about what matters ("Which aspects matter to me?") asks for the aspect
    # breakdown with importance; only a statement ("taste matters most to me") is a preference.
    ("aspects", re.compile(r"^\s*(?:which|what|how much)\b.*\b(?:aspects?|matters?|important)\b",
                           re.IGNORECASE)),
    ("preference", re.compile(
        r"\bi (?:really |mostly |mainly )?(?:care|value|prefer|like|love|hate|want)\b.*"
        r"\b(?:more|most|less|than|about)\b|\b(?:matters?|important) (?:most |a lot )?to me\b|"
        r"\bi (?:do not|don't) care\b", re.IGNORECASE)),
    ("compare", re.compile(r"\bcompar|\bversus\b|\bvs\.?\s|\bbetter than\b|\bagainst\b",
                           re.IGNORECASE)),
    ("recommend", re.compile(r"\brecommend|\bsuggest|\bwhat (?:else )?should i (?:try|book|"
                             r"drink|visit)|\btop \d+\b", re.IGNORECASE)),
    # "What would my review say?" asks for the model's review, not for real ones.
    ("generated_review", re.compile(r"\bmy (?:own )?review\b|\breview (?:that )?i would\b|"
                                    r"\bwhat would i write\b", re.IGNORECASE)),
    ("reviews", re.compile(r"\breviews?\b(?! (?:i|I) would)|\bquote|\bwhat do (?:other )?"
                           r"people say", re.IGNORECASE)),
    # "Would I like it, and why?" is an explanation, not a bare rating: "why" anywhere wins.
    ("explain", re.compile(r"\bwhy\b|\bexplain|\bwhat makes\b|\breasons?\b", re.IGNORECASE)),
]


class Embedder(Protocol):
    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray: ...


@dataclass(frozen=True)
class Route:
    intent: str
    score: float  # cosine similarity of the best examples; 1.0 when a cue decided
    by_cue: bool


class IntentRouter:
    def __init__(self, embedder: Embedder, exemplars: dict[str, list[str]] | None = None,
                 *, top: int = 2):
        self.embedder = embedder
        self.exemplars = exemplars or EXEMPLARS
        self.top = top  # mean of the best `top` exemplars, so one lucky example does not win
        self._labels = [i for i, texts in self.exemplars.items() for _ in texts]
        texts = [t for ts in self.exemplars.values() for t in ts]
        self._matrix = np.asarray(embedder.encode(texts), dtype=np.float32)  # (E, D)

    def route(self, message: str, *, use_cues: bool = True) -> Route:
        if use_cues:
            for intent, cue in _CUES:
                if intent in self.exemplars and cue.search(message):
                    return Route(intent, 1.0, True)
        query = np.asarray(self.embedder.encode([message]), dtype=np.float32)[0]  # (D,)
        sims = self._matrix @ query  # (E,)
        best, best_score = "out_of_scope", -1.0
        for intent in self.exemplars:
            scores = np.sort(sims[[i for i, lab in enumerate(self._labels) if lab == intent]])
            value = float(scores[-self.top:].mean())
            if value > best_score:
                best, best_score = intent, value
        return Route(best, best_score, False)
