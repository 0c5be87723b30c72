"""TripAdvisor hotel reviews in Hongning Wang's LARA data: formats `lara-dat` and `lara-json`.

`lara-dat` is the tag-per-line form (`<Author>name`), in two real variants: the 2010 one
(UTF-8 BOM, CRLF, -1 for "not rated", a stray `<img ...>` line) and the later one with
`<Review ID>` and `<Title>`, where an unrated aspect is simply absent. Hotel header lines
(`<Hotel Name>`, `<URL>`, ...) precede the reviews. `lara-json` is the full download, one
`<hotel_id>.json` per hotel. Both identify users by author name only; an anonymous
author ("A TripAdvisor Member") gets a user id of its own per review.
"""

from __future__ import annotations

import calendar
import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from elixir_agent.core_model.data.loaders._common import (
    ReviewIds,
    RowErrors,
    RowProblem,
    decoded_lines,
    id_text,
    input_files,
    optional_text,
    parse_score,
)
from elixir_agent.core_model.data.records import AspectScale, LoadResult, Review, aspect_slug

__all__ = ["LARA_SCALE", "load_lara_dat", "load_lara_json", "parse_lara_date"]

LARA_SCALE = AspectScale(1, 5)
# Known aspects in LARA's own order; any other aspect tag follows them in first-seen order.
_KNOWN_ASPECTS = (
    "value",
    "rooms",
    "location",
    "cleanliness",
    "check_in_front_desk",
    "service",
    "business_service",
    "sleep_quality",
)
# The later form spells one aspect out in full; it is the same aspect as the 2010 form's.
_ASPECT_ALIASES = {"business_service_e_g_internet_access": "business_service"}
_HOTEL_TAGS = {"Hotel Name", "Hotel Address", "Overall Rating", "Avg. Price", "URL", "Image URL"}
# Review tags that are not ratings; every other tag inside a review is a rating.
_TEXT_TAGS = {
    "Review ID": "review_id",
    "Author": "author",
    "Title": "title",
    "Content": "content",
    "Date": "date",
    "Author Location": None,
    "No. Reader": None,
    "No. Helpful": None,
}
_TAG_LINE = re.compile(r"^<([^<>]+)>(.*)$")
_HTML_LINE = re.compile(r"^<(?:img|a|br|div|span|p)\b", re.IGNORECASE)
_HOTEL_IN_URL = re.compile(r"-d(\d+)-")
_DIGITS = re.compile(r"\d+")
_DATE = re.compile(r"^([A-Za-z]+)\.?\s+(\d{1,2}),?\s+(\d{4})$")
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
# Author names that stand for "unknown": TripAdvisor's label for anonymous reviewers and a
# scrape fragment ("lass=" from class=). As a user id they would merge hundreds of strangers
# into one user, so each such review gets a user of its own.
_ANONYMOUS_AUTHORS = {"A TripAdvisor Member", "lass="}
_QUOTES = '\u201c\u201d"'


def parse_lara_date(text: str | None) -> int | None:
    """'Jan 9, 2009' or 'March 27, 2012' -> unix seconds at midnight UTC; None otherwise."""
    match = _DATE.match((text or "").strip())
    if match is None:
        return None
    month = _MONTHS.get(match.group(1)[:3].lower())
    if month is None:
        return None
    try:
        day = date(int(match.group(3)), month, int(match.group(2)))
    except ValueError:
        return None
    return calendar.timegm(day.timetuple())


def load_lara_dat(path: str | Path, *, on_error: str = "raise") -> LoadResult:
    """Load a LARA `.dat` file (either variant) or a directory of them."""
    collector = _Collector(on_error)
    for file in input_files(path, (".dat",), "lara-dat"):
        _read_dat(file, collector)
    return collector.result()


def load_lara_json(path: str | Path, *, on_error: str = "raise") -> LoadResult:
    """Load one LARA `<hotel_id>.json` file or a directory of them."""
    collector = _Collector(on_error)
    for file in input_files(path, (".json",), "lara-json"):
        _read_json(file, collector)
    return collector.result()


@dataclass
class _RawReview:
    """One review as read from either form, before validation."""

    start_line: int | None
    fallback_id: str
    review_id: str | None = None
    author: str = ""
    title: str | None = None
    content: str = ""
    date: str | None = None
    ratings: dict[str, Any] = field(default_factory=dict)  # source rating name -> raw value
    problem: RowProblem | None = None  # a line of it was not valid UTF-8
    # Where each value came from, for error messages: key -> (field label, line).
    where: dict[str, tuple[str, int | None]] = field(default_factory=dict)

    def locate(self, key: str, label: str) -> tuple[str, int | None]:
        return self.where.get(key, (label, self.start_line))


class _Collector:
    """Validates raw reviews into `Review`s and gathers the union of aspects."""

    def __init__(self, on_error: str):
        self.errors = RowErrors(on_error)
        self.ids = ReviewIds()
        self.reviews: list[Review] = []
        self.aspects_seen: dict[str, None] = {}  # insertion-ordered set

    def add(self, file: Path, raw: _RawReview, hotel_id: str, hotel_name: str | None) -> None:
        if raw.problem is not None:
            self.errors.report(file, raw.start_line, raw.problem)
            return
        try:
            self.reviews.append(self._build(file, raw, hotel_id, hotel_name))
        except RowProblem as problem:
            self.errors.report(file, raw.start_line, problem)

    def result(self) -> LoadResult:
        known = [a for a in _KNOWN_ASPECTS if a in self.aspects_seen]
        aspects = known + [a for a in self.aspects_seen if a not in _KNOWN_ASPECTS]
        for review in self.reviews:
            review.aspects = {a: review.aspects.get(a) for a in aspects}
        return LoadResult(
            reviews=self.reviews,
            aspects=aspects,
            rating_scale=LARA_SCALE,
            aspect_scales={a: LARA_SCALE for a in aspects},
            skipped=self.errors.skipped,
        )

    def _build(self, file: Path, raw: _RawReview, hotel_id: str, hotel_name: str | None) -> Review:
        author = raw.author.strip()
        if not author:
            label, line = raw.locate("author", "Author")
            raise RowProblem(label, "missing or empty; the LARA data identifies users by author name", line)
        rating: float | None = None
        aspects: dict[str, float | None] = {}
        for name, value in raw.ratings.items():
            label, line = raw.locate(f"rating:{name}", name)
            try:
                slug = aspect_slug(name)
            except ValueError:
                raise RowProblem(label, "rating name has no letters or digits", line) from None
            slug = _ASPECT_ALIASES.get(slug, slug)
            try:
                score = parse_score(value, label, LARA_SCALE, not_rated=-1)
            except RowProblem as problem:
                problem.line = line
                raise
            if slug == "overall":
                rating = score
            elif slug in aspects:
                raise RowProblem(label, f"rates aspect {slug!r} a second time", line)
            else:
                aspects[slug] = score
        self.aspects_seen.update(dict.fromkeys(aspects))

        # Ids last, so that a row rejected above does not hold on to its id.
        here = f"{file}:{raw.start_line}" if raw.start_line is not None else str(file)
        if raw.review_id:
            label, line = raw.locate("review_id", "Review ID")
            review_id = self.ids.claim(raw.review_id, here, label, line)
        else:
            review_id = self.ids.derive(raw.fallback_id, here)
        title = optional_text(raw.title)
        user_id = f"anonymous:{review_id}" if author in _ANONYMOUS_AUTHORS else author
        return Review(
            review_id=review_id,
            user_id=user_id,
            item_id=hotel_id,
            rating=rating,
            text=raw.content.strip(),
            aspects=aspects,
            title=optional_text(title.strip(_QUOTES)) if title else None,
            timestamp=parse_lara_date(raw.date),
            item_name=hotel_name,
            user_name=author,
        )


def _hotel_id(url: str | None, file: Path) -> str:
    """The `-dNNN-` of the TripAdvisor URL, else the number in the file name, else its stem."""
    match = _HOTEL_IN_URL.search(url or "")
    if match:
        return match.group(1)
    numbers = _DIGITS.findall(file.stem)
    return numbers[-1] if numbers else file.stem


def _decode_json(file: Path, data: bytes) -> str:
    """The whole file as UTF-8; a bad byte is an error at its line and byte offset."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise RowProblem(None, f"not valid UTF-8 at byte offset {exc.start} (byte "
                               f"0x{data[exc.start]:02x}: {exc.reason}); re-encode the file "
                               "as UTF-8", line) from None


def _read_dat(file: Path, collector: _Collector) -> None:
    hotel: dict[str, str] = {}
    current: _RawReview | None = None
    last_key: str | None = None

    def flush() -> None:
        nonlocal current
        if current is not None:
            hotel_name = optional_text(hotel.get("Hotel Name"))
            collector.add(file, current, _hotel_id(hotel.get("URL"), file), hotel_name)
        current = None

    # Binary lines split on b"\\n" only: review text may hold \x0c, \x85 or \u2028, which
    # str.splitlines() would treat as line ends. Line ends are CRLF, with stray LF-only lines.
    undecodable: RowProblem | None = None

    def attach() -> None:
        """A line that was not UTF-8 spoils the review it became part of (or is reported)."""
        if undecodable is None:
            return
        if current is not None:
            current.problem = current.problem or undecodable
        else:
            collector.errors.report(file, undecodable.line, undecodable)

    for lineno, line, problem in decoded_lines(file):
        attach()
        undecodable = problem
        line = line.rstrip("\r\n")
        if not line.strip():
            flush()
            last_key = None
            continue
        if _HTML_LINE.match(line):
            continue  # leftover markup from the scrape, e.g. <img src=".../new.gif"/>
        match = _TAG_LINE.match(line)
        if match is None:
            if current is not None and last_key in ("content", "title"):
                setattr(current, last_key, f"{getattr(current, last_key)} {line.strip()}")
                continue
            collector.errors.report(
                file, lineno, RowProblem(None, f"line is not a <Tag>value line: {line[:60]!r}")
            )
            continue
        tag, value = match.group(1).strip(), match.group(2)
        if tag in _HOTEL_TAGS:
            flush()
            if tag == "Hotel Name" or tag in hotel:
                hotel = {}  # a new hotel section starts
            hotel[tag] = value.strip()
            continue
        key = _TEXT_TAGS.get(tag, f"rating:{tag}")  # None: a tag we read past
        seen_key = key or tag
        if current is not None and (tag == "Review ID" or seen_key in current.where):
            flush()
        if current is None:
            hotel_id = _hotel_id(hotel.get("URL"), file)
            current = _RawReview(start_line=lineno, fallback_id=f"{hotel_id}:{lineno}")
        current.where[seen_key] = (tag, lineno)
        last_key = key
        if key is None:
            continue
        if key.startswith("rating:"):
            current.ratings[tag] = value
        else:
            setattr(current, key, value)
    attach()
    flush()


def _read_json(file: Path, collector: _Collector) -> None:
    try:
        doc = json.loads(_decode_json(file, file.read_bytes()))
    except RowProblem as problem:
        collector.errors.report(file, problem.line, problem)
        return
    except json.JSONDecodeError as exc:
        collector.errors.report(file, exc.lineno, RowProblem(None, f"not valid JSON ({exc.msg})"))
        return
    if not isinstance(doc, dict) or not isinstance(doc.get("Reviews"), list):
        collector.errors.report(file, None, RowProblem("Reviews", 'expected an object with a "Reviews" list'))
        return
    info = doc.get("HotelInfo") if isinstance(doc.get("HotelInfo"), dict) else {}
    hotel_id = id_text(info.get("HotelID")) or _hotel_id(optional_text(info.get("HotelURL")), file)
    hotel_name = optional_text(info.get("Name"))
    for i, item in enumerate(doc["Reviews"]):
        prefix = f"Reviews[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("Ratings", {}), dict):
            what = "review" if not isinstance(item, dict) else "Ratings"
            collector.errors.report(file, None, RowProblem(prefix, f"{what} is not a JSON object"))
            continue
        ratings = item.get("Ratings") or {}
        raw = _RawReview(
            start_line=None,
            fallback_id=f"{hotel_id}:{i}",
            review_id=id_text(item.get("ReviewID")) or None,
            author=id_text(item.get("Author")),
            title=optional_text(item.get("Title")),
            content=str(item.get("Content") or ""),
            date=optional_text(item.get("Date")),
            ratings=dict(ratings),
        )
        raw.where = {"review_id": (f"{prefix}.ReviewID", None), "author": (f"{prefix}.Author", None)}
        raw.where.update({f"rating:{k}": (f"{prefix}.Ratings.{k}", None) for k in ratings})
        collector.add(file, raw, hotel_id, hotel_name)
