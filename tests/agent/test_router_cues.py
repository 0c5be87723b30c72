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
    ("What would my review of it say?", "generated_review"),
    ("Show me reviews about the value", "reviews"),
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


def test_an_id_like_word_inside_a_known_name_is_not_an_unknown_id():
    import pandas as pd

    from elixir_agent.agent.extract import extract
    from elixir_agent.tools.catalog import Catalog

    train = pd.DataFrame({
        "review_id": ["a", "b"], "user_id": ["59229", "59229"], "item_id": ["161993", "300"],
        "rating": [4.0, 3.0], "text": ["good", "ok"],
        "item_name": ["Southern Tier 2XSTOUT", "Pils"], "user_name": ["x", "x"],
        "aspect_taste": [4.0, 3.0],
    })
    catalog = Catalog.from_frame(train, ["taste"])
    found = extract("Compare it with Southern Tier 2XSTOUT.", catalog, ["taste"])
    assert found.items == ["161993"] and found.unknown_items == []
    alone = extract("Compare it with 9XSTOUT.", catalog, ["taste"])  # nobody's id or name
    assert alone.items == [] and alone.unknown_items == ["9XSTOUT"]


def test_a_how_question_naming_an_aspect_gets_aspect_scores(world):
    """Embeddings sometimes send "how is the X of Y?" to reviews; naming an aspect wins."""
    from elixir_agent.agent.routed import plan_turn
    from elixir_agent.agent.router import Route

    class MisroutingRouter:
        def route(self, message):
            return Route("reviews", 0.4, False)

    user = next(iter(world.catalog.users))
    item = next(iter(world.catalog.items))
    plan = plan_turn("How is the location of this one?", {"active_user": user, "active_item": item},
                     MisroutingRouter(), world.catalog, world.context.aspects)
    assert plan["intent"] == "aspects"
    assert plan["plan"] == [{"name": "aspect_ratings", "intent": "aspects", "args": {
        "user_id": user, "item_id": item, "aspects": ["location"]}}]


def test_an_unknown_name_to_compare_with_reaches_the_tool(world, routed_agent, pair):
    """'compared with the Hilton' is not in the catalog: the tool offers close matches."""
    user, item = pair
    agent = routed_agent()
    agent.ask("Would I like it?", conversation_id="cmp", user_id=user, item_id=item)
    turn = agent.ask("and compared with the Hilton?", conversation_id="cmp")
    assert turn.intent == "compare"
    assert turn.tool_calls[0].args["item_b"] == "Hilton"
    assert turn.tool_calls[0].status == "error" and "Hilton" in turn.tool_calls[0].content
    assert turn.verification.ok and turn.active_item == item
