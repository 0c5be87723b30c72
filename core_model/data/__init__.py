"""Review data: the canonical record, loaders for published formats, prepare, synthetic data."""

from elixir_agent.core_model.data.records import (
    AspectScale,
    DataFormatError,
    DatasetInfo,
    LoadResult,
    Review,
    aspect_slug,
)

__all__ = ["AspectScale", "DataFormatError", "DatasetInfo", "LoadResult", "Review", "aspect_slug"]
