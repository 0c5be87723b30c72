"""From a prepared split to tensors: id maps, rating targets with aspect masks, text labels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:  # loading a run for predictions needs IdMap only, not pandas
    import pandas as pd


@dataclass
class IdMap:
    """Stable string id <-> row index, built from the training split (sorted for determinism)."""

    ids: list[str]

    def __post_init__(self):
        self.index = {key: n for n, key in enumerate(self.ids)}

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, key: str) -> bool:
        return key in self.index

    @classmethod
    def from_values(cls, values) -> IdMap:
        return cls(sorted({str(v) for v in values}))


@dataclass
class RatingTensors:
    users: torch.Tensor  # (N,) long
    items: torch.Tensor  # (N,) long
    rating: torch.Tensor  # (N,) float
    aspects: torch.Tensor  # (N, A) float, 0 where unrated
    mask: torch.Tensor  # (N, A) float, 1 where rated
    texts: list[str]  # normalised review text, aligned with the rows

    def __len__(self) -> int:
        return len(self.users)


def known_rows(frame: pd.DataFrame, users: IdMap, items: IdMap) -> pd.DataFrame:
    """Rows whose user and item both appear in training (others need cold start)."""
    keep = frame["user_id"].isin(users.index) & frame["item_id"].isin(items.index)
    return frame[keep].reset_index(drop=True)


def to_tensors(frame: pd.DataFrame, aspects: list[str], users: IdMap, items: IdMap,
               texts: list[str] | None = None) -> RatingTensors:
    from elixir_agent.core_model.data.storage import aspect_column

    frame = known_rows(frame, users, items)
    values = frame[[aspect_column(a) for a in aspects]].to_numpy(dtype=np.float32)
    mask = ~np.isnan(values)
    return RatingTensors(
        users=torch.tensor([users.index[u] for u in frame["user_id"]], dtype=torch.long),
        items=torch.tensor([items.index[i] for i in frame["item_id"]], dtype=torch.long),
        rating=torch.tensor(frame["rating"].to_numpy(dtype=np.float32)),
        aspects=torch.tensor(np.nan_to_num(values, nan=0.0)),
        mask=torch.tensor(mask.astype(np.float32)),
        texts=list(frame["text"].fillna("")) if texts is None else texts,
    )


def pad_labels(rows: list[list[int]]) -> torch.Tensor:
    """(B, T) labels with -100 where padded, so padding never enters the loss."""
    width = max(len(r) for r in rows)
    out = torch.full((len(rows), width), -100, dtype=torch.long)
    for n, row in enumerate(rows):
        out[n, : len(row)] = torch.tensor(row, dtype=torch.long)
    return out
