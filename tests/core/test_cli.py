"""The core's commands through the real `elixir-agent` app."""

import json

from typer.testing import CliRunner

from elixir_agent.cli import app

runner = CliRunner()


def test_predict_and_explain(tiny_run):
    rec = tiny_run.recommender()
    user, item = rec.artifacts.users.ids[0], rec.artifacts.items.ids[0]
    result = runner.invoke(app, ["predict", "--run", str(tiny_run.run_dir), "--user", user,
                                 "--item", item, "--json"])
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.output)["aspect_ratings"]) == set(rec.aspects)
    result = runner.invoke(app, ["explain", "--run", str(tiny_run.run_dir), "--user", user,
                                 "--item", item, "--max-new-tokens", "6"])
    assert result.exit_code == 0, result.output


def test_bad_input_gets_a_clear_error(tiny_run, tmp_path):
    rec = tiny_run.recommender()
    item = rec.artifacts.items.ids[0]
    result = runner.invoke(app, ["predict", "--run", str(tiny_run.run_dir), "--user", "nobody",
                                 "--item", item])
    assert result.exit_code == 2
    assert "unknown user id 'nobody'" in result.output
    result = runner.invoke(app, ["explain", "--run", str(tmp_path / "missing"), "--user", "u",
                                 "--item", "i"])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_train_tiny_from_the_command_line(tiny_data, tmp_path):
    out = tmp_path / "run"
    args = ["train", "--data", str(tiny_data), "--out", str(out), "--preset", "tiny",
            "--rating-epochs", "1", "--text-epochs", "1", "--threads", "1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (out / "config.json").exists()
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "--resume" in again.output


def test_train_says_what_to_do_with_an_existing_out_dir_and_what_resume_did(tiny_data, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("not a run")
    args = ["train", "--data", str(tiny_data), "--out", str(out), "--preset", "tiny",
            "--rating-epochs", "1", "--text-epochs", "1", "--threads", "1"]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 2
    assert (f"{out} already holds files; pass --resume to continue it, --overwrite to replace "
            "it, or choose another --out") in refused.output
    assert "see: elixir-agent train --help" in refused.output
    assert not (out / "config.json").exists()  # nothing was trained over the files

    (out / "notes.txt").unlink()
    assert runner.invoke(app, args).exit_code == 0
    finished = runner.invoke(app, args)
    assert finished.exit_code == 2 and f"{out} already holds a finished run" in finished.output

    resumed = runner.invoke(app, [*args, "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert f"resuming {out} from phase text" in resumed.output
    assert f"wrote {out}: valid RMSE" in resumed.output


def test_every_command_has_help():
    for command in (["train"], ["predict"], ["explain"], ["bench", "core"]):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0 and "Run with:" in result.output
