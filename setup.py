"""Packaging glue: the layers live in top-level folders (core_model/, retrieval/, tools/,
agent/, ui/, eval/) so the repository shows the architecture, but they install under one
import namespace, `elixir_agent.<layer>`, so that generic names like `tools` or `eval` never
collide with other packages in site-packages. Everything else is in pyproject.toml."""

from setuptools import find_packages, setup

LAYERS = ["core_model", "retrieval", "tools", "agent", "ui", "eval"]

packages = ["elixir_agent"]
package_dir = {"elixir_agent": "elixir_agent"}
for layer in LAYERS:
    package_dir[f"elixir_agent.{layer}"] = layer
    packages.append(f"elixir_agent.{layer}")
    packages.extend(f"elixir_agent.{layer}.{sub}" for sub in find_packages(layer))

setup(
    packages=packages,
    package_dir=package_dir,
    package_data={
        "elixir_agent.agent": ["prompts/*.md", "prompts/*.txt"],
        "elixir_agent.eval": ["scenarios/*.toml", "scenarios/*.json", "prompts/*.md"],
    },
)
