"""The question parser's own n-gram hashing gives scikit-learn's numbers, so weights trained
with either work with the other, and reading a message does not import scikit-learn."""

import random
import subprocess
import sys

import numpy as np
import pytest
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.utils import murmurhash3_32 as sklearn_murmurhash

from elixir_agent.agent.nlu.classifier import FeatureConfig, IntentClassifier
from elixir_agent.agent.nlu.hashing import char_wb_ngrams, hashed, murmurhash3_32, word_ngrams

TEXTS = ["Would I like it?", "why  would\tI like the Harbor Inn 12 (synthetic)?", "a", "", "   x  ",
         "Crème brûlée vs. Ølbryggeri — ok?!", "compare h0012 with h0013", "I I I I",
         "what's the cleanliness like, 4.5/5?", "wht abut the rooms", "Ι like ελληνικά 🍺 beers"]


def test_murmurhash_matches_scikit_learn_on_every_tail_length():
    rng = random.Random(0)
    for _ in range(2000):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 13)))
        assert murmurhash3_32(data) == sklearn_murmurhash(data, positive=False), data


@pytest.mark.parametrize(("analyzer", "ngrams", "n_features", "grams"), [
    ("word", (1, 2), 2**13, word_ngrams), ("char_wb", (3, 5), 2**14, char_wb_ngrams),
    ("char_wb", (3, 5), 7, char_wb_ngrams),  # a tiny table: many n-grams share a column
])
def test_hashed_ngrams_match_hashing_vectorizer(analyzer, ngrams, n_features, grams):
    expected = HashingVectorizer(analyzer=analyzer, ngram_range=ngrams, n_features=n_features,
                                 alternate_sign=False, lowercase=True).transform(TEXTS).toarray()
    for text, row in zip(TEXTS, expected, strict=True):
        ours = np.zeros(n_features)
        for column, value in hashed(grams(text, *ngrams), n_features).items():
            ours[column] = value
        np.testing.assert_allclose(ours, row, atol=1e-12, err_msg=text)


def test_classifier_scores_equal_a_linear_model_over_scikit_learn_features():
    config = FeatureConfig(embedder="none", embedding_dim=0, word_features=2**9, char_features=2**10)
    rng = np.random.default_rng(0)
    coef = rng.normal(size=(3, config.word_features + config.char_features)).astype(np.float32)
    intercept = rng.normal(size=3).astype(np.float32)
    classifier = IntentClassifier(["a", "b", "c"], coef, intercept, config, None)
    words = HashingVectorizer(ngram_range=(1, 2), n_features=config.word_features, alternate_sign=False)
    chars = HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), n_features=config.char_features,
                              alternate_sign=False)
    features = np.hstack([words.transform(TEXTS).toarray(), chars.transform(TEXTS).toarray()])
    expected = 1 / (1 + np.exp(-(features @ coef.T + intercept)))
    np.testing.assert_allclose(classifier.probabilities(TEXTS), expected, rtol=1e-5)
    np.testing.assert_allclose(classifier.features(TEXTS).toarray(), features, atol=1e-7)


def test_reading_a_message_does_not_import_scikit_learn_or_scipy():
    code = ("import sys, numpy as np\n"
            "from elixir_agent.agent.nlu.classifier import FeatureConfig, IntentClassifier\n"
            "c = IntentClassifier(['a'], np.zeros((1, 2**13 + 2**14)), np.zeros(1), "
            "FeatureConfig('none', 0), None)\n"
            "c.probabilities(['why would I like it?'])\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'scipy'}))\n")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
