"""What this machine's CPU can do, where the choice of a fast path depends on it."""

from __future__ import annotations

import sys
from pathlib import Path


def cpu_has_native_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether this CPU multiplies bf16 natively (AVX512-BF16 or AMX-BF16).

    Without it oneDNN emulates bf16 (on any AVX512 CPU, which is why its own
    `_is_mkldnn_bf16_supported` is not the test), and bf16 runs slower than float32. Read
    from /proc/cpuinfo; other systems report False, so only a bf16 path asked for by name
    runs there."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[-1].split())
            return bool(flags & {"avx512_bf16", "amx_bf16"})
    return False
