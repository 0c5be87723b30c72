"""The ELIXIR model (arXiv 2508.20312): aspect-aware user/item vectors, personalised attention,
overall and aspect rating heads, and a prompt generator that drives a T5 backbone.

Small modules first, the whole model last. Shapes: B batch, A aspects, d vector width,
P soft prompts, w backbone width, T target tokens.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from elixir_agent.core_model.config import ModelConfig
from elixir_agent.core_model.prompt_generator import build_prompt_generator

NO_REPEAT_NGRAM = 3


def _mlp(n_in: int, d: int, n_out: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, d), nn.ReLU(), nn.Dropout(dropout), nn.Linear(d, n_out))


class AspectProjector(nn.Module):
    """One MLP d -> d -> d per aspect: a global vector becomes one vector per aspect."""

    def __init__(self, n_aspects: int, d: int, dropout: float):
        super().__init__()
        self.mlps = nn.ModuleList(_mlp(d, d, d, dropout) for _ in range(n_aspects))

    def forward(self, g: torch.Tensor) -> torch.Tensor:
        return torch.stack([mlp(g) for mlp in self.mlps], dim=1)  # (B, A, d)


class PersonalAttention(nn.Module):
    """Query = the global vector, keys/values = the aspect vectors; scaled softmax over A."""

    def __init__(self, d: int, enabled: bool = True):
        super().__init__()
        self.enabled = enabled
        self.q = nn.Linear(d, d, bias=False)
        self.k = nn.Linear(d, d, bias=False)
        self.v = nn.Linear(d, d, bias=False)

    def forward(self, g: torch.Tensor, aspects: torch.Tensor):
        B, A, d = aspects.shape
        values = self.v(aspects)  # (B, A, d)
        if not self.enabled:  # ablation: every aspect weighs the same
            weights = aspects.new_full((B, A), 1.0 / A)
        else:
            scores = torch.einsum("bd,bad->ba", self.q(g), self.k(aspects)) / math.sqrt(d)
            weights = scores.softmax(dim=-1)  # (B, A)
        pooled = torch.einsum("ba,bad->bd", weights, values)  # (B, d)
        return pooled, weights


class InteractionHead(nn.Module):
    """How likely a user is to seek an item out; not in the paper.

    score(u, i) = <W_u g_u + c_u, W_i g_i + e_i> + b_i, where g are the rating model's global
    vectors, e_i an item vector of the head's own, and c_u the mean (over sqrt(n)) of
    context vectors of the items the user reviewed in training, which carries the
    co-review signal for users with a short history (as FISM, Kabbur et al. 2013, does).
    `log_popularity` (log of 1 + training reviews per item) is the negative-sampling
    distribution in training and a popularity discount at ranking time. `history` holds the
    users' training items; it is rebuilt from the run's ids, never saved with the weights.
    """

    def __init__(self, n_users: int, n_items: int, d: int, rank_dim: int):
        super().__init__()
        self.n_items = n_items
        self.user_proj = nn.Linear(d, rank_dim, bias=False)
        self.item_proj = nn.Linear(d, rank_dim, bias=False)
        self.item_vec = nn.Embedding(n_items, rank_dim)
        self.context = nn.Embedding(n_items + 1, rank_dim, padding_idx=n_items)
        nn.init.normal_(self.item_vec.weight, std=0.01)
        nn.init.normal_(self.context.weight, std=0.01)
        with torch.no_grad():
            self.context.weight[n_items].zero_()
        self.item_bias = nn.Embedding(n_items, 1)
        nn.init.zeros_(self.item_bias.weight)
        self.register_buffer("log_popularity", torch.zeros(n_items))
        self.register_buffer("history", torch.full((n_users, 1), n_items), persistent=False)

    def set_history(self, seen: list[list[int]], max_len: int = 200) -> None:
        """Each user's training items (the last `max_len`), padded: seen[u] = item rows."""
        width = max(1, min(max_len, max((len(s) for s in seen), default=1)))
        table = torch.full((len(seen), width), self.n_items, dtype=torch.long)
        for user, items in enumerate(seen):
            items = list(items)[-width:]
            table[user, : len(items)] = torch.tensor(items, dtype=torch.long)
        self.history = table.to(self.log_popularity.device)

    def user_vectors(self, g_users: torch.Tensor, users: torch.Tensor,
                     leave_out: torch.Tensor | None = None) -> torch.Tensor:
        """(B, r) user side; `leave_out` (B,) drops the item being predicted from the history."""
        history = self.history[users]  # (B, L)
        if leave_out is not None:
            history = torch.where(history == leave_out[:, None], self.n_items, history)
        count = (history != self.n_items).sum(-1, keepdim=True).clamp(min=1)  # (B, 1)
        context = self.context(history).sum(1) / count.sqrt()  # (B, r)
        return self.user_proj(g_users) + context

    def item_vectors(self, g_items: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return self.item_proj(g_items) + self.item_vec(items)  # (I, r)

    def scores(self, user_vecs: torch.Tensor, g_items: torch.Tensor,
               items: torch.Tensor) -> torch.Tensor:
        """(U, I) scores of user-side vectors (U, r) against items (I,) with global vectors."""
        return user_vecs @ self.item_vectors(g_items, items).T + self.item_bias(items)[:, 0][None]

    def loss(self, g_users: torch.Tensor, users: torch.Tensor, items: torch.Tensor,
             item_emb: Callable[[torch.Tensor], torch.Tensor], n_negatives: int
             ) -> torch.Tensor:
        """Sampled softmax: each reviewed item against negatives drawn by popularity^0.75.

        Subtracting log Q (the sampling probability) from every candidate's logit makes the
        sampled softmax an unbiased stand-in for the full one (Bengio & Senecal 2008); without
        it popular items, sampled most often, would be pushed down for everyone.
        """
        q = (0.75 * self.log_popularity).exp()  # count^0.75 with count = 1 + reviews
        q = q / q.sum()
        negatives = torch.multinomial(q, n_negatives, replacement=True)  # (N,)
        candidates = torch.cat([items, negatives])  # (B + N,)
        user_vecs = self.user_vectors(g_users, users, leave_out=items)  # (B, r)
        logits = self.scores(user_vecs, item_emb(candidates), candidates)  # (B, B + N)
        logits = logits - q[candidates].log()[None]
        B = items.size(0)
        # The row's own item is the target; the same item elsewhere in the row is no negative.
        clash = items[:, None] == candidates[None]  # (B, B + N)
        clash[torch.arange(B), torch.arange(B)] = False
        logits = logits.masked_fill(clash, float("-inf"))
        return F.cross_entropy(logits, torch.arange(B, device=items.device))


class RatingOutput(NamedTuple):
    """What the rating model computes for a batch of (user, item) pairs."""

    rating: torch.Tensor  # (B,) overall, on the 1-5 scale
    aspect_ratings: torch.Tensor  # (B, A)
    user_importance: torch.Tensor  # (B, A) attention weights, rows sum to 1
    item_importance: torch.Tensor  # (B, A)
    vectors: torch.Tensor  # (B, 2 + 2A, d): user, item, user aspects, item aspects (prompt input)


@dataclass
class ElixirOutput:
    """`Elixir.forward`'s result: the ratings, and the losses of the targets it was given."""

    rating: torch.Tensor  # (B,) overall, on the 1-5 scale
    aspect_ratings: torch.Tensor  # (B, A)
    user_importance: torch.Tensor  # (B, A) attention weights, rows sum to 1
    item_importance: torch.Tensor  # (B, A)
    loss: torch.Tensor | None = None
    rating_loss: torch.Tensor | None = None
    text_loss: torch.Tensor | None = None
    rank_loss: torch.Tensor | None = None  # already included in rating_loss (times its weight)


class RatingModel(nn.Module):
    """Everything but the text: embeddings, aspect vectors, attention and rating heads."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        A, d = len(cfg.aspects), cfg.d
        if A == 0:
            raise ValueError("the dataset has no aspects; ELIXIR needs at least one")
        self.user_emb = nn.Embedding(cfg.n_users, d)
        self.item_emb = nn.Embedding(cfg.n_items, d)
        nn.init.uniform_(self.user_emb.weight, -cfg.init_range, cfg.init_range)
        nn.init.uniform_(self.item_emb.weight, -cfg.init_range, cfg.init_range)
        # Bias terms as in biased MF (not in the paper): cheap and they help overall RMSE.
        self.user_bias = nn.Embedding(cfg.n_users, 1)
        self.item_bias = nn.Embedding(cfg.n_items, 1)
        nn.init.zeros_(self.user_bias.weight)
        nn.init.zeros_(self.item_bias.weight)
        self.user_aspects = AspectProjector(A, d, cfg.dropout)
        self.item_aspects = AspectProjector(A, d, cfg.dropout)
        self.user_attn = PersonalAttention(d, cfg.use_attention)
        self.item_attn = PersonalAttention(d, cfg.use_attention)
        self.overall_head = _mlp(2 * d, d, 1, cfg.dropout)
        self.aspect_heads = nn.ModuleList(_mlp(2 * d, d, 1, cfg.dropout) for _ in range(A))
        # Training means of overall + each aspect; heads predict the residual.
        self.register_buffer("offsets", torch.full((1 + A,), 3.0))
        self.interaction = (InteractionHead(cfg.n_users, cfg.n_items, d, cfg.rank_dim)
                            if cfg.rank_weight > 0 else None)

    def encode(self, users: torch.Tensor, items: torch.Tensor, cold_users=None, cold_items=None):
        """Global vectors (B, d) each; cold rows use the mean embedding of known ids."""
        u, i = self.user_emb(users), self.item_emb(items)
        if cold_users is not None and cold_users.any():
            u = torch.where(cold_users[:, None], self.user_emb.weight.mean(0), u)
        if cold_items is not None and cold_items.any():
            i = torch.where(cold_items[:, None], self.item_emb.weight.mean(0), i)
        return u, i

    def forward(self, users, items, cold_users=None, cold_items=None) -> RatingOutput:
        u, i = self.encode(users, items, cold_users, cold_items)  # (B, d)
        ua, ia = self.user_aspects(u), self.item_aspects(i)  # (B, A, d)
        u_pool, u_w = self.user_attn(u, ua)
        i_pool, i_w = self.item_attn(i, ia)
        bias = self.user_bias(users)[:, 0] + self.item_bias(items)[:, 0]  # (B,)
        if cold_users is not None:
            bias = bias - self.user_bias(users)[:, 0] * cold_users
        if cold_items is not None:
            bias = bias - self.item_bias(items)[:, 0] * cold_items
        rating = self.overall_head(torch.cat([u_pool, i_pool], -1))[:, 0] + bias + self.offsets[0]
        pairs = torch.cat([ua, ia], dim=-1)  # (B, A, 2d)
        aspect = torch.stack([h(pairs[:, a])[:, 0] for a, h in enumerate(self.aspect_heads)], 1)
        aspect = aspect + self.offsets[1:]  # (B, A)
        vectors = torch.cat([u[:, None], i[:, None], ua, ia], dim=1)  # (B, 2 + 2A, d)
        return RatingOutput(rating, aspect, u_w, i_w, vectors)

    @torch.no_grad()
    def rating_matrix(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """(U, I) overall ratings of every user against every item, as `forward` gives them.

        Factorised: the user and item sides are computed once each, and only the overall
        head's hidden layer runs per pair (its first layer splits into a user and an item part).
        """
        d = self.user_emb.embedding_dim
        u, i = self.user_emb(users), self.item_emb(items)
        u_pool, _ = self.user_attn(u, self.user_aspects(u))  # (U, d)
        i_pool, _ = self.item_attn(i, self.item_aspects(i))  # (I, d)
        first, last = self.overall_head[0], self.overall_head[-1]
        hidden_u = u_pool @ first.weight[:, :d].T + first.bias  # (U, h)
        hidden_i = i_pool @ first.weight[:, d:].T  # (I, h)
        hidden = F.relu(hidden_u[:, None] + hidden_i[None])  # (U, I, h)
        rating = last(hidden)[..., 0]  # (U, I)
        bias = self.user_bias(users)[:, 0][:, None] + self.item_bias(items)[:, 0][None]
        return rating + bias + self.offsets[0]

    @torch.no_grad()
    def interaction_matrix(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """(U, I) interaction scores; raises for a model trained without the ranking head."""
        if self.interaction is None:
            raise ValueError("this model has no ranking head (trained with rank_weight=0)")
        user_vecs = self.interaction.user_vectors(self.user_emb(users), users)
        return self.interaction.scores(user_vecs, self.item_emb(items), items)

    def rank_loss(self, users: torch.Tensor, items: torch.Tensor, n_negatives: int
                  ) -> torch.Tensor:
        """The ranking head's loss alone (the extra ranking phase trains only the head)."""
        if self.interaction is None:
            raise ValueError("this model has no ranking head (trained with rank_weight=0)")
        return self.interaction.loss(self.user_emb(users), users, items, self.item_emb,
                                     n_negatives)


def rating_loss(rating, aspect, target, aspect_target, aspect_mask) -> torch.Tensor:
    """alpha * MSE(overall) + (1 - alpha) * mean aspect MSE, alpha = 1 / (A + 1).

    Unrated aspects (mask 0) do not count; a batch with none rated uses the overall term only.
    """
    A = aspect.size(1)
    alpha = 1.0 / (A + 1)
    overall = F.mse_loss(rating, target)
    n_rated = aspect_mask.sum()
    if n_rated == 0:
        return overall
    aspect_mse = (((aspect - aspect_target) ** 2) * aspect_mask).sum() / n_rated
    return alpha * overall + (1 - alpha) * aspect_mse


def importance_loss(weights: torch.Tensor, target: torch.Tensor, aspect_target: torch.Tensor,
                    aspect_mask: torch.Tensor) -> torch.Tensor:
    """MSE between the overall rating and the attention-weighted mean of the aspect ratings.

    A user whose overall follows taste gets most weight on taste: the weights become the
    aspect importance explanations cite. Only rows with every aspect rated count.
    """
    full = aspect_mask.min(dim=1).values > 0  # (B,)
    if not full.any():
        return weights.new_zeros(())
    mixed = (weights[full] * aspect_target[full]).sum(-1)  # (B',)
    return F.mse_loss(mixed, target[full])


class Elixir(nn.Module):
    """Rating model + (optionally) prompt generator + T5 or causal LM backbone."""

    def __init__(self, cfg: ModelConfig, backbone: nn.Module | None = None):
        super().__init__()
        self.cfg = cfg
        self.rating = RatingModel(cfg)
        self.backbone = backbone
        self.generator = None
        if backbone is not None:
            from elixir_agent.core_model.backbone import backbone_width

            self.generator = build_prompt_generator(cfg, backbone_width(backbone))
        self.item_context = None
        if backbone is not None and cfg.item_context_words > 0:
            from elixir_agent.core_model.item_context import ItemContext

            self.item_context = ItemContext(
                cfg.n_items, cfg.item_context_tokens,
                n_users=cfg.n_users if cfg.user_context_words > 0 else 0,
                user_tokens=cfg.user_context_tokens, rating_text=cfg.rating_text)
        self.rating_lexicon = None  # rating_guidance.py: reviews that follow the rating
        if backbone is not None and cfg.rating_guidance > 0:
            from elixir_agent.core_model.rating_guidance import RatingLexicon

            self.rating_lexicon = RatingLexicon(cfg.vocab_size)

    def _l2(self, users, items) -> torch.Tensor:
        r = self.rating
        vectors = r.user_emb(users).pow(2).sum(-1) + r.item_emb(items).pow(2).sum(-1)
        biases = r.user_bias(users)[:, 0].pow(2) + r.item_bias(items)[:, 0].pow(2)
        return (vectors + biases).mean()

    def prompts(self, vectors: torch.Tensor, rating: torch.Tensor) -> torch.Tensor:
        """(B, P, w) soft prompts, or (B, P + 1, w) with the rating prompt (`rating_prompt`)."""
        if not self.cfg.use_aspects:  # ablation: only the two global vectors carry signal
            vectors = torch.cat([vectors[:, :2], torch.zeros_like(vectors[:, 2:])], dim=1)
        if self.cfg.rating_prompt:
            return self.generator(vectors, rating)
        return self.generator(vectors)

    def forward(self, users, items, target=None, aspect_target=None, aspect_mask=None,
                labels=None, cold_users=None, cold_items=None, freeze_ratings=False,
                text_ratings=None) -> ElixirOutput:
        """Ratings, and with `labels` the review NLL; `text_ratings` are the ratings the rating
        prompt states (training passes the true ones; by default the predicted ones)."""
        with torch.set_grad_enabled(torch.is_grad_enabled() and not freeze_ratings):
            rated = self.rating(users, items, cold_users, cold_items)
        out = ElixirOutput(rated.rating, rated.aspect_ratings, rated.user_importance,
                           rated.item_importance)
        losses = []
        if target is not None and not freeze_ratings:
            out.rating_loss = rating_loss(rated.rating, rated.aspect_ratings, target,
                                          aspect_target, aspect_mask)
            if self.cfg.embed_l2 > 0:
                out.rating_loss = out.rating_loss + self.cfg.embed_l2 * self._l2(users, items)
            if self.cfg.importance_weight > 0 and self.cfg.use_attention:
                out.rating_loss = out.rating_loss + self.cfg.importance_weight * 0.5 * (
                    importance_loss(rated.user_importance, target, aspect_target, aspect_mask)
                    + importance_loss(rated.item_importance, target, aspect_target,
                                      aspect_mask))
            if self.rating.interaction is not None:
                # Detached: the ranking loss trains the head only. Shaping the shared user
                # vectors with it blurred the aspect attention (on synthetic data the
                # attention's correlation with the true user weights fell from 0.89 to 0.31).
                out.rank_loss = self.rating.interaction.loss(
                    rated.vectors[:, 0].detach(), users, items,
                    lambda rows: self.rating.item_emb(rows).detach(), self.cfg.rank_negatives)
                out.rating_loss = out.rating_loss + self.cfg.rank_weight * out.rank_loss
            losses.append(out.rating_loss)
        if labels is not None:
            if self.backbone is None:
                raise ValueError("this model has no text part (trained with text=False)")
            stated = rated.rating.detach() if text_ratings is None else text_ratings
            prompts = self.prompts(rated.vectors, stated)
            mask = torch.ones(prompts.shape[:2], dtype=torch.long, device=prompts.device)
            lm = self.backbone(inputs_embeds=prompts, attention_mask=mask, labels=labels,
                               **self._context(users, items, cold_users, cold_items, stated))
            out.text_loss = lm.loss
            losses.append(lm.loss)
        if losses:
            out.loss = sum(losses)
        return out

    @torch.no_grad()
    def generate(self, users, items, cold_users=None, cold_items=None, max_new_tokens=128,
                 repetition_penalty=1.2, decoding=None, seeds=None, ratings=None,
                 **generate_kwargs) -> torch.Tensor:
        """Decoding with the library's `generate()` (KV cache on) from soft prompts.

        Greedy unless `decoding` (a decoding.Decoding) asks for nucleus sampling, which needs
        one seed per row (`decoding.pair_seed`) so each user-item pair reads the same review.

        Reviews are at least `cfg.min_new_tokens` long (the training median) unless the
        caller passes `min_new_tokens` or asks for fewer tokens in all, and never repeat a
        trigram unless the caller passes another `no_repeat_ngram_size` (0 turns it off).
        With `rating_prompt` the review is written for the predicted rating, or for `ratings`
        (1-5, one per row) when given.
        """
        if self.backbone is None:
            raise ValueError("this model has no text part (trained with text=False)")
        rated = self.rating(users, items, cold_users, cold_items)
        stated = rated.rating if ratings is None else ratings
        prompts = self.prompts(rated.vectors, stated)
        embeddings = getattr(self.backbone, "get_input_embeddings", None)
        if embeddings is not None:  # a T5 loaded in bf16 reads bf16 prompts (CausalBackbone casts its own)
            prompts = prompts.to(embeddings().weight.dtype)
        mask = torch.ones(prompts.shape[:2], dtype=torch.long, device=prompts.device)
        generate_kwargs.setdefault("min_new_tokens",
                                   min(self.cfg.min_new_tokens or 0, max_new_tokens))
        # Not in the paper: a small backbone loops ("chocolate, and chocolate, and ...") even
        # with the repetition penalty; blocking repeated trigrams stops that.
        generate_kwargs.setdefault("no_repeat_ngram_size", NO_REPEAT_NGRAM)
        # The penalty is applied by a processor of ours over every generated token. Left to
        # transformers, it skips as many of a row's first tokens as the row has padding in
        # the attention mask (taking that for a prompt in `input_ids`, which here holds only
        # the review), so in a batch a shorter item context meant a weaker penalty, and 27 of
        # 32 RateBeer pairs read a different review in a batch than alone.
        from transformers import LogitsProcessorList, RepetitionPenaltyLogitsProcessor

        processors = ([RepetitionPenaltyLogitsProcessor(float(repetition_penalty))]
                      if repetition_penalty != 1.0 else [])
        if decoding is None:
            generate_kwargs["logits_processor"] = LogitsProcessorList(
                [*processors, *generate_kwargs.get("logits_processor", [])])
        else:
            from elixir_agent.core_model.decoding import generation_kwargs

            if decoding.guidance > 0:
                if self.rating_lexicon is None:
                    raise ValueError("rating guidance needs the run's rating lexicon, and this "
                                     "run has none (trained with rating_guidance 0): add one "
                                     "with `elixir-agent add-guidance --run RUN --data DATA` "
                                     "(or retrain with --rating-guidance), or decode with "
                                     "guidance 0")
                processors.append(self.rating_lexicon.processor(stated, decoding.guidance))
            generate_kwargs.update(generation_kwargs(decoding, seeds, processors))
        return self.backbone.generate(
            inputs_embeds=prompts, attention_mask=mask, max_new_tokens=max_new_tokens,
            do_sample=False, num_beams=1, repetition_penalty=1.0, use_cache=True,
            **self._context(users, items, cold_users, cold_items, stated), **generate_kwargs)

    def _context(self, users, items, cold_users, cold_items, ratings=None
                 ) -> dict[str, torch.Tensor]:
        """The item (and user) context's tokens and mask for the backbone, or nothing;
        `ratings` (1-5, one per row) end it in words when the run has `rating_text`."""
        if self.item_context is None:
            return {}
        ids, mask = self.item_context.lookup(users, items, cold_items, cold_users, ratings)
        return {"context_ids": ids, "context_mask": mask}
