"""Which column holds what, for the generic `csv` and `jsonl` formats.

A mapping comes from one of three places: a `ColumnMapping` built in code, a small TOML
file, or a compact string given on the command line:

    user=reviewer,item=hotel,rating=stars,text=body,aspect.cleanliness=clean_score,scale.rating=1:10

`missing=0` says that 0 in any score column means "not rated" (the aspect becomes missing,
not the worst score); `missing.seat_comfort=0` says it for one aspect, `missing.rating` for
the overall rating.

The TOML form names the same fields, at top level or under a `[mapping]` table:

    user = "reviewer"
    item = "hotel"
    rating = "stars"
    text = "body"
    rating_scale = [1, 10]
    [aspects]
    cleanliness = "clean_score"
    [aspect_scales]
    cleanliness = [0, 10]
    [aspect_missing]
    cleanliness = 0
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from elixir_agent.core_model.data.records import AspectScale, aspect_slug

__all__ = ["ColumnMapping", "load_mapping_toml", "parse_mapping", "resolve_mapping"]

_REQUIRED = ("user", "item", "rating", "text")
_OPTIONAL = ("review_id", "title", "timestamp", "item_name", "user_name")


@dataclass
class ColumnMapping:
    """Source column (CSV header name or JSON key) for each field of a `Review`."""

    user: str
    item: str
    rating: str
    text: str
    review_id: str | None = None  # without it, ids are derived from user, item (and time)
    title: str | None = None
    timestamp: str | None = None  # seconds since the epoch or an ISO date
    item_name: str | None = None
    user_name: str | None = None
    aspects: dict[str, str] = field(default_factory=dict)  # aspect name -> column
    rating_scale: tuple[float, float] = (1.0, 5.0)  # published range of the rating column
    aspect_scales: dict[str, tuple[float, float]] = field(default_factory=dict)  # default 1-5
    missing: float | None = None  # the "not rated" value of every score column (e.g. 0)
    # Per column: aspect name (or "rating") -> its "not rated" value, overriding `missing`.
    aspect_missing: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in _REQUIRED + _OPTIONAL:
            value = getattr(self, name)
            if name in _REQUIRED and not value:
                raise ValueError(f"column mapping: {name!r} needs a column name")
            if value is not None and not isinstance(value, str):
                raise ValueError(f"column mapping: {name!r} must be a column name, got {value!r}")
        for name in ("aspects", "aspect_scales"):
            if not isinstance(getattr(self, name), dict):
                raise ValueError(f"column mapping: {name!r} must be a table of name -> value")
        bad = [a for a, column in self.aspects.items() if not isinstance(column, str) or not column]
        if bad:
            raise ValueError(f"column mapping: aspect(s) {', '.join(bad)} need a column name")
        # Aspect names become canonical slugs here, so that every later lookup agrees.
        self.aspects = {aspect_slug(a): column for a, column in self.aspects.items()}
        scales = {aspect_slug(a): s for a, s in self.aspect_scales.items()}
        unknown = sorted(set(scales) - set(self.aspects))
        if unknown:
            raise ValueError(
                f"column mapping: scale given for unmapped aspect(s) {', '.join(unknown)}; "
                f"mapped aspects: {', '.join(self.aspects) or 'none'}"
            )
        self.missing = _check_missing("missing", self.missing)
        if not isinstance(self.aspect_missing, dict):
            raise ValueError("column mapping: 'aspect_missing' must be a table of name -> value")
        absent = {"rating" if a == "rating" else aspect_slug(a): _check_missing(f"missing.{a}", v)
                  for a, v in self.aspect_missing.items()}
        unknown = sorted(set(absent) - set(self.aspects) - {"rating"})
        if unknown:
            raise ValueError(
                f"column mapping: missing value given for unmapped aspect(s) {', '.join(unknown)}; "
                f"mapped aspects: {', '.join(self.aspects) or 'none'} (and rating)"
            )
        self.aspect_missing = absent
        self.rating_scale = _check_scale("rating", self.rating_scale)
        self.aspect_scales = {a: _check_scale(a, scales.get(a, (1.0, 5.0))) for a in self.aspects}

    def columns(self) -> dict[str, str]:
        """Role -> column for every mapped column ('aspect.cleanliness' for aspects)."""
        roles = {name: getattr(self, name) for name in _REQUIRED + _OPTIONAL if getattr(self, name)}
        roles.update({f"aspect.{a}": column for a, column in self.aspects.items()})
        return roles

    def scale(self, aspect: str | None = None) -> AspectScale:
        """Published scale of the rating (aspect None) or of one aspect."""
        low, high = self.rating_scale if aspect is None else self.aspect_scales[aspect]
        return AspectScale(low, high)


    def not_rated(self, aspect: str | None = None) -> float | None:
        """The value meaning "not rated" in the rating (aspect None) or an aspect column."""
        return self.aspect_missing.get(aspect or "rating", self.missing)


def _check_missing(name: str, value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"column mapping: {name} must be a number (the value meaning "
                         f"'not rated', e.g. {name}=0), got {value!r}") from None


def _check_scale(name: str, value: Any) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"column mapping: scale of {name!r} must be two numbers, got {value!r}") from None
    if not low < high:
        raise ValueError(f"column mapping: scale of {name!r} must have low < high, got {low:g}:{high:g}")
    return (low, high)


def parse_mapping(spec: str) -> ColumnMapping:
    """Parse the compact form 'user=col,item=col,...,aspect.<name>=col,scale.<name>=lo:hi'."""
    values: dict[str, Any] = {"aspects": {}, "aspect_scales": {}, "aspect_missing": {}}
    valid = ", ".join((*_REQUIRED, *_OPTIONAL, "aspect.<name>", "scale.rating", "scale.<aspect>",
                       "missing", "missing.<aspect>"))
    seen: set[str] = set()
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise ValueError(f"column mapping: {part!r} is not key=value (keys: {valid})")
        if key in seen:
            raise ValueError(f"column mapping: {key!r} is given twice")
        seen.add(key)
        kind, _, name = key.partition(".")
        if key in _REQUIRED or key in _OPTIONAL or key == "missing":
            values[key] = value
        elif kind == "missing" and name:
            values["aspect_missing"][name] = value
        elif kind == "aspect" and name:
            values["aspects"][name] = value
        elif kind == "scale" and name:
            low, colon, high = value.partition(":")
            if not colon:
                raise ValueError(f"column mapping: {part!r} needs a range like 1:10")
            target = values if name == "rating" else values["aspect_scales"]
            target["rating_scale" if name == "rating" else name] = (low, high)
        else:
            raise ValueError(f"column mapping: unknown key {key!r} (keys: {valid})")
    missing = [k for k in _REQUIRED if k not in values]
    if missing:
        raise ValueError(f"column mapping: missing {', '.join(missing)} in {spec!r}")
    return ColumnMapping(**values)


def load_mapping_toml(path: str | Path) -> ColumnMapping:
    """Read a mapping from a TOML file (top level or a `[mapping]` table)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the same parser, published as tomli
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise ImportError("reading a TOML mapping on Python 3.10 needs `pip install tomli`") from None
    path = Path(path)
    with path.open("rb") as fh:
        try:
            doc = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: not valid TOML ({exc})") from None
    table = doc.get("mapping", doc)
    if not isinstance(table, dict):
        raise ValueError(f"{path}: [mapping] must be a table")
    allowed = {f.name for f in fields(ColumnMapping)}
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ValueError(
            f"{path}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )
    missing = [k for k in _REQUIRED if k not in table]
    if missing:
        raise ValueError(f"{path}: missing {', '.join(missing)}")
    try:
        return ColumnMapping(**table)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def resolve_mapping(mapping: ColumnMapping | str | Path | None, fmt: str) -> ColumnMapping:
    """Accept a ColumnMapping, a path to a .toml file, or the compact string form."""
    if isinstance(mapping, ColumnMapping):
        return mapping
    if mapping is None:
        raise ValueError(
            f"the {fmt} format needs a column mapping, e.g. "
            "mapping='user=user_id,item=item_id,rating=stars,text=review' or a .toml file"
        )
    if isinstance(mapping, Path) or str(mapping).endswith(".toml"):
        return load_mapping_toml(mapping)
    return parse_mapping(str(mapping))
