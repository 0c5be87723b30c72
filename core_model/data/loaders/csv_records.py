"""CSV records read line by line, so that every problem is reported at its own line.

The csv module reading a text stream cannot say where a decoding error is, silently takes a
file that ends inside a quoted field as a shorter record, and after a broken quote loses the
rest of the file. Here the physical lines are decoded one by one and grouped into records by
their quotes; each record is then parsed on its own. A bad record is reported and the next
one is read as usual:

- a line that is not UTF-8: the record holding it, at that line and byte offset;
- a quote that never closes (a truncated file): the record at its first line; the lines after
  that first line are read again as records;
- a field longer than `max_field` characters: the record, from its first line to where its
  quote closes.
"""

from __future__ import annotations

import csv
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from elixir_agent.core_model.data.loaders._common import RowProblem, decoded_lines

# The csv module's own limit: a longer "review" is a broken quote or junk, not a review.
MAX_FIELD_CHARS = csv.field_size_limit()

__all__ = ["MAX_FIELD_CHARS", "CsvRecord", "csv_records"]


@dataclass(frozen=True)
class CsvRecord:
    """One record: its first line and its fields, or the problem that makes it unreadable."""

    line: int
    fields: list[str] | None
    problem: RowProblem | None = None


def csv_records(path: Path, *, delimiter: str = ",",
                max_field: int = MAX_FIELD_CHARS) -> Iterator[CsvRecord]:
    """Every record of the file, header included, in order."""
    source = decoded_lines(Path(path))
    pending: deque[tuple[int, str, RowProblem | None]] = deque()  # lines to read again

    def next_line():
        return pending.popleft() if pending else next(source, None)

    buffer: list[tuple[int, str, RowProblem | None]] = []
    quotes = size = 0
    while True:
        entry = next_line()
        if entry is None:
            if not buffer:
                return
            start = buffer[0][0]
            yield CsvRecord(start, None, RowProblem(
                None, "a quoted field opened on this line never closes (the file ends inside "
                      "it: truncated?)", start))
            pending.extend(buffer[1:])  # they may be whole records of their own
            buffer, quotes, size = [], 0, 0
            continue
        buffer.append(entry)
        quotes += entry[1].count('"')
        size += len(entry[1])
        if quotes % 2 == 0:
            yield from _parse(buffer, delimiter)
            buffer, quotes, size = [], 0, 0
        elif size > max_field:
            yield _oversized(buffer[0][0], next_line, quotes, max_field)
            buffer, quotes, size = [], 0, 0


def _oversized(start: int, next_line, quotes: int, max_field: int) -> CsvRecord:
    """Read past the rest of an over-long quoted field without keeping it."""
    end = start
    while quotes % 2:
        entry = next_line()
        if entry is None:
            break
        end, quotes = entry[0], quotes + entry[1].count('"')
    return CsvRecord(start, None, RowProblem(
        None, f"a field longer than {max_field:,} characters (lines {start}-{end}; an unclosed "
              "quote?)", start))


def _parse(buffer: list[tuple[int, str, RowProblem | None]], delimiter: str
           ) -> Iterator[CsvRecord]:
    start = buffer[0][0]
    bad = next((problem for _, _, problem in buffer if problem is not None), None)
    if bad is not None:
        yield CsvRecord(start, None, bad)
        return
    # A stray quote inside an unquoted field can make several records look like one:
    # parse them all, each at its own first line.
    reader = csv.reader([text for _, text, _ in buffer], delimiter=delimiter, strict=True)
    consumed = 0
    try:
        for fields in reader:
            yield CsvRecord(start + consumed, fields)
            consumed = reader.line_num
    except csv.Error as exc:
        what = (f"a field longer than {MAX_FIELD_CHARS:,} characters" if "field limit" in str(exc)
                else f"unreadable CSV ({exc})")
        yield CsvRecord(start + consumed, None, RowProblem(None, what, start + consumed))
