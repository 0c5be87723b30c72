"""`elixir-agent nlu train` and `elixir-agent bench nlu`.

Run with:
    elixir-agent nlu train [--out DIR] [--embedder none|minilm]
    elixir-agent bench nlu --data DIR [--n 400] [--out FILE]
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["bench_nlu", "train"]


def _embedder(name: str):
    if name == "none":
        return None
    if name != "minilm":
        raise typer.BadParameter(f"--embedder {name!r}: expected none or minilm")
    from elixir_agent.retrieval import Embedder

    return Embedder()


def train(out: Annotated[Path | None, typer.Option(
              help="Folder for the weights (default: the user cache, where ask/chat/ui look).")] = None,
          embedder: Annotated[str, typer.Option(
              help="none: hashed word and character n-grams; minilm: also the MiniLM sentence "
                   "embedding (slower to train and to parse).")] = "none") -> None:
    """Train the question parser's intent classifier from the generated corpus (no download).

    Run with: elixir-agent nlu train
    """
    from elixir_agent.agent.nlu.store import classifier_folder, train_and_save

    model = _embedder(embedder)
    folder = out or classifier_folder(model)
    typer.echo(f"training the intent classifier into {folder} ...")
    _, facts = train_and_save(model, folder)
    typer.echo(f"done: {facts['examples']} examples in {facts['seconds']} s")


def bench_nlu(data: Annotated[Path, typer.Option("--data", help="Prepared dataset directory.")],
              n: Annotated[int, typer.Option(help="Held-out cases (>= 300 for the report).")] = 400,
              seed: int = 0,
              baseline: Annotated[bool, typer.Option(
                  help="Also measure today's router + extractor (loads MiniLM).")] = True,
              embedder: Annotated[str, typer.Option(help="The parser's classifier features: none | minilm.")] = "none",
              out: Annotated[Path | None, typer.Option(help="Write the JSON here.")] = None) -> None:
    """Intent accuracy, per-intent precision/recall, entity linking by name form and parse latency
    of the question parser, beside today's router + extractor, on held-out questions.

    Run with: elixir-agent bench nlu --data DIR
    """
    from elixir_agent.agent.nlu import QuestionParser, load_or_train
    from elixir_agent.agent.nlu.bench import make_cases, markdown_report, run_parser, score
    from elixir_agent.core_model.data.storage import load_prepared
    from elixir_agent.tools.catalog import Catalog

    dataset = load_prepared(data)
    catalog = Catalog.from_dataset(dataset)
    aspects = dataset.info.aspects
    cases = make_cases(catalog, aspects, n=n, seed=seed)
    model = _embedder(embedder)
    parser = QuestionParser(load_or_train(model, progress=typer.echo), catalog, aspects)
    parser.parse("warm up", {})
    predictions, seconds = run_parser(parser, cases)
    results = {"parser": score(cases, predictions, seconds)}
    if baseline:
        from elixir_agent.agent.nlu.baseline import BaselineParser
        from elixir_agent.agent.router import IntentRouter

        cached = _BatchedEmbedder(model or _embedder("minilm"), [c.text for c in cases])
        old = BaselineParser(IntentRouter(cached), catalog, aspects)
        predictions, seconds = run_parser(old, cases)
        # The router's encodings were made in one batch; add each message's share back.
        seconds = [s + cached.seconds_per_text for s in seconds]
        results["router+extract (before)"] = score(cases, predictions, seconds)
    typer.echo(markdown_report(f"{dataset.info.name}: {len(cases)} held-out questions", results))
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(out.suffix + ".tmp")
        tmp.write_text(json.dumps({"data": str(data), "results": results,
                                   "cases": [c.__dict__ for c in cases]}, indent=2, default=str))
        tmp.replace(out)
        typer.echo(f"wrote {out}")


class _BatchedEmbedder:
    """Encodes the benchmark's messages in one batch up front (a busy CPU pays the model's
    start-up once), then answers single encodes from that table."""

    def __init__(self, embedder, texts: list[str]):
        self.embedder, self.name = embedder, getattr(embedder, "name", "embedder")
        start = time.perf_counter()
        unique = sorted(set(texts))
        self._table = dict(zip(unique, embedder.encode(unique), strict=True))
        self.seconds_per_text = (time.perf_counter() - start) / max(1, len(unique))

    def encode(self, texts, *, progress: bool = False):
        import numpy as np

        missing = [t for t in texts if t not in self._table]
        if missing:
            self._table.update(zip(missing, self.embedder.encode(missing), strict=True))
        return np.stack([self._table[t] for t in texts])
