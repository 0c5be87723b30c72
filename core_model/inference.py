"""The inference API the tools depend on: the `Recommender` protocol and `ElixirRecommender`.

    rec = ElixirRecommender.from_run("runs/rb")
    rec.predict("u1", "b42")          # Prediction: rating, aspect ratings, importance
    rec.explain("u1", "b42")          # the generated personalised review
    rec.rank("u1", k=5)               # best unseen items for the user
    rec.suggest("guinness")           # close item ids (by id or by name)

Unknown ids raise `UnknownIdError` with suggestions, unless `cold_start=True`, which uses
the mean user (or item) embedding and flags the prediction.
"""

from __future__ import annotations

import json
import re
import threading
import typing
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from elixir_agent.core_model.checkpoint import RunArtifacts, RunDirError, load_model
from elixir_agent.core_model.decoding import Decoding, pair_seed
from elixir_agent.core_model.importance import (
    ImportanceEvidence,
    importance_evidence,
    mean_importance,
)
from elixir_agent.core_model.model import Elixir
from elixir_agent.errors import UserError
from elixir_agent.hardware import cpu_has_native_bf16

__all__ = ["ElixirRecommender", "ImportanceEvidence", "NonFinitePredictionError", "Prediction",
           "Recommender", "UnknownIdError", "default_int8", "importance_evidence",
           "load_recommender", "mean_importance"]


@dataclass(frozen=True)
class Prediction:
    user_id: str
    item_id: str
    rating: float  # overall, 1-5
    aspect_ratings: dict[str, float]  # aspect -> predicted 1-5, every dataset aspect
    user_importance: dict[str, float]  # aspect -> attention weight of the user (sums to 1)
    item_importance: dict[str, float]  # aspect -> attention weight of the item (sums to 1)
    cold_user: bool = False  # True when the user was unknown and cold_start=True
    cold_item: bool = False
    # rank() only: the learned ranking score that put the item where it is (None when the
    # run has no ranking head and items are ordered by predicted rating)
    rank_score: float | None = None


class UnknownIdError(UserError, KeyError):
    """An id the model was not trained on; carries close matches for the caller to offer."""

    def __init__(self, kind: str, value: str, suggestions: Sequence[str] = ()):
        self.kind, self.value, self.suggestions = kind, value, list(suggestions)
        super().__init__(f"unknown {kind} id {value!r}")

    def __str__(self) -> str:
        hint = f"; did you mean: {', '.join(self.suggestions)}?" if self.suggestions else ""
        return f"unknown {self.kind} id {self.value!r}{hint}"


class NonFinitePredictionError(UserError, ValueError):
    """The network produced NaN or infinity: its weights are damaged; never an answer."""


@typing.runtime_checkable
class Recommender(typing.Protocol):
    aspects: list[str]

    def predict(self, user_id: str, item_id: str, *, cold_start: bool = False) -> Prediction: ...

    def predict_batch(self, pairs: Sequence[tuple[str, str]], *, cold_start: bool = False
                      ) -> list[Prediction]: ...

    def explain(self, user_id: str, item_id: str, *, max_new_tokens: int = 128) -> str: ...

    def rank(self, user_id: str, candidates: Sequence[str] | None = None, k: int = 10, *,
             exclude_seen: bool = True) -> list[Prediction]: ...

    def has_user(self, user_id: str) -> bool: ...

    def has_item(self, item_id: str) -> bool: ...

    def suggest(self, text: str, kind: str = "item", limit: int = 5) -> list[str]: ...


class ElixirRecommender:
    """A trained ELIXIR run behind the `Recommender` protocol."""

    def __init__(self, model: Elixir, tokenizer, artifacts: RunArtifacts,
                 device: torch.device | str = "cpu"):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.artifacts = artifacts
        self.device = torch.device(device)
        self.aspects: list[str] = list(artifacts.aspects)
        # Set by from_run(defer_text=True): builds (full model, tokenizer) on the first explain.
        self._load_text: Callable[[], tuple[Elixir, object]] | None = None
        self.int8 = False  # the text decoder's linear weights in int8 (from_run decides)
        self._text_lock = threading.Lock()

    @classmethod
    def from_run(cls, run_dir: str | Path, *, device: str | None = None,
                 int8: bool | None = None, bf16: bool = False, quantize: str | None = None,
                 ratings_only: bool = False, verify: bool = True,
                 defer_text: bool = False) -> ElixirRecommender:
        """Load a run directory. `int8` keeps the text decoder's weights in int8 (CPU only);
        None (the default) chooses it where it was measured to help, see `default_int8`.
        `bf16` keeps the text decoder in bfloat16 (half the memory traffic per token);
        `quantize` ("8bit"/"4bit") re-loads the backbone through bitsandbytes; `ratings_only`
        skips the text model (predictions only, `explain` is then an error). `verify` checks
        every file against the run's manifest (`CorruptRunError` names a bad one).
        `defer_text` loads the rating model now and the text model (transformers, the
        backbone, the tokenizer) on the first `explain`, so a session that only predicts
        never pays for it; predictions are the same either way (same weights file)."""
        if device is None:
            device = "cuda" if torch.cuda.is_available() and not int8 else "cpu"
        if int8 and device != "cpu":
            raise ValueError("int8 weights run on CPU only; use device='cpu'")
        if int8 and bf16:
            raise ValueError("choose one of int8 and bf16 for the text decoder")
        run_dir = Path(run_dir)
        model, tokenizer, model_cfg, _, artifacts = load_model(
            run_dir, quantize=quantize, ratings_only=ratings_only or defer_text, verify=verify)
        if int8 is None:  # a run loaded for ratings alone has no decoder to store in int8
            int8 = not ratings_only and default_int8(model_cfg, device, quantize, bf16)
        rec = cls(_placed(model, device, quantize, int8, bf16), tokenizer, artifacts, device)
        rec.int8 = int8
        if defer_text and not ratings_only and model_cfg.text:
            def load_text() -> tuple[Elixir, object]:
                # The manifest was checked by the load above; checking again would hash the
                # backbone a second time for nothing.
                full, full_tokenizer, *_ = load_model(run_dir, quantize=quantize, verify=False)
                return _placed(full, device, quantize, int8, bf16), full_tokenizer

            rec._load_text = load_text
        return rec

    # ---- lookup -------------------------------------------------------------------------

    def has_user(self, user_id: str) -> bool:
        return user_id in self.artifacts.users

    def has_item(self, item_id: str) -> bool:
        return item_id in self.artifacts.items

    def item_name(self, item_id: str) -> str | None:
        return self.artifacts.item_names.get(item_id)

    def seen_items(self, user_id: str) -> list[str]:
        return list(self.artifacts.seen.get(user_id, []))

    def suggest(self, text: str, kind: str = "item", limit: int = 5) -> list[str]:
        """Ids close to `text`; for items, names count too (the matching item ids are returned)."""
        from rapidfuzz import fuzz, process

        if kind not in ("user", "item"):
            raise ValueError(f"kind must be 'user' or 'item' (got {kind!r})")
        ids = self.artifacts.users.ids if kind == "user" else self.artifacts.items.ids
        choices = {key: key for key in ids}
        if kind == "item":
            choices.update({f"{name}\x00{key}": key
                            for key, name in self.artifacts.item_names.items()
                            if key in self.artifacts.items})
        labels = list(choices)
        processed = [label.split("\x00")[0] for label in labels]
        found = process.extract(text, processed, scorer=fuzz.WRatio, limit=limit * 3,
                                processor=str.lower)
        out: list[str] = []
        for _, _, index in found:
            key = choices[labels[index]]
            if key not in out:
                out.append(key)
        return out[:limit]

    def _check(self, user_id: str, item_id: str, cold_start: bool) -> tuple[bool, bool]:
        cold_user, cold_item = not self.has_user(user_id), not self.has_item(item_id)
        if not cold_start:
            if cold_user:
                raise UnknownIdError("user", user_id, self.suggest(user_id, "user", 3))
            if cold_item:
                raise UnknownIdError("item", item_id, self.suggest(item_id, "item", 3))
        return cold_user, cold_item

    def _indices(self, pairs, cold_start: bool):
        flags = [self._check(u, i, cold_start) for u, i in pairs]
        users = [self.artifacts.users.index.get(u, 0) for u, _ in pairs]
        items = [self.artifacts.items.index.get(i, 0) for _, i in pairs]
        as_long = lambda xs: torch.tensor(xs, dtype=torch.long, device=self.device)  # noqa: E731
        as_bool = lambda xs: torch.tensor(xs, dtype=torch.bool, device=self.device)  # noqa: E731
        return (as_long(users), as_long(items), as_bool([f[0] for f in flags]),
                as_bool([f[1] for f in flags]))

    # ---- ratings ------------------------------------------------------------------------

    def predict(self, user_id: str, item_id: str, *, cold_start: bool = False) -> Prediction:
        return self.predict_batch([(user_id, item_id)], cold_start=cold_start)[0]

    def predict_batch(self, pairs: Sequence[tuple[str, str]], *, cold_start: bool = False,
                      batch_size: int = 4096) -> list[Prediction]:
        pairs = [(str(u), str(i)) for u, i in pairs]
        table = self.predict_table(pairs, cold_start=cold_start, batch_size=batch_size)

        def by_aspect(prefix: str, n: int) -> dict[str, float]:
            return {a: float(table[f"{prefix}{a}"][n]) for a in self.aspects}

        return [Prediction(user_id=u, item_id=i, rating=float(table["rating"][n]),
                           aspect_ratings=by_aspect("aspect_", n),
                           user_importance=by_aspect("user_importance_", n),
                           item_importance=by_aspect("item_importance_", n),
                           cold_user=bool(table["cold_user"][n]),
                           cold_item=bool(table["cold_item"][n]))
                for n, (u, i) in enumerate(pairs)]

    @torch.no_grad()
    def predict_table(self, pairs: Sequence[tuple[str, str]], *, cold_start: bool = False,
                      batch_size: int = 4096) -> dict[str, np.ndarray]:
        """`predict_batch` as columns, one row per pair: rating, cold_user, cold_item, then
        aspect_A, user_importance_A, item_importance_A for each aspect A (float64, the same
        values). Batch jobs write these columns as they are, with no object per row."""
        pairs = [(str(u), str(i)) for u, i in pairs]
        chunks = []
        for start in range(0, len(pairs), batch_size):
            chunk = pairs[start: start + batch_size]
            users, items, cold_u, cold_i = self._indices(chunk, cold_start)
            res = self.model(users, items, cold_users=cold_u, cold_items=cold_i)
            _check_finite(chunk, res.rating, res.aspect_ratings, res.user_importance,
                          res.item_importance)
            chunks.append(self._columns(res.rating, cold_u, cold_i, res.aspect_ratings,
                                        res.user_importance, res.item_importance))
        if not chunks:  # the same columns, empty
            A = len(self.aspects)
            none, flags = torch.zeros(0), torch.zeros(0, dtype=torch.bool)
            return self._columns(none, flags, flags, *(torch.zeros(0, A),) * 3)
        return {name: np.concatenate([c[name] for c in chunks]) for name in chunks[0]}

    def _columns(self, rating, cold_user, cold_item, aspect, user_weights, item_weights
                 ) -> dict[str, np.ndarray]:
        def column(values: torch.Tensor) -> np.ndarray:
            return values.double().cpu().numpy()

        table = {"rating": column(rating.clamp(1, 5)), "cold_user": cold_user.cpu().numpy(),
                 "cold_item": cold_item.cpu().numpy()}
        for a, name in enumerate(self.aspects):
            table[f"aspect_{name}"] = column(aspect[:, a].clamp(1, 5))
            table[f"user_importance_{name}"] = column(user_weights[:, a])
            table[f"item_importance_{name}"] = column(item_weights[:, a])
        return table

    def rank(self, user_id: str, candidates: Sequence[str] | None = None, k: int = 10, *,
             exclude_seen: bool = True, cold_start: bool = False) -> list[Prediction]:
        """Items best first: by the learned ranking when the run has a ranking head (what
        this user is likely to seek out and rate highly), else by predicted overall rating.
        Unknown candidates raise; an unknown user (cold_start) is ranked by rating."""
        if not cold_start and not self.has_user(user_id):
            raise UnknownIdError("user", user_id, self.suggest(user_id, "user", 3))
        pool = list(self.artifacts.items.ids if candidates is None else candidates)
        if exclude_seen:
            seen = set(self.artifacts.seen.get(user_id, []))
            pool = [item for item in pool if item not in seen]
        if self.model.rating.interaction is None or not self.has_user(user_id):
            ranked = self.predict_batch([(user_id, item) for item in pool],
                                        cold_start=cold_start)
            ranked.sort(key=lambda p: (-p.rating, p.item_id))
            return ranked[:k]
        for item in pool:
            self._check(user_id, item, cold_start=False)
        scores = self.rank_scores(user_id, pool)
        best = sorted(zip(pool, scores.tolist(), strict=True), key=lambda x: (-x[1], x[0]))[:k]
        predictions = self.predict_batch([(user_id, item) for item, _ in best])
        return [replace(p, rank_score=round(s, 4))
                for p, (_, s) in zip(predictions, best, strict=True)]

    def rank_scores(self, user_id: str, item_ids: Sequence[str]) -> np.ndarray:
        """The run's ranking score of each item for a known user (higher = recommend first)."""
        from elixir_agent.core_model.ranking import elixir_scorer

        user = np.array([self.artifacts.users.index[user_id]])
        row = elixir_scorer(self.model, self.model.cfg, device=self.device)(user)[0]
        return row[[self.artifacts.items.index[i] for i in item_ids]]

    @torch.no_grad()
    def item_similarity(self, item_ids: Sequence[str], others: Sequence[str]) -> np.ndarray:
        """(len(item_ids), len(others)) cosine similarity of the items' learned vectors.

        With a ranking head these are the interaction vectors, which put items reviewed by
        the same people close together; otherwise the rating model's item embeddings.
        """
        def vectors(ids: Sequence[str]) -> torch.Tensor:
            rows = torch.tensor([self.artifacts.items.index[i] for i in ids], dtype=torch.long,
                                device=self.device)
            found = self.model.rating.item_emb(rows)
            if self.model.rating.interaction is not None:
                found = self.model.rating.interaction.item_proj(found)
            return torch.nn.functional.normalize(found.float(), dim=-1)

        for item in [*item_ids, *others]:
            if not self.has_item(item):
                raise UnknownIdError("item", item, self.suggest(item, "item", 3))
        return (vectors(item_ids) @ vectors(others).T).cpu().numpy()

    # ---- text ---------------------------------------------------------------------------

    def explain(self, user_id: str, item_id: str, *, max_new_tokens: int = 128,
                cold_start: bool = False, min_new_tokens: int | None = None,
                decoding: Decoding | None = None) -> str:
        """The generated personalised review (repetition penalty 1.2, trigram blocking, KV
        cache), decoded as the run chose on validation unless `decoding` says otherwise."""
        return self.explain_batch([(user_id, item_id)], max_new_tokens=max_new_tokens,
                                  cold_start=cold_start, min_new_tokens=min_new_tokens,
                                  decoding=decoding)[0]

    def _load_deferred_text(self) -> None:
        if self._load_text is None:
            return
        with self._text_lock:  # UI sessions may explain at once: load the text model once
            if self._load_text is not None:
                self.model, self.tokenizer = self._load_text()
                self.model.eval()
                self._load_text = None

    def use_rating_lexicon(self, lexicon) -> None:
        """Guide this run's reviews with `lexicon` (rating_guidance.lexicon_for_split on the
        run's own training split): for a run trained before rating guidance, which has none.
        `default_decoding()` is unchanged; pass a Decoding with `guidance` to use it."""
        self._load_deferred_text()
        if self.model.backbone is None:
            raise ValueError("this run has no text model (trained with text=False)")
        self.model.rating_lexicon = lexicon

    def default_decoding(self) -> Decoding:
        cfg = self.model.cfg
        return Decoding(cfg.decoding, cfg.top_p, cfg.temperature, guidance=cfg.rating_guidance)

    @torch.no_grad()
    def explain_batch(self, pairs: Sequence[tuple[str, str]], *, max_new_tokens: int = 128,
                      cold_start: bool = False, min_new_tokens: int | None = None,
                      decoding: Decoding | None = None) -> list[str]:
        """Reviews for many pairs; `min_new_tokens` overrides the run's typical length.

        Sampled reviews are seeded per pair: a pair reads the same review alone or in a batch.
        """
        self._load_deferred_text()
        if self.tokenizer is None or self.model.backbone is None:
            raise ValueError("this run has no text model (trained with text=False)")
        decoding = decoding or self.default_decoding()
        users, items, cold_u, cold_i = self._indices(pairs, cold_start)
        extra = {} if min_new_tokens is None else {"min_new_tokens": min(min_new_tokens,
                                                                         max_new_tokens)}
        seeds = [pair_seed(str(u), str(i), decoding.seed) for u, i in pairs]
        ids = self.model.generate(users, items, cold_u, cold_i, max_new_tokens=max_new_tokens,
                                  decoding=decoding, seeds=seeds, **extra)
        decoded = self.tokenizer.batch_decode(ids, skip_special_tokens=True)
        return [review_text(text, at_limit=cut)
                for text, cut in zip(decoded, self._stopped_at_limit(ids), strict=True)]

    def _stopped_at_limit(self, ids: torch.Tensor) -> list[bool]:
        """Per generated row: no end token, so it stopped at max_new_tokens (likely
        mid-sentence). Without a known end token no row is said to be cut."""
        config = getattr(self.model.backbone, "config", None)
        known = {self.tokenizer.eos_token_id, getattr(config, "eos_token_id", None)}
        end_ids = torch.tensor([i for i in known if isinstance(i, int)], device=ids.device)
        if end_ids.numel() == 0:
            return [False] * len(ids)
        return [not bool(torch.isin(row, end_ids).any()) for row in ids]


# The end of a sentence: ., ! or ? (with any closing quotes or brackets), then a space or the end.
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*(?=\s|$)")
# A cut that would drop more than this share of a review keeps the review and marks the cut.
MAX_SHARE_DROPPED = 0.5


def review_text(decoded: str, *, at_limit: bool = False) -> str:
    """A generated review as a reader should see it.

    It ends at its first line break: training reviews are one line (the tokenizer joins their
    whitespace), so a line break is the decoder running on into the layout of its context
    ("<item name>\nAnother review: ..."), not more review. A review that stopped at the token
    limit (`at_limit`) ends at its last full sentence, or, when that would drop more than
    half of it, keeps its words and ends with "..." so the cut is visible.
    """
    # The same sentence end that training targets are cut at (loaded with the run's tokenizer).
    from elixir_agent.core_model.tokenizer import ENDS_A_SENTENCE

    first_line, line_break, _ = decoded.partition("\n")
    text = first_line.strip()
    if not at_limit or line_break or not text or ENDS_A_SENTENCE.search(text):
        return text
    ends = list(_SENTENCE_END.finditer(text))
    if ends and ends[-1].end() >= (1 - MAX_SHARE_DROPPED) * len(text):
        return text[:ends[-1].end()]
    return text.rstrip(" ,;:-") + "..."


def default_int8(cfg, device: str, quantize: str | None = None, bf16: bool = False) -> bool:
    """Whether a run's text decoder gets int8 weights when nobody said: where it was measured
    to help. With SmolLM2 on a 2-core CPU with native bfloat16, 64 review tokens took 1.6 s
    instead of 3.9 s, and the reviews scored as fp32's did (BLEU-4 2.38 and 2.40, ROUGE-L
    14.55 and 14.61 on 600 RateBeer test pairs, docs/core-benchmark.md). Not for the small
    random-init T5, whose time goes elsewhere; not on a GPU; not beside bf16 or a
    bitsandbytes backbone; and not on a CPU without bf16 instructions, where the int8
    kernel's bf16 arithmetic is emulated and its speed is unmeasured (`int8=True` still asks
    for it there).
    """
    from elixir_agent.core_model.causal_backbone import is_causal_spec

    return (device == "cpu" and not bf16 and quantize in (None, "none") and cfg.text
            and cfg.quantize == "none" and is_causal_spec(cfg.backbone)
            and cpu_has_native_bf16())


def _placed(model: Elixir, device: str, quantize: str | None, int8: bool,
            bf16: bool = False) -> Elixir:
    """The loaded model on its device (bitsandbytes places its own); with `int8`, the text
    decoder's linear weights in int8 (int8_weights.py); with `bf16`, the decoder in bfloat16.

    Only the decoder: it is where the time goes (each review token reads all its weights),
    while the rating model is small and its numbers are what the answers quote, so they stay
    exactly those of the fp32 run.
    """
    if quantize in (None, "none"):
        model = model.to(device)
    if int8 and model.backbone is not None:
        from elixir_agent.core_model.int8_weights import quantize_linear_weights

        quantize_linear_weights(model.backbone, torch.bfloat16 if cpu_has_native_bf16()
                                else torch.float32)
    if bf16 and model.backbone is not None and quantize in (None, "none"):
        if device == "cpu" and not cpu_has_native_bf16():
            warnings.warn("this CPU has no native bfloat16 instructions (AVX512-BF16 or AMX): "
                          "PyTorch emulates bf16 here and the reviews will likely come slower "
                          "than in fp32; drop bf16 on this machine", stacklevel=3)
        model.backbone = model.backbone.to(torch.bfloat16)
    return model


def _check_finite(pairs: Sequence[tuple[str, str]], *outputs: torch.Tensor) -> None:
    """Raise on NaN/inf: clamp() keeps NaN, and a NaN rating must never reach an answer."""
    for output in outputs:
        finite = torch.isfinite(output.float())
        if bool(finite.all()):
            continue
        rows = finite.reshape(len(pairs), -1).all(dim=1)
        user, item = pairs[int((~rows).nonzero()[0, 0])]
        raise NonFinitePredictionError(
            f"the model predicted a non-finite value (NaN or infinity) for user {user!r}, "
            f"item {item!r}: its weights are damaged; retrain the run or restore it from a "
            "backup (loading checks files against manifest.json when the run has one)")


def load_recommender(run_dir: str | Path, **kwargs) -> ElixirRecommender:
    """`ElixirRecommender.from_run`; a truncated or corrupted file is a `RunDirError`."""
    from safetensors import SafetensorError

    try:
        return ElixirRecommender.from_run(run_dir, **kwargs)
    except UserError:
        raise
    except (ValueError, SafetensorError, EOFError) as error:
        kind = "JSON file" if isinstance(error, json.JSONDecodeError) else (
            "weights file" if isinstance(error, SafetensorError) else "file")
        raise RunDirError(f"{run_dir}: a {kind} of the run is truncated or corrupted "
                          f"({type(error).__name__}: {error})",
                          hint="retrain the run or restore it from a copy") from error
