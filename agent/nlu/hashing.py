"""Hashed word and character n-grams, the same numbers as scikit-learn's `HashingVectorizer`.

The question parser reads one message per turn; importing scikit-learn to hash it took
longer than the rest of the agent's start-up. These functions reproduce, for the settings
the intent classifier uses (lowercase, `alternate_sign=False`, l2 norm), the analyzers of
`sklearn.feature_extraction.text` and the signed 32-bit MurmurHash3 of its `FeatureHasher`,
so weights trained on either set of features work with the other (a test compares them).
"""

from __future__ import annotations

import math
import re
from collections import Counter

__all__ = ["char_wb_ngrams", "hashed", "murmurhash3_32", "word_ngrams"]

_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token_pattern
_WHITE_SPACES = re.compile(r"\s\s+")
_MASK = 0xFFFFFFFF


def _rotate(value: int, bits: int) -> int:
    return ((value << bits) | (value >> (32 - bits))) & _MASK


def _scramble(k: int) -> int:
    return (_rotate((k * 0xCC9E2D51) & _MASK, 15) * 0x1B873593) & _MASK


def murmurhash3_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 (x86, 32-bit) of `data` as a signed integer, as scikit-learn computes it."""
    h = seed & _MASK
    body = len(data) & ~3
    for start in range(0, body, 4):
        h ^= _scramble(int.from_bytes(data[start:start + 4], "little"))
        h = (_rotate(h, 13) * 5 + 0xE6546B64) & _MASK
    tail = int.from_bytes(data[body:], "little")  # the last 0-3 bytes
    if tail:
        h ^= _scramble(tail)
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _MASK
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _MASK
    h ^= h >> 16
    return h - (1 << 32) if h & 0x80000000 else h


def word_ngrams(text: str, low: int = 1, high: int = 2) -> list[str]:
    """Lowercased word n-grams (words of two or more word characters), joined by a space."""
    tokens = _TOKEN.findall(text.lower())
    grams = list(tokens) if low == 1 else []
    for n in range(max(low, 2), min(high, len(tokens)) + 1):
        grams += [" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
    return grams


def char_wb_ngrams(text: str, low: int = 3, high: int = 5) -> list[str]:
    """Lowercased character n-grams inside words padded with one space on each side; a word
    shorter than n gives itself once (scikit-learn's `analyzer="char_wb"`)."""
    grams: list[str] = []
    for word in _WHITE_SPACES.sub(" ", text.lower()).split():
        padded = f" {word} "
        for n in range(low, high + 1):
            grams += [padded[i:i + n] for i in range(max(len(padded) - n, 0) + 1)]
            if len(padded) <= n:  # the whole word was the only n-gram: longer n add nothing
                break
    return grams


def hashed(grams: list[str], n_features: int) -> dict[int, float]:
    """Column -> value of the l2-normalised count vector of `grams` hashed into `n_features`."""
    counts: Counter[int] = Counter()
    for gram in grams:
        h = murmurhash3_32(gram.encode("utf-8"))
        # abs(-2**31) overflows in scikit-learn's int32; it defines the column this way.
        counts[(2147483647 - (n_features - 1)) % n_features if h == -(1 << 31) else abs(h) % n_features] += 1
    norm = math.sqrt(sum(c * c for c in counts.values()))
    return {column: count / norm for column, count in counts.items()}
