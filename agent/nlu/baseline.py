"""Today's understanding, kept for `bench nlu`: the nearest-exemplar router plus the regex extractor.

It answers with one intent per message and the items `agent.extract` finds, in the shape the
benchmark reads from the new parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from elixir_agent.agent.extract import extract
from elixir_agent.agent.router import IntentRouter
from elixir_agent.tools.catalog import Catalog

__all__ = ["BaselineParse", "BaselineParser"]


@dataclass
class BaselineParse:
    intents: list[str]
    items: list[str]
    ordinal_item: str | None


class BaselineParser:
    def __init__(self, router: IntentRouter, catalog: Catalog, aspects: list[str]):
        self.router, self.catalog, self.aspects = router, catalog, aspects

    def parse(self, message: str, state: dict[str, Any] | None = None) -> BaselineParse:
        state = state or {}
        found = extract(message, self.catalog, self.aspects, last_items=state.get("last_items") or [])
        return BaselineParse([self.router.route(message).intent], found.items, found.ordinal_item)
