"""What a causal backbone reads before the soft prompts: the item's name and one of its real
training reviews, and optionally one of the user's own, as plain text (PEPLER's discrete
prompt, filled by retrieval).

Not in the paper. Soft prompts built from ids tell a pretrained decoder who is writing but
nothing it can read about *what* is reviewed: SmolLM2 + LoRA wrote "pours a dark brown" for
a golden Duvel. The item context gives the decoder the item's name and the words its
reviewers use; the user context shows it how this user writes; the soft prompts still carry
the user, the aspects and the rating.

Per item (and per user) two reviews are kept, the two most central (highest mean TF-IDF
cosine to the group's other training reviews), cut to a number of words. A row never reads
the review it is about: the item's first review, when this user wrote it, or the user's
first review, when it is of this item, gives way to the second. The tokens live in the
model's state (`elixir.safetensors`), so a loaded run needs no dataset.

Shapes: I items, U users, L context tokens (left-padded), B rows.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import torch
import torch.nn as nn

CONTEXT_SLOTS = 2  # the most central review, and the next one for its own author
# `rating_text`: the rating is written to the nearest half star, 1 to 5 (the common scale).
RATING_STEPS = [1 + step / 2 for step in range(9)]
RATING_TOKENS = 12  # room for " Rated 4.5 of 5." in any subword vocabulary


def context_text(name: str | None, review: str, words: int) -> str:
    """The text one item's context reads as, right before the soft prompts."""
    snippet = " ".join(review.split()[:words])
    head = f"{name.strip()}\n" if name and name.strip() else ""
    return f"{head}Another review: {snippet}\nThis review:"


def user_text(review: str, words: int) -> str:
    """The text one user's context reads as, before the item's."""
    return f"This reviewer once wrote: {' '.join(review.split()[:words])}\n"


def rating_text(rating: float) -> str:
    """The words that end the context with `rating_text` (after "This review:")."""
    return f" Rated {rating:g} of 5."


def central_reviews(groups: list[int], texts: list[str], n_groups: int,
                    slots: int = CONTEXT_SLOTS) -> list[list[int]]:
    """Per group index (an item, or a user), the rows of its `slots` most central reviews
    (highest mean TF-IDF cosine to the group's other reviews; fewer when it has fewer)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    matrix = TfidfVectorizer(sublinear_tf=True, min_df=1).fit_transform(
        [t if t.strip() else "-" for t in texts])  # rows L2-normalised
    by_group: dict[int, list[int]] = defaultdict(list)
    for row, group in enumerate(groups):
        if texts[row].strip():
            by_group[group].append(row)
    chosen: list[list[int]] = [[] for _ in range(n_groups)]
    for group, rows in by_group.items():
        chosen[group] = most_central(matrix, rows, slots)
    return chosen


def most_central(matrix, rows: list[int], k: int) -> list[int]:
    """The `k` of `rows` with the highest summed cosine to the others (rows of `matrix`
    L2-normalised), most central first; ties keep the rows' order."""
    block = matrix[rows]
    centrality = np.asarray((block @ block.T).sum(axis=1)).ravel()
    return [rows[n] for n in np.argsort(-centrality, kind="stable")[:k]]


def _encode_within(tokenizer, make_text, words: int, width: int) -> list[int]:
    """`make_text(words)` tokenised, the review cut until it fits (name and cue always do)."""
    def encode(n: int) -> list[int]:
        return tokenizer(make_text(n), add_special_tokens=False)["input_ids"]

    ids = encode(words)
    while len(ids) > width and words > 0:  # long words: cut the review further
        words = max(0, words - max(1, (len(ids) - width) // 2))
        ids = encode(words)
    return ids[-width:]


class ItemContext(nn.Module):
    """Left-padded context tokens per item and slot, who wrote each slot's review, and (with
    `n_users`) the same per user: a review of the user's own, about another item."""

    def __init__(self, n_items: int, max_tokens: int, slots: int = CONTEXT_SLOTS,
                 n_users: int = 0, user_tokens: int = 0, rating_text: bool = False):
        super().__init__()
        # int32: the buffer is items x slots x tokens (56 tokens: 448 bytes an item).
        self.register_buffer("ids", torch.zeros(n_items, slots, max_tokens, dtype=torch.int32))
        self.register_buffer("lengths", torch.zeros(n_items, slots, dtype=torch.long))
        self.register_buffer("authors", torch.full((n_items, slots), -1, dtype=torch.long))
        self.has_users = n_users > 0
        if self.has_users:
            self.register_buffer("user_ids", torch.zeros(n_users, slots, user_tokens,
                                                         dtype=torch.int32))
            self.register_buffer("user_lengths", torch.zeros(n_users, slots, dtype=torch.long))
            self.register_buffer("user_items", torch.full((n_users, slots), -1,
                                                          dtype=torch.long))
        self.has_ratings = rating_text
        if rating_text:  # one left-padded row per half star
            self.register_buffer("rating_ids", torch.zeros(len(RATING_STEPS), RATING_TOKENS,
                                                           dtype=torch.int32))
            self.register_buffer("rating_lengths", torch.zeros(len(RATING_STEPS),
                                                               dtype=torch.long))

    @property
    def max_tokens(self) -> int:
        return self.ids.size(-1)

    @torch.no_grad()
    def fill(self, users: list[int], items: list[int], texts: list[str],
             names: list[str | None], tokenizer, words: int, user_words: int = 0) -> None:
        """Choose and tokenise every item's (and user's) context from the training reviews.

        `names[i]` is item index i's name (None when unknown); `users`, `items`, `texts` are
        the training rows.
        """
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        _fill_table(self.ids, self.lengths, self.authors, items, users, texts, pad,
                    lambda item, review: lambda n: context_text(names[item], review, n),
                    tokenizer, words)
        if self.has_ratings:
            self.rating_ids.fill_(pad)
            for step, rating in enumerate(RATING_STEPS):
                tokens = tokenizer(rating_text(rating), add_special_tokens=False)["input_ids"]
                tokens = tokens[-RATING_TOKENS:]
                self.rating_ids[step, RATING_TOKENS - len(tokens):] = torch.tensor(
                    tokens, dtype=torch.int32)
                self.rating_lengths[step] = len(tokens)
        if self.has_users:
            _fill_table(self.user_ids, self.user_lengths, self.user_items, users, items, texts,
                        pad, lambda user, review: lambda n: user_text(review, n), tokenizer,
                        user_words)

    def lookup(self, users: torch.Tensor, items: torch.Tensor,
               cold_items: torch.Tensor | None = None, cold_users: torch.Tensor | None = None,
               ratings: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, L) token ids and (B, L) attention mask, left-padded: the user's text, the
        item's, then (with `rating_text`) `ratings` in words. A cold id reads none; a row
        never reads the review it is about (the item's first review by this user, or the
        user's first review of this item: the second then)."""
        ids, mask = _pick(self.ids, self.lengths, self.authors, items, users, cold_items)
        parts = [(ids, mask)]
        if self.has_users:
            parts.insert(0, _pick(self.user_ids, self.user_lengths, self.user_items,
                                  users, items, cold_users))
        if self.has_ratings:
            if ratings is None:
                raise ValueError("this run writes reviews for a stated rating: pass `ratings`")
            steps = ((ratings.detach().float().to(self.rating_ids.device) - 1) * 2).round()
            steps = steps.long().clamp(0, len(RATING_STEPS) - 1)
            parts.append((self.rating_ids[steps].long(),
                          _left_padded_mask(self.rating_lengths[steps], RATING_TOKENS)))
        if len(parts) > 1:
            ids = torch.cat([part[0] for part in parts], dim=1)
            mask = torch.cat([part[1] for part in parts], dim=1)
            # Padding to the left of every part: training counts positions over the whole row
            # and generation over the unmasked tokens, which agree only for left padding.
            order = torch.argsort(mask, dim=1, stable=True)
            ids, mask = ids.gather(1, order), mask.gather(1, order)
        start = int((mask.sum(0) == 0).sum()) if mask.size(1) else 0
        return ids[:, start:], mask[:, start:]  # no column that every row pads


def _fill_table(ids: torch.Tensor, lengths: torch.Tensor, others: torch.Tensor,
                keys: list[int], other_keys: list[int], texts: list[str], pad: int,
                text_for, tokenizer, words: int) -> None:
    ids.fill_(pad)
    lengths.zero_()
    others.fill_(-1)
    width = ids.size(-1)
    for key, rows in enumerate(central_reviews(keys, texts, ids.size(0), ids.size(1))):
        for slot, row in enumerate(rows):
            tokens = _encode_within(tokenizer, text_for(key, texts[row]), words, width)
            ids[key, slot, width - len(tokens):] = torch.tensor(tokens, dtype=torch.int32)
            lengths[key, slot] = len(tokens)
            others[key, slot] = other_keys[row]


def _pick(ids: torch.Tensor, lengths: torch.Tensor, others: torch.Tensor, keys: torch.Tensor,
          other_keys: torch.Tensor, cold: torch.Tensor | None
          ) -> tuple[torch.Tensor, torch.Tensor]:
    slot = (others[keys, 0] == other_keys).long()
    chosen = ids[keys, slot].long()
    length = lengths[keys, slot]
    if cold is not None:
        length = torch.where(cold.bool(), torch.zeros_like(length), length)
    return chosen, _left_padded_mask(length, ids.size(-1))


def _left_padded_mask(length: torch.Tensor, width: int) -> torch.Tensor:
    """(B, width) attention mask of rows whose last `length` tokens are real."""
    positions = torch.arange(width, device=length.device)
    return (positions[None, :] >= width - length[:, None]).long()
