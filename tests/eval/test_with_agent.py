"""The harness against the real agent graph (deterministic composer) over the synthetic world."""

from __future__ import annotations

import json

from elixir_agent.agent import build_agent
from elixir_agent.agent.explainers import AgentExplainer, CoreExplainer
from elixir_agent.eval.runner import evaluate, select_pairs
from elixir_agent.eval.scenario import bundled_scenarios, run_scenarios
from tests.helpers.agent_fakes import BagOfWordsEmbedder
from tests.helpers.agent_world import build_world


def test_core_vs_agent_on_synthetic_pairs(tmp_path):
    world = build_world(tmp_path / "world")
    recommender = world.context.recommender
    embedder = BagOfWordsEmbedder()
    agent = build_agent(world.context, llm="none", embedder=embedder)

    def ask(question, conversation_id, **context):
        return agent.ask(question, conversation_id=conversation_id, **context)

    pairs = select_pairs(world.test, world.catalog.aspects, 4, seed=0,
                         known=lambda u, i: recommender.has_user(u) and recommender.has_item(i))
    contexts = []
    for pair in pairs[:2]:
        p = recommender.predict(pair.user_id, pair.item_id)
        contexts.append({"user": pair.user_id, "item": pair.item_id, "item_name": world.catalog.item_name(pair.item_id),
                         "aspect": max(p.user_importance, key=p.user_importance.get), "rating": p.rating})
    scenarios = run_scenarios(bundled_scenarios(), ask, contexts)
    summary = evaluate(pairs, [CoreExplainer(recommender), AgentExplainer(ask, fallback=recommender)],
                       tmp_path / "report", aspects=world.catalog.aspects, encoder=embedder, resamples=20,
                       scenario_results=scenarios, progress=False)
    agent_metrics = summary["systems"]["agent"]["metrics"]
    # The composer writes only from tool results, so some of its sentences are grounded.
    assert 0.0 < agent_metrics["groundedness"]["value"] <= 1.0
    assert agent_metrics["verified_ok"]["value"] == 1.0  # the composer's answers always verify
    record = json.loads((tmp_path / "report" / "pairs.jsonl").read_text().splitlines()[0])
    assert record["systems"]["agent"]["text"] and record["systems"]["core"]["text"]
    assert "## Multi-turn scenarios" in (tmp_path / "report" / "report.md").read_text()
