"""`bench agent`: generated questions, per-configuration latency and verification, one table."""

from elixir_agent.agent import build_agent
from elixir_agent.agent.bench import generate_questions, markdown_table, run_bench
from tests.helpers.fake_chat import ScriptedWriter


def test_configurations_answer_the_same_questions_side_by_side(world, embedder):
    names = {i: world.catalog.item_name(i) for i in world.catalog.items}
    questions = generate_questions(world.test, world.context.aspects, names, n=12, seed=1)
    assert len(questions) == 12 and len({q for _, _, q in questions}) >= 8
    composer = build_agent(world.context, llm="none", embedder=embedder)
    inventive = ScriptedWriter(lambda system, prompt, n: "A legendary place!")
    lead = build_agent(world.context, llm=inventive, embedder=embedder, drafting="lead")
    results = [run_bench(composer, questions, llm="none"),
               run_bench(lead, questions, llm="scripted (lead)")]
    assert [r.n_turns for r in results] == [12, 12]
    assert all(r.verified_share == 1.0 for r in results)  # replaced drafts are still grounded
    assert results[0].actions == {"accepted": 12}
    assert results[1].actions.get("accepted", 0) == 0 and results[1].draft_verified_share < 1
    table = markdown_table(results).splitlines()
    assert len(table) == 4 and table[2].startswith("| none | routed | 12 |")
    assert "| scripted (lead) |" in table[3]
