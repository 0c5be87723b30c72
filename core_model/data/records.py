"""The canonical review record and the description of a dataset.

Every loader produces `Review` objects and every later stage (prepare, training, retrieval,
tools) reads them back from a prepared dataset directory, so this module is the one place
where the shape of the data is defined.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from elixir_agent.errors import UserError

RATING_MIN = 1.0
RATING_MAX = 5.0


@dataclass(frozen=True)
class AspectScale:
    """The range an aspect (or the overall rating) was published on, before normalisation."""

    low: float
    high: float

    def to_unit(self, value: float) -> float:
        """Map `value` linearly from [low, high] onto the common 1-5 scale."""
        if self.high == self.low:
            raise ValueError(f"degenerate scale [{self.low}, {self.high}]")
        return RATING_MIN + (RATING_MAX - RATING_MIN) * (value - self.low) / (self.high - self.low)

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


@dataclass
class Review:
    """One review in the canonical shape shared by every stage.

    `rating` and every value of `aspects` are on the common 1-5 scale once a loader has
    normalised them; an aspect the reviewer did not rate is `None`, never a sentinel like -1.
    """

    review_id: str
    user_id: str
    item_id: str
    rating: float | None
    text: str
    aspects: dict[str, float | None] = field(default_factory=dict)
    title: str | None = None
    timestamp: int | None = None  # seconds since the epoch, when the source has one
    item_name: str | None = None
    user_name: str | None = None


@dataclass
class DatasetInfo:
    """What `dataset.json` records about a prepared dataset."""

    name: str
    source_format: str
    aspects: list[str]
    # Original scale of the overall rating and of each aspect, so that explanations can
    # translate a normalised 1-5 score back into the units the reviewers used.
    rating_scale: AspectScale
    aspect_scales: dict[str, AspectScale]
    synthetic: bool = False
    seed: int = 42
    kcore: int = 5
    max_words: int = 128
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    counts: dict[str, int] = field(default_factory=dict)
    checksums: dict[str, str] = field(default_factory=dict)
    source_path: str = ""
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source_format": self.source_format,
            "source_path": self.source_path,
            "synthetic": self.synthetic,
            "aspects": list(self.aspects),
            "rating_scale": [self.rating_scale.low, self.rating_scale.high],
            "aspect_scales": {a: [s.low, s.high] for a, s in self.aspect_scales.items()},
            "seed": self.seed,
            "kcore": self.kcore,
            "max_words": self.max_words,
            "split_fractions": list(self.split_fractions),
            "counts": dict(self.counts),
            "checksums": dict(self.checksums),
            "notes": list(self.notes),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DatasetInfo:
        return cls(
            name=data["name"],
            source_format=data["source_format"],
            source_path=data.get("source_path", ""),
            synthetic=bool(data.get("synthetic", False)),
            aspects=list(data["aspects"]),
            rating_scale=AspectScale(*data["rating_scale"]),
            aspect_scales={a: AspectScale(*s) for a, s in data["aspect_scales"].items()},
            seed=int(data.get("seed", 42)),
            kcore=int(data.get("kcore", 5)),
            max_words=int(data.get("max_words", 128)),
            split_fractions=tuple(data.get("split_fractions", (0.8, 0.1, 0.1))),
            counts=dict(data.get("counts", {})),
            checksums=dict(data.get("checksums", {})),
            notes=list(data.get("notes", [])),
        )


@dataclass
class LoadResult:
    """What a loader returns: the reviews, the dataset's aspects and scales, and skipped rows."""

    reviews: list[Review]
    aspects: list[str]
    rating_scale: AspectScale
    aspect_scales: dict[str, AspectScale]
    # One human-readable reason per skipped row ("file:line: field 'x': why"), only filled
    # when the loader runs with on_error="skip".
    skipped: list[str] = field(default_factory=list)


class DataFormatError(UserError, ValueError):
    """A malformed row or line in an input file; the message names file, line and field."""

    def __init__(self, path: str, line: int | None, field_name: str | None, problem: str):
        where = f"{path}:{line}" if line is not None else path
        what = f" field '{field_name}':" if field_name else ""
        super().__init__(f"{where}:{what} {problem}")
        self.path = path
        self.line = line
        self.field_name = field_name
        self.problem = problem


_SLUG = re.compile(r"[^a-z0-9]+")


def aspect_slug(name: str) -> str:
    """Canonical aspect name: 'Check in / front desk' -> 'check_in_front_desk'."""
    slug = _SLUG.sub("_", name.strip().lower()).strip("_")
    if not slug:
        raise ValueError(f"aspect name {name!r} has no letters or digits")
    return slug


def is_missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
