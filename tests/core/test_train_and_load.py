"""A tiny run end to end: training, run directory, loading, inference API, resume."""

import json

import pytest
import torch

from elixir_agent.core_model import train as train_module
from elixir_agent.core_model.checkpoint import RunDirError, load_model, read_artifacts, save_run
from elixir_agent.core_model.inference import (
    ElixirRecommender,
    Prediction,
    Recommender,
    UnknownIdError,
    load_recommender,
    review_text,
)
from elixir_agent.core_model.integrity import CorruptRunError
from tests.helpers.tiny_run import train_tiny


def test_tiny_run_writes_a_complete_run_directory(tiny_run):
    names = {p.name for p in tiny_run.run_dir.iterdir()}
    assert {"config.json", "elixir.safetensors", "backbone", "tokenizer", "ids.json",
            "catalog.json", "metrics.jsonl", "summary.json"} <= names
    assert not list(tiny_run.run_dir.rglob("*.bin")) and not list(tiny_run.run_dir.rglob("*.pt"))
    lines = (tiny_run.run_dir / "metrics.jsonl").read_text().splitlines()
    assert {json.loads(line)["phase"] for line in lines} == {"rating", "rank", "text"}


def test_predict_contract(tiny_run):
    rec = tiny_run.recommender()
    assert isinstance(rec, Recommender)
    user, item = rec.artifacts.users.ids[0], rec.artifacts.items.ids[0]
    pred = rec.predict(user, item)
    assert isinstance(pred, Prediction)
    assert 1 <= pred.rating <= 5
    assert set(pred.aspect_ratings) == set(rec.aspects)
    assert sum(pred.user_importance.values()) == pytest.approx(1, abs=1e-5)
    assert sum(pred.item_importance.values()) == pytest.approx(1, abs=1e-5)
    batch = rec.predict_batch([(user, item), (user, rec.artifacts.items.ids[1])])
    # the same prediction, up to float rounding that differs with the batch size
    assert batch[0].rating == pytest.approx(pred.rating, abs=1e-6)
    for field in ("aspect_ratings", "user_importance", "item_importance"):
        assert getattr(batch[0], field) == pytest.approx(getattr(pred, field), abs=1e-6)


def test_predictions_as_columns_hold_the_same_numbers_in_one_row_per_pair(tiny_run):
    rec = tiny_run.recommender()
    pairs = [(u, i) for u in rec.artifacts.users.ids[:3] for i in rec.artifacts.items.ids[:3]]
    table = rec.predict_table(pairs)
    aspect = rec.aspects[0]
    assert list(table)[:3] == ["rating", "cold_user", "cold_item"]
    assert all(len(column) == len(pairs) for column in table.values())
    assert table["rating"].dtype == "float64"
    for n, pred in enumerate(rec.predict_batch(pairs)):
        assert table["rating"][n] == pred.rating
        assert table[f"aspect_{aspect}"][n] == pred.aspect_ratings[aspect]
        assert table[f"user_importance_{aspect}"][n] == pred.user_importance[aspect]
    assert all(len(column) == 0 for column in rec.predict_table([]).values())
    with pytest.raises(UnknownIdError):
        rec.predict_table([("no-such-user", rec.artifacts.items.ids[0])])


def test_save_then_load_gives_identical_predictions(tiny_run, tmp_path):
    model, tokenizer, model_cfg, train_cfg, artifacts = load_model(tiny_run.run_dir)
    save_run(tmp_path / "copy", model, tokenizer, model_cfg, train_cfg, artifacts)
    first, second = tiny_run.recommender(), load_recommender(tmp_path / "copy")
    pairs = [(u, i) for u in first.artifacts.users.ids[:5] for i in first.artifacts.items.ids[:4]]
    assert first.predict_batch(pairs) == second.predict_batch(pairs)
    assert first.explain(*pairs[0], max_new_tokens=12) == second.explain(*pairs[0],
                                                                         max_new_tokens=12)


def test_explain_rank_and_int8(tiny_run):
    rec = tiny_run.recommender()
    user = rec.artifacts.users.ids[0]
    assert isinstance(rec.explain(user, rec.artifacts.items.ids[0], max_new_tokens=8), str)
    ranked = rec.rank(user, k=5)
    # the tiny preset learns a ranking: items come in the order of its score
    assert [p.rank_score for p in ranked] == sorted((p.rank_score for p in ranked),
                                                    reverse=True)
    assert not set(p.item_id for p in ranked) & set(rec.seen_items(user))
    int8 = tiny_run.recommender(int8=True)
    pred, pred8 = rec.predict(user, ranked[0].item_id), int8.predict(user, ranked[0].item_id)
    assert pred8.rating == pred.rating  # only the text decoder is quantized
    assert isinstance(int8.explain(user, ranked[0].item_id, max_new_tokens=8), str)
    bf16 = tiny_run.recommender(bf16=True)
    assert bf16.predict(user, ranked[0].item_id).rating == pred.rating
    assert next(bf16.model.backbone.parameters()).dtype == torch.bfloat16
    assert isinstance(bf16.explain(user, ranked[0].item_id, max_new_tokens=8), str)


def test_a_deferred_text_model_loads_on_the_first_review_and_changes_no_number(tiny_run):
    eager, deferred = tiny_run.recommender(), tiny_run.recommender(defer_text=True)
    assert deferred.tokenizer is None and deferred.model.backbone is None  # not loaded yet
    user, items = eager.artifacts.users.ids[0], eager.artifacts.items.ids[:4]
    assert [deferred.predict(user, i) for i in items] == [eager.predict(user, i) for i in items]
    assert deferred.rank(user, k=5) == eager.rank(user, k=5)
    review = deferred.explain(user, items[0], max_new_tokens=8)
    assert deferred.tokenizer is not None and deferred.model.backbone is not None
    assert review == eager.explain(user, items[0], max_new_tokens=8)
    assert [deferred.predict(user, i) for i in items] == [eager.predict(user, i) for i in items]


def test_generated_reviews_are_as_long_as_a_typical_training_review(tiny_run):
    """Greedy decoding from soft prompts stops early; the run keeps the training median."""
    import json

    rec = tiny_run.recommender()
    typical = json.loads((tiny_run.run_dir / "config.json").read_text())["model"]["min_new_tokens"]
    assert typical == rec.model.cfg.min_new_tokens and typical > 0
    users, items, *_ = rec._indices([(rec.artifacts.users.ids[0], rec.artifacts.items.ids[0])],
                                    False)
    ids = rec.model.generate(users, items, max_new_tokens=typical + 5)
    assert ids.shape[1] - 1 >= typical  # minus the decoder start token
    short = rec.model.generate(users, items, max_new_tokens=typical + 5, min_new_tokens=0)
    assert short.shape[1] <= ids.shape[1]


def test_unknown_ids_suggest_close_matches_and_cold_start_flags(tiny_run):
    rec = tiny_run.recommender()
    user, item = rec.artifacts.users.ids[3], rec.artifacts.items.ids[2]
    with pytest.raises(UnknownIdError) as caught:
        rec.predict(user, item + "x")
    assert caught.value.kind == "item" and item in caught.value.suggestions
    assert str(caught.value).startswith(f"unknown item id '{item}x'; did you mean: ")
    with pytest.raises(UnknownIdError, match="unknown user id"):
        rec.rank("nobody")
    cold = rec.predict("nobody", item, cold_start=True)
    assert cold.cold_user and not cold.cold_item
    name = rec.item_name(item)
    assert rec.suggest(name.lower(), "item", 3)[0] == item


def test_missing_run_directory_is_explained(tmp_path):
    with pytest.raises(RunDirError, match="does not exist"):
        ElixirRecommender.from_run(tmp_path / "nope")
    (tmp_path / "half" / "checkpoint").mkdir(parents=True)
    with pytest.raises(RunDirError, match="--resume"):
        ElixirRecommender.from_run(tmp_path / "half")


def test_loading_checks_shapes(tiny_run, tmp_path):
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(tiny_run.run_dir, copy)
    config = json.loads((copy / "config.json").read_text())
    config["model"]["d"] = 8
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(CorruptRunError, match=r"config\.json is .*manifest says"):
        ElixirRecommender.from_run(copy)  # the manifest notices the edit first
    with pytest.raises(RunDirError, match=r"rating\.user_emb\.weight: saved"):
        ElixirRecommender.from_run(copy, verify=False)


def test_existing_run_is_not_overwritten(tiny_run):
    with pytest.raises(FileExistsError, match="--resume"):
        train_tiny(tiny_run.data_dir, tiny_run.run_dir)


def test_resume_continues_an_interrupted_run(tiny_data, tmp_path, monkeypatch):
    run = tmp_path / "run"
    real_step, calls = train_module._step, {"n": 0}

    def crashing_step(*args):
        calls["n"] += 1
        if calls["n"] == 23:
            raise KeyboardInterrupt
        return real_step(*args)

    monkeypatch.setattr(train_module, "_step", crashing_step)
    with pytest.raises(KeyboardInterrupt):
        train_tiny(tiny_data, run, checkpoint_every=5)
    assert not (run / "config.json").exists()
    saved = json.loads((run / "checkpoint" / "state.json").read_text())
    assert saved["phase"] == "rating" and saved["step"] == 20
    monkeypatch.setattr(train_module, "_step", real_step)
    summary = train_tiny(tiny_data, run, checkpoint_every=5, resume=True)
    reference = train_tiny(tiny_data, tmp_path / "ref", checkpoint_every=5)
    steps = lambda s: [(h["phase"], h["step"]) for h in s["history"]]  # noqa: E731
    assert steps(summary) == steps(reference)
    assert read_artifacts(run).users.ids == read_artifacts(tmp_path / "ref").users.ids
    assert torch.isfinite(torch.tensor(summary["valid"]["rmse"]))


@pytest.mark.parametrize("overrides", [
    dict(schedule="joint"),
    dict(generator="paper"),
    dict(use_aspects=False, use_attention=False),
], ids=["joint", "paper-generator", "ablations"])
def test_other_schedules_and_designs_train_and_load(tiny_data, tmp_path, overrides):
    summary = train_tiny(tiny_data, tmp_path / "run", rating_epochs=1, max_text_steps=3,
                         **overrides)
    phases = {h["phase"] for h in summary["history"]}
    # the tiny preset has a ranking head: its phase follows the rating (or joint) phase
    assert phases == ({"joint", "rank"} if overrides.get("schedule") == "joint"
                      else {"rating", "rank", "text"})
    rec = ElixirRecommender.from_run(tmp_path / "run")
    user, item = rec.artifacts.users.ids[0], rec.artifacts.items.ids[0]
    assert isinstance(rec.explain(user, item, max_new_tokens=4), str)
    if overrides.get("use_attention") is False:
        weights = rec.predict(user, item).user_importance.values()
        assert all(w == pytest.approx(1 / len(rec.aspects)) for w in weights)


def test_generated_reviews_never_repeat_a_trigram(tiny_run):
    rec = tiny_run.recommender()
    pairs = [(u, i) for u in rec.artifacts.users.ids[:4] for i in rec.artifacts.items.ids[:2]]
    users, items, *_ = rec._indices(pairs, False)
    for row in rec.model.generate(users, items, max_new_tokens=40).tolist():
        tokens = [t for t in row if t != rec.tokenizer.pad_token_id]
        trigrams = list(zip(tokens, tokens[1:], tokens[2:], strict=False))
        assert len(trigrams) == len(set(trigrams))


@pytest.mark.parametrize("metric", ["rougeL", "bleu4"])
def test_the_kept_text_epoch_is_the_one_with_the_best_validation_text_metric(
        tiny_data, tmp_path, metric):
    """The paper keeps the text model with the best validation text metric, not the last."""
    import json

    from elixir_agent.core_model.assembly import build_setup
    from elixir_agent.core_model.evaluate import validation_text_score

    run = tmp_path / "run"
    train_tiny(tiny_data, run, text_epochs=4, text_lr=1e-2, select_text_by=metric,
               select_text_pairs=24)
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    logged = [line[f"valid_{metric}"] for line in lines if line["phase"] == "text"]
    assert len(logged) == 4

    rec = ElixirRecommender.from_run(run)
    setup = build_setup(tiny_data, rec.model.cfg, _train_config(run), torch.device("cpu"))
    kept = validation_text_score(rec.model, rec.tokenizer, setup.valid, metric, 24,
                                 torch.device("cpu"), rec.model.cfg.max_target_tokens)
    assert kept == pytest.approx(max(logged), abs=1e-6)


def _train_config(run):
    import json

    from elixir_agent.core_model.config import TrainConfig

    return TrainConfig(**json.loads((run / "config.json").read_text())["train"])


def test_a_review_ends_at_its_first_line_break(tiny_run, monkeypatch):
    # A decoder that runs on past the review starts its context's layout on a new line.
    rec = tiny_run.recommender()
    user, item = rec.artifacts.users.ids[0], rec.artifacts.items.ids[0]
    monkeypatch.setattr(rec.tokenizer, "batch_decode", lambda ids, **_: [
        " the rooms were clean and the staff kind. \nThe Caribe Club Princess has"] * len(ids))
    assert rec.explain(user, item, max_new_tokens=4) == "the rooms were clean and the staff kind."


def test_a_review_cut_by_the_token_limit_ends_at_its_last_full_sentence(tiny_run, monkeypatch):
    rec = tiny_run.recommender()
    users, items = rec.artifacts.users.ids[:2], rec.artifacts.items.ids[:2]
    rec._load_deferred_text()
    end, pad = rec.tokenizer.eos_token_id, rec.tokenizer.pad_token_id
    # The first review ended on its own (end token, then padding); the second hit the limit.
    monkeypatch.setattr(rec.model, "generate", lambda *a, **k: torch.tensor(
        [[pad, 5, 6, end, pad], [pad, 5, 6, 7, 8]]))
    monkeypatch.setattr(rec.tokenizer, "batch_decode", lambda ids, **_: [
        "pours dark with a tan head. taste is sweet and"] * len(ids))
    finished, cut = rec.explain_batch(list(zip(users, items, strict=True)), max_new_tokens=4)
    assert finished == "pours dark with a tan head. taste is sweet and"
    assert cut == "pours dark with a tan head."
    # a cut that would drop most of a review keeps its words and shows the cut
    assert review_text("short. then a long run of words about the malt and the hops",
                       at_limit=True) == "short. then a long run of words about the malt and the hops..."
    assert review_text("it was great!", at_limit=True) == "it was great!"
