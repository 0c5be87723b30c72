"""Answers that answer: the first sentence per intent, the user's own reviews as evidence,
quotes that support the verdict, and importance that admits when it rests on too little."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from elixir_agent.agent.answers import DISSENT, Verdict, excerpt, verdict
from elixir_agent.agent.compose import compose
from elixir_agent.core_model.importance import importance_evidence, mean_importance
from elixir_agent.tools.artifacts import parse_artifact
from elixir_agent.tools.catalog import Catalog
from elixir_agent.tools.registry import load_tools
from elixir_agent.tools.user_history import UserHistoryArtifact

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n")


def _first(text: str) -> str:
    return _SENTENCE.split(text.strip())[0]


def _ask(agent, question, user, item, conversation="c"):
    turn = agent.ask(question, conversation_id=conversation, user_id=user, item_id=item)
    assert turn.verification.ok, (turn.answer, turn.verification)
    return turn


def _artifact(turn, name):
    return parse_artifact(next(c.artifact for c in turn.tool_calls if c.name == name))


def test_each_intent_answers_in_its_first_sentence(world, routed_agent):
    agent = routed_agent()
    user, item = world.test.iloc[0].user_id, world.test.iloc[0].item_id
    other = next(i for i in sorted(world.catalog.items) if i != item)
    usual = world.catalog.users[user].mean_rating

    t = _ask(agent, "What would I rate it?", user, item, "rating")
    rating = _artifact(t, "predict_rating").rating
    assert f"{rating:.2f}" in _first(t.answer) and f"{usual:.2f}" in _first(t.answer)

    t = _ask(agent, "Why would I like it?", user, item, "why")
    assert f"{_artifact(t, 'aspect_ratings').rating:.2f}" in _first(t.answer)
    assert world.catalog.item_name(item) in _first(t.answer)

    t = _ask(agent, "how is the cleanliness?", user, item, "aspect")
    row = _artifact(t, "aspect_ratings").aspects["cleanliness"]
    assert "cleanliness" in _first(t.answer).lower() and f"{row.rating:.2f}" in _first(t.answer)

    t = _ask(agent, "Which aspect matters most to me?", user, item, "matters")
    importance = _artifact(t, "user_profile").importance
    top = importance.top()
    assert top in _first(t.answer).lower()
    if importance.known:
        assert f"{100 * importance.weights[top]:.0f}%" in _first(t.answer)

    t = _ask(agent, f"compare it with {other}", user, item, "compare")
    compared = _artifact(t, "compare_items")
    winner = next(c for c in compared.items if c.item_id == compared.better)
    loser = next(c for c in compared.items if c.item_id != compared.better)
    first = _first(t.answer)
    assert first.index(winner.item_name) < first.index(loser.item_name)
    assert f"{winner.rating:.2f}" in first and f"{loser.rating:.2f}" in first
    assert f"{winner.rating:.2f}" > f"{loser.rating:.2f}"  # a win the reader can see
    if ", mainly on " in first:  # the aspect named is one the winner wins
        mainly = first.split(", mainly on ")[1].rstrip(".")
        assert compared.aspects[mainly].better == winner.item_id


def _why(agent, user, item):
    turn = _ask(agent, "Why?", user, item, f"why-{user}-{item}")
    return turn, verdict([parse_artifact(a) for a in turn.evidence])


def test_a_why_cites_the_users_own_reviews(world, routed_agent):
    agent = routed_agent()
    for row in world.test.head(5).itertuples():
        own = set(world.train[world.train.user_id == row.user_id].review_id)
        assert len(own) >= 3
        turn, _ = _why(agent, row.user_id, row.item_id)
        assert set(turn.cited_review_ids) & own, turn.answer
        assert "You gave" in turn.answer or "You already reviewed it" in turn.answer


def test_would_i_like_it_and_why_states_the_verdict_once(world, routed_agent):
    agent = routed_agent()
    row = world.test.iloc[0]
    turn = _ask(agent, "Would I like it, and why?", row.user_id, row.item_id, "like-and-why")
    found = verdict([parse_artifact(a) for a in turn.evidence])
    assert f"{found.rating:.2f}" in _first(turn.answer)
    assert turn.answer.count(f"{found.rating:.2f}") == 1, turn.answer
    assert turn.cited_review_ids, turn.answer


def test_the_users_own_evidence_argues_the_verdicts_way_first(world, routed_agent):
    agent = routed_agent()
    checked = 0
    for row in world.test.head(12).itertuples():
        turn, found = _why(agent, row.user_id, row.item_id)
        history = next(a for a in map(parse_artifact, turn.evidence) if isinstance(a, UserHistoryArtifact))
        usual = found.usual if found.usual is not None else 3.5
        arguing = [r.review_id for r in history.similar if (r.rating >= usual) == found.positive]
        if not arguing or not history.similar:
            continue
        first_own = re.search(r"You gave .*?\[([^\]]+)\]", turn.answer).group(1)
        assert first_own in arguing, turn.answer
        checked += 1
    assert checked


def test_quotes_support_the_verdict_and_the_dissent_is_labelled(world, routed_agent):
    agent = routed_agent()
    ratings = dict(zip(world.train.review_id, world.train.rating, strict=True))
    seen = set()
    for row in world.test.itertuples():
        turn, found = _why(agent, row.user_id, row.item_id)
        own = set(world.train[world.train.user_id == row.user_id].review_id)
        others = [c for c in turn.cited_review_ids if c not in own]
        supporting = [c for c in others if not turn.answer.split(f"[{c}]")[0].rsplit("\n", 1)[-1]
                      .startswith(DISSENT)]
        if not supporting:
            continue
        seen.add(found.positive)
        if found.positive:
            assert all(ratings[c] >= 3.5 for c in supporting), turn.answer
        else:  # a "probably not for you" never rests on praise alone
            assert all(ratings[c] < 3.5 for c in supporting), turn.answer
        if DISSENT in turn.answer:
            dissent = turn.answer.split(DISSENT)[1]
            cited = re.findall(r"\[([^\]]+)\]", dissent)[0]
            assert (ratings[cited] >= 3.5) != found.positive
        if seen == {True, False}:
            break
    assert seen == {True, False}, "the synthetic test pairs should hold both verdicts"


def test_two_users_get_different_why_answers(world, routed_agent):
    agent = routed_agent()
    item = world.test.iloc[0].item_id
    users = [u for u in world.catalog.users][:2]
    answers = [_why(agent, u, item)[0].answer for u in users]
    sentences = [set(_SENTENCE.split(a)) for a in answers]
    shared = len(sentences[0] & sentences[1]) / min(map(len, sentences))
    assert shared <= 0.5


def test_importance_evidence_and_the_population_prior():
    flat = {"a": 0.25, "b": 0.25, "c": 0.25, "d": 0.25}
    assert importance_evidence(flat, 5).distance_from_uniform == 0.0
    assert not importance_evidence(flat, 5).known  # near the starting point: says nothing
    assert importance_evidence(flat, 30).known  # learned from 30 reviews: evenly weighed
    peaked = {"a": 0.55, "b": 0.15, "c": 0.15, "d": 0.15}
    assert importance_evidence(peaked, 10).distance_from_uniform == pytest.approx(0.3)
    assert importance_evidence(peaked, 10).known
    assert not importance_evidence(peaked, 1).known  # one review is too few
    assert mean_importance([peaked, flat]) == pytest.approx(
        {"a": 0.4, "b": 0.2, "c": 0.2, "d": 0.2})


def test_a_one_review_user_is_told_their_importance_is_not_known(world):
    user = world.test.iloc[0].user_id
    keep = world.train[world.train.user_id == user].head(1)
    frame = world.train[world.train.user_id != user]
    import pandas as pd

    catalog = Catalog.from_frame(pd.concat([frame, keep]), world.catalog.aspects, synthetic=True)
    recommender = replace(world.context.recommender, catalog=catalog)
    context = replace(world.context, catalog=catalog, recommender=recommender)
    tools = load_tools(context, ["user_profile"], include_plugins=False)
    message = tools["user_profile"].invoke({"type": "tool_call", "id": "1", "name": "user_profile",
                                            "args": {"user_id": user}})
    profile = parse_artifact(message.artifact)
    assert profile.importance.n_reviews == 1 and not profile.importance.known
    assert profile.importance.prior == "population" and profile.importance.prior_users >= 3
    record = {"name": "user_profile", "status": "success", "content": message.content,
              "artifact": message.artifact}
    answer = compose([record], intent="what_matters")
    assert _first(answer).startswith("There are not enough of your reviews")
    prior_top = max(profile.importance.prior_weights, key=profile.importance.prior_weights.get)
    assert f"weigh {prior_top} most" in answer and "users with at least 3 reviews" in answer


def _order(turn):
    artifact = next((parse_artifact(c.artifact) for c in turn.tool_calls if c.name == "what_if"), None)
    if artifact is not None:
        return [r.item_id for r in artifact.after]
    return [it.item_id for it in _artifact(turn, "recommend_items").items]


def test_what_if_reorders_recommendations_until_reset(world, routed_agent):
    agent = routed_agent()
    user = world.test.iloc[0].user_id
    weights = agent.ask("Which aspect matters most to me?", conversation_id="wi", user_id=user)
    least = min(_artifact(weights, "user_profile").importance.weights,
                key=_artifact(weights, "user_profile").importance.weights.get)
    before = _order(_ask(agent, "what should I try next?", user, None, "wi"))
    turn = _ask(agent, f"What if I cared most about {least}?", user, None, "wi")
    assert turn.intent == "what_if" and _first(turn.answer).startswith(f"If {least} mattered most")
    imagined = _order(_ask(agent, "what should I try next?", user, None, "wi"))
    assert imagined != before  # the order follows the imagined weights for the rest of the talk
    turn = _ask(agent, "reset", user, None, "wi")
    assert "Back to your own weights" in turn.answer
    assert _order(_ask(agent, "what should I try next?", user, None, "wi")) == before


def test_a_quote_that_would_contradict_the_numbers_is_not_taken():
    review = "Great taste, lovely malt. The taste lingers nicely."
    # Taste predicted low: no sentence of this praising review can be quoted beside it...
    assert excerpt(review, avoid=["taste"], aspects=["taste", "aroma"], strict=True) is None
    # ...though a sentence about something else can.
    mixed = review + " Pours a deep amber colour."
    assert excerpt(mixed, avoid=["taste"], aspects=["taste", "aroma", "appearance"],
                   strict=True) == "Pours a deep amber colour."


def test_a_like_verdict_argues_for_the_item_even_below_the_usual():
    found = Verdict("Dark Force", 4.02, usual=4.15)
    assert "like" in found.sentence() and found.positive


def test_a_wordless_opening_is_not_the_quote():
    assert excerpt("mmmmmmm.... Smooth roasted malt and a long dry finish.") == (
        "Smooth roasted malt and a long dry finish.")
