"""`elixir-agent index ...` and `elixir-agent bench retrieval`: build, query and measure the
review index. Heavy imports (faiss, sentence-transformers) happen inside the commands.

Run with: elixir-agent index --help
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

DEFAULT_TEXTS = Path("../shared/data/ratebeer/reviews_store")


def register(app: typer.Typer, bench: typer.Typer) -> None:
    """Add the `index` group to the top-level app and `retrieval` to the bench group."""
    index_app = typer.Typer(help="Build and query the FAISS index of review embeddings.",
                            no_args_is_help=True)
    index_app.command("build")(build)
    index_app.command("search")(search)
    app.add_typer(index_app, name="index")
    bench.command("retrieval")(bench_retrieval)
    bench.command("embedder")(bench_embedder)


def build(
    data: Annotated[Path, typer.Option(help="Prepared dataset directory (from `data prepare`).")],
    out: Annotated[Path, typer.Option(help="Index directory to write (replaced if it is an index).")],
    factory: Annotated[str, typer.Option(
        help="FAISS index-factory string: Flat (exact, default), HNSW32, IVF4096,Flat, ...; or "
        "'compressed': IVF-PQ codes sized to the corpus, re-ranked on the exact vectors (for "
        "millions of reviews, see docs/scaling.md).")] = "Flat",
    embedder: Annotated[str | None, typer.Option(
        help="sentence-transformers model name or local path; default: bundled all-MiniLM-L6-v2.",
        show_default=False)] = None,
    all_splits: Annotated[bool, typer.Option(
        "--all-splits", help="Also index valid and test reviews (they then become evidence "
        "for their own predictions: only for demos, never for evaluation).")] = False,
    tuning: Annotated[str | None, typer.Option(
        help="Search-time FAISS parameters, e.g. 'nprobe=64' or 'efSearch=128'.",
        show_default=False)] = None,
    batch_size: Annotated[int, typer.Option(help="Texts per embedding batch.")] = 64,
    device: Annotated[str | None, typer.Option(help="cpu, cuda, mps; default: automatic.",
                                               show_default=False)] = None,
    embedder_backend: Annotated[str, typer.Option(
        help="torch (sentence-transformers, any model and device); torch-bf16 (a mean-pooled "
        "BERT such as the bundled model, bf16 products on CPU: ~3x torch on a CPU with native "
        "bf16, 0.99 of the same neighbours); onnx or onnx-int8 (ONNX Runtime on CPU; needs the "
        "scale extra; onnx finds the same neighbours as torch, int8 finds ~0.97 of them); auto: "
        "on CPU torch-bf16 where the CPU has native bf16, else onnx when installed, else torch. "
        "See docs/scaling.md.")] = "auto",
    max_length: Annotated[int | None, typer.Option(
        help="Cut reviews at this many tokens (default: the model's own limit, 256, for the "
        "torch backends; 192 for the onnx backends).",
        show_default=False)] = None,
    embeddings: Annotated[Path | None, typer.Option(
        help="Folder of `batch embed` shards to take the vectors from instead of embedding "
        "here (the embedder, its backend and token cut come from the shards; an --embedder "
        "naming another model is refused).", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print what was written as JSON.")] = False,
) -> None:
    """Embed a prepared dataset's reviews (or take their vectors from `--embeddings`) and
    write a searchable index directory.

    Run with: elixir-agent index build --data /tmp/rb --out /tmp/rb-index
    """
    from rich.console import Console

    from elixir_agent.core_model.data.storage import load_prepared
    from elixir_agent.retrieval import Embedder, ReviewIndex

    console = Console(stderr=True)
    dataset = load_prepared(data)
    splits = ("train", "valid", "test") if all_splits else ("train",)
    if embeddings is not None:  # query with the model, backend and cut the shards were made with
        from elixir_agent.retrieval.shards import shard_record

        record = shard_record(embeddings)
        # An --embedder that differs from the shards' model is refused by ReviewIndex.build.
        embedder, embedder_backend = embedder or record["name"], record.get("backend", "torch")
        max_length = record.get("max_length")
    model = Embedder(embedder, device=device, batch_size=batch_size, backend=embedder_backend,
                     max_length=max_length)
    console.print(f"embedder {model.name} ({model.dimension}-d on {model.device}, "
                  f"{model.backend} backend)")
    index = ReviewIndex.build(dataset, model, factory=factory, splits=splits, progress=True,
                              tuning=tuning, embeddings=embeddings)
    index.save(out)
    if as_json:
        from elixir_agent.console import echo_json

        echo_json({"out": str(out), "reviews": len(index), "splits": list(splits),
                   "factory": index.factory,
                   "tuning": index.manifest["tuning"], "embedder": index.manifest["embedder"]})
        return
    console.print(f"[green]wrote[/green] {out}: {len(index)} reviews from {', '.join(splits)}, "
                  f"factory {index.factory} {index.manifest['tuning']}".rstrip())


def search(
    query: Annotated[str, typer.Argument(help="Text to search for.")],
    index: Annotated[Path, typer.Option("--index", help="Index directory (from `index build`).")],
    k: Annotated[int, typer.Option("-k", "--k", help="Number of reviews to return.")] = 5,
    item: Annotated[list[str] | None, typer.Option(
        help="Only reviews of this item id (repeat for several).", show_default=False)] = None,
    user: Annotated[list[str] | None, typer.Option(
        help="Only reviews by this user id (repeat for several).", show_default=False)] = None,
    min_rating: Annotated[float | None, typer.Option(help="Lowest overall rating (1-5).",
                                                     show_default=False)] = None,
    max_rating: Annotated[float | None, typer.Option(help="Highest overall rating (1-5).",
                                                     show_default=False)] = None,
    exclude: Annotated[list[str] | None, typer.Option(
        help="Review id never to return (repeat for several).", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print hits as JSON lines.")] = False,
) -> None:
    """Find the reviews closest in meaning to a text, optionally filtered.

    Run with: elixir-agent index search --index /tmp/rb-index "roasty stout with coffee" -k 5
    """
    from dataclasses import asdict

    from rich.console import Console
    from rich.table import Table

    from elixir_agent.retrieval import ReviewIndex

    review_index = ReviewIndex.load(index)
    hits = review_index.search(query, k, items=item or None, users=user or None,
                               min_rating=min_rating, max_rating=max_rating,
                               exclude_ids=exclude or None)
    if as_json:
        for hit in hits:
            typer.echo(json.dumps(asdict(hit)))
        return
    if not hits:
        typer.echo("no review passes these filters")
        return
    table = Table(title=f"{len(hits)} of {len(review_index)} reviews closest to {query!r}")
    for column in ("score", "review", "user", "item", "rating", "text"):
        table.add_column(column, overflow="fold")
    for hit in hits:
        item_label = f"{hit.item_name} ({hit.item_id})" if hit.item_name else hit.item_id
        text = hit.text if len(hit.text) <= 200 else hit.text[:197] + "..."
        table.add_row(f"{hit.score:.3f}", hit.review_id, hit.user_id, item_label,
                      f"{hit.rating:.2f}", text)
    Console().print(table)


def bench_retrieval(
    out: Annotated[Path, typer.Option(help="Report directory (retrieval.json, retrieval.md).")],
    sizes: Annotated[str, typer.Option(help="Comma-separated corpus sizes.")] = "100000,1000000",
    queries: Annotated[int, typer.Option(min=1, help="Queries for recall@10 and batch timings.")] = 1000,
    texts: Annotated[Path, typer.Option(
        help="Real review texts for encoding throughput: a RateBeer CSV directory or a "
        "prepared dataset directory.")] = DEFAULT_TEXTS,
    n_texts: Annotated[int, typer.Option(help="How many texts to encode.")] = 2000,
    encoding: Annotated[bool, typer.Option(help="Measure encoding throughput.")] = True,
    stream_sizes: Annotated[str, typer.Option(
        help="Comma-separated sizes built by streaming chunks into the compressed index "
        "(IVF-PQ + re-ranking from disk), e.g. 10000000; empty: none.")] = "",
    real_index: Annotated[list[Path] | None, typer.Option(
        help="Index directory whose real review embeddings are also measured through the "
        "compressed index (repeat for several).", show_default=False)] = None,
    hnsw_ef_construction: Annotated[int, typer.Option(min=8, help="HNSW build quality.")] = 200,
) -> None:
    """Compare FAISS Flat, HNSW and IVF (build time, memory, recall@10, latency) and the
    embedder's throughput; writes JSON and a Markdown table.

    Run with: elixir-agent bench retrieval --out runs/bench --sizes 100000,1000000
    """
    from rich.console import Console

    from elixir_agent.retrieval import Embedder
    from elixir_agent.retrieval.bench import BenchConfig, run_benchmark

    console = Console(stderr=True)
    size_list = _sizes(sizes) if sizes.strip() else ()
    review_texts: list[str] = []
    if encoding:
        if texts.exists():
            review_texts = _load_texts(texts, n_texts)
        else:
            console.print(f"[yellow]{texts} not found: skipping encoding throughput[/yellow]")
    config = BenchConfig(sizes=size_list, n_queries=queries, n_texts=n_texts,
                         stream_sizes=_sizes(stream_sizes) if stream_sizes.strip() else (),
                         hnsw_ef_construction=hnsw_ef_construction)
    real_sets = [(folder.name, _index_vectors(folder)) for folder in real_index or []]
    report = run_benchmark(out, config, texts=review_texts, embedder_factory=Embedder,
                           real_sets=real_sets)
    console.print((out / "retrieval.md").read_text())
    console.print(f"[green]wrote[/green] {out / 'retrieval.json'} and {out / 'retrieval.md'}")
    if not report["target"]["met_by"] and max(size_list, default=0) >= 1_000_000:
        console.print("[yellow]no factory met the 1M target on this machine[/yellow]")


def bench_embedder(
    out: Annotated[Path, typer.Option(help="Report directory (embedder.json, embedder.md).")],
    texts: Annotated[Path, typer.Option(
        help="Real review texts: a prepared dataset directory or a RateBeer CSV directory.")
    ] = DEFAULT_TEXTS,
    n_texts: Annotated[int, typer.Option(min=300, help="How many texts to embed per round.")] = 2000,
    queries: Annotated[int, typer.Option(min=10, help="Texts used as queries for recall@10.")] = 200,
    rounds: Annotated[int, typer.Option(min=1, help="Interleaved timing rounds.")] = 3,
    variants: Annotated[str, typer.Option(
        help="backend@max_tokens list; the first is the reference ('full': the model's own).")
    ] = "torch@full,torch-bf16@full,onnx@full,onnx@192,onnx-int8@192",
) -> None:
    """Compare embedder backends on real reviews: texts/s and recall@10 of the index each
    builds against the reference (PyTorch, full length) index.

    Run with: elixir-agent bench embedder --out runs/bench-embedder --texts data/ratebeer
    """
    from rich.console import Console

    from elixir_agent.retrieval import Embedder
    from elixir_agent.retrieval.bench_embedder import K, Variant, run_embedder_benchmark
    from elixir_agent.retrieval.embedder import bundled_model_path, model_max_length

    parsed = []
    for spec in variants.split(","):
        backend, _, length = spec.strip().partition("@")
        if not length or not (length == "full" or length.isdigit()):
            raise typer.BadParameter(f"--variants entries look like onnx-int8@128 or torch@full, "
                                     f"got {spec!r}")
        parsed.append(Variant(backend, None if length == "full" else int(length)))
    if not texts.exists():
        raise typer.BadParameter(f"{texts} does not exist; pass --texts with review texts")
    sample = _load_texts(texts, n_texts)
    if len(sample) <= queries + K:
        raise typer.BadParameter(
            f"{texts} gave {len(sample)} review texts, and {queries} queries need more than "
            f"{queries + K}; pass --queries {max(10, len(sample) // 4)} or a larger dataset "
            "(e.g. one prepared with --kcore 1)")
    full = model_max_length(bundled_model_path())
    report = run_embedder_benchmark(
        out, sample, parsed,
        lambda v: Embedder(backend=v.backend, max_length=v.max_length or full),
        n_queries=queries, rounds=rounds)
    Console(stderr=True).print((out / "embedder.md").read_text())
    if not report["target"]["met_by"]:
        Console(stderr=True).print("[yellow]no backend met the speed-up and recall target[/yellow]")


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(s.replace("_", "")) for s in text.split(",") if s.strip())
    except ValueError as error:
        raise typer.BadParameter(f"sizes must be integers like 100000,1000000: {text!r}") from error
    if not sizes or min(sizes) < 1000:
        raise typer.BadParameter(f"sizes must be at least 1000, got {text!r}")
    return sizes


def _index_vectors(folder: Path):
    """The exact review vectors of an index directory, memory-mapped."""
    import numpy as np

    from elixir_agent.retrieval.store import VECTORS_FILE

    path = folder / VECTORS_FILE
    if not path.exists():
        raise typer.BadParameter(f"{path} not found: --real-index takes an index directory "
                                 "written by `elixir-agent index build`")
    return np.load(path, mmap_mode="r", allow_pickle=False)


def _load_texts(path: Path, limit: int) -> list[str]:
    """Review texts from a prepared dataset, or from raw RateBeer CSVs through the loader."""
    if (path / "dataset.json").exists():
        from elixir_agent.core_model.data.storage import load_prepared

        frame = load_prepared(path).split("train")
        return frame["text"].head(limit).tolist()
    from elixir_agent.core_model.data.loaders import load_reviews

    loaded = load_reviews("ratebeer", path, on_error="skip")
    return [r.text for r in loaded.reviews if r.text and r.text.strip()][:limit]
