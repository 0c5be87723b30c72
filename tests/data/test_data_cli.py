"""`elixir-agent data ...` end to end, on the real files where they exist."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from elixir_agent.cli import app
from elixir_agent.core_model.data.storage import load_prepared

runner = CliRunner()


def test_prepare_ratebeer_gives_about_the_published_5core(shared_data, tmp_path):
    out = tmp_path / "rb"
    result = runner.invoke(app, ["data", "prepare", "--format", "ratebeer", "--input",
                                 str(shared_data / "ratebeer" / "reviews_store"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    counts = load_prepared(out).info.counts
    # The data README reports about 18,184 reviews / 1,192 users / 1,524 beers for the 5-core.
    # That count includes 1,240 reviews whose whole text is an edit stamp ("UPDATED: FEB 20,
    # 2011"); here they have no text and are dropped, so the 5-core is about 6% smaller.
    assert 0.93 < counts["reviews"] / 18184 < 0.96
    assert 0.95 < counts["users"] / 1192 < 0.99
    assert 0.94 < counts["items"] / 1524 < 0.98
    info = json.loads((out / "dataset.json").read_text())
    assert sorted(info["aspects"]) == ["appearance", "aroma", "palate", "taste"]
    assert info["aspect_scales"]["aroma"] == [1, 10]


def test_prepare_lara_keeps_unrated_aspects_missing(shared_data, tmp_path):
    out = tmp_path / "ta"
    result = runner.invoke(app, ["data", "prepare", "--format", "lara-dat", "--input",
                                 str(shared_data / "tripadvisor-lara"), "--kcore", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    frame = load_prepared(out).all_reviews()
    assert len(frame) == 2859  # 2,869 published reviews less 10 repeated author-hotel pairs
    aspects = frame.filter(like="aspect_")
    assert aspects.min().min() >= 1 and aspects.max().max() <= 5
    assert aspects["aspect_business_service"].isna().mean() > 0.5  # mostly "-1", never -1
    stats = runner.invoke(app, ["data", "stats", str(out)])
    assert stats.exit_code == 0 and "cleanliness" in stats.output


def test_malformed_row_names_file_and_line_and_skip_reports_it(tmp_path):
    source = tmp_path / "reviews.csv"
    rows = [{"u": f"u{n % 3}", "i": f"i{n % 2}", "stars": "lots" if n == 3 else "4", "body": "good"}
            for n in range(6)]
    pd.DataFrame(rows).to_csv(source, index=False)
    args = ["data", "prepare", "--format", "csv", "--input", str(source), "--kcore", "1",
            "--mapping", "user=u,item=i,rating=stars,text=body"]
    failed = runner.invoke(app, [*args, "--out", str(tmp_path / "a")])
    assert failed.exit_code == 2
    assert "reviews.csv:5" in failed.output and "stars" in failed.output
    assert not (tmp_path / "a").exists()
    skipped = runner.invoke(app, [*args, "--out", str(tmp_path / "b"), "--on-error", "skip"])
    assert skipped.exit_code == 0, skipped.output
    assert "skipped (malformed)" in skipped.output and "-1" in skipped.output


def test_empty_kcore_exits_with_advice(tmp_path):
    source = tmp_path / "tiny.jsonl"
    source.write_text('{"u": "a", "i": "x", "r": 3, "t": "ok"}\n')
    result = runner.invoke(app, ["data", "prepare", "--format", "jsonl", "--input", str(source),
                                 "--out", str(tmp_path / "o"), "--mapping", "user=u,item=i,rating=r,text=t"])
    assert result.exit_code == 2
    assert "lower --kcore" in result.output


def test_synth_json_says_what_it_wrote_and_matches_the_dataset(tmp_path):
    out = tmp_path / "syn"
    result = runner.invoke(app, ["data", "synth", "--out", str(out), "--users", "12", "--items", "6",
                                 "--reviews", "60", "--json"])
    assert result.exit_code == 0, result.output
    written = json.loads(result.stdout)
    assert written["out"] == str(out) and written["synthetic"] is True
    assert written["counts"] == load_prepared(out).info.counts
    assert written["counts"]["reviews"] == 60
