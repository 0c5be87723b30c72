"""Text-overlap and similarity metrics of an explanation against the held-out real review.

Scales follow the explainable-recommendation literature (PETER, PEPLER tables): BLEU, ROUGE
F1, chrF and METEOR are percentages in [0, 100]; embedding similarity is a cosine in [-1, 1].
All functions take parallel lists (hypotheses[i] explains the pair whose real review is
references[i]) and return one number for the whole list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

# The overlap metrics live in the core, whose benchmark needs them too; eval may import the
# core, not the reverse.
from elixir_agent.core_model.text_metrics import (
    TextScore,
    bleu,
    check_parallel,
    chrf,
    meteor_or_chrf,
    rouge_f1,
)
from elixir_agent.core_model.text_metrics import meteor_available as wordnet_available

__all__ = [
    "Encoder",
    "TextScore",
    "bleu",
    "chrf",
    "embedding_similarity",
    "meteor_or_chrf",
    "pairwise_cosine",
    "rouge_f1",
    "unique_sentence_ratio",
    "wordnet_available",
]


class Encoder(Protocol):
    """Anything with `encode(texts) -> (N, D) array`, such as retrieval's `Embedder`."""

    def encode(self, texts: list[str]) -> np.ndarray: ...


def embedding_similarity(hypotheses: Sequence[str], references: Sequence[str], encoder: Encoder) -> float:
    """Mean cosine similarity between each hypothesis and its reference under `encoder`."""
    return float(np.mean(pairwise_cosine(hypotheses, references, encoder)))


def pairwise_cosine(hypotheses: Sequence[str], references: Sequence[str], encoder: Encoder) -> list[float]:
    """Cosine similarity of each hypothesis with its own reference under `encoder`."""
    check_parallel(hypotheses, references)
    hyp = np.asarray(encoder.encode(list(hypotheses)), dtype=np.float64)  # (N, D)
    ref = np.asarray(encoder.encode(list(references)), dtype=np.float64)  # (N, D)
    # Normalise again: an encoder that does not normalise must not change the meaning.
    hyp /= np.maximum(np.linalg.norm(hyp, axis=1, keepdims=True), 1e-12)
    ref /= np.maximum(np.linalg.norm(ref, axis=1, keepdims=True), 1e-12)
    return [float(c) for c in np.sum(hyp * ref, axis=1)]


def unique_sentence_ratio(texts: Sequence[str]) -> float:
    """PETER's USR: distinct generated explanations / all explanations.

    Like PETER, the unit is the whole generated sequence, compared as lower-cased tokens.
    """
    if not texts:
        raise ValueError("no texts to score")
    distinct = {tuple(t.lower().split()) for t in texts}
    return len(distinct) / len(texts)
