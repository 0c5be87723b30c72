"""Tools and the routed agent on a tiny trained ELIXIR run and a real FAISS index (fake embedder)."""

from __future__ import annotations

import pytest

from elixir_agent.agent import build_agent, sqlite_checkpointer
from elixir_agent.core_model.data.storage import load_prepared
from elixir_agent.tools import Catalog, ToolContext, load_tools
from tests.helpers.agent_fakes import BagOfWordsEmbedder
from tests.helpers.fake_embedder import FakeEmbedder
from tests.helpers.tiny_run import tiny_data, tiny_run  # noqa: F401  (session fixtures)

pytestmark = pytest.mark.slow  # trains the tiny run (about 10 s) and loads torch


@pytest.fixture(scope="module")
def real_context(tiny_run):  # noqa: F811
    from elixir_agent.retrieval import ReviewIndex

    dataset = load_prepared(tiny_run.data_dir)
    index = ReviewIndex.build(dataset, FakeEmbedder())
    return ToolContext(recommender=tiny_run.recommender(), index=index,
                       catalog=Catalog.from_dataset(dataset)), dataset


def test_every_tool_runs_on_the_real_core(real_context):
    context, dataset = real_context
    row = dataset.split("test").iloc[0]
    other = next(i for i in sorted(context.catalog.items) if i != row.item_id)
    args = {"user_id": row.user_id, "item_id": row.item_id, "item_a": row.item_id,
            "item_b": other, "query": "clean room", "aspects": [context.aspects[0]]}
    for name, tool in load_tools(context).items():
        fields = tool.args_schema.model_fields
        message = tool.invoke({"type": "tool_call", "id": name, "name": name,
                               "args": {k: v for k, v in args.items() if k in fields}})
        assert message.status == "success", (name, message.content)
        assert message.artifact["tool"] == name


def test_routed_agent_on_the_real_core_verifies_every_number(real_context, tmp_path):
    context, dataset = real_context
    row = dataset.split("test").iloc[0]
    agent = build_agent(context, llm="none", embedder=BagOfWordsEmbedder(),
                        checkpointer=sqlite_checkpointer(tmp_path / "m.sqlite"))
    questions = ["Would I like it?", "Why?", "how is the service?", "recommend me 3 hotels",
                 "what about the first one?", "show me reviews about the staff"]
    for n, question in enumerate(questions):
        turn = agent.ask(question, conversation_id="real", user_id=row.user_id if n == 0
                         else None, item_id=row.item_id if n == 0 else None)
        assert turn.tool_calls and all(c.status == "success" for c in turn.tool_calls)
        assert turn.verification.ok and turn.verification.action == "accepted", turn.answer
