"""The multi-label intent classifier: one logistic regression per intent over message features.

Features are a sentence embedding (MiniLM by default; any `encode(texts)` embedder) beside
hashed word 1-2-grams and character 3-5-grams, which catch the cue words ("why", "vs") and
survive typos. Weights are stored as safetensors (coefficients and intercepts) with a JSON
manifest, never pickled; the hashing needs no vocabulary, so nothing else is saved. Reading
a message needs neither scikit-learn nor SciPy (`hashing.py`); training imports both.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from safetensors.numpy import load_file, save_file

from elixir_agent.agent.nlu.corpus import VERSION as CORPUS_VERSION
from elixir_agent.agent.nlu.corpus import Example
from elixir_agent.agent.nlu.hashing import char_wb_ngrams, hashed, word_ngrams
from elixir_agent.agent.nlu.templates import TEMPLATES

__all__ = ["FeatureConfig", "IntentClassifier", "corpus_fingerprint", "train_classifier"]

MANIFEST = "manifest.json"
WEIGHTS = "intent_classifier.safetensors"


class Embedder(Protocol):
    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray: ...


@dataclass(frozen=True)
class FeatureConfig:
    embedder: str  # the embedder's name, or "none" for n-grams alone
    embedding_dim: int
    word_features: int = 2**13  # hashed word 1-2-grams
    char_features: int = 2**14  # hashed character 3-5-grams inside word boundaries
    embedding_weight: float = 1.0  # both parts are unit length; this balances them


def corpus_fingerprint(n: int, seed: int) -> str:
    """Changes whenever the templates or the corpus size change, so stale weights are rebuilt."""
    text = json.dumps([TEMPLATES, n, seed, CORPUS_VERSION, asdict(FeatureConfig("", 0))], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class IntentClassifier:
    def __init__(self, labels: list[str], coef: np.ndarray, intercept: np.ndarray,
                 config: FeatureConfig, embedder: Embedder | None):
        if coef.shape[0] != len(labels):
            raise ValueError(f"classifier has {coef.shape[0]} rows of weights for {len(labels)} intents")
        self.labels, self.coef, self.intercept = labels, coef, intercept  # (L, F), (L,)
        self.config, self.embedder = config, embedder

    def _hashed(self, text: str) -> dict[int, float]:
        """Column -> value of the n-gram part of one text's features (words, then characters)."""
        words = hashed(word_ngrams(text, 1, 2), self.config.word_features)
        chars = hashed(char_wb_ngrams(text, 3, 5), self.config.char_features)
        return {**words, **{self.config.word_features + c: v for c, v in chars.items()}}

    def _dense(self, texts: list[str]) -> np.ndarray | None:
        if self.config.embedder == "none":
            return None
        return np.asarray(self.embedder.encode(list(texts)), dtype=np.float32) * self.config.embedding_weight

    def features(self, texts: list[str]):
        """(N, F) scipy CSR matrix: the embedding (if any), hashed word and char n-grams."""
        from scipy import sparse

        rows = [self._hashed(t) for t in texts]
        grams = sparse.csr_matrix(
            ([v for r in rows for v in r.values()],
             [c for r in rows for c in r], np.cumsum([0] + [len(r) for r in rows])),
            shape=(len(texts), self.config.word_features + self.config.char_features))
        grams.sort_indices()
        dense = self._dense(texts)
        return grams if dense is None else sparse.hstack([sparse.csr_matrix(dense), grams], format="csr")

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """(N, L) independent probabilities, one per intent."""
        dense = self._dense(texts)
        offset = 0 if dense is None else dense.shape[1]
        scores = np.empty((len(texts), len(self.labels)))
        for n, text in enumerate(texts):
            row = self._hashed(text)
            columns = np.fromiter(row, dtype=np.int64, count=len(row)) + offset
            values = np.fromiter(row.values(), dtype=np.float64, count=len(row))
            scores[n] = self.coef[:, columns] @ values + self.intercept  # (L,)
            if dense is not None:
                scores[n] += self.coef[:, :offset] @ dense[n]
        return 1.0 / (1.0 + np.exp(-scores))

    # -- storage ---------------------------------------------------------------------------

    def save(self, folder: Path, extra: dict) -> None:
        """Weights and manifest, written to a temporary folder and renamed into place."""
        folder = Path(folder)
        tmp = folder.with_name(folder.name + ".tmp")
        tmp.mkdir(parents=True, exist_ok=True)
        save_file({"coef": self.coef.astype(np.float32), "intercept": self.intercept.astype(np.float32)},
                  str(tmp / WEIGHTS))
        manifest = {"labels": self.labels, "features": asdict(self.config), **extra}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2))
        if folder.exists():
            for child in folder.iterdir():
                child.unlink()
            folder.rmdir()
        tmp.rename(folder)

    @classmethod
    def load(cls, folder: Path, embedder: Embedder | None) -> IntentClassifier:
        folder = Path(folder)
        manifest = json.loads((folder / MANIFEST).read_text())
        config = FeatureConfig(**manifest["features"])
        name = getattr(embedder, "name", type(embedder).__name__) if embedder is not None else "none"
        if config.embedder != "none" and config.embedder != name:
            raise ValueError(f"{folder / MANIFEST}: the classifier was trained on embedder "
                             f"{config.embedder!r}, not {name!r}; retrain with `elixir-agent nlu train`")
        weights = load_file(str(folder / WEIGHTS))
        expected = config.word_features + config.char_features + (
            config.embedding_dim if config.embedder != "none" else 0)
        if weights["coef"].shape != (len(manifest["labels"]), expected):
            raise ValueError(f"{folder / WEIGHTS}: weights of shape {weights['coef'].shape}, "
                             f"expected {(len(manifest['labels']), expected)}; retrain it")
        return cls(manifest["labels"], weights["coef"], weights["intercept"], config, embedder)


def train_classifier(examples: list[Example], embedder: Embedder | None, *,
                     c: float = 4.0) -> tuple[IntentClassifier, dict]:
    """One-vs-rest logistic regression over the examples; returns it and training facts."""
    from sklearn.linear_model import LogisticRegression

    start = time.perf_counter()
    labels = sorted({i for e in examples for i in e.intents}, key=list(TEMPLATES).index)
    texts = [e.text for e in examples]
    if embedder is None:
        config = FeatureConfig(embedder="none", embedding_dim=0)
    else:
        probe = np.asarray(embedder.encode(["probe"]))
        config = FeatureConfig(embedder=getattr(embedder, "name", type(embedder).__name__),
                               embedding_dim=int(probe.shape[1]))
    untrained = IntentClassifier(labels, np.zeros((len(labels), 1)), np.zeros(len(labels)),
                                 config, embedder)
    features = untrained.features(texts)  # (N, F)
    coef = np.zeros((len(labels), features.shape[1]), dtype=np.float32)
    intercept = np.zeros(len(labels), dtype=np.float32)
    for row, label in enumerate(labels):
        target = np.array([label in e.intents for e in examples], dtype=int)
        model = LogisticRegression(C=c, solver="liblinear", max_iter=200)
        model.fit(features, target)
        coef[row], intercept[row] = model.coef_[0], model.intercept_[0]
    classifier = IntentClassifier(labels, coef, intercept, config, embedder)
    return classifier, {"examples": len(examples), "seconds": round(time.perf_counter() - start, 1)}
