import pytest

from elixir_agent.agent import build_agent
from tests.helpers.agent_fakes import BagOfWordsEmbedder
from tests.helpers.agent_world import build_world


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    return build_world(tmp_path_factory.mktemp("agent-world"))


@pytest.fixture(scope="session")
def embedder():
    return BagOfWordsEmbedder()


@pytest.fixture
def pair(world):
    """A (user, item) test pair: the user has not reviewed the item in training."""
    return world.test_pair()


@pytest.fixture
def routed_agent(world, embedder):
    def make(llm="none", checkpointer=None, context=None):
        return build_agent(context or world.context, llm=llm, checkpointer=checkpointer,
                           embedder=embedder)
    return make
