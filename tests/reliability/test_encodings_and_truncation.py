"""Invalid UTF-8 and truncated records in every format: an error at the exact file, line and
byte offset; `--on-error skip` skips exactly that record and goes on; no Latin-1 guessing.

The drills of the issue, each on a file built here (from real files where they exist):
before, CSV reported line 1 (or 990) for a bad byte on line 12 (or 1002) and with skip
dropped the rest of the file; JSONL said line 1 for line 61 and could not skip; RateBeer died
with a UnicodeDecodeError even with skip; LARA .dat re-read the file as Latin-1 and garbled
its titles; a CSV cut off inside a quote loaded the cut text as a review; after a 10 MB
field, skip dropped every following row but reported one.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from elixir_agent.core_model.data.loaders import load_reviews
from elixir_agent.core_model.data.records import DataFormatError

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
CSV_MAPPING = "user=user,item=item,rating=stars,text=text"
BAD = b"\xff\xfe"


def _csv(path: Path, rows: int, bad_line: int | None = None) -> Path:
    lines = [b"user,item,stars,text\n"]
    for n in range(1, rows + 1):
        text = b'"caf\xc3\xa9 review %d, with a comma"' % n
        lines.append(b"u%d,i%d,%d,%s\n" % (n % 7, n % 5, 1 + n % 5, text))
    if bad_line is not None:
        lines[bad_line - 1] = lines[bad_line - 1].replace(b"review", b"rev" + BAD + b"iew")
    path.write_bytes(b"".join(lines))
    return path


def _offset(path: Path, line: int) -> int:
    data = path.read_bytes()
    start = sum(len(chunk) + 1 for chunk in data.split(b"\n")[: line - 1])
    return start + data.split(b"\n")[line - 1].index(BAD)


def test_csv_bad_byte_is_reported_at_its_line_and_offset(tmp_path):
    path = _csv(tmp_path / "r.csv", 20, bad_line=12)
    with pytest.raises(DataFormatError) as caught:
        load_reviews("csv", path, mapping=CSV_MAPPING)
    assert caught.value.line == 12
    assert f"byte offset {_offset(path, 12)}" in str(caught.value) and str(path) in str(caught.value)


def test_csv_skip_drops_exactly_the_bad_row(tmp_path):
    path = _csv(tmp_path / "r.csv", 2000, bad_line=1002)
    result = load_reviews("csv", path, mapping=CSV_MAPPING, on_error="skip")
    assert len(result.reviews) == 1999 and len(result.skipped) == 1
    assert ":1002" in result.skipped[0] and "not valid UTF-8" in result.skipped[0]
    assert result.reviews[-1].text == "café review 2000, with a comma"


def test_jsonl_bad_byte_at_line_61_and_skip(tmp_path):
    rows = [json.dumps({"user": f"u{n}", "item": "i1", "stars": 4, "text": f"ok {n}"}).encode()
            for n in range(100)]
    rows[60] = rows[60].replace(b"ok", b"o" + BAD + b"k")
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"\n".join(rows) + b"\n")
    with pytest.raises(DataFormatError) as caught:
        load_reviews("jsonl", path, mapping=CSV_MAPPING)
    assert caught.value.line == 61 and "byte offset" in str(caught.value)
    result = load_reviews("jsonl", path, mapping=CSV_MAPPING, on_error="skip")
    assert len(result.reviews) == 99 and len(result.skipped) == 1 and ":61" in result.skipped[0]


@pytest.fixture
def ratebeer_file(tmp_path):
    source = DATA / "ratebeer" / "reviews_store" / "1003.csv"
    if not source.exists():
        pytest.skip(f"{source} is missing (the real RateBeer data, see ../shared/data/README.md)")
    files = sorted((DATA / "ratebeer" / "reviews_store").glob("*.csv"))
    big = next(f for f in files if len(f.read_bytes().splitlines()) > 20)
    copy = tmp_path / big.name
    shutil.copy(big, copy)
    return copy


def test_ratebeer_bad_byte_is_one_skipped_row(ratebeer_file):
    clean = load_reviews("ratebeer", ratebeer_file)
    data = bytearray(ratebeer_file.read_bytes())
    third_row = data.index(b"\n", data.index(b"\n", data.index(b"\n") + 1) + 1) + 1
    data[third_row + 1] = 0xFF
    ratebeer_file.write_bytes(bytes(data))
    with pytest.raises(DataFormatError, match="not valid UTF-8 at byte offset"):
        load_reviews("ratebeer", ratebeer_file)
    result = load_reviews("ratebeer", ratebeer_file, on_error="skip")
    assert len(result.skipped) == 1
    assert len(result.reviews) == len(clean.reviews) - 1


def test_lara_dat_bad_byte_spoils_only_its_review(tmp_path):
    source = DATA / "tripadvisor-lara" / "hotel_292867.dat"
    if not source.exists():
        pytest.skip(f"{source} is missing (the real LARA data)")
    clean = load_reviews("lara-dat", source)
    lines = source.read_bytes().split(b"\n")
    target = next(n for n, line in enumerate(lines) if line.startswith(b"<Content>") and n > 40)
    lines[target] = lines[target][:12] + BAD + lines[target][12:]
    path = tmp_path / source.name
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(DataFormatError) as caught:
        load_reviews("lara-dat", path)
    assert caught.value.line == target + 1 and "byte offset" in str(caught.value)
    result = load_reviews("lara-dat", path, on_error="skip")
    assert len(result.skipped) == 1 and len(result.reviews) == len(clean.reviews) - 1
    kept = {r.review_id: r for r in result.reviews}
    assert all(kept[r.review_id] == r for r in clean.reviews if r.review_id in kept)  # no garbling


def test_lara_json_bad_byte_names_line_and_offset(tmp_path):
    source = Path(__file__).resolve().parents[1] / "fixtures" / "lara_json" / "1001.json"
    data = source.read_bytes()
    at = data.index(b'"Content"') + 12
    path = tmp_path / "1001.json"
    path.write_bytes(data[:at] + BAD + data[at:])
    with pytest.raises(DataFormatError) as caught:
        load_reviews("lara-json", path)
    assert caught.value.line == data.count(b"\n", 0, at) + 1 and f"byte offset {at}" in str(caught.value)


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_snap_bad_byte_spoils_only_its_block(tmp_path, compress):
    source = Path(__file__).resolve().parents[1] / "fixtures" / "snap" / "ratebeer_sample.txt"
    clean = load_reviews("beeradvocate-snap", source)
    data = source.read_bytes().replace(b"a touch of smoke", b"a touch " + BAD + b"of smoke", 1)
    path = tmp_path / "snap.txt"
    path.write_bytes(gzip.compress(data) if compress else data)
    line = data[: data.index(BAD)].count(b"\n") + 1
    with pytest.raises(DataFormatError) as caught:
        load_reviews("beeradvocate-snap", path)
    assert caught.value.line == line
    result = load_reviews("beeradvocate-snap", path, on_error="skip")
    assert len(result.skipped) == 1 and len(result.reviews) == len(clean.reviews) - 1


def test_beeradvocate_dict_lines_bad_byte(tmp_path):
    source = DATA / "beeradvocate" / "beer_50000_head.json"
    if not source.exists():
        pytest.skip(f"{source} is missing (the real BeerAdvocate data)")
    lines = source.read_bytes().split(b"\n")[:30]
    lines[9] = lines[9].replace(b"'review/text': '", b"'review/text': '" + BAD, 1)
    path = tmp_path / "ba.json"
    path.write_bytes(b"\n".join(lines) + b"\n")
    result = load_reviews("beeradvocate", path, on_error="skip")
    assert len(result.skipped) == 1 and ":10" in result.skipped[0]
    assert len(result.reviews) == 29


def test_csv_cut_off_inside_a_quote_is_an_error_not_a_review(tmp_path):
    path = _csv(tmp_path / "r.csv", 5)
    path.write_bytes(path.read_bytes() + b'u1,i1,4,"this review is cut off mid')
    with pytest.raises(DataFormatError) as caught:
        load_reviews("csv", path, mapping=CSV_MAPPING)
    assert caught.value.line == 7 and "never closes" in str(caught.value)
    result = load_reviews("csv", path, mapping=CSV_MAPPING, on_error="skip")
    assert len(result.reviews) == 5 and len(result.skipped) == 1
    assert not any("cut off" in r.text for r in result.reviews)


def test_csv_oversized_field_is_skipped_and_reading_goes_on(tmp_path):
    path = _csv(tmp_path / "r.csv", 30)
    lines = path.read_bytes().split(b"\n")
    lines[10] = b'u9,i9,3,"' + b"x" * (2 << 20) + b' still going"'
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(DataFormatError) as caught:
        load_reviews("csv", path, mapping=CSV_MAPPING)
    assert caught.value.line == 11 and "longer than" in str(caught.value)
    result = load_reviews("csv", path, mapping=CSV_MAPPING, on_error="skip")
    assert len(result.reviews) == 29 and len(result.skipped) == 1


def test_csv_unclosed_quote_mid_file_does_not_swallow_the_rest(tmp_path):
    path = _csv(tmp_path / "r.csv", 8)
    lines = path.read_bytes().split(b"\n")
    lines[3] = b'u3,i3,2,"an opening quote and nothing else'
    path.write_bytes(b"\n".join(lines))
    result = load_reviews("csv", path, mapping=CSV_MAPPING, on_error="skip")
    assert len(result.skipped) == 1 and ":4" in result.skipped[0]
    assert len(result.reviews) == 7
