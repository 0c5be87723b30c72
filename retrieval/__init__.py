"""Review embeddings and a persistent FAISS index with metadata and filters (no LangChain).

Names are imported on first use (FAISS and sentence-transformers are the `agent` extra).
"""

from elixir_agent._lazy import lazy_exports

_WHERE = {"DEFAULT_EMBEDDER": "embedder", "DeferredEmbedder": "embedder", "Embedder": "embedder",
          "IndexMismatchError": "embedder", "TextEncoder": "embedder", "FactoryError": "faiss_ops",
          "EmptyIndexError": "index", "ReviewHit": "hits", "ReviewIndex": "index",
          "CorruptIndexError": "store"}
__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
