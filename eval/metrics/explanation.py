"""PETER's feature metrics (FMR, FCR, DIV) and rating-text consistency.

Features are aspects found by `eval.features.FeatureLexicon`; the functions here take the
already-extracted feature sets so that they stay pure and testable by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

from elixir_agent.eval.features import FeatureLexicon

__all__ = [
    "Consistency",
    "feature_coverage_ratio",
    "feature_diversity",
    "feature_matching_ratio",
    "rating_text_consistency",
    "vader_compound",
]

# VADER's own convention: |compound| < 0.05 is neutral.
SENTIMENT_THRESHOLD = 0.05


def feature_matching_ratio(generated: Sequence[set[str]], reference: Sequence[set[str]]) -> float:
    """FMR: share of explanations that mention at least one feature of their real review.

    Pairs whose real review mentions no feature cannot match and are left out (PETER has one
    ground-truth feature per record, so the case never arises there). 0.0 when none is left.
    """
    if len(generated) != len(reference):
        raise ValueError(f"{len(generated)} generated feature sets but {len(reference)} references")
    judged = [(g, r) for g, r in zip(generated, reference, strict=True) if r]
    if not judged:
        return 0.0
    return sum(1 for g, r in judged if g & r) / len(judged)


def feature_coverage_ratio(generated: Sequence[set[str]], all_features: Sequence[str]) -> float:
    """FCR: distinct features mentioned across all explanations / number of features."""
    if not all_features:
        raise ValueError("the feature vocabulary is empty")
    mentioned = set().union(*generated) if generated else set()
    return len(mentioned & set(all_features)) / len(set(all_features))


def feature_diversity(generated: Sequence[set[str]]) -> float:
    """DIV: mean size of the feature-set intersection over all pairs of explanations (lower = more diverse)."""
    if len(generated) < 2:
        raise ValueError("DIV needs at least two explanations")
    pairs = list(combinations(generated, 2))
    return sum(len(a & b) for a, b in pairs) / len(pairs)


@dataclass(frozen=True)
class Consistency:
    """Rating-text consistency over a list of explanations.

    `judged` counts (explanation, aspect) mentions whose sentiment is not neutral; `agreeing`
    those whose sentiment sign equals the sign of (predicted aspect rating - midpoint).
    `share` is agreeing / judged, or None when nothing could be judged.
    """

    share: float | None
    judged: int
    agreeing: int
    neutral: int


def vader_compound() -> Callable[[str], float]:
    """VADER's compound score (-1..1); the lexicon ships inside the `vaderSentiment` wheel."""
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError as error:
        raise ImportError("rating-text consistency needs vaderSentiment: pip install 'elixir-agent[eval]'") from error
    analyzer = SentimentIntensityAnalyzer()
    return lambda text: float(analyzer.polarity_scores(text)["compound"])


def _sign(value: float, band: float) -> int:
    return 0 if abs(value) <= band else (1 if value > 0 else -1)


def rating_text_consistency(
    texts: Sequence[str],
    aspect_ratings: Sequence[Mapping[str, float]],
    lexicon: FeatureLexicon,
    sentiment: Callable[[str], float] | None = None,
    midpoint: float = 3.0,
    rating_band: float = 0.0,
) -> Consistency:
    """Whether what each explanation says about an aspect agrees with the predicted aspect rating.

    For every aspect an explanation mentions (and that has a predicted rating), the sentences
    mentioning it are scored together by `sentiment` (default VADER compound). A neutral score
    (|s| < 0.05, e.g. "taste is predicted at 4.1") takes no stance and is not judged; otherwise
    the mention agrees when sign(s) == sign(rating - midpoint), a rating within `rating_band`
    of the midpoint having sign 0 (so any stance disagrees with it).
    """
    if len(texts) != len(aspect_ratings):
        raise ValueError(f"{len(texts)} texts but {len(aspect_ratings)} aspect-rating maps")
    score = sentiment or vader_compound()
    judged = agreeing = neutral = 0
    for text, ratings in zip(texts, aspect_ratings, strict=True):
        for aspect, sentences in lexicon.sentences_about(text).items():
            if aspect not in ratings or ratings[aspect] is None:
                continue
            polarity = score(" ".join(sentences))
            if abs(polarity) < SENTIMENT_THRESHOLD:
                neutral += 1
                continue
            judged += 1
            agreeing += _sign(polarity, 0.0) == _sign(ratings[aspect] - midpoint, rating_band)
    return Consistency(agreeing / judged if judged else None, judged, agreeing, neutral)
