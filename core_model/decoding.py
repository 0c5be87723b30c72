"""How reviews are decoded: greedy, or nucleus (top-p) sampling seeded per (user, item) pair.

Greedy decoding from soft prompts writes the same few templates for everyone (8% distinct
reviews on RateBeer). Sampling breaks that, but a review that changes every time it is asked
for is no explanation, so each pair gets its own random stream: the same user and item always
read the same review, whatever else is in the batch. The sampler is a logits processor that
runs after the library's own (repetition penalty, minimum length, trigram blocking) and
leaves only the sampled token, so `generate()` keeps its KV cache and greedy loop.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import torch

DECODING_MODES = ("greedy", "sample")


@dataclass(frozen=True)
class Decoding:
    mode: str = "greedy"
    top_p: float = 0.9
    temperature: float = 0.8
    seed: int = 0  # mixed into every pair's seed: another value, other reviews
    # Rating guidance strength (rating_guidance.py): 0 = off. Needs a run with a lexicon.
    guidance: float = 0.0

    def validate(self) -> None:
        if self.mode not in DECODING_MODES:
            raise ValueError(f"decoding must be one of {', '.join(DECODING_MODES)} "
                             f"(got {self.mode!r})")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1] (got {self.top_p})")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be positive (got {self.temperature})")
        if self.guidance < 0:
            raise ValueError(f"rating guidance must be >= 0 (got {self.guidance})")

    def label(self) -> str:
        words = "greedy" if self.mode == "greedy" else (
            f"sample p={self.top_p:g} T={self.temperature:g}")
        return words + (f" + rating guidance {self.guidance:g}" if self.guidance else "")


def pair_seed(user_id: str, item_id: str, seed: int = 0) -> int:
    """A stable 63-bit seed for a pair (Python's hash() changes between processes)."""
    digest = hashlib.sha256(f"{seed}\x00{user_id}\x00{item_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


class PairSeededNucleusSampler:
    """Samples one token per row from the top-p nucleus with that row's own generator.

    A logits processor by protocol (`generate()` calls it with input ids and scores); it does
    not subclass transformers' base class so that loading a run for ratings alone never
    imports transformers.
    """

    def __init__(self, seeds: Sequence[int], top_p: float, temperature: float):
        self.top_p, self.temperature = top_p, temperature
        self.generators = [torch.Generator().manual_seed(int(s)) for s in seeds]

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        if scores.size(0) != len(self.generators):
            raise ValueError(f"{scores.size(0)} rows to sample but {len(self.generators)} seeds")
        probs = (scores.float() / self.temperature).softmax(-1).cpu()
        ordered, order = probs.sort(-1, descending=True)
        before = ordered.cumsum(-1) - ordered  # mass of the tokens ranked above each one
        ordered = torch.where(before < self.top_p, ordered, torch.zeros_like(ordered))
        chosen = []
        for row, generator in enumerate(self.generators):
            # One uniform draw per step and row: the stream depends on nothing else.
            draw = torch.rand((), generator=generator) * ordered[row].sum()
            index = int(torch.searchsorted(ordered[row].cumsum(-1), draw).clamp(
                max=ordered.size(-1) - 1))
            chosen.append(order[row, index])
        picked = torch.full_like(scores, float("-inf"))
        rows = torch.arange(scores.size(0), device=scores.device)
        picked[rows, torch.stack(chosen).to(scores.device)] = 0.0
        return picked


def generation_kwargs(decoding: Decoding, seeds: Sequence[int] | None,
                      before: Sequence = ()) -> dict:
    """Extra `generate()` arguments for a decoding; sampling needs one seed per row.
    `before`: logits processors (the repetition penalty, rating guidance) that must see the
    scores before sampling."""
    decoding.validate()
    processors = list(before)
    if decoding.mode == "sample":
        if seeds is None:
            raise ValueError("sampled decoding needs one seed per row (see pair_seed)")
        processors.append(PairSeededNucleusSampler(seeds, decoding.top_p, decoding.temperature))
    if not processors:
        return {}
    from transformers import LogitsProcessorList

    return {"logits_processor": LogitsProcessorList(processors)}
