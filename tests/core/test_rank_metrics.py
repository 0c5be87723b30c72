"""Top-N metrics against values worked out by hand, and the protocol's exclusion of train items."""

import math

import numpy as np
import pytest

from elixir_agent.core_model.rank_metrics import (
    bootstrap_interval,
    catalog_coverage,
    hit_rate_at_k,
    ndcg_at_k,
    personalisation,
    popularity_percentile,
    reciprocal_rank,
)
from elixir_agent.core_model.rank_protocol import build_task, evaluate_scorer, ranked_lists

RANKED = ["a", "b", "c", "d", "e"]
RELEVANT = {"b", "e"}


@pytest.mark.parametrize(("k", "hr", "ndcg"), [
    (1, 0.0, 0.0),
    # one hit at position 2 (gain 1/log2 3) over the ideal of two hits at 1 and 2
    (3, 1.0, (1 / math.log2(3)) / (1 + 1 / math.log2(3))),
    # hits at 2 and 5 over the ideal of hits at 1 and 2
    (5, 1.0, (1 / math.log2(3) + 1 / math.log2(6)) / (1 + 1 / math.log2(3))),
])
def test_hit_rate_and_ndcg_on_a_toy_ranking(k, hr, ndcg):
    assert hit_rate_at_k(RANKED, RELEVANT, k) == hr
    assert ndcg_at_k(RANKED, RELEVANT, k) == pytest.approx(ndcg)


def test_reciprocal_rank_is_one_over_the_first_relevant_position():
    assert reciprocal_rank(RANKED, RELEVANT) == 0.5
    assert reciprocal_rank(RANKED, {"z"}) == 0.0
    assert ndcg_at_k(RANKED, {"a"}, 10) == 1.0


def test_coverage_personalisation_and_popularity_by_hand():
    lists = [["a", "b"], ["b", "c"], ["a", "b"]]
    assert catalog_coverage(lists, 6) == 0.5
    # Jaccard: (0,1) 1/3, (0,2) 1, (1,2) 1/3 -> mean 5/9
    assert personalisation(lists) == pytest.approx(4 / 9)
    assert personalisation([["a"], ["b"]]) == 1.0
    # sorted counts 1, 5, 5, 10: a -> 12.5, b -> (1 + 0.5 * 2) / 4 = 50, d -> 87.5
    counts = {"a": 1, "b": 5, "c": 5, "d": 10}
    assert popularity_percentile([["a"], ["b", "d"]], counts) == pytest.approx(50.0)


def test_sampled_personalisation_is_close_to_the_exact_one():
    rng = np.random.default_rng(3)
    lists = [list(rng.choice(30, 5, replace=False)) for _ in range(80)]
    exact = personalisation(lists)
    assert personalisation(lists, max_pairs=1500, seed=1) == pytest.approx(exact, abs=0.02)


def test_bootstrap_interval_brackets_the_mean_and_is_seeded():
    values = np.random.default_rng(0).random(200)
    low, high = bootstrap_interval(values, seed=5)
    assert low < values.mean() < high and high - low < 0.2
    assert bootstrap_interval(values, seed=5) == (low, high)
    assert bootstrap_interval([0.25] * 10) == (0.25, 0.25)


def test_protocol_never_ranks_train_items_even_when_a_scorer_prefers_them():
    # user 0 reviewed items 0 and 1 in training, user 1 item 2; test items 3 and 1 (1 overlaps)
    train_users, train_items = np.array([0, 0, 1]), np.array([0, 1, 2])
    task = build_task(train_users, train_items, np.array([0, 0, 1]), np.array([3, 1, 4]), 6)
    assert task.relevant == [{3}, {4}]  # an item reviewed in training is never relevant

    def loves_train_items(users):
        scores = np.zeros((len(users), 6))
        scores[:, [0, 1, 2]] = 100.0
        return scores

    lists = dict(ranked_lists(loves_train_items, task))
    assert set(lists[0]) == {2, 3, 4, 5} and set(lists[1]) == {0, 1, 3, 4, 5}
    result = evaluate_scorer(loves_train_items, task, k=2)
    assert result.top_lists == [[2, 3], [0, 1]]
    # user 0: item 3 at position 2 -> RR 1/2; user 1: item 4 at position 4 -> RR 1/4
    assert list(result.per_user["mrr"]) == [0.5, 0.25]


def test_liked_only_keeps_items_at_or_above_the_users_train_mean():
    task = build_task(np.array([0, 0]), np.array([0, 1]), np.array([0, 0]), np.array([2, 3]),
                      4, train_ratings=np.array([3.0, 5.0]), eval_ratings=np.array([4.0, 3.5]))
    assert task.relevant == [{2}]
