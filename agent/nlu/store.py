"""Where trained intent classifiers live, and building one when it is missing.

Weights are cached per embedder and corpus fingerprint under `$ELIXIR_AGENT_CACHE/nlu`
(default `~/.cache/elixir-agent/nlu`), or in a folder given explicitly (for example inside a
run directory). Nothing is downloaded: a missing classifier is trained from the generated
corpus, which takes well under two minutes on two cores.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from elixir_agent.agent.nlu.classifier import (
    MANIFEST,
    Embedder,
    IntentClassifier,
    corpus_fingerprint,
    train_classifier,
)
from elixir_agent.agent.nlu.corpus import generate_corpus

__all__ = ["CORPUS_SIZE", "cache_root", "classifier_folder", "load_or_train", "train_and_save"]

CORPUS_SIZE = 6000  # examples; more adds little on the held-out set and costs training time
CORPUS_SEED = 0


def cache_root() -> Path:
    return Path(os.environ.get("ELIXIR_AGENT_CACHE", Path.home() / ".cache" / "elixir-agent")) / "nlu"


def classifier_folder(embedder: Embedder | None, root: Path | None = None) -> Path:
    name = "none" if embedder is None else getattr(embedder, "name", type(embedder).__name__)
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")
    return (root or cache_root()) / f"{slug}-{corpus_fingerprint(CORPUS_SIZE, CORPUS_SEED)}"


def train_and_save(embedder: Embedder | None, folder: Path, *, n: int = CORPUS_SIZE,
                   seed: int = CORPUS_SEED) -> tuple[IntentClassifier, dict]:
    corpus = generate_corpus(n, seed=seed)
    classifier, facts = train_classifier(corpus, embedder)
    facts |= {"corpus_seed": seed, "fingerprint": corpus_fingerprint(n, seed)}
    classifier.save(folder, facts)
    return classifier, facts


def load_or_train(embedder: Embedder | None, *, root: Path | None = None,
                  progress: Callable[[str], None] | None = None) -> IntentClassifier:
    """The cached classifier for `embedder`, trained (with a progress line) if missing."""
    folder = classifier_folder(embedder, root)
    if (folder / MANIFEST).exists():
        return IntentClassifier.load(folder, embedder)
    if progress:
        progress(f"Training the question parser's intent classifier once ({CORPUS_SIZE} generated "
                 f"examples) into {folder} ...")
    classifier, facts = train_and_save(embedder, folder)
    if progress:
        progress(f"... done in {facts['seconds']} s.")
    return classifier
