"""Text-overlap metrics for generated reviews: BLEU-4, ROUGE-1/2/L, METEOR or chrF.

Kept in the core (rather than imported from `eval`) because the core never depends on the
layers above it. METEOR needs NLTK's WordNet data; when it is not installed the report uses
chrF instead and says so in the metric's name.
"""

from __future__ import annotations

from collections.abc import Sequence


def meteor_available() -> bool:
    try:
        import nltk

        nltk.data.find("corpora/wordnet")
    except (ImportError, LookupError):
        return False
    return True


def text_scores(hypotheses: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Corpus BLEU-4 and mean ROUGE F1 on a 0-100 scale, plus METEOR or chrF."""
    import sacrebleu
    from rouge_score import rouge_scorer

    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses for {len(references)} references")
    hyps, refs = list(hypotheses), list(references)
    out = {"bleu4": sacrebleu.corpus_bleu(hyps, [refs]).score}
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=False)
    totals = {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}
    for hyp, ref in zip(hyps, refs, strict=True):
        for key, score in scorer.score(ref, hyp).items():
            totals[key] += score.fmeasure
    out.update({key: 100 * value / max(len(hyps), 1) for key, value in totals.items()})
    if meteor_available():
        from nltk.translate.meteor_score import meteor_score

        out["meteor"] = 100 * sum(meteor_score([r.split()], h.split())
                                  for h, r in zip(hyps, refs, strict=True)) / max(len(hyps), 1)
    else:
        out["chrf"] = sacrebleu.corpus_chrf(hyps, [refs]).score
    return out
