"""Review embeddings and a persistent FAISS index with metadata and filters (no LangChain)."""
