"""RateBeer per-user CSV files (the rateBeerLingRel scrape): format `ratebeer`.

Each file holds one user's reviews with a header row. The beer id is the number in
`beer_url` (http://www.ratebeer.com/beer/<slug>/<beer_id>/<user_id>/) and scores are on
RateBeer's own scales: aroma and taste 1-10, appearance and palate 1-5, overall 1-20.
"""

from __future__ import annotations

import re
from pathlib import Path

from elixir_agent.core_model.data.loaders._common import (
    ReviewIds,
    RowErrors,
    RowProblem,
    input_files,
    optional_text,
    parse_score,
    unescape_entities,
)
from elixir_agent.core_model.data.loaders.csv_records import csv_records
from elixir_agent.core_model.data.records import AspectScale, DataFormatError, LoadResult, Review

__all__ = ["RATEBEER_ASPECT_SCALES", "RATEBEER_RATING_SCALE", "load_ratebeer"]

RATEBEER_RATING_SCALE = AspectScale(1, 20)
# Aspect -> (CSV column, published scale); the order is the one every beer format uses.
_ASPECT_COLUMNS = {
    "appearance": ("review_appearance_score", AspectScale(1, 5)),
    "aroma": ("review_aroma_score", AspectScale(1, 10)),
    "palate": ("review_palate_score", AspectScale(1, 5)),
    "taste": ("review_taste_score", AspectScale(1, 10)),
}
RATEBEER_ASPECT_SCALES = {aspect: scale for aspect, (_, scale) in _ASPECT_COLUMNS.items()}
_OVERALL = "review_overall_score"
_REQUIRED = ("user_id", "beer_url", _OVERALL, "review_blob", *(c for c, _ in _ASPECT_COLUMNS.values()))

# RateBeer marks an edited review with "UPDATED: FEB 20, 2011"; 620 of the shared reviews are
# nothing but that stamp. It is page furniture, not the reviewer's words: quoting it as
# evidence or training the text model on it is wrong, so it goes (a review left without text
# is then dropped and counted like any other review without text).
_UPDATED_STAMP = re.compile(r"\bUPDATED:\s*[A-Z]{3}\s+\d{1,2},\s+\d{4}")
_BEER_URL = re.compile(r"/beer/[^/]*/(\d+)(?:/|$)")
# The scrape also kept RateBeer's score line ("AROMA 8/10 ... OVERALL 17/20"): it recovers a
# score whose own column came out empty (one real row lacks review_overall_score).
_BLOB_SCORE = re.compile(r"\b(AROMA|APPEARANCE|TASTE|PALATE|OVERALL) (\d+(?:\.\d+)?)/\d+")
_BLOB_NAMES = {
    "AROMA": "review_aroma_score",
    "APPEARANCE": "review_appearance_score",
    "TASTE": "review_taste_score",
    "PALATE": "review_palate_score",
    "OVERALL": _OVERALL,
}


def load_ratebeer(path: str | Path, *, on_error: str = "raise") -> LoadResult:
    """Load one RateBeer user CSV or a directory of them (e.g. `ratebeer/reviews_store`)."""
    errors = RowErrors(on_error)
    ids = ReviewIds()
    reviews: list[Review] = []
    for file in input_files(path, (".csv",), "ratebeer"):
        _read_file(file, reviews, ids, errors)
    return LoadResult(
        reviews=reviews,
        aspects=list(_ASPECT_COLUMNS),
        rating_scale=RATEBEER_RATING_SCALE,
        aspect_scales=dict(RATEBEER_ASPECT_SCALES),
        skipped=errors.skipped,
    )


def _read_file(file: Path, reviews: list[Review], ids: ReviewIds, errors: RowErrors) -> None:
    records = csv_records(file)
    first = next(records, None)
    if first is None:
        return
    if first.problem is not None:
        raise DataFormatError(str(file), first.line, None, f"header: {first.problem.problem}")
    header = first.fields or []
    col = {name.strip(): i for i, name in enumerate(header)}
    missing = [name for name in _REQUIRED if name not in col]
    if missing:
        raise DataFormatError(
            str(file),
            1,
            missing[0],
            f"column missing from the header (missing: {', '.join(missing)}); "
            f"the file's columns are: {', '.join(header)}",
        )
    for record in records:
        row = record.fields
        if record.problem is not None:
            errors.report(file, record.line, record.problem)
            continue
        if not row or not any(cell.strip() for cell in row):
            continue  # a blank line is not a review
        try:
            if len(row) != len(header):
                raise RowProblem(None, f"has {len(row)} fields, the header has {len(header)}")
            review = _row_to_review(row, col)
            review.review_id = ids.derive(review.review_id, f"{file}:{record.line}")
            reviews.append(review)
        except RowProblem as problem:
            errors.report(file, record.line, problem)


def _row_to_review(row: list[str], col: dict[str, int]) -> Review:
    user_id = row[col["user_id"]].strip()
    if not user_id:
        raise RowProblem("user_id", "empty; every review needs its user")
    url = row[col["beer_url"]].strip()
    match = _BEER_URL.search(url)
    if match is None:
        raise RowProblem("beer_url", f"{url!r} has no beer id (expected .../beer/<name>/<id>/...)")
    beer_id = match.group(1)

    raw = {name: row[col[name]] for name in _BLOB_NAMES.values()}
    if any(not value.strip() for value in raw.values()) and "review_ratings_blob" in col:
        for name, value in _BLOB_SCORE.findall(row[col["review_ratings_blob"]]):
            if not raw[_BLOB_NAMES[name]].strip():
                raw[_BLOB_NAMES[name]] = value

    rating = parse_score(raw[_OVERALL], _OVERALL, RATEBEER_RATING_SCALE)
    aspects = {
        aspect: parse_score(raw[column], column, scale) for aspect, (column, scale) in _ASPECT_COLUMNS.items()
    }
    return Review(
        review_id=f"{user_id}:{beer_id}",
        user_id=user_id,
        item_id=beer_id,
        rating=rating,
        text=_UPDATED_STAMP.sub(" ", unescape_entities(row[col["review_blob"]])).strip(),
        aspects=aspects,
        item_name=_optional_column(row, col, "beer_name"),
        user_name=_optional_column(row, col, "user_name"),
    )


def _optional_column(row: list[str], col: dict[str, int], name: str) -> str | None:
    i = col.get(name)
    return None if i is None else optional_text(unescape_entities(row[i]))
