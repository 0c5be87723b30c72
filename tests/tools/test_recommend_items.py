"""recommend_items recommends per person: different tastes, different lists; 'like X'; why."""

from __future__ import annotations

import itertools
import json

import numpy as np

from elixir_agent.tools.recommend_items import RecommendItems, _co_review_vectors, _similarity


def _opposite_users(world) -> tuple[str, str]:
    """The two training users whose true aspect weights point furthest apart."""
    truth = json.loads((world.data_dir / "ground_truth.json").read_text())["user_weights"]
    users = [u for u in truth if u in world.catalog.users]

    def cosine(a, b):
        a, b = np.array(truth[a]), np.array(truth[b])
        return a @ b / np.linalg.norm(a) / np.linalg.norm(b)

    return min(itertools.combinations(users, 2), key=lambda pair: cosine(*pair))


def test_users_with_opposite_tastes_get_different_top_five(world):
    recommend = RecommendItems(world.context)
    first, second = _opposite_users(world)
    _, a = recommend(first, k=5)
    _, b = recommend(second, k=5)
    assert [it["item_id"] for it in a["items"]] != [it["item_id"] for it in b["items"]]
    for artifact, user in ((a, first), (b, second)):
        seen = {item for item, _ in world.catalog.users[user].history}
        assert len(artifact["items"]) == 5 and not seen & {it["item_id"] for it in artifact["items"]}


def test_each_item_says_why(world):
    user = world.train.user_id.iloc[0]
    text, artifact = RecommendItems(world.context)(user, k=3)
    stats = world.catalog.users[user]
    liked = {item for item, rating in stats.history if rating >= stats.mean_rating}
    for it in artifact["items"]:
        assert it["similar_liked_item"]["item_id"] in liked
        assert all(v >= 3.5 for v in it["why_aspects"].values())
        assert it["similar_liked_item"]["item_name"] in text
    assert "Why:" in text


def test_like_item_returns_items_near_it(world):
    recommend = RecommendItems(world.context)
    user = world.train.user_id.iloc[3]
    seen = {item for item, _ in world.catalog.users[user].history}
    target = next(i for i in sorted(world.catalog.items) if i not in seen)
    text, artifact = recommend(user, k=3, like_item=world.catalog.item_name(target))
    assert artifact["like_item"] == target and "like " in text
    returned = [it["item_id"] for it in artifact["items"]]
    assert target not in returned
    reviewers = _co_review_vectors(world.context)
    others = [i for i in world.catalog.items if i not in seen and i != target]
    closeness = dict(zip(others, _similarity(world.context, reviewers, [target], others)[0],
                         strict=True))
    typical = np.median(list(closeness.values()))
    assert np.mean([closeness[i] for i in returned]) > typical


def test_diversity_spreads_the_list(world):
    recommend = RecommendItems(world.context)
    reviewers = _co_review_vectors(world.context)

    def mean_pair_similarity(user: str, diversity: float) -> float:
        items = [it["item_id"] for it in recommend(user, k=5, diversity=diversity)[1]["items"]]
        sims = _similarity(world.context, reviewers, items, items)
        return float(sims[np.triu_indices(len(items), 1)].mean())

    users = sorted(world.catalog.users)[:6]
    plain = np.mean([mean_pair_similarity(u, 0.0) for u in users])
    varied = np.mean([mean_pair_similarity(u, 0.9) for u in users])
    assert varied < plain


def test_aspect_filter_still_favours_the_aspect(world):
    recommend = RecommendItems(world.context)
    user = world.train.user_id.iloc[1]
    aspect = world.catalog.aspects[0]
    _, plain = recommend(user, k=3, diversity=0.0)
    _, focused = recommend(user, k=3, aspects=[aspect], diversity=0.0)
    assert focused["aspects"] == [aspect]
    assert all(aspect in it["aspect_ratings"] for it in focused["items"])
    mean_aspect = lambda a: np.mean([world.catalog.items[it["item_id"]].aspect_means[aspect]  # noqa: E731
                                     for it in a["items"]])
    assert mean_aspect(focused) >= mean_aspect(plain)
