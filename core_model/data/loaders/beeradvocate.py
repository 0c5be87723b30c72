"""McAuley et al.'s beer reviews: formats `beeradvocate` and `beeradvocate-snap`.

`beeradvocate` is the course file with one Python dict literal per line (single quotes, so
it is parsed with `ast.literal_eval`, never `eval`). `beeradvocate-snap` is the SNAP text
download (beeradvocate.txt.gz, and ratebeer.txt.gz in the same layout): blocks of
`key: value` lines separated by blank lines. BeerAdvocate writes scores as plain numbers on
1-5 ("4", "4.5"); RateBeer writes fractions whose denominator is the scale ("6/10", "13/20").
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator, Mapping
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
    unescape_entities,
)
from elixir_agent.core_model.data.records import AspectScale, LoadResult, Review

__all__ = ["load_beeradvocate", "load_beeradvocate_snap"]

_FIVE = AspectScale(1, 5)
_ASPECT_KEYS = {
    "appearance": "review/appearance",
    "aroma": "review/aroma",
    "palate": "review/palate",
    "taste": "review/taste",
}
_OVERALL = "review/overall"
# Alternative keys for the same field, first match wins: the dict form says user/profileName
# and review/timeUnix, the SNAP form review/profileName and review/time.
_USER_KEYS = ("review/userId", "user/profileName", "review/profileName")
_TIME_KEYS = ("review/timeUnix", "review/time")
_SNAP_LINE = re.compile(r"^(beer|review|user|product)/([A-Za-z]+):(.*)$")
_FRACTION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)\s*$")


def load_beeradvocate(path: str | Path, *, on_error: str = "raise") -> LoadResult:
    """Load the one-dict-literal-per-line BeerAdvocate file (optionally gzip-compressed)."""
    errors = RowErrors(on_error)
    path = Path(path)
    builder = _Builder(path)
    for lineno, line, undecodable in decoded_lines(path):
        if undecodable is not None:
            errors.report(path, lineno, undecodable)
            continue
        if not line.strip():
            continue
        try:
            builder.add(_parse_dict_line(line), lineno, {})
        except RowProblem as problem:
            errors.report(path, lineno, problem)
    return builder.result(errors.skipped)


def load_beeradvocate_snap(path: str | Path, *, on_error: str = "raise") -> LoadResult:
    """Load a SNAP beer review text file, plain or gzip-compressed (BeerAdvocate or RateBeer)."""
    errors = RowErrors(on_error)
    path = Path(path)
    builder = _Builder(path)
    for start, fields, lines, undecodable in _snap_blocks(path, errors):
        if undecodable is not None:  # the block holds a line that is not UTF-8
            errors.report(path, undecodable.line, undecodable)
            continue
        try:
            builder.add(fields, start, lines)
        except RowProblem as problem:
            errors.report(path, start, problem)
    return builder.result(errors.skipped)


def _parse_dict_line(line: str) -> dict[str, Any]:
    try:
        value = ast.literal_eval(line.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise RowProblem(None, f"not a Python dict literal ({type(exc).__name__}: {exc})") from None
    if not isinstance(value, dict):
        raise RowProblem(None, f"is a {type(value).__name__} literal, expected a dict")
    return value


def _snap_blocks(path: Path, errors: RowErrors
                 ) -> Iterator[tuple[int, dict[str, str], dict[str, int], RowProblem | None]]:
    """(first line, key -> value, key -> line, decoding problem) for each block of lines.

    A line that is not UTF-8 spoils the block it belongs to (reported once, at that line);
    it is never re-read as Latin-1, which would silently garble it.
    """
    fields: dict[str, str] = {}
    lines: dict[str, int] = {}
    start = 0
    last_key: str | None = None
    bad: RowProblem | None = None  # of the block being read
    pending: RowProblem | None = None  # of the previous line, not yet given to a block
    for lineno, line, undecodable in decoded_lines(path):
        if pending is not None:
            if fields:
                bad = bad or pending
            else:
                errors.report(path, pending.line, pending)
        pending = undecodable
        line = line.rstrip("\r\n")
        if not line.strip():
            if fields:
                yield start, fields, lines, bad
            fields, lines, last_key, bad = {}, {}, None, None
            continue
        match = _SNAP_LINE.match(line)
        if match is None:
            if last_key is not None:  # a value that spills onto the next line
                fields[last_key] = f"{fields[last_key]}\n{line}"
            else:
                errors.report(path, lineno, RowProblem(None, f"not a 'key: value' line: {line[:60]!r}"))
            continue
        key = f"{match.group(1)}/{match.group(2)}"
        if key in fields:  # a repeated key means the blank separator line is missing
            yield start, fields, lines, bad
            fields, lines, bad = {}, {}, None
        if not fields:
            start = lineno
        fields[key] = match.group(3).removeprefix(" ")
        lines[key] = lineno
        last_key = key
    if pending is not None:
        if fields:
            bad = bad or pending
        else:
            errors.report(path, pending.line, pending)
    if fields:
        yield start, fields, lines, bad


class _Builder:
    """Turns one record (dict line or SNAP block) into a `Review`, tracking each field's scale.

    A field's scale is fixed by its first value in the file: "13/20" sets 1-20 and a plain
    number sets 1-5; a later value written on another scale is a malformed row.
    """

    def __init__(self, path: Path):
        self.path = path
        self.ids = ReviewIds()
        self.reviews: list[Review] = []
        self.scales: dict[str, AspectScale] = {}
        self.aspects_seen: set[str] = set()

    def add(self, fields: Mapping[str, Any], start: int, lines: Mapping[str, int]) -> None:
        def first(keys: tuple[str, ...]) -> tuple[str, Any]:
            for key in keys:
                if key in fields:
                    return key, fields[key]
            return keys[0], None

        beer_id = id_text(fields.get("beer/beerId"))
        if not beer_id:
            raise RowProblem("beer/beerId", "missing or empty; every review needs its beer id")
        user_key, user = first(_USER_KEYS)
        user_id = id_text(user)
        if not user_id:
            raise RowProblem(user_key, "missing or empty; every review needs its user", lines.get(user_key))
        time_key, raw_time = first(_TIME_KEYS)
        timestamp = self._field(parse_unix_time, raw_time, time_key, lines)

        rating = self._score(fields.get(_OVERALL), _OVERALL, lines)
        aspects: dict[str, float | None] = {}
        for aspect, key in _ASPECT_KEYS.items():
            if key in fields:
                self.aspects_seen.add(aspect)
            aspects[aspect] = self._score(fields.get(key), key, lines)

        base = f"{user_id}:{beer_id}" if timestamp is None else f"{user_id}:{beer_id}:{timestamp}"
        self.reviews.append(
            Review(
                review_id=self.ids.derive(base, f"{self.path}:{start}"),
                user_id=user_id,
                item_id=beer_id,
                rating=rating,
                text=unescape_entities(str(fields.get("review/text") or "").strip()),
                aspects=aspects,
                timestamp=timestamp,
                item_name=optional_text(unescape_entities(str(fields.get("beer/name") or ""))),
                user_name=user_id,
            )
        )

    def result(self, skipped: list[str]) -> LoadResult:
        aspects = [a for a in _ASPECT_KEYS if a in self.aspects_seen]
        for review in self.reviews:
            review.aspects = {a: review.aspects[a] for a in aspects}
        return LoadResult(
            reviews=self.reviews,
            aspects=aspects,
            rating_scale=self.scales.get(_OVERALL, _FIVE),
            aspect_scales={a: self.scales.get(_ASPECT_KEYS[a], _FIVE) for a in aspects},
            skipped=skipped,
        )

    @staticmethod
    def _field(parse: Callable[[Any, str], Any], raw: Any, key: str, lines: Mapping[str, int]) -> Any:
        try:
            return parse(raw, key)
        except RowProblem as problem:
            problem.line = lines.get(key)
            raise

    def _score(self, raw: Any, key: str, lines: Mapping[str, int]) -> float | None:
        value, scale = raw, _FIVE
        if isinstance(raw, str):
            fraction = _FRACTION.match(raw)
            if fraction is not None:
                high = float(fraction.group(2))
                if high <= 1:
                    raise RowProblem(key, f"{raw!r} has no usable scale (/{high:g})", lines.get(key))
                value, scale = fraction.group(1), AspectScale(1, high)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        known = self.scales.setdefault(key, scale)
        if known != scale:
            raise RowProblem(
                key,
                f"{raw!r} is on a {scale.low:g}-{scale.high:g} scale but earlier rows of this "
                f"file use {known.low:g}-{known.high:g}",
                lines.get(key),
            )
        return self._field(lambda v, k: parse_score(v, k, scale), value, key, lines)
