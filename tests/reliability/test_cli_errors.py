"""Every anticipated CLI failure is one line on stderr, exit code 2, a hint, no traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from elixir_agent.cli import app
from elixir_agent.console import to_json
from elixir_agent.errors import UserError

REPO = Path(__file__).resolve().parents[2]
TABULAR = REPO / "tests" / "fixtures" / "tabular"
runner = CliRunner()


def run_cli(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def assert_one_line_error(result, *needles: str) -> str:
    """Exit 2, exactly one line on stderr starting with 'error:', no traceback anywhere."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert ("Traceback" not in result.output and result.exception is None) or isinstance(
        result.exception, SystemExit)
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def a_pair(tiny_run) -> tuple[str, str]:
    row = pd.read_parquet(tiny_run.data_dir / "train.parquet").iloc[0]
    return str(row.user_id), str(row.item_id)


def test_version():
    result = run_cli("--version")
    assert result.exit_code == 0 and result.stdout.startswith("elixir-agent ")


def test_a_bad_choice_lists_the_valid_ones(tmp_path):
    line = assert_one_line_error(run_cli("data", "prepare", "--format", "ratebeerx", "--input",
                                         tmp_path, "--out", tmp_path / "o"), "ratebeerx")
    assert "ratebeer" in line and "lara-dat" in line and "--help" in line


def test_the_format_choices_are_the_registered_loaders():
    from elixir_agent.core_model.data.cli import DataFormat
    from elixir_agent.core_model.data.loaders import FORMATS

    assert [f.value for f in DataFormat] == list(FORMATS)


def test_bad_mapping_syntax(tmp_path):
    assert_one_line_error(run_cli("data", "prepare", "--format", "csv", "--input", TABULAR / "reviews.csv",
                                  "--mapping", "user=reviewer,oops", "--out", tmp_path / "o"),
                          "--mapping", "'oops' is not key=value")
    assert not (tmp_path / "o").exists()


def test_empty_input_with_kcore_1_does_not_advise_a_lower_kcore(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    line = assert_one_line_error(run_cli("data", "prepare", "--format", "jsonl", "--input", empty,
                                         "--mapping", TABULAR / "mapping.toml", "--kcore", "1",
                                         "--out", tmp_path / "o"))
    assert "kcore" not in line


def test_negative_epochs_and_budgets_write_nothing(tiny_data, tmp_path):
    for option, value in [("--rating-epochs", "-3"), ("--text-epochs", "0"), ("--time-budget", "-5"),
                          ("--checkpoint-every", "0")]:
        out = tmp_path / option.strip("-")
        assert_one_line_error(run_cli("train", "--data", tiny_data, "--out", out, "--preset", "tiny",
                                      option, value), option)
        assert not out.exists()


def test_a_missing_backbone_path_is_named(tiny_data, tmp_path):
    assert_one_line_error(run_cli("train", "--data", tiny_data, "--out", tmp_path / "o", "--backbone",
                                  "/no/such/path"), "/no/such/path", "no such file")
    assert not (tmp_path / "o").exists()


def test_train_on_a_folder_that_is_not_a_dataset(tmp_path):
    assert_one_line_error(run_cli("train", "--data", tmp_path, "--out", tmp_path / "o"),
                          "no prepared dataset", "data prepare")


@pytest.mark.parametrize("damage", ["config.json", "elixir.safetensors"])
def test_a_truncated_run_file(tiny_run, a_pair, tmp_path, damage):
    run = tmp_path / "run"
    shutil.copytree(tiny_run.run_dir, run)
    size = (run / damage).stat().st_size
    with (run / damage).open("r+b") as handle:
        handle.truncate(size // 3)
    assert_one_line_error(run_cli("predict", "--run", run, "--user", a_pair[0], "--item", a_pair[1]),
                          str(run), "retrain")


def test_predict_json_is_strict_json(tiny_run, a_pair):
    result = run_cli("predict", "--run", tiny_run.run_dir, "--user", a_pair[0], "--item", a_pair[1], "--json")
    assert result.exit_code == 0, result.output
    prediction = json.loads(result.stdout, parse_constant=lambda c: pytest.fail(f"bare {c} in JSON"))
    assert 1.0 <= prediction["rating"] <= 5.0


def test_a_non_finite_number_is_an_error_not_json():
    assert to_json({"rating": 3.5, "aspects": [1.0]}) .startswith("{")
    with pytest.raises(UserError, match=r"\$\.aspects\.taste"):
        to_json({"rating": 3.5, "aspects": {"taste": float("nan")}})


def test_predict_an_unknown_user(tiny_run, a_pair):
    assert_one_line_error(run_cli("predict", "--run", tiny_run.run_dir, "--user", "nobody-here",
                                  "--item", a_pair[1]), "unknown user id 'nobody-here'")


def test_ask_with_a_dataset_as_run(tiny_run, a_pair):
    assert_one_line_error(run_cli("ask", "--run", tiny_run.data_dir, "--data", tiny_run.data_dir,
                                  "--user", a_pair[0], "Would I like it?"),
                          "is a prepared dataset, not a trained run", "--data")


def test_ask_with_a_wrong_data_or_index(tiny_run, a_pair, tmp_path):
    assert_one_line_error(run_cli("ask", "--run", tiny_run.run_dir, "--data", tiny_run.run_dir,
                                  "--user", a_pair[0], "Why?"), "--data", "a trained run there")
    assert_one_line_error(run_cli("ask", "--run", tiny_run.run_dir, "--data", tiny_run.data_dir,
                                  "--index", tmp_path, "--user", a_pair[0], "Why?"),
                          "--index", "index build")


def test_ask_an_unknown_user_exits_non_zero(tiny_run, a_pair):
    result = run_cli("ask", "--run", tiny_run.run_dir, "--data", tiny_run.data_dir, "--llm", "none",
                     "--user", "nobody-here", "Would I like it?")
    assert_one_line_error(result, "unknown user id 'nobody-here'")


def test_a_bad_planner_choice(tiny_run, a_pair):
    assert_one_line_error(run_cli("ask", "--run", tiny_run.run_dir, "--data", tiny_run.data_dir,
                                  "--planner", "magic", "--user", a_pair[0], "Why?"), "'magic'")


def test_debug_shows_the_traceback(tmp_path):
    result = run_cli("--debug", "train", "--data", tmp_path, "--out", tmp_path / "o")
    assert isinstance(result.exception, UserError)
