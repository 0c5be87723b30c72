"""A "not rated" value in mappings: airline-style 0 = "not applicable" becomes missing."""

from __future__ import annotations

import pytest

from elixir_agent.core_model.data.loaders import load_reviews, parse_mapping
from elixir_agent.core_model.data.records import DataFormatError

AIRLINE = (
    "author,airline,overall,seat_comfort,wifi,content\n"
    "a1,KLM,8,4,0,Fine flight\n"
    "a2,KLM,3,0,2,Cramped\n"
    "a3,BA,0,5,5,No overall given\n"
)
BASE = "user=author,item=airline,rating=overall,text=content,scale.rating=1:10"


def _load(tmp_path, mapping, on_error="raise"):
    path = tmp_path / "airline.csv"
    path.write_text(AIRLINE)
    return load_reviews("csv", path, mapping=mapping, on_error=on_error)


def test_without_a_missing_value_zero_is_an_error_that_says_how_to_fix_it(tmp_path):
    mapping = BASE + ",aspect.seat_comfort=seat_comfort,aspect.wifi=wifi"
    with pytest.raises(DataFormatError, match=r"airline\.csv:2: field 'wifi': 0 is outside .*missing"):
        _load(tmp_path, mapping)
    assert len(_load(tmp_path, mapping, on_error="skip").reviews) == 0  # every row lost


def test_global_missing_makes_zero_not_rated(tmp_path):
    result = _load(tmp_path, BASE + ",aspect.seat_comfort=seat_comfort,aspect.wifi=wifi,missing=0")
    first, second, third = result.reviews
    assert first.aspects == {"seat_comfort": 4.0, "wifi": None}
    assert second.aspects["seat_comfort"] is None and second.aspects["wifi"] == 2.0
    assert third.rating is None  # no overall: prepare decides what to do with it


def test_per_aspect_missing_leaves_other_columns_strict(tmp_path):
    mapping = BASE + ",aspect.seat_comfort=seat_comfort,aspect.wifi=wifi,missing.wifi=0,missing.seat_comfort=0"
    with pytest.raises(DataFormatError, match=r":4: field 'overall': 0 is outside"):
        _load(tmp_path, mapping)
    result = _load(tmp_path, mapping, on_error="skip")
    assert [r.aspects["wifi"] for r in result.reviews] == [None, 2.0]


def test_missing_for_an_unmapped_aspect_or_not_a_number_is_refused():
    with pytest.raises(ValueError, match="unmapped aspect"):
        parse_mapping(BASE + ",missing.legroom=0")
    with pytest.raises(ValueError, match="must be a number"):
        parse_mapping(BASE + ",missing=n/a")
