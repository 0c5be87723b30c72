"""`elixir-agent ui` and `elixir-agent demo`: the checks that run before anything loads."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from elixir_agent.cli import app
from elixir_agent.ui.demo import DemoPlan, prepare_demo

runner = CliRunner()


def test_missing_run_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["ui", "--run", str(tmp_path / "nope"), "--data", str(tmp_path)])
    assert result.exit_code == 2
    assert "no trained run there" in result.output and "elixir-agent train" in result.output


def test_exposed_host_needs_auth_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("ELIXIR_UI_AUTH", raising=False)
    args = ["ui", "--run", str(tmp_path), "--data", str(tmp_path), "--host", "0.0.0.0"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "ELIXIR_UI_AUTH=user:password" in result.output
    monkeypatch.setenv("ELIXIR_UI_AUTH", "only-a-user")
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "must be 'user:password'" in result.output


def test_demo_skips_steps_whose_output_exists(tmp_path):
    plan = DemoPlan.for_source(tmp_path, None, None)
    for _, done, _ in plan.steps():
        done.parent.mkdir(parents=True, exist_ok=True)
        done.write_text("{}")
    lines: list[str] = []
    assert set(prepare_demo(plan, echo=lines.append).values()) == {0.0}
    assert all("skipped" in line for line in lines)


def test_demo_keeps_real_and_synthetic_data_apart(tmp_path):
    synthetic = DemoPlan.for_source(tmp_path, None, None)
    real = DemoPlan.for_source(tmp_path, Path("/data/ratebeer/reviews_store"), "ratebeer")
    assert synthetic.run != real.run and "ratebeer" in str(real.data)
    assert real.steps()[0][2][:4] == ["data", "prepare", "--format", "ratebeer"]


def test_demo_plans_only_the_text_epochs_its_training_budget_can_finish(tmp_path):
    def train_args(minutes: float) -> list[str]:
        plan = DemoPlan.for_source(tmp_path, None, None, minutes=minutes)
        return next(args for what, _, args in plan.steps() if what == "core model")

    default = train_args(6.0)
    assert default[default.index("--time-budget") + 1] == "360"
    assert default[default.index("--text-epochs") + 1] == "3"
    longer = train_args(30.0)
    assert longer[longer.index("--text-epochs") + 1] == "8"  # the cpu preset's own number


def _built_with(monkeypatch, args: list[str]) -> dict:
    """The keyword arguments `elixir-agent ui ARGS` builds the app with (it stops there)."""
    from elixir_agent.ui import cli as ui_cli

    seen: dict = {}

    def build(run, index, data, llm, **kwargs):
        seen.update(kwargs)
        raise typer.Exit(0)
    monkeypatch.setattr(ui_cli, "build_from_paths", build)
    result = runner.invoke(app, ["ui", "--run", "RUN", "--data", "DATA", *args])
    assert result.exit_code == 0, result.output
    return seen


def test_memory_and_concurrency_reach_the_app(monkeypatch, tmp_path):
    from elixir_agent.agent.context import default_memory_path

    assert _built_with(monkeypatch, [])["memory"] == default_memory_path()  # same file as `chat`
    kept = _built_with(monkeypatch, ["--memory", str(tmp_path / "c.sqlite"), "--concurrency", "3"])
    assert kept["memory"] == tmp_path / "c.sqlite" and kept["concurrency"] == 3
    assert _built_with(monkeypatch, ["--memory", "none"])["memory"] is None


def test_help_says_why_concurrency_defaults_to_one():
    result = runner.invoke(app, ["ui", "--help"], env={"COLUMNS": "200"})
    text = " ".join(result.output.replace("│", " ").split())
    assert "--memory" in text and "'none' keeps them in this process only" in text
    assert "not thread-safe" in text


def test_demo_warns_when_its_budget_cut_training_short(tmp_path):
    import json

    from elixir_agent.ui.demo import training_cut_short

    plan = DemoPlan.for_source(tmp_path, None, None, minutes=6.0)
    plan.run.mkdir(parents=True)
    stops = [{"phase": "rating", "reason": "ran all 20 epochs", "cut_short": False},
             {"phase": "text", "reason": "stopped after 1 of 3 epochs by the time budget (360 s)",
              "cut_short": True}]
    (plan.run / "summary.json").write_text(json.dumps({"stops": stops}))
    warning = training_cut_short(plan)
    assert warning and "text phase stopped after 1 of 3 epochs" in warning
    assert "--minutes 12" in warning
    stops[1]["cut_short"] = False
    (plan.run / "summary.json").write_text(json.dumps({"stops": stops}))
    assert training_cut_short(plan) is None
