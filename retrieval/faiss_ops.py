"""Thin helpers over FAISS shared by the review index and the benchmark.

Every index here uses the inner-product metric on L2-normalised vectors (cosine similarity).
Filtered search passes an `IDSelectorBitmap` through FAISS `SearchParameters`, carrying over
the index's own `nprobe` / `efSearch`: a bare `SearchParametersIVF` would silently search with
nprobe=1.
"""

from __future__ import annotations

import faiss
import numpy as np

from elixir_agent.errors import UserError

# Search-time knobs used when a factory string is given without explicit tuning; chosen with
# `elixir-agent bench retrieval` (recall@10 >= 0.95 on clustered 384-d data, see the report).
DEFAULT_NPROBE = 32
# Lists probed when the codes are lossy (IVF-PQ). Real review embeddings spread their
# neighbours over more lists than clustered synthetic vectors: on 49,577 RateBeer reviews
# (256 lists, 96 4-bit codes, short list 200) 32 probes found 0.944 of the true top 10 and
# 64 probes 0.966.
LOSSY_NPROBE = 64
DEFAULT_EF_SEARCH = 64
# HNSW graph quality at build time. FAISS's default of 40 left HNSW32 at recall@10 0.85-0.88
# at 1M vectors whatever efSearch was; 200 reaches 0.997 at efSearch 64 (docs/scaling.md).
DEFAULT_EF_CONSTRUCTION = 200
# k-means needs tens of points per centroid; more than this many training points buys little
# and costs minutes on a 2-core machine.
MAX_TRAIN_POINTS_PER_LIST = 64
MIN_TRAIN_POINTS = 65_536


class FactoryError(UserError, ValueError):
    """A FAISS index-factory string that cannot be built or trained on the given data."""


def make_index(dimension: int, factory: str) -> faiss.Index:
    """An empty inner-product index for `factory` ("Flat", "HNSW32", "IVF4096,Flat", ...);
    HNSW graphs are built with efConstruction=DEFAULT_EF_CONSTRUCTION."""
    try:
        index = faiss.index_factory(int(dimension), factory, faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as error:
        raise FactoryError(
            f"invalid FAISS factory string {factory!r} for dimension {dimension}: "
            f"{_short(error)}. Examples: Flat, HNSW32, IVF4096,Flat, IVF1024,PQ32"
        ) from error
    hnsw = _hnsw(index)
    if hnsw is not None:  # set before anything is added: the graph is built as vectors arrive
        hnsw.hnsw.efConstruction = DEFAULT_EF_CONSTRUCTION
    return index


def train_if_needed(index: faiss.Index, vectors: np.ndarray, factory: str, seed: int = 0) -> None:
    """Train `index` (IVF centroids, PQ codebooks) on a random sample of `vectors` if needed."""
    if index.is_trained:
        return
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is not None and len(vectors) < ivf.nlist:
        raise FactoryError(
            f"factory {factory!r} has {ivf.nlist} lists but only {len(vectors)} vectors to train "
            f"on; use Flat or HNSW32 for a corpus this small, or fewer lists "
            f"(IVF{max(1, int(4 * np.sqrt(len(vectors))))},Flat is a usual choice)"
        )
    budget = MIN_TRAIN_POINTS
    if ivf is not None:
        budget = max(budget, MAX_TRAIN_POINTS_PER_LIST * ivf.nlist)
    sample = vectors
    if len(vectors) > budget:
        rows = np.random.default_rng(seed).choice(len(vectors), size=budget, replace=False)
        sample = vectors[np.sort(rows)]
    try:
        index.train(np.ascontiguousarray(sample, dtype=np.float32))
    except RuntimeError as error:
        raise FactoryError(f"cannot train factory {factory!r} on {len(sample)} vectors: "
                           f"{_short(error)}") from error


def default_tuning(index: faiss.Index, nprobe: int | None = None) -> str:
    """The search-time parameters to use for an index when none were asked for: `nprobe`
    lists for an IVF one (default DEFAULT_NPROBE, LOSSY_NPROBE when its codes are lossy)."""
    if faiss.try_extract_index_ivf(index) is not None:
        if nprobe is None:
            nprobe = LOSSY_NPROBE if approximate_codes(index) else DEFAULT_NPROBE
        return f"nprobe={nprobe}"
    if _hnsw(index) is not None:
        return f"efSearch={DEFAULT_EF_SEARCH}"
    return ""


def approximate_codes(index: faiss.Index) -> bool:
    """Whether `index` stores lossy codes (PQ, SQ, ...) instead of the float vectors, so its
    scores and their order are approximate and worth re-ranking on the exact vectors."""
    index = faiss.downcast_index(index)
    hnsw = _hnsw(index)
    if hnsw is not None:
        index = faiss.downcast_index(hnsw.storage)
    code_size = getattr(index, "code_size", None)
    return code_size is not None and int(code_size) < 4 * int(index.d)


def apply_tuning(index: faiss.Index, tuning: str) -> None:
    """Set search-time parameters such as "nprobe=64" or "efSearch=128" (FAISS ParameterSpace)."""
    if not tuning:
        return
    try:
        faiss.ParameterSpace().set_index_parameters(index, tuning)
    except RuntimeError as error:
        raise FactoryError(f"cannot apply tuning {tuning!r} to this index: "
                           f"{_short(error)}") from error


def search(index: faiss.Index, queries: np.ndarray, k: int,
           allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """FAISS search of (Q, D) `queries`, restricted to positions where the bool mask `allowed` is set.

    Returns (scores, positions), each (Q, k), with -1 positions where fewer than k were found.
    Raises RuntimeError when the index type cannot take a selector.
    """
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    if allowed is None:
        return index.search(queries, k)
    # Bit i of byte i // 8, least significant bit first: the layout IDSelectorBitmap reads.
    bits = np.packbits(allowed.astype(bool), bitorder="little")
    selector = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bits))
    params = _search_parameters(index, selector)
    scores, positions = index.search(queries, k, params=params)
    del bits  # the selector reads `bits` through a raw pointer: keep it alive until here
    return scores, positions


def _search_parameters(index: faiss.Index, selector) -> faiss.SearchParameters:
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is not None:
        return faiss.SearchParametersIVF(sel=selector, nprobe=ivf.nprobe)
    hnsw = _hnsw(index)
    if hnsw is not None:
        return faiss.SearchParametersHNSW(sel=selector, efSearch=hnsw.hnsw.efSearch)
    return faiss.SearchParameters(sel=selector)


def _hnsw(index: faiss.Index):
    index = faiss.downcast_index(index)
    return index if isinstance(index, faiss.IndexHNSW) else None


def _short(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__
