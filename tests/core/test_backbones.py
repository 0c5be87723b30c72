"""Pretrained backbones loaded from a local directory: frozen, LoRA, 8-bit and 4-bit."""

import pytest
import torch
from safetensors.torch import load_file
from transformers import T5ForConditionalGeneration

from elixir_agent.core_model.backbone import t5_config
from elixir_agent.core_model.data.storage import load_prepared
from elixir_agent.core_model.inference import ElixirRecommender
from elixir_agent.core_model.tokenizer import normalize_text, train_sentencepiece
from tests.helpers.tiny_run import train_tiny


@pytest.fixture(scope="module")
def local_t5(tiny_data, tmp_path_factory):
    """A tiny T5 and its tokenizer saved with save_pretrained, as a user's download would be.

    64 wide, one whole 4-bit block, so q, k, v and wi are really quantized in 4-bit tests; the
    attention output (2 heads x 16) is narrower and stays in full precision.
    """
    path = tmp_path_factory.mktemp("t5") / "tiny-t5"
    texts = [normalize_text(t, 32) for t in load_prepared(tiny_data).split("train")["text"]]
    tokenizer = train_sentencepiece(texts, 200)
    torch.manual_seed(0)
    config = t5_config("tiny", len(tokenizer))
    config.d_model = 64
    T5ForConditionalGeneration(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def lora_run(tiny_data, local_t5, tmp_path_factory):
    run = tmp_path_factory.mktemp("lora") / "run"
    train_tiny(tiny_data, run, backbone=str(local_t5), finetune="lora", max_text_steps=6,
               text_lr=1e-2)
    return run


def _weights(path):
    return load_file(str(path / "model.safetensors"))


def test_lora_trains_the_adapter_and_leaves_the_backbone_unchanged(local_t5, lora_run):
    before, after = _weights(local_t5), _weights(lora_run / "backbone")
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    adapter = load_file(str(lora_run / "adapter" / "adapter_model.safetensors"))
    assert any("lora_B" in k and v.abs().sum() > 0 for k, v in adapter.items())
    rec = ElixirRecommender.from_run(lora_run)
    assert isinstance(rec.explain(rec.artifacts.users.ids[0], rec.artifacts.items.ids[0],
                                  max_new_tokens=6), str)


def test_frozen_backbone_is_unchanged(tiny_data, local_t5, tmp_path):
    train_tiny(tiny_data, tmp_path / "run", backbone=str(local_t5), finetune="frozen",
               max_text_steps=4, text_lr=1e-2)
    before, after = _weights(local_t5), _weights(tmp_path / "run" / "backbone")
    assert all(torch.equal(before[k], after[k]) for k in before)


@pytest.mark.parametrize("quantize", ["8bit", "4bit"])
def test_quantized_loads_run_on_cpu(lora_run, quantize):
    rec = ElixirRecommender.from_run(lora_run, device="cpu", quantize=quantize)
    user, item = rec.artifacts.users.ids[0], rec.artifacts.items.ids[0]
    assert 1 <= rec.predict(user, item).rating <= 5
    assert isinstance(rec.explain(user, item, max_new_tokens=6), str)


def test_4bit_keeps_layers_narrower_than_a_quantization_block_in_full_precision(local_t5):
    """Attention output is 32 wide here, half a 4-bit block: it stays float, and all runs."""
    from elixir_agent.core_model.backbone import pretrained_backbone, unblocked_4bit_layers

    assert unblocked_4bit_layers(local_t5) == [".o", "lm_head"]
    model = pretrained_backbone(local_t5, quantize="4bit")
    kinds = {name.rsplit(".", 1)[-1]: type(module).__name__
             for name, module in model.named_modules() if name.endswith((".q", ".o"))}
    assert kinds == {"q": "Linear4bit", "o": "Linear"}
    ids = torch.tensor([[5, 6, 7, 1]])
    with torch.no_grad():
        assert model(input_ids=ids, decoder_input_ids=ids).logits.isfinite().all()


def test_qlora_training_runs_on_cpu(tiny_data, local_t5, tmp_path):
    train_tiny(tiny_data, tmp_path / "run", backbone=str(local_t5), finetune="lora",
               quantize="4bit", max_text_steps=3, rating_epochs=1)
    assert (tmp_path / "run" / "adapter").exists()
    assert not (tmp_path / "run" / "backbone").exists()
    rec = ElixirRecommender.from_run(tmp_path / "run", device="cpu")
    review = rec.explain(rec.artifacts.users.ids[0], rec.artifacts.items.ids[0], max_new_tokens=4)
    assert isinstance(review, str) and len(review.split()) <= 4  # at most 4 new tokens
