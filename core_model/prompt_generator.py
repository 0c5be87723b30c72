"""Prompt generators: user/item vectors -> P soft prompts that are the whole T5 encoder input,
or the prefix a decoder-only LM reads before the review (causal_backbone.py).

The input is the stack of 2 + 2|A| vectors (user global, item global, then each user and item
aspect vector), each of width d.

- `PaperPromptGenerator`: the ELIXIR paper's Linear(in -> P*w) then Linear(P*w -> P*w). With
  d = 256, |A| = 4, P = 50 and w = 512 that is about 720M parameters.
- `LowRankPromptGenerator` (ours): one shared context layer, then a P x r code per example
  that one shared r -> w projection lifts to the backbone width, plus a learned position
  vector per prompt. The big P*w x P*w matrix becomes a product of thin factors, so the
  parameter count is linear rather than quadratic in P*w.
- `RatedPrompts` (ours, `rating_prompt`): either generator plus one more prompt that states the
  overall rating, so the review's tone follows the rating the core predicts.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from elixir_agent.core_model.config import ModelConfig


class LowRankPromptGenerator(nn.Module):
    def __init__(self, n_vectors: int, d: int, width: int, n_prompts: int, hidden: int,
                 rank: int):
        super().__init__()
        self.n_prompts, self.rank = n_prompts, rank
        self.context = nn.Sequential(nn.Linear(n_vectors * d, hidden), nn.GELU())
        self.codes = nn.Linear(hidden, n_prompts * rank)  # one r-dim code per prompt
        self.up = nn.Linear(rank, width)  # shared across prompt positions
        self.position = nn.Parameter(torch.randn(n_prompts, width) * 0.02)
        self.norm = nn.LayerNorm(width)

    def forward(self, vectors: torch.Tensor) -> torch.Tensor:
        B = vectors.size(0)
        h = self.context(vectors.flatten(1))  # (B, hidden)
        codes = self.codes(h).view(B, self.n_prompts, self.rank)  # (B, P, r)
        return self.norm(self.up(codes) + self.position)  # (B, P, width)


class PaperPromptGenerator(nn.Module):
    def __init__(self, n_vectors: int, d: int, width: int, n_prompts: int):
        super().__init__()
        self.n_prompts, self.width = n_prompts, width
        self.fc1 = nn.Linear(n_vectors * d, n_prompts * width)
        self.fc2 = nn.Linear(n_prompts * width, n_prompts * width)

    def forward(self, vectors: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.fc1(vectors.flatten(1)))  # (B, P*w)
        return self.fc2(h).view(-1, self.n_prompts, self.width)  # (B, P, w)


class RatedPrompts(nn.Module):
    """A generator's P prompts followed by one prompt that says the overall rating.

    The user and item vectors carry the rating only implicitly, and a decoder tuned on a few
    thousand reviews does not learn to read it there: sampled SmolLM2 reviews agreed with the
    predicted rating less often than the real reviews do with theirs. Training shows the true
    rating (teacher forcing), generation the predicted one. The rating prompt interpolates
    learned vectors at 1, 2, ..., 5 stars, so 3.7 lies between the 3- and 4-star vectors.
    """

    def __init__(self, base: nn.Module, width: int):
        super().__init__()
        self.base = base
        self.stars = nn.Parameter(torch.randn(5, width) * 0.02)
        self.norm = nn.LayerNorm(width)  # the same scale as the generator's own prompts

    def rating_prompt(self, rating: torch.Tensor) -> torch.Tensor:
        position = rating.float().clamp(1.0, 5.0) - 1.0  # (B,) in [0, 4]
        lower = position.floor().long().clamp(max=3)
        upper_share = (position - lower)[:, None]
        vector = (1 - upper_share) * self.stars[lower] + upper_share * self.stars[lower + 1]
        return self.norm(vector)[:, None]  # (B, 1, width)

    def forward(self, vectors: torch.Tensor, rating: torch.Tensor) -> torch.Tensor:
        prompts = self.base(vectors)
        return torch.cat([prompts, self.rating_prompt(rating).to(prompts.dtype)], dim=1)


def n_input_vectors(n_aspects: int) -> int:
    return 2 + 2 * n_aspects


def build_prompt_generator(cfg: ModelConfig, width: int) -> nn.Module:
    n_vectors = n_input_vectors(len(cfg.aspects))
    if cfg.generator == "paper":
        generator = PaperPromptGenerator(n_vectors, cfg.d, width, cfg.n_prompts)
    else:
        generator = LowRankPromptGenerator(n_vectors, cfg.d, width, cfg.n_prompts,
                                           cfg.generator_hidden, cfg.generator_rank)
    return RatedPrompts(generator, width) if cfg.rating_prompt else generator


def paper_generator_params(n_aspects: int, d: int, width: int, n_prompts: int) -> int:
    """Parameter count of the paper's generator at these sizes, without allocating it."""
    n_in, n_out = n_input_vectors(n_aspects) * d, n_prompts * width
    return (n_in * n_out + n_out) + (n_out * n_out + n_out)
