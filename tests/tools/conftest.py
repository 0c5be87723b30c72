import pytest

from tests.helpers.agent_world import build_world


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    return build_world(tmp_path_factory.mktemp("tools-world"))
