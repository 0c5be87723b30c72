"""Property-based fuzzing of every loader on small real files: random byte flips, truncations,
inserted quotes and NULs.

Whatever the damage: the only exception is the loader's `DataFormatError`, naming the file
(and the line, for line-based formats); with `on_error="skip"` every record is either loaded
or counted as skipped; a truncated file loads only records that are in the original, save at
most the one the cut went through. Heavier profiles run under `-m slow`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from elixir_agent.core_model.data.loaders import load_reviews
from elixir_agent.core_model.data.records import DataFormatError

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / ".." / "shared" / "data"
FIXTURES = ROOT / "fixtures"
FAST = settings(max_examples=15, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
HEAVY = settings(max_examples=300, deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _head_lines(path: Path, n: int) -> bytes:
    return b"\n".join(path.read_bytes().split(b"\n")[:n]) + b"\n"


def _ratebeer() -> bytes:
    files = sorted((SHARED / "ratebeer" / "reviews_store").glob("*.csv"))
    small = next(f for f in files if 4 <= f.read_bytes().count(b"\n") <= 12)
    return small.read_bytes()


# format -> (file name, bytes of a small real file, loader options, line-based)
SOURCES = {
    "csv": ("reviews.csv", lambda: (FIXTURES / "tabular" / "reviews.csv").read_bytes(),
            {"mapping": FIXTURES / "tabular" / "mapping.toml"}, True),
    "jsonl": ("reviews.jsonl", lambda: (FIXTURES / "tabular" / "reviews.jsonl").read_bytes(),
              {"mapping": FIXTURES / "tabular" / "mapping.toml"}, True),
    "ratebeer": ("1.csv", _ratebeer, {}, True),
    "lara-dat": ("hotel_292867.dat",
                 lambda: _head_lines(SHARED / "tripadvisor-lara" / "hotel_292867.dat", 60), {}, True),
    "lara-json": ("1001.json", lambda: (FIXTURES / "lara_json" / "1001.json").read_bytes(), {},
                  False),
    "beeradvocate": ("ba.json",
                     lambda: _head_lines(SHARED / "beeradvocate" / "beer_50000_head.json", 8), {},
                     True),
    "beeradvocate-snap": ("snap.txt",
                          lambda: (FIXTURES / "snap" / "ratebeer_sample.txt").read_bytes(), {},
                          True),
}


@pytest.fixture(params=sorted(SOURCES))
def source(request, tmp_path):
    fmt = request.param
    name, read, options, line_based = SOURCES[fmt]
    try:
        data = read()
    except (FileNotFoundError, StopIteration):
        pytest.skip(f"the real data for {fmt} is missing under {SHARED}")
    path = tmp_path / name
    path.write_bytes(data)
    original = load_reviews(fmt, path, **options)
    return fmt, path, data, options, line_based, original


def _load(fmt, path, options, line_based, on_error):
    """The loader's result, or None after checking its error names the file (and line)."""
    try:
        return load_reviews(fmt, path, on_error=on_error, **options)
    except DataFormatError as error:
        assert str(path) in str(error)
        if line_based and "empty file" not in str(error):
            assert error.line is not None, str(error)
        return None


def _signature(review):
    # Not the review id: where a format has none it is derived from the line number, which a
    # removed line break shifts for every later review without anything being wrong.
    return (review.user_id, review.item_id, review.rating, review.text, review.title)


def _check_damaged(source, damaged: bytes) -> None:
    fmt, path, _data, options, line_based, original = source
    path.write_bytes(damaged)
    _load(fmt, path, options, line_based, "raise")
    result = _load(fmt, path, options, line_based, "skip")
    if result is None:
        return  # a header or whole-file error: reported, nothing loaded
    known = {_signature(r) for r in original.reviews}
    changed = [r for r in result.reviews if _signature(r) not in known]
    # One damaged byte can alter the one record it falls in (a changed letter of a text is
    # still a valid text), never two.
    assert len(changed) <= 1, changed
    # Every original record is loaded, skipped, or merged into a neighbour by the damage.
    assert len(result.reviews) + len(result.skipped) >= len(original.reviews) - 2


def _check_truncated(source, cut: int) -> None:
    fmt, path, data, options, line_based, original = source
    path.write_bytes(data[:cut])
    result = _load(fmt, path, options, line_based, "skip")
    if result is None:
        return
    known = {_signature(r) for r in original.reviews}
    unknown = [r for r in result.reviews if _signature(r) not in known]
    assert len(unknown) <= 1 and (not unknown or unknown[0] == result.reviews[-1]), unknown
    assert len(result.reviews) <= len(original.reviews)


damage = st.tuples(st.floats(0, 1, exclude_max=True), st.sampled_from(["flip", "quote", "nul"]),
                   st.integers(0, 255))


def _apply(data: bytes, where: float, kind: str, value: int) -> bytes:
    at = int(where * len(data))
    if kind == "flip":
        return data[:at] + bytes([value]) + data[at + 1:]
    return data[:at] + (b'"' if kind == "quote" else b"\x00") + data[at:]


@FAST
@given(damage)
def test_damaged_files_fail_cleanly_or_load_what_they_hold(source, change):
    _check_damaged(source, _apply(source[2], *change))


@FAST
@given(st.floats(0, 1, exclude_max=True))
def test_truncated_files_load_only_original_records(source, where):
    _check_truncated(source, int(where * len(source[2])))


@pytest.mark.slow
@HEAVY
@given(damage)
def test_damaged_files_heavy(source, change):
    _check_damaged(source, _apply(source[2], *change))


@pytest.mark.slow
@HEAVY
@given(st.floats(0, 1, exclude_max=True))
def test_truncated_files_heavy(source, where):
    _check_truncated(source, int(where * len(source[2])))
