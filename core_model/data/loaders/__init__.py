"""Loaders for real review data: one module per format family, one registry of format names.

Every loader is `load_<format>(path, *, on_error="raise", **options) -> LoadResult`. With
on_error="raise" the first malformed row raises `DataFormatError` naming file, line and
field; with on_error="skip" such rows are left out and described in `LoadResult.skipped`.
A row that merely lacks a rating or text is not malformed: it loads with rating None or
text "" and the prepare step decides what to do with it. Ratings and aspects come back on
the common 1-5 scale, unrated aspects as None.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from elixir_agent.core_model.data.loaders.beeradvocate import (
    load_beeradvocate,
    load_beeradvocate_snap,
)
from elixir_agent.core_model.data.loaders.generic import load_csv, load_jsonl, load_parquet
from elixir_agent.core_model.data.loaders.lara import load_lara_dat, load_lara_json
from elixir_agent.core_model.data.loaders.mapping import (
    ColumnMapping,
    load_mapping_toml,
    parse_mapping,
    resolve_mapping,
)
from elixir_agent.core_model.data.loaders.ratebeer import load_ratebeer
from elixir_agent.core_model.data.records import LoadResult

__all__ = [
    "FORMATS",
    "ColumnMapping",
    "load_beeradvocate",
    "load_beeradvocate_snap",
    "load_csv",
    "load_jsonl",
    "load_lara_dat",
    "load_lara_json",
    "load_mapping_toml",
    "load_parquet",
    "load_ratebeer",
    "load_reviews",
    "parse_mapping",
    "resolve_mapping",
]

FORMATS: dict[str, Callable[..., LoadResult]] = {
    "ratebeer": load_ratebeer,
    "lara-dat": load_lara_dat,
    "lara-json": load_lara_json,
    "beeradvocate": load_beeradvocate,
    "beeradvocate-snap": load_beeradvocate_snap,
    "csv": load_csv,
    "jsonl": load_jsonl,
    "parquet": load_parquet,
}


def load_reviews(fmt: str, path: str | Path, *, on_error: str = "raise", **options: Any) -> LoadResult:
    """Load `path` with the loader registered as `fmt`.

    Options set to None count as not given, so a CLI can pass `mapping=args.mapping` for
    every format; an option the format does not take is a ValueError naming those it does.
    """
    if fmt in ("csv", "jsonl") and str(path).endswith(".parquet"):
        fmt = "parquet"  # the generic table formats go by the file's extension
    loader = FORMATS.get(fmt)
    if loader is None:
        raise ValueError(f"unknown data format {fmt!r}; valid formats: {', '.join(FORMATS)}")
    given = {name: value for name, value in options.items() if value is not None}
    accepted = [
        name
        for name, p in inspect.signature(loader).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and name != "on_error"
    ]
    unknown = sorted(set(given) - set(accepted))
    if unknown:
        takes = ", ".join(accepted) if accepted else "no options"
        raise ValueError(f"format {fmt!r} does not take {', '.join(unknown)} (it takes {takes})")
    return loader(path, on_error=on_error, **given)
