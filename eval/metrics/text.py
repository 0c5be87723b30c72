"""Text-overlap and similarity metrics of an explanation against the held-out real review.

Scales follow the explainable-recommendation literature (PETER, PEPLER tables): BLEU, ROUGE
F1, chrF and METEOR are percentages in [0, 100]; embedding similarity is a cosine in [-1, 1].
All functions take parallel lists (hypotheses[i] explains the pair whose real review is
references[i]) and return one number for the whole list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

# The core's benchmark needs the same check; eval may import the core, not the reverse.
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


@dataclass(frozen=True)
class TextScore:
    """A score that says which metric produced it (METEOR or its chrF stand-in)."""

    name: str
    value: float


def _check_parallel(hypotheses: Sequence[str], references: Sequence[str]) -> None:
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    if not hypotheses:
        raise ValueError("no hypotheses to score")


def bleu(hypotheses: Sequence[str], references: Sequence[str], max_order: int = 4) -> float:
    """Corpus BLEU-n (sacrebleu, 13a tokens, lower-cased), as PETER reports BLEU-1 and BLEU-4."""
    from sacrebleu.metrics import BLEU

    _check_parallel(hypotheses, references)
    metric = BLEU(max_ngram_order=max_order, lowercase=True)
    return float(metric.corpus_score(list(hypotheses), [list(references)]).score)


def rouge_f1(hypotheses: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Mean ROUGE-1/2/L F1 over pairs, in percent: {"rouge1": .., "rouge2": .., "rougeL": ..}."""
    from rouge_score import rouge_scorer

    _check_parallel(hypotheses, references)
    kinds = ("rouge1", "rouge2", "rougeL")
    scorer = rouge_scorer.RougeScorer(list(kinds))
    totals = dict.fromkeys(kinds, 0.0)
    for hypothesis, reference in zip(hypotheses, references, strict=True):
        scores = scorer.score(reference, hypothesis)  # (target, prediction)
        for kind in kinds:
            totals[kind] += scores[kind].fmeasure
    return {kind: 100.0 * total / len(hypotheses) for kind, total in totals.items()}


def chrf(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Corpus chrF (sacrebleu defaults: character 6-grams, beta 2)."""
    from sacrebleu.metrics import CHRF

    _check_parallel(hypotheses, references)
    return float(CHRF().corpus_score(list(hypotheses), [list(references)]).score)


def meteor_or_chrf(hypotheses: Sequence[str], references: Sequence[str]) -> TextScore:
    """Mean METEOR (NLTK) in percent when WordNet data is installed, else corpus chrF.

    The returned `name` ("meteor" or "chrf") must be reported next to the value: the two
    are not comparable.
    """
    _check_parallel(hypotheses, references)
    if not wordnet_available():
        return TextScore("chrf", chrf(hypotheses, references))
    from nltk.translate.meteor_score import meteor_score

    total = sum(meteor_score([r.lower().split()], h.lower().split()) for h, r in zip(hypotheses, references, strict=True))
    return TextScore("meteor", 100.0 * total / len(hypotheses))


def embedding_similarity(hypotheses: Sequence[str], references: Sequence[str], encoder: Encoder) -> float:
    """Mean cosine similarity between each hypothesis and its reference under `encoder`."""
    return float(np.mean(pairwise_cosine(hypotheses, references, encoder)))


def pairwise_cosine(hypotheses: Sequence[str], references: Sequence[str], encoder: Encoder) -> list[float]:
    """Cosine similarity of each hypothesis with its own reference under `encoder`."""
    _check_parallel(hypotheses, references)
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
