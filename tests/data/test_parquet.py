"""Parquet input for the generic loader: `--format parquet`, or csv/jsonl given a .parquet file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from elixir_agent.core_model.data.loaders import load_reviews
from elixir_agent.core_model.data.records import DataFormatError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tabular"


def test_parquet_loads_the_same_reviews_as_the_csv(tmp_path):
    mapping = FIXTURES / "mapping.toml"
    from_csv = load_reviews("csv", FIXTURES / "reviews.csv", mapping=mapping, on_error="skip")
    frame = pd.read_csv(FIXTURES / "reviews.csv", dtype=str, keep_default_na=False)
    frame.to_parquet(tmp_path / "reviews.parquet")
    from_parquet = load_reviews("parquet", tmp_path / "reviews.parquet", mapping=mapping,
                                on_error="skip")
    assert [r.review_id for r in from_parquet.reviews] == [r.review_id for r in from_csv.reviews]
    assert [r.aspects for r in from_parquet.reviews] == [r.aspects for r in from_csv.reviews]
    by_extension = load_reviews("csv", tmp_path / "reviews.parquet", mapping=mapping, on_error="skip")
    assert len(by_extension.reviews) == len(from_csv.reviews)


def test_a_broken_parquet_file_is_a_data_error(tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"PAR1 not really")
    with pytest.raises(DataFormatError, match="not a readable Parquet"):
        load_reviews("parquet", path, mapping="user=a,item=b,rating=c,text=d")
