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


def test_labelled_numeric_ids_are_read_as_user_and_item():
    import pandas as pd

    from elixir_agent.agent.extract import extract
    from elixir_agent.tools.catalog import Catalog

    train = pd.DataFrame({
        "review_id": ["a", "b"], "user_id": ["59229", "71102"], "item_id": ["71102", "300"],
        "rating": [4.0, 3.0], "text": ["good", "ok"], "item_name": ["Stout", "Pils"],
        "user_name": ["x", "y"], "aspect_taste": [4.0, 3.0],
    })
    catalog = Catalog.from_frame(train, ["taste"])
    found = extract("Would user 59229 like item 71102, and why?", catalog, ["taste"])
    assert found.user == "59229"
    assert found.items == ["71102"]
