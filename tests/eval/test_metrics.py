"""Every metric against a value computed by hand in the comment next to it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from elixir_agent.eval.features import FeatureLexicon, split_sentences
from elixir_agent.eval.metrics import (
    bleu,
    bootstrap_ci,
    chrf,
    citation_rate,
    embedding_similarity,
    feature_coverage_ratio,
    feature_diversity,
    feature_matching_ratio,
    groundedness,
    mae,
    meteor_or_chrf,
    rating_text_consistency,
    rmse,
    rouge_f1,
    summarize,
    unique_sentence_ratio,
    vader_compound,
    word_counts,
    wordnet_available,
)

HYP = "the cat sat on the mat"
REF = "the cat sat on a mat"


def test_bleu_1_and_4_by_hand():
    # Unigrams: the(clipped to 1), cat, sat, on, mat match -> 5/6; equal lengths so BP = 1.
    assert bleu([HYP], [REF], max_order=1) == pytest.approx(100 * 5 / 6)
    # p2 = 3/5 (the cat, cat sat, sat on), p3 = 2/4, p4 = 1/3 -> geometric mean of the four.
    expected = 100 * (5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25
    assert bleu([HYP], [REF], max_order=4) == pytest.approx(expected)


def test_bleu_brevity_penalty_by_hand():
    # hyp "the cat" (2 words) vs ref of 4: p1 = 1, BP = exp(1 - 4/2) = e^-1.
    assert bleu(["the cat"], ["the cat is here"], max_order=1) == pytest.approx(100 * math.exp(-1))


def test_rouge_by_hand():
    # ROUGE-1: 5 shared unigrams of 6 on each side -> F1 5/6; ROUGE-2: 3 of 5 bigrams -> 0.6;
    # ROUGE-L: LCS "the cat sat on mat" = 5 -> 5/6. Second pair is identical -> 1 everywhere.
    scores = rouge_f1([HYP, "good beer"], [REF, "good beer"])
    assert scores["rouge1"] == pytest.approx(100 * (5 / 6 + 1) / 2)
    assert scores["rouge2"] == pytest.approx(100 * (0.6 + 1) / 2)
    assert scores["rougeL"] == pytest.approx(100 * (5 / 6 + 1) / 2)


def test_chrf_by_hand():
    # "ab" vs "abc": 1-grams P = 2/2, R = 2/3; 2-grams P = 1/1, R = 1/2; no longer n-grams in
    # the hypothesis. Mean P = 1, mean R = 7/12; F_beta=2 = 5PR / (4P + R) = 35/55.
    assert chrf(["ab"], ["abc"]) == pytest.approx(100 * 35 / 55)
    assert chrf(["abc"], ["abc"]) == pytest.approx(100.0)
    assert chrf(["xyz"], ["abc"]) == pytest.approx(0.0)


def test_meteor_or_chrf_reports_which_metric():
    score = meteor_or_chrf(["ab"], ["abc"])
    assert score.name == ("meteor" if wordnet_available() else "chrf")
    if score.name == "chrf":
        assert score.value == pytest.approx(100 * 35 / 55)


def test_text_metrics_reject_unpaired_lists():
    with pytest.raises(ValueError, match="2 hypotheses but 1 references"):
        bleu(["a", "b"], ["a"])


class _TableEncoder:
    """A fake embedder: each text maps to a fixed vector (not normalised on purpose)."""

    def __init__(self, table: dict[str, list[float]]):
        self.table = table

    def encode(self, texts):
        return np.array([self.table[t] for t in texts], dtype=np.float32)


def test_embedding_similarity_by_hand():
    encoder = _TableEncoder({"a": [1, 0], "b": [2, 0], "c": [1, 1], "d": [0, 3]})
    # cos(a, b) = 1; cos(c, d) = 3 / (sqrt(2) * 3) = 1/sqrt(2). Mean = (1 + 0.7071) / 2.
    assert embedding_similarity(["a", "c"], ["b", "d"], encoder) == pytest.approx((1 + 1 / math.sqrt(2)) / 2)


def test_unique_sentence_ratio_by_hand():
    # "Great beer." twice (case and spacing differ) + one other -> 2 distinct of 3.
    assert unique_sentence_ratio(["Great beer.", "great  beer.", "Bad beer."]) == pytest.approx(2 / 3)


BEER = FeatureLexicon.for_aspects(["aroma", "appearance", "taste", "palate"])
HOTEL = FeatureLexicon.for_aspects(["cleanliness", "location", "service", "value", "rooms",
                                    "check_in_front_desk", "sleep_quality", "business_service"])


@pytest.mark.parametrize(
    ("lexicon", "text", "expected"),
    [
        (BEER, "Nice smell, a thin mouthfeel and a bitter flavour.", {"aroma", "palate", "taste"}),
        (BEER, "The head was huge.", {"appearance"}),
        (BEER, "Good stuff.", set()),
        (HOTEL, "Spotless rooms; the front-desk staff were rude.", {"cleanliness", "rooms", "check_in_front_desk", "service"}),
        (HOTEL, "Free WiFi and we slept well. Great value.", {"business_service", "sleep_quality", "value"}),
        (HOTEL, "Checkin was quick.", {"check_in_front_desk"}),
        # Whole words only: "bedroom" is not "bed", "priceless" is not "price".
        (HOTEL, "A priceless bedroom view.", set()),
    ],
)
def test_feature_lexicon(lexicon, text, expected):
    assert lexicon.features(text) == expected


def test_unknown_aspect_matches_its_own_name():
    assert FeatureLexicon.for_aspects(["beer_style"]).features("A classic beer style.") == {"beer_style"}


def test_split_sentences():
    assert split_sentences("Good taste. Bad aroma!\nOk?") == ["Good taste.", "Bad aroma!", "Ok?"]


def test_fmr_by_hand():
    generated = [{"taste"}, {"aroma"}, {"taste", "palate"}, {"aroma"}]
    reference = [{"taste", "aroma"}, {"palate"}, {"palate"}, set()]
    # Pair 4 has no reference feature and is left out; pairs 1 and 3 match -> 2/3.
    assert feature_matching_ratio(generated, reference) == pytest.approx(2 / 3)


def test_fcr_by_hand():
    # aroma, taste, palate mentioned; appearance never -> 3/4.
    generated = [{"taste"}, {"aroma", "taste"}, {"palate"}]
    assert feature_coverage_ratio(generated, ["aroma", "appearance", "taste", "palate"]) == pytest.approx(0.75)


def test_div_by_hand():
    # |{a,b} & {a}| = 1, |{a,b} & {b,c}| = 1, |{a} & {b,c}| = 0 -> mean 2/3.
    assert feature_diversity([{"a", "b"}, {"a"}, {"b", "c"}]) == pytest.approx(2 / 3)


def test_rating_text_consistency_by_hand_with_a_fake_scorer():
    lexicon = FeatureLexicon.for_aspects(["taste", "aroma", "palate"])
    polarity = {"good": 0.6, "bad": -0.6}

    def score(text):
        return sum(v for word, v in polarity.items() if word in text.lower())

    texts = [
        "Good taste. Bad aroma.",            # taste + vs 4.5 agree; aroma - vs 2.0 agree
        "The taste is good. Palate 4.2.",     # taste + vs 2.5 disagree; palate neutral
        "Bad aroma. Good mouthfeel.",         # aroma - vs 4.0 disagree; palate has no rating
    ]
    ratings = [{"taste": 4.5, "aroma": 2.0}, {"taste": 2.5, "palate": 4.2}, {"aroma": 4.0}]
    result = rating_text_consistency(texts, ratings, lexicon, sentiment=score)
    assert (result.judged, result.agreeing, result.neutral) == (4, 2, 1)
    assert result.share == pytest.approx(0.5)


def test_rating_text_consistency_with_vader():
    lexicon = FeatureLexicon.for_aspects(["taste", "aroma"])
    texts = ["The taste is wonderful. The aroma is awful and stale.", "Taste is predicted at 4.1."]
    ratings = [{"taste": 4.4, "aroma": 3.6}, {"taste": 4.1}]
    # taste: VADER +0.57 vs 4.4 agrees; aroma: -0.46 vs 3.6 disagrees; the factual line is neutral.
    result = rating_text_consistency(texts, ratings, lexicon, sentiment=vader_compound())
    assert (result.share, result.judged, result.agreeing, result.neutral) == (0.5, 2, 1, 1)


def test_consistency_is_none_when_nothing_judged():
    lexicon = FeatureLexicon.for_aspects(["taste"])
    assert rating_text_consistency(["No aspects here."], [{"taste": 4}], lexicon, sentiment=lambda t: 1.0).share is None


def test_rmse_mae_by_hand():
    # errors 1, -1, 2: RMSE = sqrt((1 + 1 + 4) / 3) = sqrt(2); MAE = 4/3.
    assert rmse([4, 3, 5], [3, 4, 3]) == pytest.approx(math.sqrt(2))
    assert mae([4, 3, 5], [3, 4, 3]) == pytest.approx(4 / 3)


def test_groundedness_by_hand():
    # (3 + 0 + 2) verified of (4 + 0 + 2) claims -> 5/6; the claimless answer adds nothing.
    assert groundedness([3, 0, 2], [4, 0, 2]) == pytest.approx(5 / 6)
    assert groundedness([0], [0]) is None
    with pytest.raises(ValueError, match="between 0 and total"):
        groundedness([3], [2])


def test_citation_rate_by_hand():
    assert citation_rate([True, False, True, True]) == pytest.approx(0.75)
    assert citation_rate([]) is None


def test_summary_by_hand():
    # numpy's linear interpolation: p50 of 1..5 is 3; p95 is at rank 0.95 * 4 = 3.8 -> 4.8.
    s = summarize([5, 1, 4, 2, 3])
    assert (s.n, s.mean, s.p50, s.p95, s.min, s.max) == (5, 3.0, 3.0, pytest.approx(4.8), 1.0, 5.0)
    assert word_counts(["a b  c", ""]) == [3, 0]


def test_bootstrap_ci_by_hand():
    # Constant data: every resample has the same mean, so the interval is a point.
    const = bootstrap_ci(4, lambda idx: float(np.mean(np.full(4, 2.0)[idx])))
    assert (const.estimate, const.low, const.high) == (2.0, 2.0, 2.0)
    # Two items 0 and 1: resample means are 0, 0.5, 1 with probabilities 1/4, 1/2, 1/4, so with
    # enough resamples the 2.5th percentile is 0 and the 97.5th is 1.
    values = np.array([0.0, 1.0])
    ci = bootstrap_ci(2, lambda idx: float(values[idx].mean()), resamples=2000, seed=1)
    assert (ci.estimate, ci.low, ci.high, ci.level) == (0.5, 0.0, 1.0, 0.95)


def test_bootstrap_is_deterministic_for_a_seed():
    values = np.arange(10.0)
    a = bootstrap_ci(10, lambda idx: float(values[idx].mean()), resamples=200, seed=3)
    b = bootstrap_ci(10, lambda idx: float(values[idx].mean()), resamples=200, seed=3)
    assert a == b and a.low <= a.estimate <= a.high
