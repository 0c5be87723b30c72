"""The `lead` drafting mode: a small model writes only the opening, the composer the facts."""

from __future__ import annotations

import pytest

from elixir_agent.agent import build_agent
from elixir_agent.agent.compose import compose
from elixir_agent.agent.writing import lead_problems
from tests.helpers.fake_chat import ScriptedWriter

RATING = [{"name": "predict_rating", "status": "success", "content": "", "artifact": {
    "tool": "predict_rating", "user_id": "u1", "item_id": "b1", "item_name": "Dark Ale",
    "rating": 2.4, "cold_user": False, "cold_item": False}}]


def _agent(world, embedder, replies):
    writer = ScriptedWriter(lambda system, prompt, n: replies[min(n, len(replies) - 1)])
    return build_agent(world.context, llm=writer, embedder=embedder, drafting="lead"), writer


def test_an_accepted_lead_opens_the_composed_answer(world, embedder, pair):
    user, item = pair
    agent, writer = _agent(world, embedder, ["Here is why, aspect by aspect, with reviews."])
    turn = agent.ask("Why would I like it?", conversation_id="lead-1", user_id=user,
                     item_id=item)
    body = compose([c.__dict__ for c in turn.tool_calls])
    assert turn.answer == f"Here is why, aspect by aspect, with reviews.\n\n{body}"
    assert turn.verification.action == "accepted" and turn.verification.ok
    assert turn.cited_review_ids  # the composed body cites the retrieved reviews
    _, prompt = writer.prompts[0]
    for call in turn.tool_calls:
        for review in (call.artifact or {}).get("reviews", []):
            assert review["text"][:40] not in prompt  # strangers' words never reach the model


def test_an_invented_lead_is_revised_once_then_replaced(world, embedder, pair):
    user, item = pair
    agent, writer = _agent(world, embedder, ["A legendary hotel with 5 stars!",
                                             "You would probably find it fine."])
    turn = agent.ask("Would I like this one?", conversation_id="lead-2", user_id=user,
                     item_id=item)
    assert turn.verification.action == "revised" and not turn.verification.draft_ok
    assert turn.answer.startswith("You would probably find it fine.")
    _, prompt = writer.prompts[1]
    assert "legendary" in prompt and "numbers" in prompt  # the model is told what was wrong

    agent, _ = _agent(world, embedder, ["A legendary hotel with 5 stars!"])
    turn = agent.ask("Would I like this one?", conversation_id="lead-3", user_id=user,
                     item_id=item)
    assert turn.verification.action == "replaced" and turn.verification.ok
    assert "legendary" not in turn.answer
    assert turn.answer == compose([c.__dict__ for c in turn.tool_calls])


@pytest.mark.parametrize(("lead", "problem"), [
    ("It scores 2.4 for you.", "numbers"),
    ("A famous brewery in Belgium.", "do not say: famous, brewery, belgium"),
    ("You would love it.", "praises an item"),
    ("The answer is:", "not a complete sentence"),
    ("", "empty"),
])
def test_lead_problems_name_what_is_wrong(lead, problem):
    facts = compose(RATING)
    problems = lead_problems(lead, "Would I like it?", facts, RATING)
    assert any(problem in p for p in problems), problems


def test_a_plain_lead_from_the_facts_passes():
    facts = "Predicted rating of Dark Ale for you: 2.40 out of 5, so it is probably not for you."
    assert lead_problems("Dark Ale is probably not for you.", "Would I like it?", facts,
                         RATING) == []


def test_a_draft_that_copies_the_prompt_is_not_an_answer(world, embedder, pair):
    """Numbers copied from the evidence pass the number check; the copy is still refused."""
    user, item = pair
    echo = ScriptedWriter(lambda system, prompt, n: prompt)  # parrots its whole prompt back
    agent = build_agent(world.context, llm=echo, embedder=embedder, drafting="full")
    turn = agent.ask("Why would I like it?", conversation_id="echo", user_id=user, item_id=item)
    assert turn.verification.action == "replaced" and turn.verification.ok
    assert "<<<REVIEW" not in turn.answer and "[tool " not in turn.answer
