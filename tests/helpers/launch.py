"""Training in several CPU processes for tests: `accelerate launch` with gloo.

`accelerate launch --cpu --num_processes 2` starts one process unless MPI is set up;
`--multi_gpu` makes it start N processes through torch.distributed.run, and with
`--device cpu` (or no GPU) each one joins a gloo process group.

As a script, trains the `tiny` preset with any config overrides (what the CLI has no flag for):

    accelerate launch ... -m tests.helpers.launch DATA RUN dropout=0 batch_size=16
"""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def launch_command(processes: int, module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu",
            "--num_processes", str(processes), "--num_machines", "1", "--mixed_precision", "no",
            "--dynamo_backend", "no", "--main_process_port", str(_free_port()),
            "-m", module, *args]


def launch_env() -> dict[str, str]:
    """One thread a process (two processes share two cores), and the repo importable."""
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _main(argv: list[str]) -> None:
    from tests.helpers.tiny_run import train_tiny

    data, run, *pairs = argv
    overrides = {k: json.loads(v) for k, v in (pair.split("=", 1) for pair in pairs)}
    train_tiny(Path(data), Path(run), **overrides)


if __name__ == "__main__":
    _main(sys.argv[1:])
