"""Review embeddings and a persistent FAISS index with metadata and filters (no LangChain)."""

from elixir_agent.retrieval.embedder import DEFAULT_EMBEDDER, Embedder, TextEncoder
from elixir_agent.retrieval.faiss_ops import FactoryError
from elixir_agent.retrieval.index import (
    EmptyIndexError,
    IndexMismatchError,
    ReviewHit,
    ReviewIndex,
)
from elixir_agent.retrieval.store import CorruptIndexError

__all__ = [
    "DEFAULT_EMBEDDER",
    "CorruptIndexError",
    "Embedder",
    "EmptyIndexError",
    "FactoryError",
    "IndexMismatchError",
    "ReviewHit",
    "ReviewIndex",
    "TextEncoder",
]
