"""`elixir-agent data ...`: prepare real review data, make a synthetic set, print statistics.

Run with: elixir-agent data --help
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from elixir_agent.console import choices
from elixir_agent.errors import UserError, reported_as_user_error

data_app = typer.Typer(help="Load, prepare and inspect review datasets.", no_args_is_help=True)
console = Console()


# The registered loaders (core_model.data.loaders.FORMATS; a test keeps the two equal),
# listed here so that `--help` does not import them.
DataFormat = choices("DataFormat", "ratebeer", "lara-dat", "lara-json", "beeradvocate",
                     "beeradvocate-snap", "csv", "jsonl", "parquet")
OnError = choices("OnError", "raise", "skip")


def register(app: typer.Typer, bench: typer.Typer) -> None:
    app.add_typer(data_app, name="data")


def _parse_split(text: str) -> tuple[float, float, float]:
    try:
        parts = tuple(float(p) for p in text.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 3 or abs(sum(parts) - 1.0) > 1e-6 or min(parts) < 0:
        raise typer.BadParameter(f"expected three fractions summing to 1 like 0.8,0.1,0.1, got {text!r}")
    return parts  # type: ignore[return-value]


@data_app.command("prepare")
def prepare_command(
    fmt: DataFormat = typer.Option(..., "--format", "-f", help="Input format."),
    input_path: Path = typer.Option(..., "--input", "-i", help="Input file or directory, as published."),
    out: Path = typer.Option(..., "--out", "-o", help="Output dataset directory (must not exist)."),
    kcore: int = typer.Option(5, min=1, help="Iterated k-core: keep users and items with at least k reviews."),
    max_words: int = typer.Option(128, min=1, help="Truncate review text to this many words."),
    seed: int = typer.Option(42, help="Seed of the random train/valid/test split."),
    split: str = typer.Option("0.8,0.1,0.1", help="Train,valid,test fractions."),
    mapping: str | None = typer.Option(None, help="csv/jsonl only: column mapping, either a TOML file "
                                       "or 'user=COL,item=COL,rating=COL,text=COL,aspect.NAME=COL,scale.rating=1:10'."),
    on_error: OnError = typer.Option("raise", help="'raise' stops at the first malformed row; "
                                     "'skip' skips such rows and reports them."),
    name: str | None = typer.Option(None, help="Dataset name recorded in dataset.json (default: the format)."),
    overwrite: bool = typer.Option(False, help="Replace --out if it exists."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Load a published review dataset, clean it, k-core it, split it and write Parquet.

    Run with: elixir-agent data prepare --format ratebeer --input ../shared/data/ratebeer/reviews_store --out /tmp/rb
    """
    from elixir_agent.console import echo_json, status
    from elixir_agent.core_model.data.loaders import load_reviews
    from elixir_agent.core_model.data.prepare import describe, prepare_reviews
    from elixir_agent.core_model.data.records import DataFormatError
    from elixir_agent.core_model.data.storage import write_prepared

    if not input_path.exists():
        raise typer.BadParameter(f"{input_path} does not exist", param_hint="--input")
    if out.exists() and not overwrite:
        raise typer.BadParameter(f"{out} already exists; choose another path or pass --overwrite",
                                 param_hint="--out")
    fractions = _parse_split(split)
    fmt_name = fmt.value
    options = {"mapping": _load_mapping(mapping)} if mapping else {}
    with status(f"loading {fmt_name} from {input_path}"):
        try:
            loaded = load_reviews(fmt_name, input_path, on_error=on_error.value, **options)
        except DataFormatError:
            raise
        except ValueError as error:  # an option the format does not take, a bad mapping
            raise UserError(str(error), hint="see: elixir-agent data prepare --help") from error
    splits, report = prepare_reviews(loaded, kcore=kcore, max_words=max_words, seed=seed,
                                     fractions=fractions)
    info = describe(loaded, name=name or fmt_name, source_format=fmt_name, source_path=str(input_path),
                    kcore=kcore, max_words=max_words, seed=seed, fractions=fractions)
    info.notes.append(f"dropped: {report.dropped_no_rating} without rating, {report.dropped_no_text} "
                      f"without text, {report.dropped_duplicates} duplicate pairs, "
                      f"{report.dropped_kcore} by the {kcore}-core; {report.skipped_malformed} malformed")
    info.notes.append(f"{report.stripped_markup} texts stripped of HTML/page-script markup; "
                      f"{report.evaluable_users} users with 2+ reviews; {report.topped_up} held-out "
                      f"reviews drawn from them after {report.moved_to_train} moved to train")
    info.notes.extend(report.warnings)
    info = write_prepared(out, info, splits, overwrite=overwrite)
    if as_json:
        from dataclasses import asdict

        echo_json({"out": str(out), "counts": info.counts, "report": asdict(report)})
        return
    _print_prepare_report(report, info.counts, out)


@data_app.command("synth")
def synth_command(
    out: Path = typer.Option(..., "--out", "-o", help="Output dataset directory."),
    users: int = typer.Option(200, help="Number of synthetic users."),
    items: int = typer.Option(100, help="Number of synthetic items (hotels)."),
    reviews: int = typer.Option(4000, help="Number of reviews (distinct user-item pairs)."),
    seed: int = typer.Option(42, help="Random seed."),
    overwrite: bool = typer.Option(False, help="Replace --out if it exists."),
    as_json: bool = typer.Option(False, "--json", help="Print what was written as JSON."),
) -> None:
    """Write a SYNTHETIC dataset with known ground truth (for tests and the offline demo).

    Run with: elixir-agent data synth --out /tmp/synth
    """
    from elixir_agent.console import echo_json
    from elixir_agent.core_model.data.synthetic import write_synthetic

    with reported_as_user_error("data synth"):
        info = write_synthetic(out, n_users=users, n_items=items, n_reviews=reviews, seed=seed,
                               overwrite=overwrite)
    if as_json:
        echo_json({"out": str(out), "counts": info.counts, "synthetic": True})
        return
    console.print(f"[bold]synthetic[/bold] dataset written to {out}: {info.counts}")


@data_app.command("stats")
def stats_command(path: Path = typer.Argument(..., help="A prepared dataset directory."),
                  as_json: bool = typer.Option(False, "--json", help="Print the statistics as JSON.")
                  ) -> None:
    """Print the counts of a prepared dataset and the mean of the rating and each aspect.

    Run with: elixir-agent data stats /tmp/rb
    """
    from elixir_agent.console import echo_json
    from elixir_agent.core_model.data.stats import dataset_stats

    try:
        stats = dataset_stats(path)
    except ValueError as error:
        raise UserError(str(error), hint="pass a directory written by `elixir-agent data prepare`"
                        ) from error
    if as_json:
        echo_json(stats)
        return
    label = " [yellow](synthetic)[/yellow]" if stats["synthetic"] else ""
    console.print(f"[bold]{stats['name']}[/bold]{label}  format={stats['source_format']}")
    counts = Table("split", "reviews", "users", "items")
    for split, row in stats["splits"].items():
        counts.add_row(split, str(row["reviews"]), str(row["users"]), str(row["items"]))
    console.print(counts)
    means = Table("field", "original scale", "mean (1-5)", "rated share")
    for row in stats["fields"]:
        means.add_row(row["field"], row["scale"], f"{row['mean']:.3f}", f"{row['rated']:.1%}")
    console.print(means)


def _load_mapping(spec: str):
    from elixir_agent.core_model.data.loaders.generic import load_mapping_toml, parse_mapping

    try:
        if spec.endswith(".toml"):
            if not Path(spec).exists():
                raise typer.BadParameter(f"mapping file {spec} does not exist", param_hint="--mapping")
            return load_mapping_toml(spec)
        return parse_mapping(spec)
    except ValueError as error:
        raise UserError(f"--mapping: {error}", hint="e.g. --mapping 'user=COL,item=COL,rating=COL,"
                        "text=COL,aspect.NAME=COL,scale.rating=1:10' or a TOML file") from error


def _print_prepare_report(report, counts: dict[str, int], out: Path) -> None:
    table = Table("step", "reviews", title=f"prepared {out}")
    table.add_row("read", str(report.loaded))
    for label, value in [
        ("skipped (malformed)", report.skipped_malformed),
        ("dropped: no rating", report.dropped_no_rating),
        ("dropped: no text", report.dropped_no_text),
        ("dropped: duplicate user-item pair", report.dropped_duplicates),
        (f"dropped: k-core ({report.kcore_rounds} rounds)", report.dropped_kcore),
    ]:
        table.add_row(label, f"-{value}")
    table.add_row("kept", str(counts["reviews"]))
    console.print(table)
    console.print(f"users {counts['users']}, items {counts['items']}; train {counts['train']}, "
                  f"valid {counts['valid']}, test {counts['test']}; {report.truncated} texts truncated, "
                  f"{report.stripped_markup} stripped of HTML/page-script markup")
    if report.moved_to_train:
        console.print(f"{report.moved_to_train} held-out reviews moved to train (their user or item "
                      f"had no other review); {report.topped_up} reviews of the {report.evaluable_users} "
                      "users with 2 or more reviews were held out instead")
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    for reason in report.skip_reasons[:5]:
        console.print(f"  skipped {reason}")
    if len(report.skip_reasons) > 5:
        console.print(f"  ... and {len(report.skip_reasons) - 5} more skipped rows")
