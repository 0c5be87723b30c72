"""The base install (no extra): the core commands run, the others name their extra.

One child process blocks every optional package (tests/helpers/base_install.py) and runs the
commands through the real entry point; `.ci/smoke-base` does the same on a real base install.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, sys
from tests.helpers.base_install import block_optional_packages
block_optional_packages()
from typer.testing import CliRunner
from elixir_agent.cli import app
runner = CliRunner()
out = []
for args in json.loads(sys.argv[1]):
    result = runner.invoke(app, args)
    out.append({"code": result.exit_code, "stdout": result.stdout, "stderr": result.stderr,
                "loaded": sorted(m for m in sys.modules if m.split(".")[0] in
                                 ("faiss", "langchain", "langgraph", "gradio", "peft", "sklearn"))})
print(json.dumps(out))
"""


def test_base_install_runs_the_core_and_names_missing_extras(tiny_run, tmp_path):
    row = pd.read_parquet(tiny_run.data_dir / "train.parquet").iloc[0]
    commands = [
        ["--help"],
        ["predict", "--run", str(tiny_run.run_dir), "--user", str(row.user_id), "--item", str(row.item_id),
         "--json"],
        ["index", "build", "--data", str(tiny_run.data_dir), "--out", str(tmp_path / "index")],
        ["ask", "--run", str(tiny_run.run_dir), "--data", str(tiny_run.data_dir), "--user",
         str(row.user_id), "Would I like it?"],
    ]
    done = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(commands)], cwd=REPO,
                          capture_output=True, text=True, check=True)
    help_, predict, index, ask = json.loads(done.stdout.strip().splitlines()[-1])
    assert help_["code"] == 0 and "predict" in help_["stdout"]
    assert predict["code"] == 0, predict["stderr"]
    assert 1.0 <= json.loads(predict["stdout"])["rating"] <= 5.0
    assert predict["loaded"] == []  # nothing of an extra was even attempted
    for result in (index, ask):
        lines = result["stderr"].strip().splitlines()
        assert result["code"] == 2 and len(lines) == 1, result
        assert "pip install 'elixir-agent[agent]'" in lines[0]
    assert not (tmp_path / "index").exists()
