"""Rating guidance: the generated review reads as warm or as cold as the predicted rating.

Not in the paper. A LoRA-tuned SmolLM2 writes fluent reviews whose tone barely follows the
rating they are written for: on RateBeer, forcing the rating prompt to 1.5 or to 4.8 gave
the same share of positive reviews, and a sentiment reader's rank correlation between the
review and the predicted rating was 0.04 (docs/core-model.md, "Rating guidance").

Guidance works at decoding time, from two parts:

- `RatingLexicon`: per token of the decoder's vocabulary, how much better than its item's
  usual rating the training reviews that use the token were rated ("delicious" +, "watery"
  -). Measuring against the item's mean, not the overall mean, keeps out words that only
  name cheap or famous items ("bud", "stout"); only whole-word tokens of three or more
  letters used by at least `min_reviews` reviews get a weight. It is built from the training
  reviews when a run is trained and lives in the model's state, so a loaded run needs no
  dataset.
- `RatingGuidance`: a logits processor that adds `strength * target * weight` to each token,
  where `target` is the row's rating minus the training mean, clipped to one star either
  way. Two limits keep the text readable: only tokens the decoder itself finds plausible
  (log-probability within `PLAUSIBLE_GAP` of its best token) are moved, so guidance picks
  among continuations the model would write rather than inserting sentiment words, and a
  token already written gets no more push, so a review never piles up "great great".

Shapes: V vocabulary, B rows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn as nn

# A whole word of at least three letters: SentencePiece marks a word start with "▁", byte
# BPE (GPT-2, SmolLM2) with "Ġ"; in a vocabulary with neither, every token is a word.
# Subword pieces, numbers and punctuation get no weight.
_WORD_START = ("\u2581", "\u0120")
_LETTERS = re.compile(r"^[a-z]{3,}$", re.IGNORECASE)
PLAUSIBLE_GAP = 3.0  # nats below the decoder's best token; beyond that a token is not pushed
TARGET_CLIP = 1.0  # stars either side of the training mean that guidance can ask for


class RatingLexicon(nn.Module):
    """Per-token rating weights (V,) and the training mean rating, kept in the model's state."""

    def __init__(self, vocab_size: int):
        super().__init__()
        self.register_buffer("weights", torch.zeros(vocab_size))
        self.register_buffer("mean_rating", torch.zeros(()))

    @torch.no_grad()
    def fill(self, texts: Sequence[str], ratings: Sequence[float], items: Sequence[int],
             tokenizer, *, min_reviews: int = 20, shrink: float = 20.0,
             item_shrink: float = 5.0) -> RatingLexicon:
        """Weights from training reviews: per token, the mean of (rating - the item's mean,
        shrunk towards the overall mean by `item_shrink` pseudo-reviews) over the reviews
        that use it, shrunk towards 0 by `shrink` pseudo-reviews."""
        ratings_arr = np.asarray(ratings, dtype=np.float64)
        items_arr = np.asarray(items)
        if not (len(texts) == len(ratings_arr) == len(items_arr)):
            raise ValueError(f"texts, ratings and items differ in length ({len(texts)}, "
                             f"{len(ratings_arr)}, {len(items_arr)})")
        if len(texts) == 0:
            raise ValueError("a rating lexicon needs training reviews; got none")
        mean = float(ratings_arr.mean())
        _, item_rows = np.unique(items_arr, return_inverse=True)
        item_count = np.bincount(item_rows)
        item_sum = np.bincount(item_rows, weights=ratings_arr)
        item_mean = (item_sum + item_shrink * mean) / (item_count + item_shrink)
        residual = ratings_arr - item_mean[item_rows]
        vocab = self.weights.numel()
        uses, total = np.zeros(vocab), np.zeros(vocab)
        encoded = tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        for ids, delta in zip(encoded, residual, strict=True):
            present = np.unique(np.asarray(ids, dtype=np.int64))
            present = present[present < vocab]
            uses[present] += 1
            total[present] += delta
        weights = total / (uses + shrink)
        weights[(uses < min_reviews) | ~_word_tokens(tokenizer, vocab)] = 0.0
        self.weights.copy_(torch.from_numpy(weights).float())
        self.mean_rating.fill_(mean)
        return self

    def strongest(self, tokenizer, n: int = 10) -> dict[str, list[tuple[str, float]]]:
        """The `n` most positive and most negative words (training writes them to the run's
        summary.json, so a user can read what guidance pushes)."""
        order = torch.argsort(self.weights)
        def words(ids):
            return [(tokenizer.decode([int(i)]).strip(), round(float(self.weights[i]), 3))
                    for i in ids if float(self.weights[i]) != 0.0]
        return {"positive": words(order.flip(0)[:n]), "negative": words(order[:n])}

    def processor(self, ratings: torch.Tensor, strength: float) -> RatingGuidance:
        """The logits processor that writes each row towards its rating (1-5, one per row)."""
        targets = (ratings.detach().float() - self.mean_rating).clamp(-TARGET_CLIP, TARGET_CLIP)
        return RatingGuidance(self.weights, targets, strength)


def _word_tokens(tokenizer, vocab: int) -> np.ndarray:
    """Per token id: a whole word of three or more letters."""
    pieces = [p or "" for p in tokenizer.convert_ids_to_tokens(
        list(range(min(vocab, len(tokenizer)))))]
    marked = any(p.startswith(_WORD_START) for p in pieces)
    keep = np.zeros(vocab, dtype=bool)
    keep[:len(pieces)] = [
        bool(_LETTERS.match(p[1:])) if p.startswith(_WORD_START) else
        (not marked and bool(_LETTERS.match(p))) for p in pieces]
    return keep


class RatingGuidance:
    """Adds `strength * target_row * weight_token` to the plausible, not yet written tokens.

    A logits processor by protocol (called with the ids so far and the next-token scores);
    it must run before a sampler that reduces the scores to one token. `strength` is
    checked where it is asked for (`Decoding.validate`, `ModelConfig.validate`).
    """

    def __init__(self, weights: torch.Tensor, targets: torch.Tensor, strength: float,
                 plausible_gap: float = PLAUSIBLE_GAP):
        self.weights, self.targets = weights, targets
        self.strength, self.plausible_gap = strength, plausible_gap

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        if scores.size(0) != self.targets.numel():
            raise ValueError(f"{scores.size(0)} rows to guide but {self.targets.numel()} "
                             "ratings")
        vocab = scores.size(-1)
        weights = self.weights.to(scores.device, torch.float32)[:vocab]
        if weights.numel() < vocab:  # a head wider than the tokenizer: the rest is padding
            weights = torch.nn.functional.pad(weights, (0, vocab - weights.numel()))
        push = self.strength * self.targets.to(scores.device)[:, None] * weights[None, :]
        log_probs = scores.float().log_softmax(-1)
        implausible = log_probs < log_probs.max(-1, keepdim=True).values - self.plausible_gap
        written = torch.zeros_like(implausible)
        if input_ids.numel():
            written.scatter_(1, input_ids.clamp(0, vocab - 1), True)
        return scores + push.masked_fill(implausible | written, 0.0).to(scores.dtype)


def lexicon_for_split(frame, tokenizer, max_words: int,
                      vocab_size: int | None = None) -> RatingLexicon:
    """The lexicon training builds, from a prepared split's rows (`text`, `rating`,
    `item_id`): for a run trained before rating guidance, fitted on its own training split.
    `vocab_size`: the decoder's (default: the tokenizer's length)."""
    from elixir_agent.core_model.tokenizer import training_target

    texts = [training_target(t, max_words) for t in frame["text"]]
    return RatingLexicon(vocab_size or len(tokenizer)).fill(
        texts, frame["rating"].tolist(), frame["item_id"].tolist(), tokenizer)
