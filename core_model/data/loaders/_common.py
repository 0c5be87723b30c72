"""Helpers shared by the loaders: the error policy, score parsing, ids and file opening."""

from __future__ import annotations

import gzip
import html
import io
import math
import re
import zlib
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, AnyStr

from elixir_agent.core_model.data.records import AspectScale, DataFormatError

ON_ERROR_CHOICES = ("raise", "skip")
SKIP_HINT = "fix the row, or use --on-error skip (on_error='skip') to skip such rows"

_GZIP_MAGIC = b"\x1f\x8b"


class RowProblem(Exception):
    """A problem with one field of one row, raised while parsing that row.

    The loader knows the file and the row's first line and turns this into a
    `DataFormatError`; `line` overrides the row's first line when the parser knows the
    exact line of the field (multi-line records).
    """

    def __init__(self, field_name: str | None, problem: str, line: int | None = None):
        super().__init__(problem)
        self.field_name = field_name
        self.problem = problem
        self.line = line


class RowErrors:
    """Applies the `on_error` policy: raise at the first malformed row, or collect reasons."""

    def __init__(self, on_error: str):
        if on_error not in ON_ERROR_CHOICES:
            raise ValueError(f"on_error must be one of {ON_ERROR_CHOICES}, got {on_error!r}")
        self.on_error = on_error
        self.skipped: list[str] = []

    def report(self, path: Path | str, line: int | None, problem: RowProblem) -> None:
        where = problem.line if problem.line is not None else line
        if self.on_error == "raise":
            raise DataFormatError(str(path), where, problem.field_name, f"{problem.problem}; {SKIP_HINT}")
        self.skipped.append(str(DataFormatError(str(path), where, problem.field_name, problem.problem)))


class ReviewIds:
    """Hands out unique review ids for one load.

    Ids taken from the source must not repeat (a repeat is the same review twice, which is a
    malformed row); ids derived from user and item get a `#2`, `#3` suffix on a repeat
    because the source simply has no id to tell two such reviews apart.
    """

    def __init__(self) -> None:
        self._where: dict[str, str] = {}

    def claim(self, review_id: str, where: str, field_name: str, line: int | None = None) -> str:
        first = self._where.get(review_id)
        if first is not None:
            raise RowProblem(field_name, f"duplicate review id {review_id!r} (first seen at {first})", line)
        self._where[review_id] = where
        return review_id

    def derive(self, base: str, where: str) -> str:
        candidate, n = base, 1
        while candidate in self._where:
            n += 1
            candidate = f"{base}#{n}"
        self._where[candidate] = where
        return candidate


def parse_score(
    raw: Any,
    field_name: str,
    scale: AspectScale,
    *,
    not_rated: float | None = None,
    blanks: frozenset[str] = frozenset({""}),
) -> float | None:
    """Parse one rating, check it against its published scale and map it onto 1-5.

    Empty values (and the source's "not rated" sentinel, e.g. -1 in LARA) become None.
    """
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise RowProblem(field_name, f"{raw!r} is not a number")
    if isinstance(raw, (int, float)):
        value = float(raw)
    else:
        text = str(raw).strip()
        if text.lower() in blanks:
            return None
        try:
            value = float(text)
        except ValueError:
            raise RowProblem(field_name, f"{text!r} is not a number") from None
    if math.isnan(value):
        return None
    if not_rated is not None and value == not_rated:
        return None
    if not scale.contains(value):
        raise RowProblem(
            field_name,
            f"{value:g} is outside the published scale {scale.low:g}-{scale.high:g}",
        )
    return scale.to_unit(value)


def parse_unix_time(raw: Any, field_name: str) -> int | None:
    """Seconds since the epoch from a number or an ISO date; naive dates are taken as UTC."""
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)):
        return int(raw)
    text = str(raw).strip()
    if not text:
        return None
    try:
        return int(float(text))
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise RowProblem(field_name, f"{text!r} is neither seconds since the epoch nor an ISO date") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp())


_ENTITY = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")


def unescape_entities(text: str) -> str:
    """Decode complete HTML entities (`&apos;`, `&#8217;`) that scrapers left in the text.

    Only `&name;` with its semicolon is touched: `html.unescape` on its own would also turn
    the "&not" of "&nothing" into a sign, and reviews are full of ampersands.
    """
    if "&" not in text:
        return text
    return _ENTITY.sub(lambda m: html.unescape(m.group(0)), text)


def optional_text(raw: Any) -> str | None:
    if raw is None:
        return None
    text = str(raw).strip()
    return text or None


def id_text(raw: Any) -> str:
    """An id as text; a float that is a whole number (JSON 42.0) reads as "42"."""
    if raw is None or isinstance(raw, bool):
        return ""
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw).strip()


def input_files(path: Path | str, suffixes: tuple[str, ...], what: str) -> list[Path]:
    """The file itself, or the matching files under a directory, sorted for a stable order."""
    root = Path(path)
    if root.is_file():
        return [root]
    if not root.exists():
        raise FileNotFoundError(f"{what}: {root} does not exist")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name.endswith(suffixes))
    if not files:
        raise FileNotFoundError(f"{what}: no {' or '.join(suffixes)} files under {root}")
    return files


def _is_gzip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == _GZIP_MAGIC


def open_binary(path: Path | str) -> IO[bytes]:
    """Open a file for reading bytes, decompressing it when it is gzip (by content, not name)."""
    path = Path(path)
    if _is_gzip(path):
        return gzip.open(path, "rb")
    return path.open("rb")


def open_text(path: Path | str, *, newline: str | None = None) -> IO[str]:
    """Open a UTF-8 text file (BOM dropped), transparently decompressing gzip."""
    return io.TextIOWrapper(open_binary(path), encoding="utf-8-sig", newline=newline)


def decoded_lines(path: Path) -> Iterator[tuple[int, str, RowProblem | None]]:
    """(line number, text, problem) for each line of a UTF-8 file (gzip or plain, BOM dropped).

    Lines are split on b"\\n" before decoding, so a bad byte is reported at its own line with
    its byte offset, and the reader can skip exactly the record holding it; such a line's
    text has the bad bytes replaced, and its problem says where they were. Never re-decoded
    as Latin-1: that would turn the bytes into wrong characters without a word.
    """
    offset = 0
    with open_binary(path) as fh:
        for lineno, raw in numbered_lines(path, fh):
            if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw, offset = raw[3:], 3
            try:
                yield lineno, raw.decode("utf-8"), None
            except UnicodeDecodeError as exc:
                problem = RowProblem(
                    None,
                    f"not valid UTF-8 at byte offset {offset + exc.start} (byte "
                    f"0x{raw[exc.start]:02x}: {exc.reason}); re-encode the file as UTF-8",
                    lineno,
                )
                yield lineno, raw.decode("utf-8", "replace"), problem
            offset += len(raw)


def numbered_lines(path: Path, fh: IO[AnyStr]) -> Iterator[tuple[int, AnyStr]]:
    """(line number, line) pairs; a file that cannot be decoded raises an error naming it."""
    lineno = 0
    try:
        for lineno, line in enumerate(fh, start=1):
            yield lineno, line
    except UnicodeDecodeError as exc:
        raise DataFormatError(
            str(path), lineno + 1, None, f"not valid UTF-8 ({exc.reason}); re-encode the file as UTF-8"
        ) from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataFormatError(
            str(path), lineno + 1, None, f"truncated or corrupt gzip data ({exc})"
        ) from None
