"""Keeping third-party imports from fetching code at run time.

Two libraries reach for compiled kernels on the Hugging Face Hub by themselves when the
`kernels` package is installed (transformers brings it):
- bitsandbytes, imported by peft (so by every LoRA run), looks one up as it is imported on
  CPUs with AVX512-BF16: a network call at import time and, if the publisher is trusted,
  code downloaded from the Hub and run;
- transformers' `from_pretrained` "kernelizes" models with Hub kernels unless
  `USE_HUB_KERNELS` says no.
`block_hub_kernels` sets `USE_HUB_KERNELS=NO` (inherited by Ray actors and DDP processes) and
hides `kernels` from the import system, so bitsandbytes uses its own kernel. Nothing in this
project needs Hub kernels.

`ELIXIR_AGENT_HUB_KERNELS=1`, or `USE_HUB_KERNELS=YES` set by the user, leaves both alone.
"""

from __future__ import annotations

import logging
import os
import sys

HUB_KERNELS_ENV = "ELIXIR_AGENT_HUB_KERNELS"
# The logger whose warning would then say, on every run, that the Hub kernel failed to load.
_BITSANDBYTES_CPU_LOGGER = "bitsandbytes.backends.cpu.ops"


class _HubKernelNotice(logging.Filter):
    """Drops bitsandbytes' "Failed to load ... from kernels-community" warning: the kernel
    was not wanted, and its own kernel is what runs."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "kernels-community" not in str(record.msg)


def block_hub_kernels() -> bool:
    """Turn Hub kernels off for this process unless the user opted in; True when `kernels`
    was hidden now (False too when it was already imported: too late to hide)."""
    if os.environ.get(HUB_KERNELS_ENV, "") == "1" or \
            os.environ.get("USE_HUB_KERNELS", "").upper() in ("1", "YES", "TRUE", "ON"):
        return False
    os.environ["USE_HUB_KERNELS"] = "NO"
    if "kernels" in sys.modules:
        return False
    sys.modules["kernels"] = None  # the import system's marker for "not importable"
    logging.getLogger(_BITSANDBYTES_CPU_LOGGER).addFilter(_HubKernelNotice())
    return True
