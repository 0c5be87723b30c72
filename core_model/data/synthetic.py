"""A synthetic review dataset with known ground truth, for tests and the offline demo.

Each user has aspect weights (how much each aspect matters to them) and a leniency bias;
each item has a true quality per aspect. A review's aspect ratings are the item's qualities
shifted by the user's bias plus noise, its overall rating is the user's weighted mean of
those plus noise, and its text talks about the aspects that user cares most about, in words
that follow the rating. The dataset is always labelled synthetic (`dataset.json`
`synthetic: true`, item names ending in "(synthetic)").

Run with: elixir-agent data synth --out /tmp/synth
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from elixir_agent.core_model.data.prepare import split_reviews
from elixir_agent.core_model.data.records import AspectScale, DatasetInfo, Review
from elixir_agent.core_model.data.storage import write_prepared

ASPECTS = ["cleanliness", "location", "service", "value", "rooms"]

# Three sentiment levels per aspect (negative, middling, positive), a few phrasings each, so
# generated text is learnable yet not a single template.
_PHRASES: dict[str, tuple[list[str], list[str], list[str]]] = {
    "cleanliness": (
        ["the room was dirty", "the bathroom was filthy", "stains everywhere, not clean"],
        ["the room was clean enough", "cleanliness was acceptable"],
        ["the room was spotless", "everything was very clean", "immaculate housekeeping"],
    ),
    "location": (
        ["the location is far from everything", "a bad location, hard to reach"],
        ["the location is fine", "the area is ok"],
        ["a perfect location near the center", "great location, walking distance to all"],
    ),
    "service": (
        ["the staff was rude", "terrible service at the front desk"],
        ["the service was average", "staff were polite but slow"],
        ["the staff was wonderful", "excellent friendly service"],
    ),
    "value": (
        ["overpriced for what you get", "poor value for money"],
        ["the price is fair", "reasonable value"],
        ["great value for money", "a bargain for the quality"],
    ),
    "rooms": (
        ["the room was tiny and worn", "an uncomfortable bed and old furniture"],
        ["the room was standard", "the room was decent"],
        ["a spacious comfortable room", "the bed was very comfortable"],
    ),
}
_OPENERS = {1: "we did not enjoy our stay", 2: "a disappointing stay", 3: "an average stay",
            4: "a very good stay", 5: "an excellent stay"}
_NAME_PARTS = (["Harbor", "Grand", "Park", "Royal", "Garden", "City", "Lake", "Old Town"],
               ["Inn", "Hotel", "Suites", "Lodge", "Resort"])


@dataclass
class SyntheticTruth:
    user_weights: dict[str, list[float]]  # user id -> weight per aspect (sums to 1)
    user_bias: dict[str, float]
    item_quality: dict[str, list[float]]  # item id -> true quality per aspect, 1-5

    def to_json(self) -> dict:
        return {"aspects": ASPECTS, "user_weights": self.user_weights,
                "user_bias": self.user_bias, "item_quality": self.item_quality}


def generate_synthetic(
    n_users: int = 200, n_items: int = 100, n_reviews: int = 4000, seed: int = 42,
    noise: float = 0.3,
) -> tuple[list[Review], SyntheticTruth]:
    """Reviews and their ground truth; every user and item gets at least a few reviews."""
    if n_users < 1 or n_items < 2:
        raise ValueError("need at least 1 user and 2 items")
    max_pairs = n_users * n_items
    if n_reviews > max_pairs:
        raise ValueError(f"{n_reviews} reviews do not fit in {n_users} users x {n_items} items "
                         f"(at most {max_pairs} distinct pairs); lower --reviews")
    rng = np.random.default_rng(seed)
    n_aspects = len(ASPECTS)
    # Dirichlet with a small concentration makes most users care about one or two aspects.
    weights = rng.dirichlet(np.full(n_aspects, 0.6), size=n_users)
    bias = rng.normal(0.0, 0.4, size=n_users)
    quality = np.clip(rng.normal(3.2, 1.0, size=(n_items, n_aspects)), 1.0, 5.0)
    user_ids = [f"u{u:04d}" for u in range(n_users)]
    item_ids = [f"h{i:04d}" for i in range(n_items)]

    pairs = _sample_pairs(rng, n_users, n_items, n_reviews)
    reviews = []
    for user, item in pairs:
        aspect_true = np.clip(quality[item] + bias[user] + rng.normal(0, noise, n_aspects), 1, 5)
        overall = float(np.clip(weights[user] @ aspect_true + rng.normal(0, noise / 2), 1, 5))
        aspect_scores = np.round(aspect_true * 2) / 2  # published in half stars
        reviews.append(Review(
            review_id=f"syn-{user_ids[user]}-{item_ids[item]}",
            user_id=user_ids[user],
            item_id=item_ids[item],
            rating=round(overall * 2) / 2,
            aspects={a: float(s) for a, s in zip(ASPECTS, aspect_scores, strict=True)},
            text=_review_text(rng, weights[user], aspect_true, overall),
            item_name=_item_name(item),
            user_name=f"traveller {user}",
        ))
    truth = SyntheticTruth(
        user_weights={uid: weights[u].round(4).tolist() for u, uid in enumerate(user_ids)},
        user_bias={uid: round(float(bias[u]), 4) for u, uid in enumerate(user_ids)},
        item_quality={iid: quality[i].round(4).tolist() for i, iid in enumerate(item_ids)},
    )
    return reviews, truth


def write_synthetic(
    out_dir: str | Path, *, n_users: int = 200, n_items: int = 100, n_reviews: int = 4000,
    seed: int = 42, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    overwrite: bool = False,
) -> DatasetInfo:
    """Generate, split and write a prepared synthetic dataset with `ground_truth.json`."""
    reviews, truth = generate_synthetic(n_users, n_items, n_reviews, seed)
    scale = AspectScale(1.0, 5.0)
    info = DatasetInfo(
        name="synthetic-hotels", source_format="synthetic", source_path="",
        aspects=list(ASPECTS), rating_scale=scale, aspect_scales={a: scale for a in ASPECTS},
        synthetic=True, seed=seed, kcore=1, max_words=128, split_fractions=fractions,
        notes=["SYNTHETIC: generated reviews with known ground truth, not real people."],
    )
    splits = split_reviews(reviews, fractions, seed)
    return write_prepared(out_dir, info, splits, {"ground_truth.json": truth.to_json()},
                          overwrite=overwrite)


def _sample_pairs(rng: np.random.Generator, n_users: int, n_items: int, n_reviews: int):
    """Distinct (user, item) pairs, spread so that every user and item appears."""
    chosen: set[tuple[int, int]] = set()
    # First a round-robin pass so nobody is left out, then uniform draws for the rest.
    for k in range(max(n_users, n_items)):
        if len(chosen) >= n_reviews:
            break
        chosen.add((k % n_users, int(rng.integers(n_items)) if k < n_users else k % n_items))
    while len(chosen) < n_reviews:
        chosen.add((int(rng.integers(n_users)), int(rng.integers(n_items))))
    return sorted(chosen)


def _review_text(rng, weights: np.ndarray, aspect_true: np.ndarray, overall: float) -> str:
    # People write about what matters to them: the two or three heaviest aspects.
    n_mentioned = int(rng.integers(2, 4))
    top = np.argsort(-weights)[:n_mentioned]
    parts = [_OPENERS[round(overall)]]
    for index in top:
        level = 0 if aspect_true[index] < 2.5 else (1 if aspect_true[index] < 3.75 else 2)
        options = _PHRASES[ASPECTS[index]][level]
        parts.append(options[int(rng.integers(len(options)))])
    return ". ".join(parts) + "."


def _item_name(item: int) -> str:
    first, second = _NAME_PARTS
    return f"{first[item % len(first)]} {second[(item // len(first)) % len(second)]} {item} (synthetic)"
