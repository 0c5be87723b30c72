"""Data-parallel training under `accelerate launch` (or `torchrun`): who this process is, its
share of each batch, gradient sync, and agreement on when to stop.

A plain `elixir-agent train` is one process and touches none of this machinery: accelerate
is imported only when a launcher started several processes (WORLD_SIZE > 1).

Run with: accelerate launch --multi_gpu --num_processes 2 -m elixir_agent train ...
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.nn as nn

__all__ = ["Processes", "is_main_process", "start_processes"]


def launched_processes() -> int:
    """How many processes the launcher started (1 when none did)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    """Rank 0, or the only process: the one that writes files and prints."""
    return int(os.environ.get("RANK", "0")) == 0


@dataclass(frozen=True)
class Processes:
    """This process's place among the training processes (one of one without a launcher)."""

    device: torch.device
    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def global_batches(self, order: torch.Tensor, per_process: int) -> list[torch.Tensor]:
        """The epoch's row order cut into global batches of `per_process` rows per process.

        Under a launcher, a last batch with fewer rows than processes is dropped: a process
        with no rows cannot take part in the gradient all-reduce.
        """
        batches = list(order.split(per_process * self.world_size))
        if self.distributed and batches and len(batches[-1]) < self.world_size:
            batches.pop()
        return batches

    def shard(self, batch: torch.Tensor) -> tuple[torch.Tensor, float]:
        """This process's disjoint slice of a global batch, and the weight of its loss.

        DDP averages the processes' gradients with equal weights. Scaling each loss by
        (its rows x processes / global rows) turns that average into the gradient of the
        mean loss over the whole global batch, also when the last batch splits unevenly.
        """
        if not self.distributed:
            return batch, 1.0
        mine = torch.tensor_split(batch, self.world_size)[self.rank]
        return mine, len(mine) * self.world_size / len(batch)

    def wrap(self, module: nn.Module) -> nn.Module:
        """DDP around `module` when several processes train, so backward all-reduces gradients.

        Each phase trains only part of the model (the text phase runs the rating model under
        no_grad), hence find_unused_parameters. Buffers (offsets, popularity, histories) are
        built the same way everywhere and never change in training: no need to broadcast them.
        """
        if not self.distributed:
            return module
        device_ids = [self.device.index] if self.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(
            module, device_ids=device_ids, find_unused_parameters=True, broadcast_buffers=False)

    def any(self, flag: bool) -> bool:
        """True on every process when it is True on one: all must stop at the same step.

        Wall-clock limits are read on each process's own clock and can disagree by a step.
        """
        if not self.distributed:
            return flag
        value = torch.tensor([float(flag)], device=self.device)
        torch.distributed.all_reduce(value, op=torch.distributed.ReduceOp.MAX)
        return bool(value.item())

    def wait(self) -> None:
        """Barrier: e.g. the other processes wait while rank 0 prepares the run directory."""
        if self.distributed:
            torch.distributed.barrier()

    def finish(self) -> None:
        if self.distributed and torch.distributed.is_initialized():
            torch.distributed.barrier()
            torch.distributed.destroy_process_group()


def start_processes(device: str) -> Processes:
    """One process on `device` ("auto" = cuda when available), or, under a launcher, this
    rank's place in the process group that accelerate sets up (NCCL on GPUs, gloo on CPUs)."""
    if launched_processes() == 1:
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        return Processes(torch.device(device))
    try:
        from accelerate import PartialState
    except ImportError as error:
        raise ImportError("training with several processes needs accelerate: "
                          "pip install 'elixir-agent[train]'") from error
    cpu = device == "cpu" or (device == "auto" and not torch.cuda.is_available())
    state = PartialState(cpu=cpu)
    # accelerate names the CPU device "cpu:0" on every rank; tensors compare devices by type.
    where = torch.device("cpu") if state.device.type == "cpu" else state.device
    return Processes(where, rank=state.process_index, world_size=state.num_processes)
