"""Argument types that many tools take, each with one description written for the LLM.

A tool's argument schema uses these instead of repeating `Field(description=...)`, so the LLM
reads the same words for the same argument in every tool.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

__all__ = ["ItemRef", "UserId"]

UserId = Annotated[str, Field(description="The user's id, e.g. 'u0001'.")]
# Names are accepted because people and LLMs say "the Harbour Inn", not "h0012".
ItemRef = Annotated[str, Field(description="The item's id (e.g. 'h0012') or its exact name.")]
