"""Understanding questions: a learned intent classifier, entity linking and a typed parse.

See docs/nlu.md. `QuestionParser(load_or_train(embedder), catalog, aspects).parse(message, state)`.
Names are imported on first use, so registering the `nlu` commands (and `--help`) does not load
scikit-learn.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["IntentClassifier", "ParsedQuestion", "QuestionParser", "load_or_train",
           "train_and_save", "train_classifier"]

_HOME = {"IntentClassifier": "classifier", "train_classifier": "classifier",
         "ParsedQuestion": "parser", "QuestionParser": "parser",
         "load_or_train": "store", "train_and_save": "store"}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
