"""A conversation about the LARA hotels without an active item, and tools chosen by declaration.

The person names hotels by short or misspelt names, asks two things at once, compares by
name, asks what matters to them, then "why?" and "the second one"; every answer is verified.
"""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field

from elixir_agent.agent import build_agent
from elixir_agent.agent.nlu import QuestionParser, load_or_train
from elixir_agent.agent.routed import plan_turn
from elixir_agent.tools._common import make_tool
from elixir_agent.tools.registry import load_tools
from tests.agent.nlu_worlds import lara_context


@pytest.fixture(scope="module")
def hotels(shared_data):
    return lara_context(shared_data)


@pytest.fixture(scope="module")
def parser(hotels):
    return QuestionParser(load_or_train(None), hotels.catalog, hotels.aspects)


def _id(hotels, word):
    return next(i for i, s in hotels.catalog.items.items() if word in s.name)


def test_conversation_without_an_item(hotels, parser):
    agent = build_agent(hotels, llm="none", parser=parser)
    user = sorted(hotels.catalog.users)[0]
    sheraton, wyndham = _id(hotels, "Sheraton"), _id(hotels, "Wyndham")
    gaylord, hyatt = _id(hotels, "Gaylord"), _id(hotels, "Hyatt")

    def ask(message, **kw):
        turn = agent.ask(message, conversation_id="hotels", **kw)
        assert turn.verification.ok, turn.answer
        return turn

    turn = ask("would I like the sheraton?", user_id=user)
    assert [(c.name, c.args["item_id"]) for c in turn.tool_calls] == [("predict_rating", sheraton)]
    assert "Sheraton" in turn.answer

    turn = ask("wuold i lik the wyndam? hows the clenliness")
    assert [c.name for c in turn.tool_calls] == ["predict_rating", "aspect_ratings"]
    assert all(c.args["item_id"] == wyndham for c in turn.tool_calls)
    # both questions answered: the verdict on the Wyndham, then its cleanliness
    assert turn.answer.index("Wyndham Ocean Walk") < turn.answer.index("cleanliness")

    turn = ask("Between the Gaylord Palms and the Hyatt, which suits me better?")
    assert [(c.name, c.args["item_a"], c.args["item_b"]) for c in turn.tool_calls] == [
        ("compare_items", gaylord, hyatt)]

    turn = ask("When I pick a hotel, what do I care about the most?")
    assert [c.name for c in turn.tool_calls] == ["user_profile"]
    assert "Noted" not in turn.answer  # a question, not a stated preference

    turn = ask("why?")
    assert {c.name for c in turn.tool_calls} == {"aspect_ratings", "user_history",
                                                 "similar_reviews"}

    turn = ask("the second one")
    assert [(c.name, c.args["item_id"]) for c in turn.tool_calls] == [("predict_rating", hyatt)]


def _history_tool(calls):
    class Args(BaseModel):
        user_id: str = Field(description="The user's id.")
        item_id: str | None = Field(default=None, description="An item to look for.")

    def run(user_id: str, item_id: str | None = None):
        calls.append((user_id, item_id))
        return "history", {"user_id": user_id}

    return make_tool("user_history", "What the user said before.", Args, run,
                     intents=("own_history", "explain"))


def test_a_new_tool_is_planned_by_its_declaration_with_no_planner_edit(hotels, parser):
    user = sorted(hotels.catalog.users)[0]
    tools = {n: t for n, t in load_tools(hotels).items() if n != "user_history"}
    state = {"active_user": user}
    before = plan_turn("what have I said about beach resorts?", state, parser, tools)
    assert [c["name"] for c in before["plan"]] == ["user_profile"]  # the fallback
    tools["user_history"] = _history_tool([])
    after = plan_turn("what have I said about beach resorts?", state, parser, tools)
    assert [(c["name"], c["intent"]) for c in after["plan"]] == [("user_history", "own_history")]


def test_like_item_is_filled_by_slot_name(hotels, parser):
    class Args(BaseModel):
        user_id: str = Field(description="The user's id.")
        like_item: str = Field(description="The item to find neighbours of.")

    tool = make_tool("neighbours", "Items like one item.", Args, lambda **kw: ("", {}),
                     intents=("similar_items",))
    user = sorted(hotels.catalog.users)[0]
    plan = plan_turn("anything similar to hotel jazz?", {"active_user": user}, parser,
                     {"neighbours": tool})
    assert plan["plan"] == [{"name": "neighbours", "intent": "similar_items",
                             "args": {"user_id": user, "like_item": _id(hotels, "Jazz")}}]
