"""Typed tool artifacts: each tool owns a pydantic model of what it returns beside its text.

A tool returns `model.model_dump()` (plain JSON, so LangChain and the checkpointer keep it as
it is) and every reader (the composer, the verifier, the evidence panel, eval) turns it back
into the owning model with `parse_artifact`. The model says what each field is to the
grounding verifier by its annotation:

    rating: Value            a stated number (ratings, means, differences)
    user_importance: Share   a proportion, written as a percentage
    n_reviews: Count         a count, claimed next to a counted noun
    item_id: Name            an id or a name: text, never a number claim
    review_id: ReviewId      a citable review id
    text: Quote              review text: quoting it is not a claim
    items: Counted[list]     a list whose length may be stated ("3 items")

so the verifier never guesses a field's meaning from its key.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from typing import Annotated, Any, ClassVar, Union

from pydantic import BaseModel, ConfigDict

__all__ = ["Count", "Counted", "Name", "Quote", "ReviewId", "Share", "ToolArtifact", "Value",
           "artifact_model", "facts", "parse_artifact"]


class _Kind:
    """What a field is to the verifier (see the module docstring)."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"Kind({self.name})"


VALUE, SHARE, COUNT, NAME, REVIEW_ID, QUOTE, COUNTED = (
    _Kind(n) for n in ("value", "share", "count", "name", "review_id", "quote", "counted"))

Value = Annotated[float, VALUE]
Share = Annotated[float, SHARE]
Count = Annotated[int, COUNT]
Name = Annotated[str, NAME]
ReviewId = Annotated[str, REVIEW_ID]
Quote = Annotated[str, QUOTE]
T = typing.TypeVar("T")
Counted = Annotated[T, COUNTED]

_MODELS: dict[str, type[ToolArtifact]] = {}


class ToolArtifact(BaseModel):
    """Base of every tool's artifact; subclasses set `tool` to the owning tool's name."""

    model_config = ConfigDict(extra="forbid")
    tool: str
    TOOL: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.TOOL:
            _MODELS[cls.TOOL] = cls

    @classmethod
    def build(cls, **fields: Any) -> dict[str, Any]:
        """The artifact as the tool returns it: validated, then dumped to plain JSON."""
        return cls(tool=cls.TOOL, **fields).model_dump()


class Record(BaseModel):
    """A nested row of an artifact (an aspect, a review, a listed item)."""

    model_config = ConfigDict(extra="forbid")


def artifact_model(tool: str) -> type[ToolArtifact] | None:
    """The model that tool `tool` declared for its artifacts, if any."""
    if tool not in _MODELS:
        # The built-in tools define their models when their modules are imported.
        import elixir_agent.tools.registry  # noqa: F401
    return _MODELS.get(tool)


def parse_artifact(artifact: dict[str, Any] | ToolArtifact | None) -> ToolArtifact | None:
    """The artifact as its owning model; None for no artifact or a tool without a model."""
    if artifact is None or isinstance(artifact, ToolArtifact):
        return artifact
    model = artifact_model(str(artifact.get("tool", "")))
    return None if model is None else model.model_validate(artifact)


def facts(model: BaseModel) -> Iterator[tuple[str, Any]]:
    """(kind, value) for every declared fact of `model`, nested rows included.

    Kinds: value, share, count, name, review_id, quote. A `Counted` list adds its length as
    a count. Undeclared fields (flags, free text) state nothing.
    """
    for name, info in type(model).model_fields.items():
        yield from _walk(getattr(model, name), info.annotation, _kind_of(info.metadata))


def _kind_of(metadata: list[Any]) -> str | None:
    for marker in metadata:
        if isinstance(marker, _Kind):
            return marker.name
    return None


def _walk(value: Any, annotation: Any, kind: str | None) -> Iterator[tuple[str, Any]]:
    if value is None:
        return
    if typing.get_origin(annotation) is Annotated:
        base, *metadata = typing.get_args(annotation)
        yield from _walk(value, base, _kind_of(metadata) or kind)
        return
    if isinstance(value, BaseModel):
        yield from facts(value)
        return
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        yield from _walk(value, inner[0] if len(inner) == 1 else Any, kind)
        return
    if isinstance(value, (list, tuple)):
        if kind == "counted":
            yield "count", len(value)
        element = args[0] if args else Any
        for v in value:
            yield from _walk(v, element, None if kind == "counted" else kind)
        return
    if isinstance(value, dict):
        element = args[1] if len(args) == 2 else Any
        for v in value.values():
            yield from _walk(v, element, kind)
        return
    if kind is not None and not isinstance(value, bool):
        yield kind, value
