"""Reliability drills run on the tiny trained run and the synthetic agent world."""

import pytest
import torch

from tests.helpers.agent_world import build_world
from tests.helpers.tiny_run import tiny_data, tiny_run  # noqa: F401  (session fixtures)

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    return build_world(tmp_path_factory.mktemp("reliability-world"))
