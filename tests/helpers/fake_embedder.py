"""A tiny deterministic stand-in for `elixir_agent.retrieval.Embedder`, for tests only.

Hashed bag of words: each lower-cased word adds +1 or -1 to one of `dimension` buckets
chosen by a stable hash (blake2b, not Python's salted `hash`), then rows are L2-normalised.
Texts sharing words are close, the same text gives the same vector in every process, and
encoding thousands of texts takes milliseconds. It has the embedder's `name`, `dimension`
and `encode(texts, *, progress=False)`, so a `ReviewIndex` can be built on it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

_WORD = re.compile(r"[a-z0-9]+")


class FakeEmbedder:
    """Deterministic hashed bag-of-words embeddings (float32, unit length)."""

    def __init__(self, dimension: int = 64):
        self.dimension = dimension
        self.name = f"fake-hashed-bow-{dimension}"

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts")
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(str(text).lower()):
                digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % self.dimension
                out[row, bucket] += 1.0 if digest[4] & 1 else -1.0
            if not out[row].any():
                out[row, 0] = 1.0  # an empty text still gets a valid unit vector
        return out / np.linalg.norm(out, axis=1, keepdims=True)
