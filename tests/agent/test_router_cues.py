"""Phrasings whose intent is unambiguous are decided by cues, before any embedding."""

import pytest

from elixir_agent.agent.router import IntentRouter
from tests.helpers.fake_embedder import FakeEmbedder


@pytest.fixture(scope="module")
def router():
    return IntentRouter(FakeEmbedder())


@pytest.mark.parametrize(("message", "intent"), [
    ("Which aspects matter to me?", "aspects"),
    ("What is most important to me here?", "aspects"),
    ("Taste matters most to me", "preference"),
    ("I care about aroma more than looks", "preference"),
    ("Would user u0001 like item h0003, and why?", "explain"),
    ("Why?", "explain"),
    ("Compare it with Harbor Inn 3", "compare"),
    ("Recommend me three more", "recommend"),
])
def test_cue_decides(router, message, intent):
    route = router.route(message)
    assert (route.intent, route.by_cue) == (intent, True)
