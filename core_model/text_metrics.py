"""Text-overlap metrics for generated reviews: BLEU-4, ROUGE-1/2/L, METEOR or chrF.

Scales follow the explainable-recommendation literature (PETER, PEPLER tables): percentages
in [0, 100]. All functions take parallel lists (hypotheses[i] is scored against
references[i]). They live in the core, which never depends on the layers above it; the
evaluation harness imports them from here. METEOR needs NLTK's WordNet data; without it
chrF stands in and says so in its name.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["TextScore", "bleu", "check_parallel", "chrf", "meteor_available", "meteor_or_chrf", "rouge_f1",
           "rouge_l_f1", "text_scores"]


def meteor_available() -> bool:
    try:
        import nltk

        nltk.data.find("corpora/wordnet")
    except (ImportError, LookupError):
        return False
    return True


def text_scores(hypotheses: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Corpus BLEU-4, mean ROUGE F1 and METEOR (or chrF), keyed as the benchmark reports them."""
    out = {"bleu4": bleu(hypotheses, references), **rouge_f1(hypotheses, references)}
    third = meteor_or_chrf(hypotheses, references)
    out[third.name] = third.value
    return {**out, **diversity(hypotheses)}


def diversity(hypotheses: Sequence[str]) -> dict[str, float]:
    """How much the texts differ from one another, in percent; the references play no part.

    `unique`: share of distinct texts. `distinct1`/`distinct2`: distinct words (word bigrams)
    over all words (bigrams).
    A generator that writes the same review for every pair can still score BLEU and ROUGE
    against typical references; these two numbers show it.
    """
    if not hypotheses:
        raise ValueError("no hypotheses to score")
    words = [text.lower().split() for text in hypotheses]
    bigrams = [pair for ws in words for pair in itertools.pairwise(ws)]
    unigrams = [w for ws in words for w in ws]
    return {"unique": 100.0 * len(set(map(tuple, words))) / len(words),
            "distinct1": 100.0 * len(set(unigrams)) / len(unigrams) if unigrams else 0.0,
            "distinct2": 100.0 * len(set(bigrams)) / len(bigrams) if bigrams else 0.0}


@dataclass(frozen=True)
class TextScore:
    """A score that says which metric produced it (METEOR or its chrF stand-in)."""

    name: str
    value: float


def check_parallel(hypotheses: Sequence[str], references: Sequence[str]) -> None:
    """Parallel, non-empty lists, or a ValueError saying what is wrong."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    if not hypotheses:
        raise ValueError("no hypotheses to score")


def bleu(hypotheses: Sequence[str], references: Sequence[str], max_order: int = 4) -> float:
    """Corpus BLEU-n (sacrebleu, 13a tokens, lower-cased), as PETER reports BLEU-1 and BLEU-4."""
    from sacrebleu.metrics import BLEU

    check_parallel(hypotheses, references)
    metric = BLEU(max_ngram_order=max_order, lowercase=True)
    return float(metric.corpus_score(list(hypotheses), [list(references)]).score)


def rouge_f1(hypotheses: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Mean ROUGE-1/2/L F1 over pairs, in percent: {"rouge1": .., "rouge2": .., "rougeL": ..}.

    Uses rouge-score (the `eval` extra); without it, the same scores from `rouge_l_f1` and
    `_rouge_n_f1` below, which follow rouge-score's tokenization (lower case, runs of
    letters and digits, no stemming) so numbers agree with it.
    """
    check_parallel(hypotheses, references)
    try:
        from rouge_score import rouge_scorer
    except ModuleNotFoundError:
        return {"rouge1": _mean(_rouge_n_f1, hypotheses, references, 1),
                "rouge2": _mean(_rouge_n_f1, hypotheses, references, 2),
                "rougeL": _mean(lambda h, r, _: rouge_l_f1(h, r), hypotheses, references, 0)}
    kinds = ("rouge1", "rouge2", "rougeL")
    scorer = rouge_scorer.RougeScorer(list(kinds))
    totals = dict.fromkeys(kinds, 0.0)
    for hypothesis, reference in zip(hypotheses, references, strict=True):
        scores = scorer.score(reference, hypothesis)  # (target, prediction)
        for kind in kinds:
            totals[kind] += scores[kind].fmeasure
    return {kind: 100.0 * total / len(hypotheses) for kind, total in totals.items()}


def rouge_l_f1(hypothesis: str, reference: str) -> float:
    """ROUGE-L F1 of one pair in [0, 1]: the longest common subsequence of word tokens."""
    hyp, ref = _rouge_tokens(hypothesis), _rouge_tokens(reference)
    if not hyp or not ref:
        return 0.0
    previous = [0] * (len(ref) + 1)
    for word in hyp:  # LCS by dynamic programming, one row at a time
        current = [0]
        for j, other in enumerate(ref):
            current.append(previous[j] + 1 if word == other else max(previous[j + 1], current[j]))
        previous = current
    return _f1(previous[-1], len(hyp), len(ref))


def _rouge_n_f1(hypothesis: str, reference: str, n: int) -> float:
    hyp, ref = _rouge_tokens(hypothesis), _rouge_tokens(reference)
    hyp_grams = Counter(tuple(hyp[i:i + n]) for i in range(len(hyp) - n + 1))
    ref_grams = Counter(tuple(ref[i:i + n]) for i in range(len(ref) - n + 1))
    overlap = sum((hyp_grams & ref_grams).values())
    return _f1(overlap, sum(hyp_grams.values()), sum(ref_grams.values()))


def _rouge_tokens(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).split()


def _f1(overlap: int, n_hyp: int, n_ref: int) -> float:
    if overlap == 0:
        return 0.0
    precision, recall = overlap / n_hyp, overlap / n_ref
    return 2 * precision * recall / (precision + recall)


def _mean(score, hypotheses: Sequence[str], references: Sequence[str], n: int) -> float:
    return 100.0 * sum(score(h, r, n) for h, r in zip(hypotheses, references, strict=True)) / len(hypotheses)


def chrf(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Corpus chrF (sacrebleu defaults: character 6-grams, beta 2)."""
    from sacrebleu.metrics import CHRF

    check_parallel(hypotheses, references)
    return float(CHRF().corpus_score(list(hypotheses), [list(references)]).score)


def meteor_or_chrf(hypotheses: Sequence[str], references: Sequence[str]) -> TextScore:
    """Mean METEOR (NLTK) in percent when WordNet data is installed, else corpus chrF.

    The returned `name` ("meteor" or "chrf") must be reported next to the value: the two
    are not comparable.
    """
    check_parallel(hypotheses, references)
    if not meteor_available():
        return TextScore("chrf", chrf(hypotheses, references))
    from nltk.translate.meteor_score import meteor_score

    total = sum(meteor_score([r.lower().split()], h.lower().split()) for h, r in zip(hypotheses, references, strict=True))
    return TextScore("meteor", 100.0 * total / len(hypotheses))
