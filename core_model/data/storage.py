"""A prepared dataset on disk: Parquet splits plus `dataset.json`, written atomically.

Layout of a dataset directory::

    dataset.json          DatasetInfo: aspects, original scales, counts, seed, checksums
    train.parquet         one row per review, columns below
    valid.parquet
    test.parquet
    ground_truth.json     synthetic datasets only: the users' and items' true parameters

Columns: review_id, user_id, item_id, rating, text, title, timestamp, item_name, user_name
and one float column per aspect named `aspect_<name>` (NaN where the aspect is not rated).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from elixir_agent.atomic import write_directory
from elixir_agent.checksum import file_sha256
from elixir_agent.core_model.data.records import DatasetInfo, Review, is_missing

SPLITS = ("train", "valid", "test")
INFO_FILE = "dataset.json"
ASPECT_PREFIX = "aspect_"
_BASE_COLUMNS = [
    ("review_id", pa.string()),
    ("user_id", pa.string()),
    ("item_id", pa.string()),
    ("rating", pa.float32()),
    ("text", pa.string()),
    ("title", pa.string()),
    ("timestamp", pa.int64()),
    ("item_name", pa.string()),
    ("user_name", pa.string()),
]


def aspect_column(aspect: str) -> str:
    return f"{ASPECT_PREFIX}{aspect}"


def reviews_to_table(reviews: Iterable[Review], aspects: list[str]) -> pa.Table:
    """Columnar form of `reviews`; aspects not in `aspects` are dropped, missing ones are null."""
    reviews = list(reviews)
    columns: dict[str, list] = {name: [] for name, _ in _BASE_COLUMNS}
    aspect_values: dict[str, list] = {a: [] for a in aspects}
    for review in reviews:
        for name, _ in _BASE_COLUMNS:
            columns[name].append(getattr(review, name))
        for aspect in aspects:
            value = review.aspects.get(aspect)
            aspect_values[aspect].append(None if is_missing(value) else float(value))
    arrays = [pa.array(columns[name], type=kind) for name, kind in _BASE_COLUMNS]
    names = [name for name, _ in _BASE_COLUMNS]
    for aspect in aspects:
        arrays.append(pa.array(aspect_values[aspect], type=pa.float32()))
        names.append(aspect_column(aspect))
    return pa.Table.from_arrays(arrays, names=names)


def frame_to_reviews(frame: pd.DataFrame, aspects: list[str]) -> list[Review]:
    """Back from a split's DataFrame to `Review` records."""
    out = []
    for row in frame.itertuples(index=False):
        record = row._asdict()
        out.append(
            Review(
                review_id=record["review_id"],
                user_id=record["user_id"],
                item_id=record["item_id"],
                rating=_optional_float(record["rating"]),
                text=record["text"],
                aspects={a: _optional_float(record[aspect_column(a)]) for a in aspects},
                title=_optional(record["title"]),
                timestamp=None if pd.isna(record["timestamp"]) else int(record["timestamp"]),
                item_name=_optional(record["item_name"]),
                user_name=_optional(record["user_name"]),
            )
        )
    return out


@dataclass
class PreparedDataset:
    """A dataset directory opened for reading; splits load lazily and are cached."""

    path: Path
    info: DatasetInfo
    _frames: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    @property
    def aspects(self) -> list[str]:
        return self.info.aspects

    def split(self, name: str) -> pd.DataFrame:
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}; expected one of {', '.join(SPLITS)}")
        if name not in self._frames:
            file = self.path / f"{name}.parquet"
            if not file.exists():
                raise FileNotFoundError(f"{file} is missing: the dataset directory is incomplete; "
                                        "run `elixir-agent data prepare` again")
            frame = pq.read_table(file).to_pandas()
            frame["timestamp"] = frame["timestamp"].astype("Int64")
            self._frames[name] = frame
        return self._frames[name]

    def reviews(self, name: str) -> list[Review]:
        return frame_to_reviews(self.split(name), self.info.aspects)

    def all_reviews(self) -> pd.DataFrame:
        return pd.concat([self.split(s) for s in SPLITS], ignore_index=True)

    @property
    def ground_truth_path(self) -> Path | None:
        path = self.path / "ground_truth.json"
        return path if path.exists() else None


def load_prepared(path: str | Path) -> PreparedDataset:
    """Open a dataset directory written by `write_prepared` (`elixir-agent data prepare`)."""
    path = Path(path)
    info_file = path / INFO_FILE
    if not info_file.exists():
        hint = "it does not exist" if not path.exists() else f"it has no {INFO_FILE}"
        raise FileNotFoundError(
            f"{path} is not a prepared dataset ({hint}); create one with "
            "`elixir-agent data prepare` or `elixir-agent data synth`"
        )
    try:
        info = DatasetInfo.from_json(json.loads(info_file.read_text()))
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"{info_file} is not a valid dataset description: {error}") from error
    return PreparedDataset(path=path, info=info)


def write_prepared(
    out_dir: str | Path,
    info: DatasetInfo,
    splits: dict[str, list[Review]],
    extra_json: dict[str, object] | None = None,
    overwrite: bool = False,
) -> DatasetInfo:
    """Write the splits and `dataset.json` so that `out_dir` appears complete or not at all.

    Everything is written into a temporary sibling directory which is renamed onto `out_dir`
    at the end; an interrupted run leaves at most a `.tmp-*` directory, never a half dataset.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not overwrite:
        raise FileExistsError(f"{out_dir} already exists; choose another --out or pass --overwrite")

    def fill(tmp: Path) -> None:
        counts: dict[str, int] = {}
        checksums: dict[str, str] = {}
        for name in SPLITS:
            file = tmp / f"{name}.parquet"
            pq.write_table(reviews_to_table(splits.get(name, []), info.aspects), file)
            counts[name] = len(splits.get(name, []))
            checksums[file.name] = file_sha256(file)
        everything = [r for name in SPLITS for r in splits.get(name, [])]
        counts["reviews"] = len(everything)
        counts["users"] = len({r.user_id for r in everything})
        counts["items"] = len({r.item_id for r in everything})
        info.counts = {**info.counts, **counts}
        info.checksums = checksums
        for name, payload in (extra_json or {}).items():
            (tmp / name).write_text(json.dumps(payload, indent=2))
        (tmp / INFO_FILE).write_text(json.dumps(info.to_json(), indent=2))

    write_directory(out_dir, fill)
    return info


def _optional(value):
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def _optional_float(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)
