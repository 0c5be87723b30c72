"""Filtered search agrees with brute force, however selective the filter (hypothesis).

The reference is computed from the dataset's own frame and the embedder's vectors, not from
the index's internals. Every path is exercised: the exact scan of a small filtered subset
(default threshold), the FAISS ID-selector route (threshold 0), and approximate factories,
whose hits must still all pass the filter, be as many as k allows and carry exact scores
(the compressed index re-ranks its lossy codes' short list on the exact vectors).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from elixir_agent.retrieval import ReviewIndex

RATINGS = [None, 1.0, 1.5, 2.0, 2.5, 3.0, 3.25, 3.5, 4.0, 4.5, 5.0]


@pytest.fixture(scope="module")
def corpus(ratebeer_dataset, fake_embedder):
    train = ratebeer_dataset.split("train").reset_index(drop=True)
    return train, fake_embedder.encode(train["text"].tolist())


@pytest.fixture(scope="module")
def indexes(ratebeer_dataset, fake_embedder):
    def build(factory, threshold):
        index = ReviewIndex.build(ratebeer_dataset, fake_embedder, factory=factory, progress=False)
        index.exact_threshold = threshold
        return index

    return {
        "flat-exact-scan": build("Flat", ReviewIndex.exact_threshold),
        "flat-selector": build("Flat", 0),
        "hnsw-selector": build("HNSW16", 0),
        "ivf-selector": build("IVF8,Flat", 0),
        "compressed-selector": build("compressed", 0),  # IVF-PQ codes, re-ranked exactly
    }


def _queries(train):
    texts = st.sampled_from(train["text"].tolist())
    words = st.lists(st.sampled_from(" ".join(train["text"].head(50)).split()), min_size=1,
                     max_size=6).map(" ".join)
    return st.one_of(texts, words)


def _subset(values):
    return st.one_of(st.none(), st.lists(st.sampled_from(sorted(set(values))), min_size=1,
                                         max_size=4, unique=True))


@st.composite
def searches(draw, train):
    return {
        "query": draw(_queries(train)),
        "k": draw(st.integers(1, 15)),
        "items": draw(_subset(train["item_id"])),
        "users": draw(_subset(train["user_id"])),
        "min_rating": draw(st.sampled_from(RATINGS)),
        "max_rating": draw(st.sampled_from(RATINGS)),
        "exclude_ids": draw(_subset(train["review_id"])),
    }


def _brute_force(train, vectors, embedder, args):
    keep = np.ones(len(train), dtype=bool)
    if args["items"] is not None:
        keep &= train["item_id"].isin(args["items"]).to_numpy()
    if args["users"] is not None:
        keep &= train["user_id"].isin(args["users"]).to_numpy()
    if args["min_rating"] is not None:
        keep &= train["rating"].to_numpy() >= args["min_rating"]
    if args["max_rating"] is not None:
        keep &= train["rating"].to_numpy() <= args["max_rating"]
    if args["exclude_ids"] is not None:
        keep &= ~train["review_id"].isin(args["exclude_ids"]).to_numpy()
    scores = vectors @ embedder.encode([args["query"]])[0]
    rows = np.flatnonzero(keep)
    order = rows[np.argsort(-scores[rows], kind="stable")]
    return keep, order, scores


@pytest.mark.parametrize("name", ["flat-exact-scan", "flat-selector", "hnsw-selector",
                                  "ivf-selector", "compressed-selector"])
def test_filtered_search_matches_brute_force(name, indexes, corpus, fake_embedder):
    train, vectors = corpus
    index = indexes[name]
    exact = name.startswith("flat")

    @settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(args=searches(train))
    def check(args):
        keep, order, scores = _brute_force(train, vectors, fake_embedder, args)
        query = {key: value for key, value in args.items() if key not in ("query", "k")}
        hits = index.search(args["query"], args["k"], **query)
        expected = order[:args["k"]]
        allowed_ids = set(train["review_id"][keep])
        assert len(hits) == len(expected)
        assert len({h.review_id for h in hits}) == len(hits)
        assert {h.review_id for h in hits} <= allowed_ids
        got_scores = np.array([h.score for h in hits])
        assert np.all(np.diff(got_scores) <= 1e-6)  # best first
        # Every score is the exact cosine of its review, lossy codes or not.
        rows = train.reset_index().set_index("review_id").loc[[h.review_id for h in hits], "index"]
        np.testing.assert_allclose(got_scores, scores[rows.to_numpy()], atol=1e-5)
        if exact:
            np.testing.assert_allclose(got_scores, scores[expected], atol=1e-5)
            tie_free = len(order) <= len(expected) or (
                scores[order[len(expected) - 1]] - scores[order[len(expected)]] > 1e-5)
            if tie_free:
                assert {h.review_id for h in hits} == set(train["review_id"][expected])

    check()


def test_empty_filter_returns_nothing(fake_index):
    assert fake_index.search("clean room", 5, items=["no-such-item"]) == []
    assert fake_index.search("clean room", 5, min_rating=4.5, max_rating=1.0) == []


def test_single_id_and_collections_are_both_accepted(fake_index):
    item = fake_index.get(fake_index.review_ids[0]).item_id
    assert fake_index.search("spotless", 3, items=item) == fake_index.search(
        "spotless", 3, items={item})
