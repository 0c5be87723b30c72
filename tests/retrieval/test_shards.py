"""`batch embed` shards: an index built from them equals one that embeds its reviews itself,
and shards that cannot serve the index are refused with the reason."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from elixir_agent.cli import app
from elixir_agent.core_model.batch import BatchOptions, run_batch
from elixir_agent.retrieval import ReviewIndex
from elixir_agent.retrieval.embedder import IndexMismatchError
from elixir_agent.retrieval.shards import ShardError, read_embedding_shards

TORCH = dict(embedder_backend="torch", batch_size=64, partition_rows=100)


@pytest.fixture(scope="module")
def shards(ratebeer_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("shards")
    run_batch("embed", None, ratebeer_dataset.path / "train.parquet", out,
              BatchOptions(workers=0, **TORCH), progress=False)
    return out


def test_an_index_from_shards_equals_one_that_embeds(ratebeer_dataset, embedder, real_index,
                                                     shards):
    files = sorted(shards.glob("part-*.parquet"))
    assert len(files) == -(-len(ratebeer_dataset.split("train")) // 100)
    from_shards = ReviewIndex.build(ratebeer_dataset, embedder, embeddings=shards, progress=False)
    assert from_shards.manifest["embedder"] == real_index.manifest["embedder"]
    query = ratebeer_dataset.split("valid")["text"].iloc[0]
    got, want = from_shards.search(query, 5), real_index.search(query, 5)
    assert [h.review_id for h in got] == [h.review_id for h in want]
    assert [h.score for h in got] == pytest.approx([h.score for h in want], abs=1e-5)


def test_shards_are_read_in_the_order_of_the_reviews(ratebeer_dataset, shards):
    ids = ratebeer_dataset.split("train")["review_id"].astype(str).tolist()
    forward, record = read_embedding_shards(shards, ids)
    backward, _ = read_embedding_shards(shards, ids[::-1])
    np.testing.assert_array_equal(forward, backward[::-1])
    assert record["backend"] == "torch" and record["dimension"] == forward.shape[1] == 384
    assert np.allclose(np.linalg.norm(forward, axis=1), 1.0, atol=1e-5)


def test_shards_that_cannot_serve_the_index_are_refused(ratebeer_dataset, fake_embedder, shards,
                                                        tmp_path):
    ids = ratebeer_dataset.split("train")["review_id"].astype(str).tolist()
    with pytest.raises(ShardError, match=r"1 of \d+ reviews have no embedding .*\(e\.g\. nope\)"):
        read_embedding_shards(shards, [*ids, "nope"])
    with pytest.raises(ShardError, match=r"no part-\*\.parquet shards"):
        read_embedding_shards(tmp_path, ids)
    with pytest.raises(IndexMismatchError, match=r"embedded with '.*all-MiniLM-L6-v2' .*, not 'fake"):
        ReviewIndex.build(ratebeer_dataset, fake_embedder, embeddings=shards, progress=False)
    plain = tmp_path / "part-00000.parquet"  # a Parquet file, but no embedder record
    pq.write_table(pq.read_table(sorted(shards.glob("part-*"))[0]).replace_schema_metadata({}),
                   plain)
    with pytest.raises(ShardError, match="not written by `elixir-agent batch embed`"):
        read_embedding_shards(tmp_path, ids)


def test_index_build_takes_the_embedder_from_the_shards(ratebeer_dataset, shards, tmp_path):
    out = tmp_path / "idx"
    result = CliRunner().invoke(app, ["index", "build", "--data", str(ratebeer_dataset.path),
                                      "--out", str(out), "--embeddings", str(shards),
                                      "--factory", "compressed", "--json"])
    assert result.exit_code == 0, result.output
    index = ReviewIndex.load(out)
    assert index.manifest["embedder"]["backend"] == "torch"
    assert index.factory.endswith("PQ96x4fs")


@pytest.mark.slow  # starts a local Ray
def test_embedding_on_ray_equals_the_plain_loop(ratebeer_dataset, shards, tmp_path):
    ray = pytest.importorskip("ray", reason="the scale extra (ray) is not installed")
    try:
        run_batch("embed", None, ratebeer_dataset.path / "train.parquet", tmp_path,
                  BatchOptions(workers=1, **TORCH), progress=False)
    finally:
        ray.shutdown()
    ids = ratebeer_dataset.split("train")["review_id"].astype(str).tolist()
    np.testing.assert_allclose(read_embedding_shards(tmp_path, ids)[0],
                               read_embedding_shards(shards, ids)[0], atol=1e-6)

