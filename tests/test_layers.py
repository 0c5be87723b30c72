"""The direction of dependencies (ui -> agent -> tools -> {core_model, retrieval}), checked on
the import statements of each layer, including imports inside functions."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]

# layer directory -> module prefixes none of its files may import
FORBIDDEN = {
    "ui": ("elixir_agent.eval", "elixir_agent.agent.cli", "elixir_agent.core_model.cli",
           "elixir_agent.retrieval.cli"),
    "core_model": ("langchain", "langchain_core", "langgraph", "gradio", "elixir_agent.agent",
                   "elixir_agent.tools", "elixir_agent.ui"),
    "retrieval": ("langchain", "langchain_core", "langgraph", "gradio", "elixir_agent.agent",
                  "elixir_agent.tools", "elixir_agent.ui"),
}


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_does_not_import_what_sits_above_it_or_beside_it(layer):
    offending = [f"{path.relative_to(ROOT)}:{line} imports {module}"
                 for path in sorted((ROOT / layer).rglob("*.py"))
                 for line, module in _imported_modules(path)
                 if any(module == bad or module.startswith(bad + ".") for bad in FORBIDDEN[layer])]
    assert offending == []
