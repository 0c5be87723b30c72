"""`bench core`'s review table: every backbone x decoding scored on the same test pairs.

Per variant: overlap with the real review (BLEU-4, ROUGE-L, chrF), diversity (unique %,
distinct-1/2), personalisation (for one item, how different the reviews written for different
users are), fluency (per-token NLL of the text under the frozen SmolLM2, beside the same for
the real reviews) and rating-text agreement (VADER sentiment of the review against the
predicted rating, beside the real reviews against their real ratings).
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from elixir_agent.core_model.checkpoint import write_text
from elixir_agent.core_model.data.records import RATING_MAX, RATING_MIN
from elixir_agent.core_model.decoding import Decoding
from elixir_agent.core_model.decoding_selection import (
    CANDIDATES,
    CRITERION,
    best_decoding,
    score_decodings,
)
from elixir_agent.core_model.inference import ElixirRecommender
from elixir_agent.core_model.text_metrics import text_scores
from elixir_agent.core_model.tokenizer import normalize_text

SENTIMENT_NEUTRAL = 0.05  # VADER's own threshold for a neutral compound score


@dataclass
class TextPairs:
    """The scored test pairs, their references, and the groups for personalisation."""

    pairs: list[tuple[str, str]]
    references: list[str]
    true_ratings: list[float]
    personal: list[tuple[str, str]]  # n_users consecutive pairs per item


def personal_pairs(rec: ElixirRecommender, items: list[str], n_items: int, n_users: int,
                   seed: int) -> list[tuple[str, str]]:
    """For each of the first `n_items` distinct items, `n_users` different known users."""
    rng = np.random.default_rng(seed)
    users = rec.artifacts.users.ids
    out: list[tuple[str, str]] = []
    for item in list(dict.fromkeys(items))[:n_items]:
        chosen = rng.choice(len(users), size=min(n_users, len(users)), replace=False)
        out.extend((users[int(u)], item) for u in chosen)
    return out


def personalisation(texts: list[str], group_size: int) -> float:
    """Mean over items of the mean pairwise (1 - Jaccard) of word-bigram sets, in percent.

    0: every user gets the same review for an item; 100: no bigram in common.
    """
    scores = []
    for start in range(0, len(texts) - group_size + 1, group_size):
        grams = [set(itertools.pairwise(t.lower().split())) for t in texts[start:start + group_size]]
        for a, b in itertools.combinations(grams, 2):
            union = a | b
            scores.append(1.0 - len(a & b) / len(union) if union else 0.0)
    return 100.0 * float(np.mean(scores)) if scores else math.nan


def sentiment_agreement(texts: list[str], ratings: list[float],
                        scale: tuple[float, float] = (RATING_MIN, RATING_MAX)) -> dict:
    """VADER polarity vs the rating's side of the scale midpoint. Ratings, predicted or true,
    are on the common 1-5 scale every loader maps its source's published scale onto.

    `agreement`: share of pairs where both are positive, both negative, or the text is
    neutral and the rating within a tenth of the scale of the midpoint. `bands`: the pairs
    and that share within each side (`below`, `neutral`, `above`), since one number hides
    which side fails. `praise_only`: the share a text VADER always reads as positive would
    get (the pairs above the neutral band), the floor any claim of agreement must clear.
    `spearman`: rank correlation of the compound score with the rating.
    """
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    compound = np.array([analyzer.polarity_scores(t)["compound"] for t in texts])
    low, high = scale
    side = np.array(ratings) - (low + high) / 2
    text_sign = np.where(np.abs(compound) < SENTIMENT_NEUTRAL, 0, np.sign(compound))
    rating_sign = np.where(np.abs(side) < 0.1 * (high - low), 0, np.sign(side))
    bands = {}
    for name, sign in (("below", -1), ("neutral", 0), ("above", 1)):
        chosen = rating_sign == sign
        bands[name] = {"pairs": int(chosen.sum()),
                       "agreement": (float(np.mean(text_sign[chosen] == sign)) if chosen.any()
                                     else math.nan)}
    return {"agreement": float(np.mean(text_sign == rating_sign)),
            "bands": bands,
            "praise_only": float(np.mean(rating_sign == 1)),
            "spearman": _spearman(compound, list(ratings)),
            "mean_compound": float(compound.mean())}


class RatingReader:
    """A second judge of rating-text agreement, fitted on the training reviews: a ridge
    regression from the text's sentence embedding (all-MiniLM-L6-v2) to its rating.

    VADER knows general English; a beer review at 2 of 5 still says "nice caramel aroma",
    so on real RateBeer reviews its compound score ranks with the true rating at only about
    0.35. This reader learns the domain's words from the training split (about 0.53 on
    validation) and shares nothing with the rating lexicon that guidance pushes with: it
    reads whole-text embeddings, not tokens.
    """

    def __init__(self, texts: list[str], ratings: list[float], alpha: float = 10.0):
        from sklearn.linear_model import Ridge

        from elixir_agent.retrieval.embedder import Embedder

        self.embedder = Embedder(backend="auto")  # the fastest this machine has
        self.ridge = Ridge(alpha=alpha).fit(self.embedder.encode(texts), ratings)

    def spearman(self, texts: list[str], ratings: list[float]) -> float:
        """Rank correlation of the rating the reader gives each text with `ratings`."""
        read = self.ridge.predict(self.embedder.encode(texts))
        return _spearman(read, ratings)


def _spearman(scores, ratings) -> float:
    if len(set(ratings)) < 2 or len(set(np.round(scores, 9))) < 2:
        return math.nan
    ranks = pd.DataFrame({"text": scores, "rating": ratings}).rank()
    return float(np.corrcoef(ranks["text"], ranks["rating"])[0, 1])


class FluencyScorer:
    """Per-token NLL of texts under a frozen causal LM (the SmolLM2 base, no adapter)."""

    def __init__(self, spec: str = "smollm2"):
        from elixir_agent.core_model.causal_backbone import load_causal_lm, load_causal_tokenizer

        self.model = load_causal_lm(spec).eval()
        self.tokenizer = load_causal_tokenizer(spec)

    @torch.no_grad()
    def nll(self, texts: list[str], batch_size: int = 16) -> float:
        start_id = self.tokenizer.bos_token_id
        if start_id is None:
            start_id = self.tokenizer.eos_token_id
        total, count = 0.0, 0
        for begin in range(0, len(texts), batch_size):
            rows = [[start_id, *self.tokenizer(t, add_special_tokens=False)["input_ids"][:160]]
                    for t in texts[begin:begin + batch_size] if t.strip()]
            if not rows:
                continue
            width = max(map(len, rows))
            ids = torch.full((len(rows), width), self.tokenizer.pad_token_id or 0)
            mask = torch.zeros((len(rows), width), dtype=torch.long)
            for n, row in enumerate(rows):
                ids[n, :len(row)], mask[n, :len(row)] = torch.tensor(row), 1
            logits = self.model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
            targets = ids[:, 1:].masked_fill(mask[:, 1:] == 0, -100)
            loss = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-100,
                reduction="sum")
            total += float(loss)
            count += int((targets != -100).sum())
        return total / count if count else math.nan


def sampled_decoding(rec: ElixirRecommender, valid: pd.DataFrame, n_pairs: int,
                     max_words: int, chosen_by: str | None = None) -> tuple[Decoding, list[dict]]:
    """The run's own sampled default when training chose it by today's `CRITERION`
    (`chosen_by`, from the run's summary.json), else the sampled candidate that criterion
    picks on `n_pairs` validation pairs."""
    default = rec.default_decoding()
    if default.mode == "sample" and chosen_by == CRITERION:
        return default, []
    known = valid[valid.user_id.map(rec.has_user) & valid.item_id.map(rec.has_item)].head(n_pairs)
    users, items = list(known.user_id), list(known.item_id)
    index_u, index_i, *_ = rec._indices(list(zip(users, items, strict=True)), False)
    rows = score_decodings(rec.model, rec.tokenizer, users, items, index_u, index_i,
                           [normalize_text(t, max_words) for t in known.text],
                           [c for c in CANDIDATES if c.mode == "sample"],
                           max_new_tokens=rec.model.cfg.max_target_tokens)
    best = best_decoding(rows)
    return Decoding("sample", best["top_p"], best["temperature"]), rows


def generate_all(rec: ElixirRecommender, pairs: list[tuple[str, str]], decoding: Decoding,
                 batch_size: int = 32) -> list[str]:
    out: list[str] = []
    for start in range(0, len(pairs), batch_size):
        out.extend(rec.explain_batch(pairs[start:start + batch_size], decoding=decoding,
                                     max_new_tokens=rec.model.cfg.max_target_tokens))
    return out


def score_variant(rec: ElixirRecommender, decoding: Decoding, data: TextPairs,
                  fluency: FluencyScorer | None, group_size: int,
                  save_to: Path | None = None, reader: RatingReader | None = None) -> dict:
    """Generate and score one variant; with `save_to`, also write every review (JSON lines:
    user, item, generated, reference, predicted rating) so its scores can be recomputed."""
    texts = generate_all(rec, data.pairs, decoding)
    scores = text_scores(texts, data.references)
    predicted = [p.rating for p in rec.predict_batch(data.pairs)]
    if save_to is not None:
        save_to.parent.mkdir(parents=True, exist_ok=True)
        write_text(save_to, "".join(
            json.dumps({"user": u, "item": i, "generated": t, "reference": r,
                        "predicted_rating": p}) + "\n"
            for (u, i), t, r, p in zip(data.pairs, texts, data.references, predicted,
                                       strict=True)))
    scores.update(sentiment_agreement(texts, predicted))
    scores["reader_spearman"] = reader.spearman(texts, predicted) if reader else math.nan
    scores["personalisation"] = personalisation(generate_all(rec, data.personal, decoding),
                                                group_size)
    scores["fluency_nll"] = fluency.nll(texts) if fluency is not None else math.nan
    scores["decoding"] = decoding.label()
    scores["examples"] = [{"user": u, "item": i, "generated": t, "reference": r}
                          for (u, i), t, r in list(zip(data.pairs, texts, data.references,
                                                       strict=True))[:5]]
    return scores


def reference_row(data: TextPairs, fluency: FluencyScorer | None,
                  reader: RatingReader | None = None) -> dict:
    """The real test reviews scored like a variant where that makes sense."""
    return {"fluency_nll": fluency.nll(data.references) if fluency is not None else math.nan,
            **sentiment_agreement(data.references, data.true_ratings),
            "reader_spearman": (reader.spearman(data.references, data.true_ratings) if reader
                                else math.nan)}
