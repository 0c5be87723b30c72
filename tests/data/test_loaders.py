"""Loaders on the real published files (../shared/data) and on small fixtures we wrote."""

from __future__ import annotations

import gzip
import json
from functools import cache
from pathlib import Path

import pytest

from elixir_agent.core_model.data.loaders import (
    FORMATS,
    ColumnMapping,
    load_mapping_toml,
    load_reviews,
    parse_mapping,
)
from elixir_agent.core_model.data.loaders.lara import parse_lara_date
from elixir_agent.core_model.data.records import DataFormatError, LoadResult

SHARED_DATA = Path(__file__).parents[2].parent / "shared" / "data"
FIXTURES = Path(__file__).parents[1] / "fixtures"
# LARA's aspects in the order both of its forms (the .dat directory and the JSON) must load them.
LARA_ASPECTS = ["value", "rooms", "location", "cleanliness", "check_in_front_desk", "service",
                "business_service", "sleep_quality"]
# RateBeer's published aspect scales (overall is out of 20), whichever file it comes from.
RATEBEER_ASPECT_HIGHS = {"appearance": 5, "aroma": 10, "palate": 5, "taste": 10}
TABULAR_SPEC = (
    "user=reviewer,item=hotel,rating=stars,text=body,review_id=review_key,title=headline,"
    "timestamp=posted,item_name=hotel_name,aspect.cleanliness=clean_score,"
    "aspect.Staff & service=staff_score,scale.rating=1:10,scale.cleanliness=1:10,"
    "scale.staff_service=1:10"
)


@cache
def _load_real(fmt: str, relative: str) -> LoadResult:
    # Cached: the whole RateBeer directory takes a couple of seconds and several tests read it.
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real review data not found at {SHARED_DATA} (expected ../shared/data beside the repo)")
    return load_reviews(fmt, SHARED_DATA / relative)


# format, path under shared/data, reviews, distinct users, distinct items
REAL = [
    pytest.param("ratebeer", "ratebeer/reviews_store", 51958, 4898, 22816, id="ratebeer-dir"),
    pytest.param("ratebeer", "ratebeer/reviews_store/172419.csv", 50, 1, 49, id="ratebeer-one-user"),
    pytest.param("lara-dat", "tripadvisor-lara/hotel_292867.dat", 543, 543, 1, id="lara-2010-form"),
    pytest.param("lara-dat", "tripadvisor-lara/hotel_111823.dat", 603, 597, 1, id="lara-later-form"),
    pytest.param("lara-dat", "tripadvisor-lara/hotel_93466.dat", 892, 888, 1, id="lara-no-header"),
    pytest.param("lara-dat", "tripadvisor-lara/user_80562.dat", 831, 831, 1, id="lara-user-file"),
    pytest.param("lara-dat", "tripadvisor-lara", 2869, 2858, 4, id="lara-dir"),
    pytest.param("beeradvocate", "beeradvocate/beer_50000_head.json", 2469, 1331, 287, id="beeradvocate"),
]


@pytest.mark.parametrize(("fmt", "relative", "n_reviews", "n_users", "n_items"), REAL)
def test_real_files_load_completely(fmt, relative, n_reviews, n_users, n_items):
    result = _load_real(fmt, relative)
    assert result.skipped == []
    assert len(result.reviews) == n_reviews
    assert len({r.user_id for r in result.reviews}) == n_users
    assert len({r.item_id for r in result.reviews}) == n_items
    assert len({r.review_id for r in result.reviews}) == n_reviews


@pytest.mark.parametrize(("fmt", "relative", "n_reviews", "n_users", "n_items"), REAL)
def test_real_values_are_on_the_unit_scale(fmt, relative, n_reviews, n_users, n_items):
    result = _load_real(fmt, relative)
    assert set(result.aspect_scales) == set(result.aspects)
    for review in result.reviews:
        assert list(review.aspects) == result.aspects
        scores = [review.rating, *review.aspects.values()]
        assert all(s is None or 1.0 <= s <= 5.0 for s in scores), review
        assert review.text == review.text.strip()


@pytest.mark.parametrize(
    "name", ["hotel_292867.dat", "hotel_111823.dat", "hotel_93466.dat", "user_80562.dat"]
)
def test_lara_dat_loads_every_content_line(name):
    path = SHARED_DATA / "tripadvisor-lara" / name
    result = _load_real("lara-dat", f"tripadvisor-lara/{name}")
    assert len(result.reviews) == path.read_bytes().count(b"<Content>")


@pytest.mark.parametrize(
    ("name", "hotel_id", "hotel_name"),
    [
        ("hotel_292867.dat", "292867", "Caribe Club Princess"),
        ("hotel_111823.dat", "111823", "Makena Beach & Golf Resort"),
        ("hotel_93466.dat", "93466", None),  # no header: the id comes from the file name
        ("user_80562.dat", "80562", "The Sheraton San Diego Hotel & Marina"),
    ],
)
def test_lara_dat_hotel_id_and_name(name, hotel_id, hotel_name):
    result = _load_real("lara-dat", f"tripadvisor-lara/{name}")
    assert {(r.item_id, r.item_name) for r in result.reviews} == {(hotel_id, hotel_name)}


def test_lara_dat_2010_form_details():
    result = _load_real("lara-dat", "tripadvisor-lara/hotel_292867.dat")
    first = result.reviews[0]
    # <Overall>4 and every aspect -1: rated overall, no aspect rated.
    assert (first.user_id, first.rating, first.timestamp) == ("rachix", 4.0, parse_lara_date("Jan 9, 2009"))
    assert first.aspects == dict.fromkeys(result.aspects)
    second = result.reviews[1]
    assert second.aspects["check_in_front_desk"] == 1.0
    assert second.aspects["business_service"] == 2.0
    assert all(r.title is None and r.timestamp is not None for r in result.reviews)


def test_lara_dat_later_form_details():
    result = _load_real("lara-dat", "tripadvisor-lara/hotel_93466.dat")
    first = result.reviews[0]
    assert first.review_id == "UR126726564"
    assert first.title == "good location, bad hotel"  # curly quotes stripped
    assert first.timestamp == parse_lara_date("March 27, 2012")
    assert first.rating == 2.0
    assert first.aspects["sleep_quality"] == 3.0
    assert first.aspects["check_in_front_desk"] is None  # absent tag: not rated
    # "Business service (e.g., internet access)" is the 2010 form's "Business service".
    assert "business_service" in result.aspects


def test_lara_anonymous_authors_are_not_one_user():
    result = _load_real("lara-dat", "tripadvisor-lara")
    anonymous = [r for r in result.reviews if r.user_name == "A TripAdvisor Member"]
    assert len(anonymous) == 371
    assert len({r.user_id for r in anonymous}) == 371
    assert all(r.user_id == f"anonymous:{r.review_id}" for r in anonymous)
    assert sum(r.user_name == "rob4104" for r in result.reviews) == 3  # a real author keeps one id


def test_lara_dat_directory_has_the_union_of_aspects_in_a_stable_order():
    result = _load_real("lara-dat", "tripadvisor-lara")
    assert result.aspects == LARA_ASPECTS
    old_form = [r for r in result.reviews if r.item_id == "292867"]
    assert all(r.aspects["sleep_quality"] is None for r in old_form)


def test_ratebeer_details():
    result = _load_real("ratebeer", "ratebeer/reviews_store")
    assert result.rating_scale.high == 20
    assert {a: s.high for a, s in result.aspect_scales.items()} == RATEBEER_ASPECT_HIGHS
    by_id = {r.review_id: r for r in result.reviews}
    first = by_id["100022:12228"]  # aroma 10/10, appearance 4/5, taste 8/10, palate 4/5, overall 17/20
    assert (first.item_name, first.user_name) == ("Samuel Adams Utopias", "tippebrewcrew2")
    assert first.aspects["aroma"] == 5.0 and first.aspects["appearance"] == 4.0
    assert first.rating == pytest.approx(1 + 4 * 16 / 19)
    # The one (user, beer) pair published twice keeps both rows under distinct ids.
    assert "172419:165918#2" in by_id
    # An empty overall column is recovered from the score line "... OVERALL 20/20".
    assert by_id["310868:210246"].rating == 5.0
    unrated = [r for r in result.reviews if r.rating is None]
    assert len(unrated) == 57
    assert all(v is None for r in unrated for v in r.aspects.values())
    # An edit stamp alone ("UPDATED: FEB 20, 2011") is no text: such reviews are textless.
    assert not any("UPDATED:" in r.text for r in result.reviews)
    assert sum(not r.text for r in result.reviews) == 140 + 1240
    assert not any("&apos;" in r.text for r in result.reviews)


def test_beeradvocate_details():
    result = _load_real("beeradvocate", "beeradvocate/beer_50000_head.json")
    first = result.reviews[0]
    assert (first.user_id, first.item_id, first.item_name) == ("stcules", "47986", "Sausa Weizen")
    assert first.rating == 1.5
    assert first.aspects == {"appearance": 2.5, "aroma": 2.0, "palate": 1.5, "taste": 1.5}
    assert first.timestamp == 1234817823
    # Some users reviewed a beer twice at different times: the time keeps the ids apart.
    pairs = [(r.user_id, r.item_id) for r in result.reviews]
    assert len(set(pairs)) == len(pairs) - 12


def test_lara_json_fixture():
    result = load_reviews("lara-json", FIXTURES / "lara_json")
    assert [r.review_id for r in result.reviews] == [
        "UR9000001",
        "UR9000002",
        "UR9000003",
        "1002:0",
        "UR9000010",
    ]
    assert result.aspects[:6] == LARA_ASPECTS[:6]
    first, second, third, fourth, _ = result.reviews
    assert (first.item_id, first.item_name, first.title) == (
        "1001",
        "Harbour View Inn",
        "Quiet rooms near the harbour",
    )
    assert first.aspects["sleep_quality"] == 4.0 and first.timestamp == parse_lara_date("March 27, 2012")
    assert second.aspects["business_service"] == 2.0 and second.aspects["value"] is None  # "-1"
    assert (third.rating, third.text, third.timestamp) == (None, "", None)
    assert fourth.item_id == "1002"  # no HotelID: the number in the file name


@pytest.mark.parametrize("name", ["beeradvocate_sample.txt", "beeradvocate_sample.txt.gz"])
def test_snap_beeradvocate_fixture(name):
    result = load_reviews("beeradvocate-snap", FIXTURES / "snap" / name)
    assert result.aspects == ["appearance", "aroma", "palate", "taste"]
    assert result.rating_scale.high == 5
    assert [r.rating for r in result.reviews] == [4.0, 2.5, 4.5, None]
    first = result.reviews[0]
    assert (first.user_id, first.item_id, first.timestamp) == ("maltlover", "501", 1234567890)
    assert first.aspects["aroma"] == 3.5
    assert result.reviews[1].text == "Too thin for me & too sweet."
    assert result.reviews[2].text == ""


def test_snap_ratebeer_fixture_uses_the_fraction_scales():
    result = load_reviews("beeradvocate-snap", FIXTURES / "snap" / "ratebeer_sample.txt")
    assert result.rating_scale.high == 20
    assert {a: s.high for a, s in result.aspect_scales.items()} == RATEBEER_ASPECT_HIGHS
    best = result.reviews[2]
    assert best.rating == 5.0 and set(best.aspects.values()) == {5.0}
    assert result.reviews[0].rating == pytest.approx(1 + 4 * 15 / 19)  # 16/20
    assert result.reviews[2].text == 'Crisp "textbook" pils.'


@pytest.mark.parametrize(
    ("fmt", "name", "mapping"),
    [
        ("csv", "reviews.csv", FIXTURES / "tabular" / "mapping.toml"),
        ("csv", "reviews.csv", TABULAR_SPEC),
        ("jsonl", "reviews.jsonl", str(FIXTURES / "tabular" / "mapping.toml")),
        ("jsonl", "reviews.jsonl", TABULAR_SPEC),
    ],
)
def test_tabular_fixtures(fmt, name, mapping):
    result = load_reviews(fmt, FIXTURES / "tabular" / name, mapping=mapping)
    assert result.skipped == []
    assert result.aspects == ["cleanliness", "staff_service"]
    assert (result.rating_scale.low, result.rating_scale.high) == (1, 10)
    r1, r2, r3, r4 = result.reviews
    assert [r.review_id for r in result.reviews] == ["r1", "r2", "r3", "r4"]
    assert (r1.user_id, r1.item_id, r1.item_name, r1.title) == ("ana", "h1", "Harbour View Inn", "Great stay")
    assert r1.rating == pytest.approx(1 + 4 * 7 / 9)  # 8 on 1-10
    assert r1.timestamp == 1619827200  # 2021-05-01, taken as UTC
    assert r2.text == "Noisy at night,\nand the heating was broken."
    assert r2.aspects["staff_service"] is None
    assert r3.rating == 5.0 and r3.timestamp == 1620000000 and r3.title is None
    assert r4.rating is None and r4.aspects["cleanliness"] is None  # empty / "NA" / absent


def test_csv_without_review_id_derives_stable_ids(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("u,i,s,t\na,x,5,good\n\na,x,4,again\nb,x,,\n")  # the blank line is no review
    result = load_reviews("csv", path, mapping="user=u,item=i,rating=s,text=t")
    assert [r.review_id for r in result.reviews] == ["a:x", "a:x#2", "b:x"]
    assert result.reviews[2].rating is None and result.reviews[2].text == ""


def test_parse_mapping_and_toml_agree():
    from_toml = load_mapping_toml(FIXTURES / "tabular" / "mapping.toml")
    assert from_toml == parse_mapping(TABULAR_SPEC)
    assert from_toml.aspects == {"cleanliness": "clean_score", "staff_service": "staff_score"}
    assert from_toml.aspect_scales == {"cleanliness": (1.0, 10.0), "staff_service": (1.0, 10.0)}
    short = parse_mapping("user=reviewer, item=hotel, rating=stars, text=body, aspect.Value=v")
    assert short == ColumnMapping(
        user="reviewer", item="hotel", rating="stars", text="body", aspects={"value": "v"}
    )
    assert short.aspect_scales == {"value": (1.0, 5.0)}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("user=a,item=b,rating=c", "missing text"),
        ("user=a,item=b,rating=c,text=d,stars=e", "unknown key 'stars'"),
        ("user=a,item=b,rating=c,text=d,scale.rating=10", "needs a range like 1:10"),
        ("user=a,item=b,rating=c,text=d,scale.rating=5:1", "low < high"),
        ("user=a,item=b,rating=c,text=d,scale.rooms=1:10", "unmapped aspect(s) rooms"),
        ("user=a,item=b,rating=c,text", "is not key=value"),
        ("user=a,user=b,item=b,rating=c,text=d", "'user' is given twice"),
    ],
)
def test_parse_mapping_rejects_bad_specs(spec, message):
    with pytest.raises(ValueError, match="column mapping") as info:
        parse_mapping(spec)
    assert message in str(info.value)


def test_load_mapping_toml_rejects_unknown_keys(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text('user = "u"\nitem = "i"\nrating = "r"\ntext = "t"\nstar = "s"\n')
    with pytest.raises(ValueError, match=r"unknown key\(s\) star"):
        load_mapping_toml(path)


@pytest.mark.parametrize(
    ("fmt", "name", "content"),
    [
        ("csv", "r.csv", "reviewer,hotel,score,body\na,h,5,ok\n"),
        ("jsonl", "r.jsonl", '{"reviewer": "a", "hotel": "h", "score": 5, "body": "ok"}\n'),
    ],
)
def test_missing_mapped_column_names_it_and_the_columns_that_exist(tmp_path, fmt, name, content):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(DataFormatError) as info:
        load_reviews(fmt, path, mapping="user=reviewer,item=hotel,rating=stars,text=body")
    message = str(info.value)
    assert str(path) in message and "'stars'" in message
    assert "reviewer, hotel, score, body" in message


# Malformed inputs, each with one bad row (two for some) among good ones.
_RB_HEADER = (
    "user_id,user_name,beer_url,beer_name,review_overall_score,review_aroma_score,"
    "review_appearance_score,review_taste_score,review_palate_score,review_blob\n"
)
_RB_OUT_OF_SCALE = (
    _RB_HEADER + '1,ann,http://www.ratebeer.com/beer/x/10/1/,X,17,8,4,8,4,"fine,\nreally"\n'
    "1,ann,http://www.ratebeer.com/beer/y/11/1/,Y,25,8,4,8,4,too high\n"
)
_RB_BAD_URL = (
    _RB_HEADER + "1,ann,http://www.ratebeer.com/user/1/,X,17,8,4,8,4,no beer id\n"
    "1,ann,http://www.ratebeer.com/beer/y/11/1/,Y,15,8,4,8,4,ok\n"
)
_LARA_REVIEW = "<Author>{a}\n<Content>text\n<Date>Jan 9, 2009\n<Overall>{o}\n<Value>-1\n\n"
_LARA_OUT_OF_SCALE = (
    "<Hotel Name>H\n<URL>/x-g1-d5-Reviews\n\n"
    + _LARA_REVIEW.format(a="ann", o="4")
    + _LARA_REVIEW.format(a="bob", o="7")  # <Overall>7 is line 13
)
_LARA_NO_AUTHOR = _LARA_REVIEW.format(a="ann", o="4") + "<Content>orphan text\n<Overall>3\n\n"
_GOOD_JSON_REVIEW = {"Author": "ann", "ReviewID": "UR1", "Content": "ok", "Ratings": {"Overall": "4.0"}}
_LARA_JSON_BAD = json.dumps(
    {"Reviews": [_GOOD_JSON_REVIEW, {"Author": "bob", "ReviewID": "UR2", "Ratings": {"Overall": "9"}}]}
)
_LARA_JSON_DUP = json.dumps(
    {"Reviews": [_GOOD_JSON_REVIEW, {"Author": "bob", "ReviewID": "UR1", "Ratings": {"Overall": "3"}}]}
)
_BA_GOOD = "{'beer/beerId': '1', 'user/profileName': 'ann', 'review/overall': 4.0}\n"
_BA_NOT_LITERAL = _BA_GOOD + "__import__('os').system('echo pwned')\n['beer/beerId', '2']\n"
_BA_NO_USER = _BA_GOOD + "{'beer/beerId': '2', 'user/profileName': '', 'review/overall': 4.0}\n"
_SNAP_OUT_OF_SCALE = (
    "beer/beerId: 1\nreview/overall: 4\nreview/profileName: ann\nreview/text: ok\n\n"
    "beer/beerId: 2\nreview/aroma: 3\nreview/overall: 7\nreview/profileName: bob\nreview/text: hm\n\n"
)
_SNAP_MIXED_SCALES = (
    "beer/beerId: 1\nreview/overall: 13/20\nreview/profileName: ann\n\n"
    "beer/beerId: 2\nreview/overall: 4/5\nreview/profileName: bob\n\n"
)
_CSV_OUT_OF_SCALE = "u,i,s,t\na,x,5,ok\nb,x,6,too high\nc,x,five,word\n"
_JSONL_NOT_OBJECT = '{"u": "a", "i": "x", "s": 5, "t": "ok"}\n[1, 2]\n'


def _case(case_id: str, fmt: str, name: str, content: str, line: int | None, field: str | None):
    """One malformed file: the first bad row is at `line` (None: JSON has no line numbers)."""
    return pytest.param(fmt, name, content, line, field, id=case_id)


MALFORMED = [
    _case("ratebeer-out-of-scale", "ratebeer", "1.csv", _RB_OUT_OF_SCALE, 4, "review_overall_score"),
    _case("ratebeer-bad-url", "ratebeer", "1.csv", _RB_BAD_URL, 2, "beer_url"),
    _case("lara-dat-out-of-scale", "lara-dat", "hotel_5.dat", _LARA_OUT_OF_SCALE, 13, "Overall"),
    _case("lara-dat-no-author", "lara-dat", "hotel_5.dat", _LARA_NO_AUTHOR, 7, "Author"),
    _case("lara-json-bad-overall", "lara-json", "5.json", _LARA_JSON_BAD, None, "Reviews[1].Ratings.Overall"),
    _case("lara-json-duplicate-id", "lara-json", "5.json", _LARA_JSON_DUP, None, "Reviews[1].ReviewID"),
    _case("beeradvocate-not-a-literal", "beeradvocate", "ba.json", _BA_NOT_LITERAL, 2, None),
    _case("beeradvocate-no-user", "beeradvocate", "ba.json", _BA_NO_USER, 2, "user/profileName"),
    _case("snap-out-of-scale", "beeradvocate-snap", "ba.txt", _SNAP_OUT_OF_SCALE, 8, "review/overall"),
    _case("snap-mixed-scales", "beeradvocate-snap", "rb.txt", _SNAP_MIXED_SCALES, 6, "review/overall"),
    _case("csv-out-of-scale", "csv", "r.csv", _CSV_OUT_OF_SCALE, 3, "s"),
    _case("jsonl-not-an-object", "jsonl", "r.jsonl", _JSONL_NOT_OBJECT, 2, None),
]


def _write(path: Path, content: str) -> Path:
    path.write_text(content, encoding="utf-8")
    return path


def _options(fmt: str) -> dict:
    return {"mapping": "user=u,item=i,rating=s,text=t"} if fmt in ("csv", "jsonl") else {}


@pytest.mark.parametrize(("fmt", "name", "content", "line", "field"), MALFORMED)
def test_malformed_row_raises_naming_file_line_and_field(tmp_path, fmt, name, content, line, field):
    path = _write(tmp_path / name, content)
    with pytest.raises(DataFormatError) as info:
        load_reviews(fmt, path, **_options(fmt))
    error = info.value
    assert (error.path, error.line, error.field_name) == (str(path), line, field)
    where = f"{path}:{line}:" if line is not None else f"{path}:"
    assert str(error).startswith(where)
    assert "--on-error skip" in str(error)


@pytest.mark.parametrize(("fmt", "name", "content", "line", "field"), MALFORMED)
def test_malformed_row_is_skipped_with_a_reason(tmp_path, fmt, name, content, line, field):
    path = _write(tmp_path / name, content)
    result = load_reviews(fmt, path, on_error="skip", **_options(fmt))
    assert len(result.reviews) == 1  # the good row around it still loads
    assert result.skipped, "a skipped row must be reported"
    where = f"{path}:{line}:" if line is not None else f"{path}:"
    assert result.skipped[0].startswith(where + (f" field '{field}':" if field else ""))
    assert "--on-error" not in result.skipped[0]


def test_skip_reports_every_bad_row(tmp_path):
    path = _write(tmp_path / "r.csv", "u,i,s,t\na,x,5,ok\nb,x,6,too high\nc,x,five,word\n,x,3,no user\n")
    result = load_reviews("csv", path, on_error="skip", mapping="user=u,item=i,rating=s,text=t")
    assert [r.user_id for r in result.reviews] == ["a"]
    assert [reason.split(":")[1] for reason in result.skipped] == ["3", "4", "5"]
    assert "'five' is not a number" in result.skipped[1]


def test_gzip_is_detected_by_content(tmp_path):
    plain = (FIXTURES / "snap" / "beeradvocate_sample.txt").read_bytes()
    path = tmp_path / "beeradvocate.txt"  # compressed, but without the .gz suffix
    path.write_bytes(gzip.compress(plain))
    assert len(load_reviews("beeradvocate-snap", path).reviews) == 4


def test_load_reviews_rejects_unknown_formats_and_options(tmp_path):
    with pytest.raises(ValueError, match="unknown data format 'yelp'") as info:
        load_reviews("yelp", tmp_path)
    for name in FORMATS:
        assert name in str(info.value)
    with pytest.raises(ValueError, match="does not take mapping"):
        load_reviews("lara-json", FIXTURES / "lara_json", mapping="user=a,item=b,rating=c,text=d")
    # None means "not given", so a CLI may always pass mapping=args.mapping.
    assert len(load_reviews("lara-json", FIXTURES / "lara_json", mapping=None).reviews) == 5
    with pytest.raises(ValueError, match="needs a column mapping"):
        load_reviews("csv", FIXTURES / "tabular" / "reviews.csv")
    with pytest.raises(ValueError, match="on_error must be one of"):
        load_reviews("lara-json", FIXTURES / "lara_json", on_error="ignore")


def test_registry_names():
    assert set(FORMATS) == {
        "ratebeer",
        "lara-dat",
        "lara-json",
        "beeradvocate",
        "beeradvocate-snap",
        "csv",
        "jsonl",
        "parquet",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Jan 9, 2009", 1231459200),
        ("March 27, 2012 ", 1332806400),
        ("Sept. 1, 2010", 1283299200),
        ("Feb 30, 2010", None),
        ("last summer", None),
        (None, None),
    ],
)
def test_parse_lara_date(text, expected):
    assert parse_lara_date(text) == expected
