"""`ReviewIndex`: real reviews found by meaning, with filters and (user, item) pair search.

Row i of the FAISS index is row i of the metadata frame and of the exact vector matrix, so a
position is the only id inside; review ids are mapped at the boundary. Built from the
training split by default so that a held-out review can never be evidence for its own
prediction.

Filtered search: a filter that keeps few reviews (<= `exact_threshold`) is answered by an
exact scan of just those vectors; a broader one goes through FAISS with an ID selector, and if
an approximate index returns fewer than k hits (HNSW can, under a selective filter) the exact
scan is used instead. Either way every hit satisfies the filter and at most k are missing
only when fewer than k reviews pass it.

Compressed indexes (`factory="compressed"`, or any factory whose codes are lossy, such as
IVF-PQ): FAISS returns a short list of 20 x k candidates by their approximate codes, and the
short list is re-ranked on the exact vectors (memory-mapped from the index directory once
loaded), so scores are exact cosines and the order is the exact order of what was found.

Run with: elixir-agent index build --data /tmp/rb --out /tmp/rb-index
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pandas as pd

from elixir_agent.core_model.data.storage import ASPECT_PREFIX, PreparedDataset
from elixir_agent.errors import UserError
from elixir_agent.retrieval import compressed, faiss_ops, store
from elixir_agent.retrieval.embedder import (
    DeferredEmbedder,
    Embedder,
    IndexMismatchError,
    TextEncoder,
    embedder_record,
    encode_in_chunks,
)
from elixir_agent.retrieval.hits import ReviewHit
from elixir_agent.retrieval.shards import read_embedding_shards

# The factory name that picks IVF-PQ codes sized to the corpus (compressed.compressed_factory).
COMPRESSED = "compressed"
REQUIRED_COLUMNS = ("review_id", "user_id", "item_id", "rating", "text")
_META_COLUMNS = ("review_id", "user_id", "item_id", "rating", "text", "item_name", "split")


class EmptyIndexError(UserError, ValueError):
    """There is nothing to index or to search."""


class ReviewIndex:
    """Reviews embedded with one embedder, searchable by text, vector, filter or (user, item)."""

    # Filters that keep at most this many reviews are answered by an exact scan (a few ms).
    exact_threshold: int = 20_000

    def __init__(self, index: faiss.Index, reviews: pd.DataFrame, vectors: np.ndarray,
                 embedder: TextEncoder, manifest: dict[str, Any]):
        self._index = index
        self._reviews = reviews.reset_index(drop=True)
        self._vectors = vectors  # (N, D) float32, unit rows; may be a read-only memmap
        self.embedder = embedder
        self.manifest = manifest
        self._rerank = faiss_ops.approximate_codes(index)
        self._rebuild_lookups()

    # ------------------------------------------------------------------ building and persistence
    @classmethod
    def build(cls, dataset: PreparedDataset, embedder: TextEncoder, *, factory: str = "Flat",
              splits: Sequence[str] = ("train",), progress: bool = True,
              tuning: str | None = None, embeddings: str | Path | None = None) -> ReviewIndex:
        """Embed the reviews of `splits` and index them with the FAISS `factory`, or with
        IVF-PQ codes sized to the corpus for `factory="compressed"` (see the module docstring).

        `tuning` sets search-time parameters ("nprobe=64", "efSearch=128"); by default
        IVF indexes search DEFAULT_NPROBE lists (LOSSY_NPROBE for lossy codes) and HNSW
        uses efSearch=DEFAULT_EF_SEARCH. `embeddings`: a folder of `batch embed` shards to
        take the vectors from instead of embedding here (written with `embedder`'s model).
        """
        splits = list(dict.fromkeys(splits))
        if not splits:
            raise ValueError("splits is empty; pass at least one of train, valid, test")
        frames = [dataset.split(name).assign(split=name) for name in splits]
        reviews = _metadata(pd.concat(frames, ignore_index=True), dataset.aspects)
        if reviews.empty:
            raise EmptyIndexError(f"{dataset.path} has no reviews in split(s) "
                                  f"{', '.join(splits)}: nothing to index")
        _check_unique_ids(reviews["review_id"], "the dataset")
        record = embedder_record(embedder)
        if embeddings is None:
            vectors = encode_in_chunks(embedder, reviews["text"].tolist(), progress=progress)
        else:
            vectors, record = read_embedding_shards(embeddings, reviews["review_id"].tolist())
            if (record["name"], record["dimension"]) != (embedder.name, embedder.dimension):
                raise IndexMismatchError(
                    f"the shards in {embeddings} were embedded with {record['name']!r} "
                    f"(dimension {record['dimension']}), not {embedder.name!r}: queries would "
                    "be embedded with another model than the reviews")
        _check_vectors(vectors, len(reviews), embedder)
        if factory == COMPRESSED:
            factory = compressed.compressed_factory(len(reviews), embedder.dimension)
        index = faiss_ops.make_index(embedder.dimension, factory)
        faiss_ops.train_if_needed(index, vectors, factory)
        index.add(vectors)
        tuning = faiss_ops.default_tuning(index) if tuning is None else tuning
        faiss_ops.apply_tuning(index, tuning)
        now = _now()
        manifest = {
            "embedder": record,
            "count": len(reviews),
            "factory": factory,
            "metric": "inner_product",
            "tuning": tuning,
            "splits": splits,
            "aspects": list(dataset.aspects),
            "data": {"name": dataset.info.name, "path": str(dataset.path),
                     "synthetic": dataset.info.synthetic,
                     "checksum": _data_checksum(dataset, splits)},
            "added_after_build": 0,
            "created": now,
            "updated": now,
        }
        return cls(index, reviews, vectors, embedder, manifest)

    @classmethod
    def load(cls, path: str | Path, embedder: TextEncoder | None = None, *,
             verify: bool = True, defer_embedder: bool = False) -> ReviewIndex:
        """Open an index directory; `embedder=None` loads the embedder named in the manifest,
        or with `defer_embedder` only on the first text search (see `DeferredEmbedder`).

        Raises IndexMismatchError when `embedder` differs from the one the index was built
        with, FileNotFoundError / store.CorruptIndexError naming the file that is missing or bad.
        """
        path = Path(path)
        manifest = store.read_manifest(path)
        built_with = manifest["embedder"]
        if embedder is None:
            options = dict(backend=_loadable_backend(built_with), max_length=built_with.get("max_length"))
            embedder = (DeferredEmbedder(built_with["name"], built_with["dimension"], **options)
                        if defer_embedder else Embedder(built_with["name"], **options))
        if embedder.name != built_with["name"] or embedder.dimension != built_with["dimension"]:
            raise IndexMismatchError(
                f"{path / store.MANIFEST_FILE} was built with embedder {built_with['name']!r} "
                f"(dimension {built_with['dimension']}), but the configured embedder is "
                f"{embedder.name!r} (dimension {embedder.dimension}); load it with the same "
                "embedder or rebuild it with `elixir-agent index build --embedder ...`")
        index, reviews, vectors = store.read_index_dir(path, manifest, verify=verify)
        faiss_ops.apply_tuning(index, manifest.get("tuning", ""))
        return cls(index, reviews, vectors, embedder, manifest)

    def save(self, path: str | Path) -> None:
        """Write the index directory atomically (see `store` for the layout)."""
        if len(self) == 0:
            raise EmptyIndexError(f"refusing to save an empty index to {path}")
        manifest = {key: value for key, value in self.manifest.items()
                    if key not in ("files", "format", "format_version")}
        store.write_index_dir(path, self._index, self._reviews, self._vectors, manifest)

    def add(self, reviews_frame: pd.DataFrame, *, progress: bool = False) -> None:
        """Embed and append reviews (a split-shaped DataFrame); review ids must be new."""
        missing = [c for c in REQUIRED_COLUMNS if c not in reviews_frame.columns]
        if missing:
            raise ValueError(f"reviews_frame lacks column(s) {', '.join(missing)}; expected "
                             f"at least {', '.join(REQUIRED_COLUMNS)}")
        if reviews_frame.empty:
            return
        frame = reviews_frame if "split" in reviews_frame else reviews_frame.assign(split="added")
        aspects = list(self.aspects) + [
            c[len(ASPECT_PREFIX):] for c in frame.columns
            if c.startswith(ASPECT_PREFIX) and c[len(ASPECT_PREFIX):] not in self.aspects]
        new = _metadata(frame, aspects)
        _check_unique_ids(pd.concat([self._reviews["review_id"], new["review_id"]]),
                          "the index and the added reviews together")
        vectors = encode_in_chunks(self.embedder, new["text"].tolist(), progress=progress)
        _check_vectors(vectors, len(new), self.embedder)
        self._index.add(vectors)
        self._vectors = np.concatenate([np.asarray(self._vectors), vectors])
        self._reviews = pd.concat([self._reviews, new], ignore_index=True)
        self.manifest.update(count=len(self._reviews), aspects=aspects, updated=_now(),
                             added_after_build=self.manifest.get("added_after_build", 0) + len(new))
        self._rebuild_lookups()

    # ------------------------------------------------------------------------------- properties
    def __len__(self) -> int:
        return len(self._reviews)

    def __repr__(self) -> str:
        return (f"ReviewIndex({len(self)} reviews, factory={self.factory!r}, "
                f"embedder={self.embedder.name!r}, splits={self.manifest.get('splits')})")

    @property
    def factory(self) -> str:
        return self.manifest["factory"]

    @property
    def aspects(self) -> list[str]:
        return list(self.manifest.get("aspects", []))

    @property
    def review_ids(self) -> list[str]:
        return self._reviews["review_id"].tolist()

    # ----------------------------------------------------------------------------------- search
    def search(self, query: str | np.ndarray, k: int = 5, *, items=None, users=None,
               min_rating: float | None = None, max_rating: float | None = None,
               exclude_ids=None) -> list[ReviewHit]:
        """The k reviews closest to `query` (a text or a (D,) vector) that pass every filter.

        `items` / `users`: one id or several; `min_rating` / `max_rating`: inclusive bounds
        on the overall rating; `exclude_ids`: review ids never to return.
        """
        _check_k(k)
        vector = self._query_vector(query)
        allowed = self._filter_mask(items, users, min_rating, max_rating, exclude_ids)
        positions, scores = self._nearest(vector, k, allowed)
        return [self._hit(p, s) for p, s in zip(positions, scores, strict=True)]

    def nearest_to_text(self, text: str, k: int = 5, *, items=None) -> list[ReviewHit]:
        """Real reviews closest to a piece of (generated) text, to ground it in evidence."""
        return self.search(text, k, items=items)

    def reviews_for_pair(self, user_id: str, item_id: str, k: int = 5) -> list[ReviewHit]:
        """Reviews of `item_id` ranked by similarity to `user_id`'s profile.

        The profile is the normalised mean of the user's review vectors. A user with no
        review in the index gets the item's most central reviews (closest to the item's mean
        vector), ties broken by rating. An item with no review in the index gives [].
        """
        _check_k(k)
        item_rows = self._by_item.get(str(item_id))
        if item_rows is None:
            return []
        user_rows = self._by_user.get(str(user_id))
        anchor = _unit_mean(self._vectors[user_rows if user_rows is not None else item_rows])
        scores = self._vectors[item_rows] @ anchor  # (n_item_reviews,)
        ratings = self._reviews["rating"].to_numpy()[item_rows]
        order = np.lexsort((-ratings, -scores))[:k]
        return [self._hit(item_rows[i], scores[i]) for i in order]

    def user_reviews_like_item(self, user_id: str, item_id: str, k: int = 5) -> list[ReviewHit]:
        """Reviews written by `user_id` of other items, ranked by how similar each item is to
        `item_id` (cosine between the items' mean review vectors). [] when either is unknown."""
        _check_k(k)
        user_rows = self._by_user.get(str(user_id))
        target_rows = self._by_item.get(str(item_id))
        if user_rows is None or target_rows is None:
            return []
        target = _unit_mean(self._vectors[target_rows])
        item_of = self._reviews["item_id"].to_numpy()
        rows = np.array([r for r in user_rows if item_of[r] != str(item_id)], dtype=np.int64)
        if rows.size == 0:
            return []
        centroids = np.stack([_unit_mean(self._vectors[self._by_item[item_of[r]]]) for r in rows])
        scores = centroids @ target  # (n_user_reviews,)
        order = np.lexsort((rows, -scores))[:k]
        return [self._hit(rows[i], scores[i]) for i in order]

    def get(self, review_id: str) -> ReviewHit:
        """The review with this id (score 1.0); KeyError saying what the index holds if absent."""
        position = self._position.get(str(review_id))
        if position is None:
            raise KeyError(
                f"review id {review_id!r} is not in this index ({len(self)} reviews from split(s) "
                f"{', '.join(self.manifest.get('splits', []))}); held-out reviews are not indexed "
                "unless it was built with --all-splits")
        return self._hit(position, 1.0)

    # -------------------------------------------------------------------------------- internals
    def _query_vector(self, query: str | np.ndarray) -> np.ndarray:
        if isinstance(query, str):
            return self.embedder.encode([query])[0]
        vector = np.asarray(query, dtype=np.float32).reshape(-1)
        if vector.shape[0] != self._index.d:
            raise IndexMismatchError(f"query vector has dimension {vector.shape[0]}, the index "
                                     f"has {self._index.d} ({self.embedder.name!r})")
        norm = float(np.linalg.norm(vector))
        if not math.isfinite(norm) or norm == 0.0:
            raise ValueError("query vector is zero or not finite")
        return vector / norm

    def _filter_mask(self, items, users, min_rating, max_rating, exclude_ids) -> np.ndarray | None:
        if all(v is None for v in (items, users, min_rating, max_rating, exclude_ids)):
            return None
        mask = np.ones(len(self), dtype=bool)
        if items is not None:
            mask &= self._reviews["item_id"].isin(_as_ids(items)).to_numpy()
        if users is not None:
            mask &= self._reviews["user_id"].isin(_as_ids(users)).to_numpy()
        ratings = self._reviews["rating"].to_numpy()
        if min_rating is not None:
            mask &= ratings >= float(min_rating)
        if max_rating is not None:
            mask &= ratings <= float(max_rating)
        if exclude_ids is not None:
            mask &= ~self._reviews["review_id"].isin(_as_ids(exclude_ids)).to_numpy()
        return mask

    def _nearest(self, vector: np.ndarray, k: int, allowed: np.ndarray | None,
                 ) -> tuple[np.ndarray, np.ndarray]:
        n_allowed = len(self) if allowed is None else int(allowed.sum())
        want = min(k, n_allowed)
        if want == 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        if allowed is not None and n_allowed <= self.exact_threshold:
            return self._exact(vector, want, np.flatnonzero(allowed))
        try:
            if self._rerank:
                scores, positions = compressed.search_reranked(self._index, self._vectors,
                                                               vector[None, :], want,
                                                               allowed=allowed)
            else:
                scores, positions = faiss_ops.search(self._index, vector[None, :], want, allowed)
        except RuntimeError:  # an index type that takes no selector: scan the subset exactly
            return self._exact(vector, want, np.flatnonzero(allowed))
        found = positions[0] >= 0
        if found.sum() < want:  # approximate search came back short: the exact scan cannot
            rows = np.arange(len(self)) if allowed is None else np.flatnonzero(allowed)
            return self._exact(vector, want, rows)
        return positions[0][found], scores[0][found]

    def _exact(self, vector: np.ndarray, k: int, rows: np.ndarray,
               ) -> tuple[np.ndarray, np.ndarray]:
        scores = np.asarray(self._vectors[rows]) @ vector  # (n_rows,)
        top = np.argpartition(-scores, k - 1)[:k] if k < len(rows) else np.arange(len(rows))
        top = top[np.lexsort((rows[top], -scores[top]))]
        return rows[top], scores[top]

    def _hit(self, position: int, score: float) -> ReviewHit:
        row = self._reviews.iloc[int(position)]
        aspects = {a: float(row[ASPECT_PREFIX + a]) for a in self.aspects
                   if ASPECT_PREFIX + a in row.index and pd.notna(row[ASPECT_PREFIX + a])}
        name = row.get("item_name")
        return ReviewHit(
            review_id=row["review_id"], user_id=row["user_id"], item_id=row["item_id"],
            rating=float(row["rating"]), text=row["text"], score=float(score), aspects=aspects,
            item_name=name if isinstance(name, str) else None,
        )

    def _rebuild_lookups(self) -> None:
        ids = self._reviews["review_id"].tolist()
        self._position = dict(zip(ids, range(len(ids)), strict=True))
        self._by_user = _groups(self._reviews["user_id"])
        self._by_item = _groups(self._reviews["item_id"])


def _metadata(frame: pd.DataFrame, aspects: Sequence[str]) -> pd.DataFrame:
    """The columns the index keeps, with ids as strings and text never null."""
    out = pd.DataFrame({
        "review_id": frame["review_id"].astype(str),
        "user_id": frame["user_id"].astype(str),
        "item_id": frame["item_id"].astype(str),
        "rating": frame["rating"].astype("float32"),
        "text": frame["text"].fillna("").astype(str),
        "item_name": frame.get("item_name"),
        "split": frame["split"].astype(str),
    })
    out["item_name"] = out["item_name"].astype(object).where(out["item_name"].notna(), None)
    for aspect in aspects:
        column = ASPECT_PREFIX + aspect
        out[column] = frame[column].astype("float32") if column in frame else np.float32("nan")
    if out["rating"].isna().any():
        bad = out.loc[out["rating"].isna(), "review_id"].head(3).tolist()
        raise ValueError(f"reviews without a rating cannot be indexed: {bad}")
    return out[[*_META_COLUMNS, *(ASPECT_PREFIX + a for a in aspects)]]


def _groups(column: pd.Series) -> dict[str, np.ndarray]:
    return {key: np.asarray(rows, dtype=np.int64)
            for key, rows in column.groupby(column, sort=False).indices.items()}


def _check_unique_ids(ids: pd.Series, where: str) -> None:
    duplicated = ids[ids.duplicated()].unique()
    if len(duplicated):
        raise ValueError(f"duplicate review ids in {where}: {list(duplicated[:5])}"
                         f"{' ...' if len(duplicated) > 5 else ''}")


def _check_vectors(vectors: np.ndarray, count: int, embedder: TextEncoder) -> None:
    if vectors.shape != (count, embedder.dimension):
        raise IndexMismatchError(f"embedder {embedder.name!r} returned shape {vectors.shape}, "
                                 f"expected {(count, embedder.dimension)}")


def _loadable_backend(built_with: dict[str, Any]) -> str:
    """The backend to embed queries with: the one the index was built with, except that an
    index built with rounded products (onnx-int8, torch-bf16) gets the float backend of the
    same model (a query is one short text, where rounding saves little, and its rounding
    would add to the corpus's: exact queries find more of the true neighbours); torch (the
    same model) when onnxruntime is not installed here."""
    built = built_with.get("backend", "torch")
    backend = {"onnx-int8": "onnx", "torch-bf16": "torch"}.get(built, built)
    if backend.startswith("onnx"):
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            return "torch"
    return backend


def _check_k(k: int) -> None:
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")


def _as_ids(ids) -> list[str]:
    if isinstance(ids, str):
        return [ids]
    if not isinstance(ids, Iterable):
        raise TypeError(f"expected an id or a collection of ids, got {type(ids).__name__}")
    return [str(i) for i in ids]


def _unit_mean(vectors: np.ndarray) -> np.ndarray:
    mean = np.asarray(vectors, dtype=np.float32).mean(axis=0)  # (D,)
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm > 0 else mean


def _data_checksum(dataset: PreparedDataset, splits: Sequence[str]) -> str:
    """One sha256 over the recorded checksums of the split files the index was built from."""
    sums = dataset.info.checksums
    digest = hashlib.sha256()
    for name in splits:
        digest.update(f"{name}.parquet={sums.get(f'{name}.parquet', '?')}\n".encode())
    return digest.hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
