"""The `index`, `bench retrieval` and `bench embedder` commands, driven through typer's test runner."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from elixir_agent.core_model.data.synthetic import write_synthetic
from elixir_agent.retrieval.cli import register

runner = CliRunner()


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    root = typer.Typer()
    bench = typer.Typer()
    root.add_typer(bench, name="bench")
    register(root, bench)
    return root


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "syn"
    write_synthetic(out, n_users=12, n_items=8, n_reviews=80, seed=5)
    return out


def test_help_lists_the_commands(app):
    result = runner.invoke(app, ["index", "--help"])
    assert result.exit_code == 0 and "build" in result.output and "search" in result.output
    result = runner.invoke(app, ["bench", "retrieval", "--help"])
    assert result.exit_code == 0 and "--sizes" in result.output


def test_build_then_search(app, tiny_dataset, tmp_path):
    out = tmp_path / "idx"
    result = runner.invoke(app, ["index", "build", "--data", str(tiny_dataset), "--out", str(out),
                                 "--json"])
    assert result.exit_code == 0, result.output
    written = json.loads(result.stdout)  # progress goes to stderr, so stdout is the JSON alone
    manifest = json.loads((out / "manifest.json").read_text())
    assert written["out"] == str(out) and written["splits"] == ["train"]
    assert written["reviews"] == manifest["count"] == len(pd.read_parquet(out / "reviews.parquet"))
    assert written["embedder"] == manifest["embedder"]
    item = pd.read_parquet(out / "reviews.parquet")["item_id"].iloc[0]
    result = runner.invoke(app, ["index", "search", "--index", str(out), "the staff was rude",
                                 "-k", "3", "--item", item, "--json"])
    assert result.exit_code == 0, result.output
    hits = [json.loads(line) for line in result.stdout.splitlines()]
    assert 1 <= len(hits) <= 3 and all(h["item_id"] == item for h in hits)
    result = runner.invoke(app, ["index", "search", "--index", str(out), "clean room"])
    assert result.exit_code == 0 and "closest to" in result.output


def test_search_on_a_missing_index_names_it(app, tmp_path):
    result = runner.invoke(app, ["index", "search", "--index", str(tmp_path / "none"), "x"])
    assert result.exit_code != 0
    assert "is not a review index" in str(result.exception)


def test_bench_writes_json_and_markdown(app, tmp_path):
    result = runner.invoke(app, ["bench", "retrieval", "--out", str(tmp_path), "--sizes", "3000",
                                 "--queries", "100", "--no-encoding"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "retrieval.json").read_text())
    factories = {row["factory"] for row in report["results"]}
    assert factories == {"Flat", "HNSW32", "IVF256,Flat"}
    flat = next(r for r in report["results"] if r["factory"] == "Flat")
    assert flat["recall_at_10"] == 1.0
    assert all(0.0 <= r["recall_at_10"] <= 1.0 for r in report["results"])
    assert "| 3,000 | HNSW32 |" in (tmp_path / "retrieval.md").read_text()


def test_bench_embedder_on_too_few_texts_says_how_many_queries_fit(app, tiny_dataset, tmp_path):
    result = runner.invoke(app, ["bench", "embedder", "--out", str(tmp_path),
                                 "--texts", str(tiny_dataset), "--n-texts", "300"])
    assert result.exit_code != 0
    assert "review texts" in result.output and "--queries" in result.output
    assert not (tmp_path / "embedder.json").exists()
