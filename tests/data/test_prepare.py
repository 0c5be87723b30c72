"""Properties of the prepare pipeline: k-core, splits, determinism, value ranges."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from elixir_agent.core_model.data.prepare import (
    EmptyDatasetError,
    iterated_kcore,
    prepare_reviews,
    split_reviews,
    truncate_words,
)
from elixir_agent.core_model.data.records import AspectScale, LoadResult, Review

ASPECTS = ["taste", "aroma"]


def _review(user: int, item: int, rating: float | None = 3.0, text: str = "fine beer") -> Review:
    return Review(review_id=f"r{user}-{item}", user_id=f"u{user}", item_id=f"i{item}",
                  rating=rating, text=text, aspects={"taste": rating, "aroma": None})


pairs = st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12)), min_size=1, max_size=150)


def _loaded(reviews: list[Review]) -> LoadResult:
    scale = AspectScale(1, 5)
    return LoadResult(reviews=reviews, aspects=ASPECTS, rating_scale=scale,
                      aspect_scales={a: scale for a in ASPECTS})


@settings(max_examples=60, deadline=None)
@given(pairs=pairs, k=st.integers(1, 4))
def test_kcore_holds_after_filtering(pairs, k):
    reviews = [_review(u, i) for u, i in dict.fromkeys(pairs)]
    kept = iterated_kcore(reviews, k)
    users = Counter(r.user_id for r in kept)
    items = Counter(r.item_id for r in kept)
    assert all(n >= k for n in users.values())
    assert all(n >= k for n in items.values())
    # Maximality: nothing that satisfies the k-core was dropped for no reason.
    assert iterated_kcore(kept, k) == kept


@settings(max_examples=60, deadline=None)
@given(pairs=pairs, seed=st.integers(0, 1000))
def test_splits_are_disjoint_cover_everything_and_are_seeded(pairs, seed):
    reviews = [_review(u, i) for u, i in dict.fromkeys(pairs)]
    splits = split_reviews(list(reviews), (0.8, 0.1, 0.1), seed)
    ids = [r.review_id for part in splits.values() for r in part]
    assert len(ids) == len(set(ids)) == len(reviews)
    again = split_reviews(list(reviews), (0.8, 0.1, 0.1), seed)
    assert {k: [r.review_id for r in v] for k, v in splits.items()} == \
        {k: [r.review_id for r in v] for k, v in again.items()}
    train_users = {r.user_id for r in splits["train"]}
    train_items = {r.item_id for r in splits["train"]}
    for held_out in splits["valid"] + splits["test"]:
        assert held_out.user_id in train_users and held_out.item_id in train_items


@settings(max_examples=40, deadline=None)
@given(pairs=pairs, ratings=st.lists(st.one_of(st.none(), st.floats(1, 5)), min_size=150, max_size=150))
def test_prepare_keeps_only_rated_reviews_with_text_in_range(pairs, ratings):
    reviews = [_review(u, i, rating=ratings[n]) for n, (u, i) in enumerate(dict.fromkeys(pairs))]
    try:
        splits, report = prepare_reviews(_loaded(reviews), kcore=1)
    except EmptyDatasetError:
        assert all(r.rating is None for r in reviews)
        return
    kept = [r for part in splits.values() for r in part]
    assert report.dropped_no_rating == sum(r.rating is None for r in reviews)
    for review in kept:
        assert 1 <= review.rating <= 5
        assert all(v is None or 1 <= v <= 5 for v in review.aspects.values())


def test_duplicate_pairs_keep_the_first_review():
    first, second = _review(1, 1, text="first"), _review(1, 1, text="second")
    second.review_id = "other"
    splits, report = prepare_reviews(_loaded([first, second]), kcore=1)
    kept = [r for part in splits.values() for r in part]
    assert [r.text for r in kept] == ["first"]
    assert report.dropped_duplicates == 1


def test_empty_kcore_suggests_a_lower_k():
    with pytest.raises(EmptyDatasetError, match="lower --kcore"):
        prepare_reviews(_loaded([_review(1, 1), _review(2, 2)]), kcore=5)


def test_truncate_words():
    assert truncate_words("a  b c d", 2) == "a b"
    assert truncate_words("a b", 10) == "a b"


def test_bad_split_fractions_are_rejected():
    with pytest.raises(ValueError, match="summing to 1"):
        split_reviews([_review(1, 1)], (0.5, 0.5, 0.5), 1)
