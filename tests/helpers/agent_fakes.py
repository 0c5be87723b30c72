"""Small deterministic stand-ins for the core model and the review index, for tool and agent tests.

They implement the same protocols as `core_model.inference.Recommender` and
`retrieval.ReviewIndex`, computed from a synthetic dataset so that answers are checkable:
the fake recommender predicts each aspect as the item's mean aspect rating in the training
split shifted by the user's leniency, and the overall rating as the user-weighted mean.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from elixir_agent.retrieval.hits import ReviewHit
from elixir_agent.tools.catalog import Catalog


@dataclass(frozen=True)
class FakePrediction:
    user_id: str
    item_id: str
    rating: float
    aspect_ratings: dict[str, float]
    user_importance: dict[str, float]
    item_importance: dict[str, float]
    cold_user: bool = False
    cold_item: bool = False


class FakeUnknownIdError(KeyError):
    def __init__(self, kind: str, value: str, suggestions: list[str]):
        super().__init__(f"unknown {kind} {value!r}")
        self.kind, self.value, self.suggestions = kind, value, suggestions


def _unit(key: str) -> float:
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


@dataclass
class FakeRecommender:
    catalog: Catalog
    explanations: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def aspects(self) -> list[str]:
        return list(self.catalog.aspects)

    def has_user(self, user_id: str) -> bool:
        return user_id in self.catalog.users

    def has_item(self, item_id: str) -> bool:
        return item_id in self.catalog.items

    def suggest(self, text: str, kind: str = "item", limit: int = 5) -> list[str]:
        matches = (self.catalog.suggest_items if kind == "item" else self.catalog.suggest_users)
        return [m.id for m in matches(text, limit)]

    def predict(self, user_id: str, item_id: str, *, cold_start: bool = False) -> FakePrediction:
        cold_user, cold_item = not self.has_user(user_id), not self.has_item(item_id)
        if (cold_user or cold_item) and not cold_start:
            kind, value = ("user", user_id) if cold_user else ("item", item_id)
            raise FakeUnknownIdError(kind, value, self.suggest(value, kind))
        weights = np.array([0.2 + _unit(f"w{user_id}{a}") for a in self.aspects])
        weights /= weights.sum()
        bias = (_unit(f"b{user_id}") - 0.5) * 0.6
        stats = self.catalog.items.get(item_id)
        aspect_ratings = {}
        for a in self.aspects:
            base = stats.aspect_means.get(a, 3.0) if stats else 3.0
            aspect_ratings[a] = float(min(5.0, max(1.0, base + bias)))
        rating = float(sum(w * aspect_ratings[a] for w, a in zip(weights, self.aspects, strict=False)))
        item_w = np.array([0.2 + _unit(f"i{item_id}{a}") for a in self.aspects])
        item_w /= item_w.sum()
        return FakePrediction(
            user_id, item_id, round(rating, 4), {a: round(v, 4) for a, v in aspect_ratings.items()},
            {a: float(w) for a, w in zip(self.aspects, weights, strict=False)},
            {a: float(w) for a, w in zip(self.aspects, item_w, strict=False)},
            cold_user=cold_user, cold_item=cold_item)

    def predict_batch(self, pairs, *, cold_start: bool = False):
        return [self.predict(u, i, cold_start=cold_start) for u, i in pairs]

    def explain(self, user_id: str, item_id: str, *, max_new_tokens: int = 128) -> str:
        default = "a very good stay. the room was spotless. great location."
        return self.explanations.get((user_id, item_id), default)

    def rank(self, user_id, candidates=None, k=10, *, exclude_seen=True):
        seen = {i for i, _ in self.catalog.users[user_id].history} if exclude_seen else set()
        pool = [i for i in (candidates or self.catalog.items) if i not in seen]
        predictions = [self.predict(user_id, i) for i in pool]
        return sorted(predictions, key=lambda p: (-p.rating, p.item_id))[:k]


class FakeReviewIndex:
    """Word-overlap search over review rows; same signatures as `retrieval.ReviewIndex`."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame.reset_index(drop=True)

    def __len__(self) -> int:
        return len(self.frame)

    def search(self, query, k=5, *, items=None, users=None, min_rating=None, max_rating=None,
               exclude_ids=None):
        words = set(re.findall(r"\w+", str(query).lower()))
        rows = self.frame
        if items is not None:
            rows = rows[rows.item_id.isin(list(items))]
        if users is not None:
            rows = rows[rows.user_id.isin(list(users))]
        if min_rating is not None:
            rows = rows[rows.rating >= min_rating]
        if max_rating is not None:
            rows = rows[rows.rating <= max_rating]
        if exclude_ids:
            rows = rows[~rows.review_id.isin(list(exclude_ids))]
        scored = []
        for row in rows.itertuples(index=False):
            overlap = len(words & set(re.findall(r"\w+", row.text.lower())))
            scored.append((overlap / math.sqrt(len(words) + 1), row))
        scored.sort(key=lambda pair: (-pair[0], pair[1].review_id))
        return [_hit(row, s) for s, row in scored[:k]]

    def reviews_for_pair(self, user_id, item_id, k=5):
        return self.search(self.frame[self.frame.user_id == user_id].text.str.cat(sep=" "),
                           k, items=[item_id])

    def get(self, review_id):
        rows = self.frame[self.frame.review_id == review_id]
        return _hit(next(rows.itertuples(index=False)), 1.0) if len(rows) else None


def _hit(row, score: float) -> ReviewHit:
    return ReviewHit(row.review_id, row.user_id, row.item_id, float(row.rating), row.text,
                   round(float(score), 4), item_name=row.item_name)


class BagOfWordsEmbedder:
    """Deterministic hashed bag-of-words (with 4-letter stems) embeddings, L2-normalised."""

    name = "fake-bow"
    dimension = 256

    def encode(self, texts, *, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z]+", text.lower()):
                for token in {word, word[:4]}:
                    out[row, int(hashlib.md5(token.encode()).hexdigest(), 16) % self.dimension] += 1
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)
