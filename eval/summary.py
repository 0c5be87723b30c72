"""From per-pair records to one table of metrics per system, with bootstrap intervals.

A record is one line of `pairs.jsonl`: the pair, its held-out real review and, under
`systems`, each system's `Explanation` as a dict. Metrics whose value is an average over
pairs (or a corpus score such as BLEU) get a percentile-bootstrap interval over pairs. USR,
FCR and DIV get none: resampling with replacement duplicates explanations, which biases
exactly what they measure (uniqueness, coverage, overlap).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np

from elixir_agent.agent.explainers import GroundingCounts
from elixir_agent.eval.answers import answers_question, cites_own, mentions_personal, overlaps_by_item
from elixir_agent.eval.features import FeatureLexicon
from elixir_agent.eval.metrics import (
    Encoder,
    bleu,
    bootstrap_ci,
    feature_coverage_ratio,
    feature_diversity,
    groundedness,
    mae,
    meteor_or_chrf,
    pairwise_cosine,
    rating_text_consistency,
    rmse,
    rouge_f1,
    summarize,
    unique_sentence_ratio,
    word_counts,
)

__all__ = ["METRIC_LABELS", "PERSONAL_FROM", "answer_metrics", "system_metrics"]

PERSONAL_FROM = 3  # users with at least this many training reviews should hear about them

# metric key -> label in the report; the order is the order of the tables.
METRIC_LABELS: dict[str, str] = {
    "bleu1": "BLEU-1", "bleu4": "BLEU-4", "rouge1": "ROUGE-1 F1", "rouge2": "ROUGE-2 F1",
    "rougeL": "ROUGE-L F1", "meteor": "METEOR", "chrf": "chrF", "embedding_similarity": "Embedding cos",
    "usr": "USR", "fmr": "FMR", "fcr": "FCR", "div": "DIV (lower = more diverse)",
    "rmse": "RMSE", "mae": "MAE", "consistency": "Rating-text consistency",
    "answers": "Answers the question", "groundedness": "Groundedness (answers that answer)",
    "citation_rate": "Cites a real review", "verified_ok": "Answers and passes verifier",
    "personal": "Personal (own history or weights; users with 3+ reviews)",
    "cites_own": "Cites own review (users with 3+ reviews)",
    "distinct": "Distinct across users (overlap <= 50%)", "overlap": "Sentence overlap across users",
}


def _take(values: Sequence[Any], idx: np.ndarray) -> list[Any]:
    return [values[i] for i in idx]


def _nan_if_none(value: float | None) -> float:
    """A metric's "no value" (a resample without claims) as NaN, as `_share` writes it."""
    return float("nan") if value is None else float(value)


def _share(numerators: np.ndarray, denominators: np.ndarray) -> Callable[[np.ndarray], float]:
    """A pooled ratio over resampled pairs; NaN when the resample has no denominator."""
    def stat(idx: np.ndarray) -> float:
        total = denominators[idx].sum()
        return float(numerators[idx].sum() / total) if total else float("nan")
    return stat


def system_metrics(
    records: Sequence[dict[str, Any]],
    system: str,
    lexicon: FeatureLexicon,
    *,
    encoder: Encoder | None = None,
    sentiment: Callable[[str], float] | None = None,
    resamples: int = 200,
    seed: int = 0,
    history: dict[str, set[str]] | None = None,
) -> dict[str, Any]:
    """{"metrics": {key: {"value", "low", "high"}}, "length": .., "latency": .., "n": .., "text_metric": ..}.

    `history` (user -> their training review ids) enables the personal metrics.
    """
    rows = [r for r in records if system in r["systems"]]
    if not rows:
        raise ValueError(f"no record has an explanation from system {system!r}")
    hyps = [r["systems"][system]["text"] for r in rows]
    refs = [r["reference"] for r in rows]
    n = len(rows)
    metrics: dict[str, dict[str, float | None]] = {}

    def with_ci(key: str, stat: Callable[[np.ndarray], float]) -> None:
        ci = bootstrap_ci(n, stat, resamples=resamples, seed=seed)
        metrics[key] = {"value": ci.estimate, "low": ci.low, "high": ci.high}

    def point(key: str, value: float | None) -> None:
        metrics[key] = {"value": value, "low": None, "high": None}

    with_ci("bleu1", lambda idx: bleu(_take(hyps, idx), _take(refs, idx), max_order=1))
    with_ci("bleu4", lambda idx: bleu(_take(hyps, idx), _take(refs, idx), max_order=4))
    per_pair_rouge = [rouge_f1([h], [r]) for h, r in zip(hyps, refs, strict=True)]
    for kind in ("rouge1", "rouge2", "rougeL"):
        values = np.array([s[kind] for s in per_pair_rouge])
        with_ci(kind, lambda idx, v=values: float(v[idx].mean()))
    text_metric = meteor_or_chrf(hyps, refs).name
    with_ci(text_metric, lambda idx: meteor_or_chrf(_take(hyps, idx), _take(refs, idx)).value)
    if encoder is not None:
        cosines = np.array(pairwise_cosine(hyps, refs, encoder))
        with_ci("embedding_similarity", lambda idx: float(cosines[idx].mean()))

    # PETER's feature metrics.
    generated = lexicon.features_of_all(hyps)
    reference = lexicon.features_of_all(refs)
    point("usr", unique_sentence_ratio(hyps))
    matched = np.array([bool(g & r) for g, r in zip(generated, reference, strict=True)], dtype=float)
    has_ref = np.array([bool(r) for r in reference], dtype=float)
    with_ci("fmr", _share(matched * has_ref, has_ref))
    point("fcr", feature_coverage_ratio(generated, list(lexicon.aspects)))
    point("div", feature_diversity(generated) if n > 1 else None)

    # Ratings against the held-out review's rating.
    rated = [(r["systems"][system]["rating"], r["rating"]) for r in rows
             if r["systems"][system].get("rating") is not None and r.get("rating") is not None]
    if rated:
        pred, true = np.array([p for p, _ in rated]), np.array([t for _, t in rated])
        with_ci("rmse", lambda idx: rmse(pred[idx], true[idx]))
        with_ci("mae", lambda idx: mae(pred[idx], true[idx]))

    # Rating-text consistency, judged per pair then pooled.
    judged, agreeing = np.zeros(n), np.zeros(n)
    for i, r in enumerate(rows):
        c = rating_text_consistency([hyps[i]], [r["systems"][system].get("aspect_ratings") or {}],
                                    lexicon, sentiment=sentiment)
        judged[i], agreeing[i] = c.judged, c.agreeing
    if judged.sum():
        with_ci("consistency", _share(agreeing, judged))
    else:
        point("consistency", None)

    # Answering, groundedness, personal: only systems with a verifier (the agents) report them.
    counts = [r["systems"][system].get("grounding") for r in rows]
    failed = None
    if all(c is not None for c in counts):
        block = answer_metrics(rows, system, lexicon, resamples=resamples, seed=seed, history=history)
        metrics.update(block["metrics"])
        failed = block["failed"]

    latencies = [float(r["systems"][system].get("latency", 0.0)) for r in rows]
    return {
        "n": n,
        "text_metric": text_metric,
        "metrics": metrics,
        "length_words": asdict(summarize(word_counts(hyps))),
        "latency_s": asdict(summarize(latencies)),
        **({"failed": failed} if failed is not None else {}),
    }


def answer_metrics(records: Sequence[dict[str, Any]], system: str, lexicon: FeatureLexicon, *,
                   resamples: int = 200, seed: int = 0,
                   history: dict[str, set[str]] | None = None) -> dict[str, Any]:
    """Whether the answers answer, and how grounded, personal and distinct those that do are.

    A non-answer fails everything: it is not "grounded" for having no claims. Groundedness is
    pooled over answers that answer; "answers and passes verifier" and the citation, personal
    and distinctness metrics count a non-answer as a failure.
    """
    rows = [r for r in records if system in r["systems"]]
    answers = [r["systems"][system] for r in rows]
    n = len(rows)
    metrics: dict[str, dict[str, float | None]] = {}

    def with_ci(key: str, stat: Callable[[np.ndarray], float], size: int = n) -> None:
        ci = bootstrap_ci(size, stat, resamples=resamples, seed=seed)
        metrics[key] = {"value": ci.estimate, "low": ci.low, "high": ci.high}

    kinds = [(a.get("extra") or {}).get("kind", "why") for a in answers]
    answered = np.array([answers_question(k, a, lexicon) for k, a in zip(kinds, answers, strict=True)],
                        dtype=float)
    with_ci("answers", lambda idx: float(answered[idx].mean()))
    counts = [a["grounding"] for a in answers]
    checked = [GroundingCounts(**c) for c in counts]
    # A non-answer's claims are dropped (times 0), not counted as unverified.
    claims = np.array([c.claims for c in checked]) * answered.astype(int)
    verified = np.array([c.verified for c in checked]) * answered.astype(int)
    if claims.sum():
        with_ci("groundedness", lambda idx: _nan_if_none(groundedness(verified[idx], claims[idx])))
    cites = np.array([c["cited_known"] > 0 for c in counts], dtype=float) * answered
    with_ci("citation_rate", lambda idx: float(cites[idx].mean()))
    ok = np.array([c["ok"] for c in counts], dtype=float) * answered
    with_ci("verified_ok", lambda idx: float(ok[idx].mean()))
    if history is not None:
        experienced = [i for i, r in enumerate(rows) if len(history.get(r["user_id"], ())) >= PERSONAL_FROM]
        if experienced:
            personal = np.array([answered[i] * mentions_personal(answers[i]["text"]) for i in experienced])
            own = np.array([answered[i] * cites_own(answers[i].get("cited_ids") or [],
                                                    history.get(rows[i]["user_id"], set()))
                            for i in experienced], dtype=float)
            with_ci("personal", lambda idx: float(personal[idx].mean()), len(experienced))
            with_ci("cites_own", lambda idx: float(own[idx].mean()), len(experienced))
    # Identical non-answers ("Who are you?") to two users count as not distinct.
    overlaps = overlaps_by_item([(r["item_id"], r["user_id"], a["text"])
                                 for r, a in zip(rows, answers, strict=True)])
    if overlaps:
        values = np.array(overlaps)
        with_ci("overlap", lambda idx: float(values[idx].mean()), len(values))
        distinct = (values <= 0.5).astype(float)
        with_ci("distinct", lambda idx: float(distinct[idx].mean()), len(values))
    failed = [{"pair_id": r["pair_id"], "user_id": r["user_id"], "item_id": r["item_id"],
               "question": (a.get("extra") or {}).get("question", ""), "text": a["text"]}
              for r, a, ok_ in zip(rows, answers, answered, strict=True) if not ok_]
    return {"n": n, "metrics": metrics, "failed": failed}
