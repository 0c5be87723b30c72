"""`elixir-agent batch`: the same rows out of the plain loop and of Ray with 1 or 2 workers,
partitioned Parquet, resumption, clear errors on bad input."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from elixir_agent.cli import app
from elixir_agent.core_model.batch import BatchOptions, read_pairs, run_batch


@pytest.fixture(scope="module")
def pairs_file(tiny_run, tmp_path_factory):
    from elixir_agent.core_model.data.storage import load_prepared

    train = load_prepared(tiny_run.data_dir).split("train")
    frame = train[["user_id", "item_id"]].head(90)
    assert len(frame) == 90
    path = tmp_path_factory.mktemp("pairs") / "pairs.parquet"
    frame.astype(str).to_parquet(path, index=False)
    return path


def _read(out):
    return pd.concat([pd.read_parquet(p) for p in sorted(out.glob("part-*.parquet"))],
                     ignore_index=True)


@pytest.fixture(scope="module")
def ray_session():
    ray = pytest.importorskip("ray", reason="the scale extra (ray) is not installed")
    yield ray
    ray.shutdown()


def test_plain_loop_writes_partitions_and_matches_the_recommender(tiny_run, pairs_file, tmp_path):
    options = BatchOptions(workers=0, batch_size=16, partition_rows=40)
    summary = run_batch("predict", tiny_run.run_dir, pairs_file, tmp_path, options, progress=False)
    assert summary.files == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    out = _read(tmp_path)
    pairs = pd.read_parquet(pairs_file)
    assert out[["user_id", "item_id"]].values.tolist() == pairs.values.tolist()
    direct = tiny_run.recommender().predict(pairs.user_id[5], pairs.item_id[5])
    assert out.rating[5] == pytest.approx(direct.rating, abs=1e-5)
    assert {f"aspect_{a}" for a in direct.aspect_ratings} <= set(out.columns)


def test_explain_with_int8_weights_writes_what_the_int8_recommender_writes(
        tiny_run, pairs_file, tmp_path):
    options = BatchOptions(workers=0, batch_size=8, partition_rows=40, max_new_tokens=5,
                           int8=True)
    run_batch("explain", tiny_run.run_dir, pairs_file, tmp_path, options, progress=False)
    out = _read(tmp_path).head(8)
    int8 = tiny_run.recommender(device="cpu", int8=True)
    pairs = list(zip(out.user_id, out.item_id, strict=True))
    assert out.review.tolist() == int8.explain_batch(pairs, max_new_tokens=5)
    from elixir_agent.core_model.batch import BatchWorker
    from elixir_agent.core_model.int8_weights import Int8WeightOnlyLinear

    worker = BatchWorker(str(tiny_run.run_dir), "explain", options, str(tmp_path), {})
    worker.rec._load_deferred_text()
    assert any(isinstance(m, Int8WeightOnlyLinear) for m in worker.rec.model.backbone.modules())


def test_resume_skips_finished_partitions(tiny_run, pairs_file, tmp_path):
    options = BatchOptions(workers=0, batch_size=16, partition_rows=40)
    run_batch("predict", tiny_run.run_dir, pairs_file, tmp_path, options, progress=False)
    (tmp_path / "part-00001.parquet").unlink()  # as if killed before the second part
    before = (tmp_path / "part-00000.parquet").stat().st_mtime_ns
    again = run_batch("predict", tiny_run.run_dir, pairs_file, tmp_path, options, progress=False)
    assert again.skipped_partitions == 2 and again.rows == 40
    assert (tmp_path / "part-00000.parquet").stat().st_mtime_ns == before
    assert len(_read(tmp_path)) == 90


@pytest.mark.slow  # starting a local Ray takes 10-60 s, and three pools are started here
def test_ray_one_and_two_workers_equal_the_plain_loop(tiny_run, pairs_file, tmp_path, ray_session):
    results = {}
    for workers in (0, 1, 2):
        out = tmp_path / f"w{workers}"
        run_batch("predict", tiny_run.run_dir, pairs_file, out,
                  BatchOptions(workers=workers, batch_size=16, partition_rows=40), progress=False)
        results[workers] = _read(out)
        ray_session.shutdown()  # the next pool size gets a fresh local Ray
    pd.testing.assert_frame_equal(results[1], results[2])
    pd.testing.assert_frame_equal(results[0], results[1], check_exact=False, atol=1e-6)


@pytest.mark.slow  # starts a local Ray
def test_recommend_and_explain_on_ray(tiny_run, pairs_file, tmp_path, ray_session):
    options = BatchOptions(workers=1, batch_size=8, partition_rows=5, k=3, max_new_tokens=8)
    run_batch("recommend", tiny_run.run_dir, pairs_file, tmp_path / "rec", options, progress=False)
    recs = _read(tmp_path / "rec")
    users = pd.read_parquet(pairs_file).user_id.unique()
    assert sorted(recs.user_id.unique()) == sorted(users)
    assert (recs.groupby("user_id")["rank"].max() == 3).all()
    first = recs[recs.user_id == users[0]]
    assert first.rating.is_monotonic_decreasing
    few = tmp_path / "few.csv"
    pd.read_parquet(pairs_file).head(6).to_csv(few, index=False)
    run_batch("explain", tiny_run.run_dir, few, tmp_path / "exp", options, progress=False)
    reviews = _read(tmp_path / "exp")
    assert len(reviews) == 6 and reviews.review.map(type).eq(str).all()
    ray_session.shutdown()


def test_bad_pairs_file_names_the_missing_column(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text("user,item_id\nu1,i1\n")
    with pytest.raises(ValueError, match=r"pairs.csv lacks column\(s\) user_id"):
        read_pairs(path, "predict")
    result = CliRunner().invoke(app, ["batch", "predict", "--run", str(tmp_path), "--pairs",
                                      str(path), "--out", str(tmp_path / "o"), "--workers", "0"])
    assert result.exit_code == 2 and "lacks column" in result.output


def test_a_partition_split_across_blocks_is_refused_before_anything_is_written():
    # Two actors holding halves of one partition would each write the same file.
    from elixir_agent.core_model.batch import _only_partition

    half = pd.DataFrame({"user_id": ["u1", "u2"], "item_id": ["i1", "i2"], "__partition": [3, 3]})
    assert _only_partition(half, {3: 2}) == 3
    with pytest.raises(RuntimeError, match=r"2 rows of partition\(s\) \[3\], not the 4 rows"):
        _only_partition(half, {3: 4})
    mixed = half.assign(__partition=[3, 4])
    with pytest.raises(RuntimeError, match=r"--partition-rows"):
        _only_partition(mixed, {3: 1, 4: 1})


def test_batch_bench_reports_throughput_with_and_without_start_up(tiny_run, pairs_file, tmp_path):
    import json

    from elixir_agent.core_model.batch_bench import run_batch_bench

    markdown = run_batch_bench(tiny_run.run_dir, pairs_file, tmp_path, [0], explain_rows=4,
                               batch_size=16, partition_rows=20, repeats=3)
    report = json.loads((tmp_path / "batch.json").read_text())
    predict, explain = report["rows"]
    runs = predict["seconds_per_run"]
    assert len(runs) == 3 and predict["seconds"] == sorted(runs)[1]  # the median run
    assert (predict["task"], predict["rows"], explain["task"], explain["rows"]) == \
        ("predict", 90, "explain", 4)
    assert predict["same_output_as_first_pool"] is True
    assert explain["steady_rows_per_s"] is None  # one partition: no span to time
    assert "| predict | 0 | 90 |" in markdown
    assert not list(tmp_path.glob("bench-batch-*"))  # the scratch outputs are removed


def test_steady_rate_counts_the_rows_after_the_first_file_over_the_time_they_took(tmp_path):
    import os

    from elixir_agent.core_model.batch_bench import _steady_rate

    for part, (rows, second) in enumerate([(10, 100), (30, 102), (50, 104)]):
        path = tmp_path / f"part-{part:05d}.parquet"
        pd.DataFrame({"x": range(rows)}).to_parquet(path)
        os.utime(path, ns=(second * 10**9, second * 10**9))
    assert _steady_rate(tmp_path) == 20.0  # (30 + 50) rows in the 4 s after the first file
    (tmp_path / "part-00002.parquet").unlink()
    assert _steady_rate(tmp_path) is None  # two files: start-up cannot be told apart


def test_pairs_are_read_as_text_ids_with_the_bad_row_named(tmp_path):
    csv = tmp_path / "pairs.csv"
    csv.write_text("user_id,item_id,extra\n007,12,x\n8,13,y\n")
    table = read_pairs(csv, "predict")
    assert table.column_names == ["user_id", "item_id"]
    assert table.to_pydict() == {"user_id": ["007", "8"], "item_id": ["12", "13"]}
    numbers = tmp_path / "pairs.parquet"
    pd.DataFrame({"user_id": [3, 1, 3], "item_id": [5, 6, 7]}).to_parquet(numbers)
    assert read_pairs(numbers, "predict")["user_id"].to_pylist() == ["3", "1", "3"]
    assert read_pairs(numbers, "recommend").to_pydict() == {"user_id": ["3", "1"]}
    csv.write_text("user_id,item_id\nu1,i1\nu2,\n")
    with pytest.raises(ValueError, match=r"pairs.csv: row 2 has an empty id"):
        read_pairs(csv, "predict")


def test_a_folder_of_parquet_files_is_read_whole_and_other_files_are_ignored(tmp_path):
    pd.DataFrame({"review_id": ["a", "b"], "text": ["good", None]}).to_parquet(tmp_path / "train.parquet")
    pd.DataFrame({"review_id": ["c"], "text": ["bad"]}).to_parquet(tmp_path / "valid.parquet")
    (tmp_path / "dataset.json").write_text("{}")
    table = read_pairs(tmp_path, "embed")
    assert table.to_pydict() == {"review_id": ["a", "b", "c"], "text": ["good", "", "bad"]}
    (tmp_path / "broken.parquet").write_text("not parquet")
    with pytest.raises(ValueError, match="cannot read it as Parquet"):
        read_pairs(tmp_path, "embed")


def test_workers_report_every_row_once_and_rarely(tiny_run, pairs_file, tmp_path, monkeypatch):
    from elixir_agent.core_model import batch

    partition = pd.read_parquet(pairs_file).head(40).assign(__partition=0)
    options = BatchOptions(workers=0, batch_size=16)
    worker = batch.BatchWorker(str(tiny_run.run_dir), "predict", options, str(tmp_path), {0: 40})
    statuses = list(worker(partition))  # fast batches: one status, with the file written
    assert [(s["rows"].item(), bool(s["written"].item())) for s in statuses] == [(40, True)]
    monkeypatch.setattr(batch, "STATUS_EVERY_S", 0.0)  # slow batches: a status after each
    statuses = list(worker(partition))
    assert [(s["rows"].item(), bool(s["written"].item())) for s in statuses] == \
        [(16, False), (16, False), (8, True)]
