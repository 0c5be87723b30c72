"""The question parser on RateBeer and LARA catalogs from the real files: intents, linking, clarifying.

The messages reword the failures that made the parser necessary (a rating question read as a
comparison, "what do I care about most" stored as a preference, a comparison by names
answered about one item, short and misspelt names not found, two questions answered once).
The classifier is the real one (trained once into the user cache, then loaded).
"""

from __future__ import annotations

import pytest

from elixir_agent.agent.nlu import QuestionParser, load_or_train
from elixir_agent.agent.routed import plan_turn
from elixir_agent.tools.registry import load_tools
from tests.agent.nlu_worlds import lara_context, ratebeer_context


@pytest.fixture(scope="module")
def classifier():
    return load_or_train(None)


@pytest.fixture(scope="module")
def ratebeer(shared_data):
    return ratebeer_context(shared_data)


@pytest.fixture(scope="module")
def lara(shared_data):
    return lara_context(shared_data)


def _parser(classifier, context) -> QuestionParser:
    return QuestionParser(classifier, context.catalog, context.aspects)


def _names(context, ids):
    return [context.catalog.item_name(i) for i in ids]


RATEBEER = [
    ("How would I score the Celebrator Doppelbock?", ["rating"], ["Ayinger Celebrator Doppelbock"]),
    ("when choosing a beer what do i care about most", ["what_matters"], []),
    ("Between Ayinger Celebrator Doppelbock and Southern Tier Imperial Oat, which would suit me "
     "more, and why?", ["compare"], ["Ayinger Celebrator Doppelbock", "Southern Tier Imperial Oat"]),
    ("wuold i lik the celebrater dopelbock? hows the aroma", ["rating", "aspects"],
     ["Ayinger Celebrator Doppelbock"]),
    ("what review would I write for westmalle tripel", ["generated_review"], ["Westmalle Tripel"]),
    ("got anything like the Westmalle Tripel?", ["similar_items"], ["Westmalle Tripel"]),
    ("what have I said about stouts in the past?", ["own_history"], []),
    ("what if aroma was all I cared about?", ["what_if"], []),
    ("forget my preferences", ["reset"], []),
    ("I care about taste way more than looks", ["preference"], []),
    # A name ends at a clause break, a one-word short name is enough, and a question word
    # capitalised mid-sentence is read as the name it belongs to.
    ("Tell me about Celebrator. Also, would I like it?", ["item_profile", "rating"],
     ["Ayinger Celebrator Doppelbock"]),
    ("How's the palate at Elder?", ["aspects"], ["Russian River Pliny the Elder"]),
    ("recommend 3 beers for me", ["recommend"], []),
]

LARA = [
    ("What would I rate the Sheraton?", ["rating"], ["The Sheraton San Diego Hotel & Marina"]),
    ("When I choose a hotel, what matters to me most?", ["what_matters"], []),
    ("Between the Gaylord Palms and the Hyatt, which one suits me better and why?", ["compare"],
     ["Gaylord Palms Resort & Convention Center", "Manchester Grand Hyatt San Diego"]),
    ("wuold i lik the wyndam ocean? hows the clenliness", ["rating", "aspects"], ["Wyndham Ocean Walk"]),
    ("tell me about hotel jazz", ["item_profile"], ["Hotel Jazz"]),
    ("what do guests say about the rooms at st giles london", ["reviews"], ["St Giles Hotel London"]),
]


@pytest.mark.parametrize(("message", "intents", "names"), RATEBEER)
def test_tricky_ratebeer_questions(classifier, ratebeer, message, intents, names):
    parsed = _parser(classifier, ratebeer).parse(message, {"active_user": "x"})
    assert parsed.intents == intents
    assert _names(ratebeer, parsed.items) == names


@pytest.mark.parametrize(("message", "intents", "names"), LARA)
def test_tricky_hotel_questions(classifier, lara, message, intents, names):
    parsed = _parser(classifier, lara).parse(message, {})
    assert parsed.intents == intents
    assert _names(lara, parsed.items) == names


def test_two_questions_about_the_active_item_plan_both_in_order(classifier, lara):
    parser, tools = _parser(classifier, lara), load_tools(lara)
    user, item = next(iter(lara.catalog.users)), next(iter(lara.catalog.items))
    plan = plan_turn("would I like it? and how's the cleanliness?",
                     {"active_user": user, "active_item": item}, parser, tools)
    assert plan["intents"] == ["rating", "aspects"] and plan["intent"] == "rating"
    assert [(c["name"], c["intent"]) for c in plan["plan"]] == [
        ("predict_rating", "rating"), ("aspect_ratings", "aspects")]
    assert plan["plan"][1]["args"]["aspects"] == ["cleanliness"]


def test_a_name_several_items_share_gets_a_question_listing_them(classifier, ratebeer):
    parser, tools = _parser(classifier, ratebeer), load_tools(ratebeer)
    user = next(iter(ratebeer.catalog.users))
    plan = plan_turn("would I like old rasputin?", {"active_user": user}, parser, tools)
    assert plan["plan"] == []
    assert "Which one do you mean" in plan["preface"]
    assert "North Coast Old Rasputin Russian Imperial Stout" in plan["preface"]
    assert plan["clarify_intent"] == "rating"
    offered = plan["last_items"]
    assert len(offered) >= 2 and all(i in ratebeer.catalog.items for i in offered)


def test_an_unknown_name_gets_did_you_mean_and_no_invented_item(classifier, lara):
    parser, tools = _parser(classifier, lara), load_tools(lara)
    user = next(iter(lara.catalog.users))
    plan = plan_turn("tell me about the Bellagio Grande", {"active_user": user}, parser, tools)
    assert plan["plan"] == []
    assert plan["preface"].startswith("I don't know \"Bellagio Grande\"; did you mean")
    assert "(" in plan["preface"]  # close matches are named with their ids


def test_a_user_given_by_id_is_not_read_as_an_item(classifier, ratebeer):
    user = sorted(ratebeer.catalog.users)[0]
    parsed = _parser(classifier, ratebeer).parse(f"what would user {user} rate westmalle tripel?")
    assert parsed.user == user and _names(ratebeer, parsed.items) == ["Westmalle Tripel"]
    assert parsed.intents == ["rating"]
