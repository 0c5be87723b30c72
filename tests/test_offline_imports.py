"""Importing the project keeps bitsandbytes (via peft) from fetching kernels from the Hub."""

import importlib.machinery
import os
import subprocess
import sys

import pytest

PROBE = """
import sys
import elixir_agent
try:
    import kernels
    print("importable")
except ImportError:
    print("blocked")
"""


def _probe(**env: str) -> str:
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                            env={**os.environ, **env}, timeout=120, check=True)
    return result.stdout.strip()


# PathFinder looks on disk: sys.modules already holds the block once elixir_agent is imported
@pytest.mark.skipif(importlib.machinery.PathFinder.find_spec("kernels") is None,
                    reason="the `kernels` package is not installed: nothing to block")
def test_hub_kernels_are_blocked_unless_asked_for():
    assert _probe() == "blocked"
    assert _probe(ELIXIR_AGENT_HUB_KERNELS="1") == "importable"
    assert _probe(USE_HUB_KERNELS="yes") == "importable"  # transformers' own switch, set on


def test_transformers_is_told_not_to_kernelize_with_hub_kernels():
    script = "import os, elixir_agent; print(os.environ['USE_HUB_KERNELS'])"
    env = {k: v for k, v in os.environ.items() if k != "USE_HUB_KERNELS"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=env, timeout=120, check=True)
    assert result.stdout.strip() == "NO"


def _bitsandbytes_looks_up_hub_kernels() -> bool:
    """bitsandbytes asks the Hub for its CPU kernel only on CPUs with AVX512-BF16."""
    try:
        from bitsandbytes.functional import has_avx512bf16
    except ImportError:
        return False
    return bool(has_avx512bf16())


@pytest.mark.skipif(not _bitsandbytes_looks_up_hub_kernels(),
                    reason="bitsandbytes looks up Hub kernels only on CPUs with AVX512-BF16")
def test_peft_imports_without_a_hub_kernel_warning():
    result = subprocess.run([sys.executable, "-c", "import elixir_agent, peft"],
                            capture_output=True, text=True, timeout=300, check=True)
    assert "kernels-community" not in result.stderr
