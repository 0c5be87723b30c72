"""From loaded reviews to a prepared dataset: clean, de-duplicate, k-core, truncate, split.

Run with: elixir-agent data prepare --format ratebeer --input ../shared/data/ratebeer/reviews_store --out /tmp/rb
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from elixir_agent.core_model.data.records import DatasetInfo, LoadResult, Review
from elixir_agent.errors import UserError

DEFAULT_SPLIT = (0.8, 0.1, 0.1)


@dataclass
class PrepareReport:
    """What each step removed, so `prepare` can tell the user where the reviews went."""

    loaded: int = 0
    skipped_malformed: int = 0
    dropped_no_rating: int = 0
    dropped_no_text: int = 0
    dropped_duplicates: int = 0
    dropped_kcore: int = 0
    kcore_rounds: int = 0
    truncated: int = 0
    skip_reasons: list[str] = field(default_factory=list)


class EmptyDatasetError(UserError, ValueError):
    """Nothing is left after filtering; the message suggests what to relax."""


def drop_incomplete(reviews: list[Review], report: PrepareReport) -> list[Review]:
    kept = []
    for review in reviews:
        if review.rating is None:
            report.dropped_no_rating += 1
        elif not review.text or not review.text.strip():
            report.dropped_no_text += 1
        else:
            kept.append(review)
    return kept


def drop_duplicate_pairs(reviews: list[Review], report: PrepareReport) -> list[Review]:
    """Keep the first review of each (user, item) pair: a pair is one training example."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for review in reviews:
        pair = (review.user_id, review.item_id)
        if pair in seen:
            report.dropped_duplicates += 1
            continue
        seen.add(pair)
        kept.append(review)
    return kept


def iterated_kcore(reviews: list[Review], k: int, report: PrepareReport | None = None) -> list[Review]:
    """Repeatedly drop users and items with fewer than `k` reviews until none is left.

    One pass is not enough: dropping a sparse item can push a user under k, and so on.
    """
    if k <= 1:
        return list(reviews)
    current = list(reviews)
    rounds = 0
    while True:
        users = Counter(r.user_id for r in current)
        items = Counter(r.item_id for r in current)
        kept = [r for r in current if users[r.user_id] >= k and items[r.item_id] >= k]
        rounds += 1
        if len(kept) == len(current):
            break
        current = kept
    if report is not None:
        report.dropped_kcore += len(reviews) - len(current)
        report.kcore_rounds = rounds
    return current


def truncate_words(text: str, max_words: int) -> str:
    words = text.split()
    return " ".join(words[:max_words]) if max_words > 0 else " ".join(words)


def split_reviews(
    reviews: list[Review], fractions: tuple[float, float, float], seed: int
) -> dict[str, list[Review]]:
    """Shuffle by `seed` and cut into train/valid/test by `fractions`.

    Afterwards any user or item with no training review gets one moved in from valid/test
    (its first one in shuffled order), so that every evaluated pair has a learned user and
    item embedding; the split is disjoint and covers every review.
    """
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError(f"split fractions must be three non-negative numbers summing to 1, "
                         f"got {fractions}")
    order = sorted(reviews, key=lambda r: r.review_id)
    random.Random(seed).shuffle(order)
    n_train = round(fractions[0] * len(order))
    n_valid = round(fractions[1] * len(order))
    train, valid, test = order[:n_train], order[n_train:n_train + n_valid], order[n_train + n_valid:]
    users = {r.user_id for r in train}
    items = {r.item_id for r in train}
    for held_out in (valid, test):
        keep = []
        for review in held_out:
            if review.user_id not in users or review.item_id not in items:
                train.append(review)
                users.add(review.user_id)
                items.add(review.item_id)
            else:
                keep.append(review)
        held_out[:] = keep
    return {"train": train, "valid": valid, "test": test}


def prepare_reviews(
    loaded: LoadResult,
    *,
    kcore: int = 5,
    max_words: int = 128,
    seed: int = 42,
    fractions: tuple[float, float, float] = DEFAULT_SPLIT,
) -> tuple[dict[str, list[Review]], PrepareReport]:
    """The whole pipeline on loaded reviews; raises EmptyDatasetError when nothing is left."""
    report = PrepareReport(loaded=len(loaded.reviews) + len(loaded.skipped),
                           skipped_malformed=len(loaded.skipped),
                           skip_reasons=list(loaded.skipped))
    reviews = drop_incomplete(loaded.reviews, report)
    reviews = drop_duplicate_pairs(reviews, report)
    before_kcore = len(reviews)
    reviews = iterated_kcore(reviews, kcore, report)
    if not reviews:
        raise EmptyDatasetError(_empty_message(report, kcore, before_kcore))
    for review in reviews:
        short = truncate_words(review.text, max_words)
        if short != review.text:
            report.truncated += 1
            review.text = short
    return split_reviews(reviews, fractions, seed), report


def _empty_message(report: PrepareReport, kcore: int, before_kcore: int) -> str:
    """Why nothing is left, with the one fix that can help (never a lower --kcore below 1)."""
    if before_kcore and kcore > 1:
        return (f"no review is left after the {kcore}-core filter ({before_kcore} reviews before it); "
                f"try a lower --kcore (e.g. --kcore {max(1, kcore // 2)}, or 1 to keep everything)")
    if report.loaded == 0:
        return "the input holds no review: check --input and --format"
    return (f"none of the {report.loaded} reviews read has both a rating and a text "
            f"({report.skipped_malformed} malformed, {report.dropped_no_rating} without rating, "
            f"{report.dropped_no_text} without text): check --format and, for csv/jsonl, --mapping")


def describe(
    loaded: LoadResult, *, name: str, source_format: str, source_path: str, kcore: int,
    max_words: int, seed: int, fractions: tuple[float, float, float], synthetic: bool = False,
) -> DatasetInfo:
    return DatasetInfo(
        name=name,
        source_format=source_format,
        source_path=source_path,
        aspects=list(loaded.aspects),
        rating_scale=loaded.rating_scale,
        aspect_scales=dict(loaded.aspect_scales),
        synthetic=synthetic,
        seed=seed,
        kcore=kcore,
        max_words=max_words,
        split_fractions=fractions,
    )
