"""Any review table with a column mapping: formats `csv`, `jsonl` (plain or gzip) and `parquet`.

The mapping (defined in `mapping.py`, re-exported here) says which column is the user, the item, the rating and the
text, plus optional id, title, time, names and aspect columns with their published scales.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from elixir_agent.core_model.data.loaders._common import (
    ReviewIds,
    RowErrors,
    RowProblem,
    decoded_lines,
    id_text,
    optional_text,
    parse_score,
    parse_unix_time,
)
from elixir_agent.core_model.data.loaders.csv_records import csv_records
from elixir_agent.core_model.data.loaders.mapping import (
    ColumnMapping,
    load_mapping_toml,
    parse_mapping,
    resolve_mapping,
)
from elixir_agent.core_model.data.records import DataFormatError, LoadResult, Review

__all__ = ["ColumnMapping", "load_csv", "load_jsonl", "load_mapping_toml", "load_parquet",
           "parse_mapping"]

# Spellings of "no value" that spreadsheets and pandas exports write into rating cells.
_BLANKS = frozenset({"", "na", "n/a", "nan", "null", "none"})


def load_csv(
    path: str | Path,
    *,
    mapping: ColumnMapping | str | Path | None = None,
    on_error: str = "raise",
    delimiter: str = ",",
) -> LoadResult:
    """Load a CSV (or TSV with delimiter='\\t') file with a header row through `mapping`."""
    cmap = resolve_mapping(mapping, "csv")
    path = Path(path)
    builder = _Builder(path, cmap, on_error)
    records = csv_records(path, delimiter=delimiter)
    first = next(records, None)
    if first is None:
        raise DataFormatError(str(path), None, None, "empty file; expected a header row")
    if first.problem is not None:
        raise DataFormatError(str(path), first.line, None, f"header: {first.problem.problem}")
    header = [name.strip() for name in first.fields or []]
    _check_columns(path, 1, cmap, header, "in the header")
    for record in records:
        row = record.fields
        if record.problem is not None:
            builder.errors.report(path, record.line, record.problem)
        elif not row or not any(cell.strip() for cell in row):
            pass  # a blank line is not a review
        elif len(row) != len(header):
            problem = RowProblem(None, f"has {len(row)} fields, the header has {len(header)}")
            builder.errors.report(path, record.line, problem)
        else:
            builder.add(dict(zip(header, row, strict=True)), record.line)
    return builder.result()


def load_jsonl(
    path: str | Path,
    *,
    mapping: ColumnMapping | str | Path | None = None,
    on_error: str = "raise",
) -> LoadResult:
    """Load a file with one JSON object per line through `mapping`."""
    cmap = resolve_mapping(mapping, "jsonl")
    path = Path(path)
    builder = _Builder(path, cmap, on_error)
    rows: list[tuple[int, dict[str, Any]]] = []
    keys: dict[str, None] = {}
    for lineno, line, undecodable in decoded_lines(path):
        if undecodable is not None:
            builder.errors.report(path, lineno, undecodable)
            continue
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            builder.errors.report(path, lineno, RowProblem(None, f"not valid JSON ({exc.msg})"))
            continue
        if not isinstance(obj, dict):
            builder.errors.report(
                path, lineno, RowProblem(None, f"is a JSON {type(obj).__name__}, expected an object")
            )
            continue
        keys.update(dict.fromkeys(obj))
        rows.append((lineno, obj))
    # Keys may be absent from some objects (an empty rating), so check against all of them.
    if rows:
        _check_columns(path, None, cmap, keys, "in any object of the file")
    for lineno, obj in rows:
        builder.add(obj, lineno)
    return builder.result()


def load_parquet(
    path: str | Path,
    *,
    mapping: ColumnMapping | str | Path | None = None,
    on_error: str = "raise",
) -> LoadResult:
    """Load a Parquet table through `mapping`; a row's "line" in errors is its row number."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    cmap = resolve_mapping(mapping, "parquet")
    path = Path(path)
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataFormatError(str(path), None, None, f"not a readable Parquet file ({exc})") from None
    _check_columns(path, None, cmap, table.column_names, "a column of the table")
    builder = _Builder(path, cmap, on_error)
    for number, row in enumerate(table.to_pylist(), start=1):
        builder.add(row, number)
    return builder.result()


def _check_columns(
    path: Path, line: int | None, cmap: ColumnMapping, present: Iterable[str], where: str
) -> None:
    present = list(present)
    have = set(present)
    for role, column in cmap.columns().items():
        if column not in have:
            raise DataFormatError(
                str(path),
                line,
                column,
                f"column mapped to {role} is not {where}; the file's columns are: {', '.join(present)}",
            )


class _Builder:
    def __init__(self, path: Path, cmap: ColumnMapping, on_error: str):
        self.path = path
        self.cmap = cmap
        self.errors = RowErrors(on_error)
        self.ids = ReviewIds()
        self.reviews: list[Review] = []
        self.rating_scale = cmap.scale()
        self.aspect_scales = {a: cmap.scale(a) for a in cmap.aspects}

    def add(self, row: Mapping[str, Any], line: int) -> None:
        try:
            self.reviews.append(self._review(row, line))
        except RowProblem as problem:
            if "outside the published scale" in problem.problem:
                problem.problem += ("; give the column its real range in the mapping "
                                    "(scale.<aspect or rating>=low:high), or, if this value "
                                    "means 'not rated', missing.<aspect or rating>=VALUE")
            self.errors.report(self.path, line, problem)

    def result(self) -> LoadResult:
        return LoadResult(
            reviews=self.reviews,
            aspects=list(self.cmap.aspects),
            rating_scale=self.rating_scale,
            aspect_scales=dict(self.aspect_scales),
            skipped=self.errors.skipped,
        )

    def _review(self, row: Mapping[str, Any], line: int) -> Review:
        cmap = self.cmap
        user_id = id_text(row.get(cmap.user))
        if not user_id:
            raise RowProblem(cmap.user, "missing or empty; every review needs its user (mapped to user)")
        item_id = id_text(row.get(cmap.item))
        if not item_id:
            raise RowProblem(cmap.item, "missing or empty; every review needs its item (mapped to item)")
        rating = parse_score(row.get(cmap.rating), cmap.rating, self.rating_scale, blanks=_BLANKS,
                             not_rated=cmap.not_rated())
        aspects = {
            aspect: parse_score(row.get(column), column, self.aspect_scales[aspect], blanks=_BLANKS,
                                not_rated=cmap.not_rated(aspect))
            for aspect, column in cmap.aspects.items()
        }
        timestamp = parse_unix_time(row.get(cmap.timestamp), cmap.timestamp) if cmap.timestamp else None
        here = f"{self.path}:{line}"
        source_id = id_text(row.get(cmap.review_id)) if cmap.review_id else ""
        if source_id:
            review_id = self.ids.claim(source_id, here, cmap.review_id or "review_id")
        else:
            base = f"{user_id}:{item_id}" if timestamp is None else f"{user_id}:{item_id}:{timestamp}"
            review_id = self.ids.derive(base, here)
        text = row.get(cmap.text)
        return Review(
            review_id=review_id,
            user_id=user_id,
            item_id=item_id,
            rating=rating,
            text="" if text is None else str(text).strip(),
            aspects=aspects,
            title=optional_text(row.get(cmap.title)) if cmap.title else None,
            timestamp=timestamp,
            item_name=optional_text(row.get(cmap.item_name)) if cmap.item_name else None,
            user_name=optional_text(row.get(cmap.user_name)) if cmap.user_name else None,
        )
