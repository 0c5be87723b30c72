"""What the dataset says about items and users, independent of the model.

The catalog answers the factual questions (what is this item called, how many reviews does
it have, what do reviewers give it on average, what has this user reviewed) and resolves what
people type ("the Harbor Inn", "h0012", "harbour inn 12") to ids, with close matches when it
cannot. It is built from the training split only, like the review index, so nothing about a
held-out review leaks into an answer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd
from rapidfuzz import fuzz, process

from elixir_agent.tools.name_matching import NameMatcher

__all__ = ["Catalog", "ItemStats", "Match", "UserStats"]

_SUFFIX = re.compile(r"\s*\(synthetic\)\s*$", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


def normalise_name(name: str) -> str:
    """Lower-case, single-spaced, without the '(synthetic)' label, for matching."""
    return _SPACES.sub(" ", _SUFFIX.sub("", name)).strip().lower()


@dataclass(frozen=True)
class ItemStats:
    item_id: str
    name: str
    n_reviews: int
    mean_rating: float
    aspect_means: dict[str, float]  # aspects nobody rated are absent


@dataclass(frozen=True)
class UserStats:
    user_id: str
    name: str
    n_reviews: int
    mean_rating: float
    aspect_means: dict[str, float]
    history: tuple[tuple[str, float], ...]  # (item id, rating given), as in the data


@dataclass(frozen=True)
class Match:
    """A candidate for something a person typed: an id, its display name and a 0-100 score."""

    id: str
    name: str
    score: float


@dataclass
class Catalog:
    aspects: list[str]
    items: dict[str, ItemStats]
    users: dict[str, UserStats]
    synthetic: bool = False
    _item_names: dict[str, str] = field(default_factory=dict, repr=False)  # normalised -> id
    _matcher: NameMatcher | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._item_names = {normalise_name(s.name): i for i, s in self.items.items()}

    @property
    def matcher(self) -> NameMatcher:
        """The fuzzy matcher over every item name (built on first use)."""
        if self._matcher is None:
            self._matcher = NameMatcher({i: s.name for i, s in self.items.items()})
        return self._matcher

    # -- building -------------------------------------------------------------------------

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, aspects: list[str], *, synthetic: bool = False):
        """From review rows with review_id, user_id, item_id, rating and aspect_<name> columns."""
        columns = {a: f"aspect_{a}" for a in aspects if f"aspect_{a}" in frame.columns}
        # One grouped aggregation per key instead of a pandas call per item and per user:
        # on RateBeer this is the difference between seconds and milliseconds at start-up.
        items = {key: ItemStats(item_id=key, **row)
                 for key, row in _group_stats(frame, "item_id", "item_name", columns).items()}
        histories: dict[str, list[tuple[str, float]]] = {}
        for user_id, item_id, rating in zip(frame["user_id"], frame["item_id"], frame["rating"],
                                            strict=True):
            histories.setdefault(str(user_id), []).append((str(item_id), float(rating)))
        users = {key: UserStats(user_id=key, history=tuple(histories[key]), **row)
                 for key, row in _group_stats(frame, "user_id", "user_name", columns).items()}
        return cls(aspects=list(aspects), items=items, users=users, synthetic=synthetic)

    @classmethod
    def from_dataset(cls, dataset, splits: Iterable[str] = ("train",)) -> Catalog:
        """From a `PreparedDataset` (see `elixir_agent.core_model.data.storage.load_prepared`)."""
        frame = pd.concat([dataset.split(s) for s in splits], ignore_index=True)
        return cls.from_frame(frame, dataset.info.aspects, synthetic=dataset.info.synthetic)

    # -- lookup ---------------------------------------------------------------------------

    def item_name(self, item_id: str) -> str:
        stats = self.items.get(item_id)
        return stats.name if stats else item_id

    def resolve_item(self, text: str) -> str | None:
        """The item id `text` names exactly (an id or a full name, any case), else None."""
        text = text.strip()
        if text in self.items:
            return text
        lowered = {i.lower(): i for i in self.items}
        if text.lower() in lowered:
            return lowered[text.lower()]
        return self._item_names.get(normalise_name(text))

    def resolve_user(self, text: str) -> str | None:
        text = text.strip()
        if text in self.users:
            return text
        lowered = {u.lower(): u for u in self.users}
        return lowered.get(text.lower())

    def suggest_items(self, text: str, limit: int = 5) -> list[Match]:
        """Closest item ids or names to `text`, best first (names by the catalog's matcher)."""
        best = {key: score for key, score in self.matcher.suggest(text, limit)}
        for _, score, key in process.extract(text.strip().lower(), {i: i.lower() for i in self.items},
                                             scorer=fuzz.ratio, limit=limit):
            best[key] = max(best.get(key, 0.0), score)
        ranked = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        return [Match(id=key, name=self.item_name(key), score=round(score, 1)) for key, score in ranked]

    def suggest_users(self, text: str, limit: int = 5) -> list[Match]:
        return _suggest(text, {u: s.name for u, s in self.users.items()}, limit)

    def find_items_in_text(self, text: str, *, threshold: float = 90.0) -> list[str]:
        """Item ids mentioned in free text by id or by (nearly exact) name, in order of mention."""
        lowered = text.lower()
        found: list[tuple[int, str]] = []
        for item_id in self.items:
            at = _word_find(lowered, item_id.lower())
            if at >= 0:
                found.append((at, item_id))
        for name, item_id in self._item_names.items():
            if any(i == item_id for _, i in found):
                continue
            at = _word_find(lowered, name)
            if at < 0 and len(name) >= 8:
                # Tolerate typos: compare the name with every window of as many words.
                at = _fuzzy_window(lowered, name, threshold)
            if at >= 0:
                found.append((at, item_id))
        return [item_id for _, item_id in sorted(found)]


def _suggest(text: str, names: dict[str, str], limit: int) -> list[Match]:
    if not names or not text.strip():
        return []
    query = text.strip().lower()
    # A name and an id are matched separately: 'h0012' should not be drowned by name words.
    by_name = process.extract(query, {k: normalise_name(n) for k, n in names.items()},
                              scorer=fuzz.WRatio, limit=limit)
    by_id = process.extract(query, {k: k.lower() for k in names}, scorer=fuzz.ratio, limit=limit)
    best: dict[str, float] = {}
    for _, score, key in [*by_name, *by_id]:
        best[key] = max(best.get(key, 0.0), score)
    ranked = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [Match(id=key, name=names[key], score=round(score, 1)) for key, score in ranked]


def _word_find(haystack: str, needle: str) -> int:
    match = re.search(rf"(?<![\w-]){re.escape(needle)}(?![\w-])", haystack)
    return match.start() if match else -1


def _fuzzy_window(text: str, name: str, threshold: float) -> int:
    words = list(re.finditer(r"\S+", text))
    size = len(name.split())
    digits = re.findall(r"\d+", name)
    best, at = 0.0, -1
    for start in range(0, max(0, len(words) - size + 1)):
        window = text[words[start].start(): words[start + size - 1].end()].strip(".,!?;:'\"")
        if re.findall(r"\d+", window) != digits:  # 'Inn 1' is not 'Inn 12', however close
            continue
        score = fuzz.ratio(window, name)
        if score > best:
            best, at = score, words[start].start()
    return at if best >= threshold else -1


def _group_stats(frame: pd.DataFrame, key: str, name_column: str,
                 columns: dict[str, str]) -> dict[str, dict]:
    """Per value of `key` (sorted): display name, review count, mean rating, aspect means."""
    grouped = frame.groupby(key, sort=True)
    counts = grouped.size()
    names = (grouped[name_column].first().reindex(counts.index).tolist() if name_column in frame
             else [None] * len(counts))
    # One array of means, read row by row: a pandas lookup per group and per aspect took
    # most of a second on RateBeer's 2,600 users and items.
    means = grouped[["rating", *columns.values()]].mean().reindex(counts.index).to_numpy(
        dtype=float, na_value=math.nan)  # (groups, 1 + aspects)
    out = {}
    for value, n, name, (rating, *aspect_values) in zip(counts.index, counts.tolist(), names, means,
                                                        strict=True):
        out[str(value)] = {"name": str(name) if _present(name) else str(value),
                           "n_reviews": int(n),
                           "mean_rating": math.nan if math.isnan(rating) else round(float(rating), 4),
                           "aspect_means": {a: round(float(v), 4) for a, v in zip(columns, aspect_values, strict=True)
                                            if not math.isnan(v)}}
    return out


def _present(name) -> bool:
    return isinstance(name, str) or (name is not None and not pd.isna(name))


def _mean(values: pd.Series) -> float:
    values = values.dropna()
    return round(float(values.mean()), 4) if len(values) else math.nan


def _aspect_means(rows: pd.DataFrame, columns: dict[str, str]) -> dict[str, float]:
    means = {a: _mean(rows[c]) for a, c in columns.items()}
    return {a: m for a, m in means.items() if not math.isnan(m)}
