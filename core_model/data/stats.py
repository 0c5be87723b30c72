"""Summary statistics of a prepared dataset (counts per split, mean of each rated field)."""

from __future__ import annotations

from pathlib import Path

from elixir_agent.core_model.data.storage import SPLITS, aspect_column, load_prepared


def dataset_stats(path: str | Path) -> dict:
    """Counts per split and overall, and the mean and rated share of the rating and each aspect."""
    dataset = load_prepared(path)
    frames = {name: dataset.split(name) for name in SPLITS}
    everything = dataset.all_reviews()
    splits = {
        name: {"reviews": len(f), "users": f["user_id"].nunique(), "items": f["item_id"].nunique()}
        for name, f in {**frames, "all": everything}.items()
    }
    info = dataset.info
    fields = [_field_row("rating", everything["rating"], info.rating_scale)]
    for aspect in info.aspects:
        fields.append(_field_row(aspect, everything[aspect_column(aspect)], info.aspect_scales[aspect]))
    return {"name": info.name, "source_format": info.source_format, "synthetic": info.synthetic,
            "splits": splits, "fields": fields}


def _field_row(name, column, scale) -> dict:
    rated = column.notna()
    return {
        "field": name,
        "scale": f"{scale.low:g}-{scale.high:g}",
        "mean": float(column[rated].mean()) if rated.any() else float("nan"),
        "rated": float(rated.mean()) if len(column) else 0.0,
    }
