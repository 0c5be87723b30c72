"""The feature vocabulary of the PETER explanation metrics: aspects and the words that name them.

PETER (Li et al., ACL 2021) scores explanations by the *features* they mention. Our features
are each dataset's aspect names; an explanation mentions an aspect when it uses the aspect's
name or one of the synonyms below. The lists are deliberately short and unambiguous: a word
that often means something else in a review ("clear", "light", "sweet") is left out, because
a false mention inflates FMR/FCR and corrupts rating-text consistency.

Coverage: RateBeer/BeerAdvocate (aroma, appearance, taste, palate), TripAdvisor LARA (value,
rooms, location, cleanliness, service, sleep_quality, check_in_front_desk, business_service)
and the synthetic hotel dataset (cleanliness, location, service, value, rooms). An aspect not
listed here is matched by its own name only (underscores read as spaces).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["ASPECT_SYNONYMS", "FeatureLexicon", "split_sentences"]

# aspect -> words and phrases that name it (lower case; a space also matches "-" or no space).
ASPECT_SYNONYMS: dict[str, tuple[str, ...]] = {
    # beer
    "aroma": ("aroma", "aromas", "smell", "smells", "nose", "scent", "bouquet"),
    "appearance": ("appearance", "looks", "colour", "color", "head", "lacing", "pour", "poured"),
    "taste": ("taste", "tastes", "flavour", "flavor", "flavours", "flavors", "aftertaste", "finish"),
    "palate": ("palate", "mouthfeel", "body", "carbonation", "texture"),
    # hotels
    "value": ("value", "price", "priced", "overpriced", "money", "cost", "expensive", "cheap",
              "bargain", "worth"),
    "rooms": ("room", "rooms", "bed", "beds", "suite", "furniture"),
    "location": ("location", "located", "area", "neighborhood", "neighbourhood", "central",
                 "walking distance"),
    "cleanliness": ("cleanliness", "clean", "dirty", "spotless", "filthy", "tidy", "immaculate",
                    "stains", "housekeeping"),
    "service": ("service", "staff", "helpful", "rude", "concierge"),
    "sleep_quality": ("sleep quality", "sleep", "slept", "quiet", "noisy", "noise"),
    "check_in_front_desk": ("check in", "checkin", "front desk", "reception", "check out", "checkout"),
    "business_service": ("business service", "business center", "business centre", "internet",
                         "wifi", "wi fi"),
}

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def split_sentences(text: str) -> list[str]:
    """Sentences of `text`: split after . ! ? followed by space, and at line breaks."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def _phrase_pattern(phrase: str) -> str:
    words = [re.escape(w) for w in phrase.lower().replace("_", " ").split()]
    return r"[\s-]?".join(words)


@dataclass(frozen=True)
class FeatureLexicon:
    """Finds which of a dataset's aspects a text mentions."""

    aspects: tuple[str, ...]
    synonyms: dict[str, tuple[str, ...]]

    @classmethod
    def for_aspects(cls, aspects: Iterable[str]) -> FeatureLexicon:
        """The lexicon of `aspects`: each aspect's name plus its synonyms from ASPECT_SYNONYMS."""
        names = tuple(aspects)
        table = {a: tuple(dict.fromkeys((a, *ASPECT_SYNONYMS.get(a, ())))) for a in names}
        return cls(names, table)

    def __post_init__(self) -> None:
        patterns = {
            aspect: re.compile(r"(?<![a-z0-9])(?:" + "|".join(_phrase_pattern(p) for p in phrases)
                               + r")(?![a-z0-9])")
            for aspect, phrases in self.synonyms.items()
        }
        object.__setattr__(self, "_patterns", patterns)

    def features(self, text: str) -> set[str]:
        """The aspects `text` mentions."""
        lowered = text.lower()
        return {a for a, pattern in self._patterns.items() if pattern.search(lowered)}  # type: ignore[attr-defined]

    def sentences_about(self, text: str) -> dict[str, list[str]]:
        """aspect -> the sentences of `text` that mention it (aspects never mentioned are absent)."""
        found: dict[str, list[str]] = {}
        for sentence in split_sentences(text):
            for aspect in self.features(sentence):
                found.setdefault(aspect, []).append(sentence)
        return found

    def features_of_all(self, texts: Sequence[str]) -> list[set[str]]:
        return [self.features(t) for t in texts]
