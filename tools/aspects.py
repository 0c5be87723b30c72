"""Aspect names as people say them: 'clean' -> cleanliness, 'staff' -> service, 'looks' -> appearance.

Used by the tools to accept loose aspect arguments from an LLM and by the agent to find the
aspects a message talks about. Only aspects the dataset actually has are ever returned.
"""

from __future__ import annotations

import re

__all__ = ["SYNONYMS", "aspects_in_text", "match_aspect"]

# Words that point to an aspect without sharing its stem. Hotel (TripAdvisor) and beer
# (RateBeer / BeerAdvocate) vocabularies; unknown datasets fall back to stem matching.
SYNONYMS: dict[str, str] = {
    "clean": "cleanliness", "dirty": "cleanliness", "tidy": "cleanliness", "hygiene": "cleanliness",
    "staff": "service", "reception": "service", "desk": "service", "friendly": "service",
    "price": "value", "cheap": "value", "expensive": "value", "money": "value", "cost": "value",
    "room": "rooms", "bed": "rooms", "beds": "rooms", "spacious": "rooms",
    "area": "location", "neighbourhood": "location", "neighborhood": "location",
    "central": "location", "where": "location",
    "looks": "appearance", "look": "appearance", "colour": "appearance", "color": "appearance",
    "head": "appearance", "smell": "aroma", "nose": "aroma", "flavour": "taste",
    "flavor": "taste", "mouthfeel": "palate", "body": "palate", "texture": "palate",
    "sleep": "sleep_quality", "checkin": "check_in", "check-in": "check_in",
}


def match_aspect(word: str, aspects: list[str]) -> str | None:
    """The aspect `word` names, or None. Exact name, synonym, then a shared 5-letter stem."""
    word = word.strip().lower().replace(" ", "_")
    if word in aspects:
        return word
    if SYNONYMS.get(word) in aspects:
        return SYNONYMS[word]
    if len(word) >= 4:
        for aspect in aspects:
            if aspect.startswith(word[:5]) or word.startswith(aspect[:5]):
                return aspect
    return None


def aspects_in_text(text: str, aspects: list[str]) -> list[str]:
    """Aspects mentioned in `text`, in order of first mention, without repeats."""
    found: list[str] = []
    for word in re.findall(r"[a-z][a-z_-]+", text.lower()):
        aspect = match_aspect(word, aspects)
        if aspect and aspect not in found:
            found.append(aspect)
    return found
