"""Core tests run single-threaded: tiny tensors are slower with two contending threads."""

import torch

from tests.helpers.tiny_run import tiny_data, tiny_run  # noqa: F401  (session fixtures)

torch.set_num_threads(1)
