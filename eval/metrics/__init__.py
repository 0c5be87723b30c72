"""Pure metric functions: plain lists in, a number (or a small dataclass) out.

text         BLEU-1/4, ROUGE-1/2/L, METEOR-or-chrF, embedding similarity, USR
explanation  FMR, FCR, DIV (PETER) and rating-text consistency (VADER)
grounding    groundedness and citation rate from the verifier's counts
stats        RMSE, MAE, length/latency summaries, bootstrap confidence intervals
"""

from elixir_agent.eval.metrics.explanation import (
    Consistency,
    feature_coverage_ratio,
    feature_diversity,
    feature_matching_ratio,
    rating_text_consistency,
    vader_compound,
)
from elixir_agent.eval.metrics.grounding import citation_rate, groundedness
from elixir_agent.eval.metrics.stats import Interval, Summary, bootstrap_ci, mae, rmse, summarize, word_counts
from elixir_agent.eval.metrics.text import (
    Encoder,
    TextScore,
    bleu,
    chrf,
    embedding_similarity,
    meteor_or_chrf,
    pairwise_cosine,
    rouge_f1,
    unique_sentence_ratio,
    wordnet_available,
)

__all__ = [
    "Consistency",
    "Encoder",
    "Interval",
    "Summary",
    "TextScore",
    "bleu",
    "bootstrap_ci",
    "chrf",
    "citation_rate",
    "embedding_similarity",
    "feature_coverage_ratio",
    "feature_diversity",
    "feature_matching_ratio",
    "groundedness",
    "mae",
    "meteor_or_chrf",
    "pairwise_cosine",
    "rating_text_consistency",
    "rmse",
    "rouge_f1",
    "summarize",
    "unique_sentence_ratio",
    "vader_compound",
    "word_counts",
    "wordnet_available",
]
