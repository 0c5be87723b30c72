"""The T5 backbone: built from a config (random init) or loaded with `from_pretrained`,
optionally quantized with bitsandbytes, then frozen, wrapped with LoRA, or fully trainable.
The decoder-only alternative (SmolLM2, GGUF, any causal LM) lives in causal_backbone.py;
`load_backbone` picks between them from the spec.
"""

from __future__ import annotations

from pathlib import Path

import torch.nn as nn
from transformers import BitsAndBytesConfig, T5Config, T5ForConditionalGeneration

# Random-init sizes. `small` matches t5-small's shapes; `tiny` keeps tests in seconds.
_T5_SIZES = {
    "tiny": dict(d_model=32, d_kv=16, num_heads=2, d_ff=64, num_layers=1, num_decoder_layers=1),
    "mini": dict(d_model=128, d_kv=32, num_heads=4, d_ff=256, num_layers=2,
                 num_decoder_layers=2),
    "small": dict(d_model=512, d_kv=64, num_heads=8, d_ff=2048, num_layers=6,
                  num_decoder_layers=6),
}
LORA_TARGETS = ["q", "k", "v", "o"]  # T5 attention projections


def t5_config(size: str, vocab_size: int) -> T5Config:
    if size not in _T5_SIZES:
        raise ValueError(f"unknown backbone config {size!r}; expected one of {', '.join(_T5_SIZES)}")
    return T5Config(vocab_size=vocab_size, dropout_rate=0.1, feed_forward_proj="relu",
                    pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
                    tie_word_embeddings=True, **_T5_SIZES[size])


def random_backbone(size: str, vocab_size: int) -> T5ForConditionalGeneration:
    return T5ForConditionalGeneration(t5_config(size, vocab_size))


def pretrained_backbone(name_or_path: str | Path, quantize: str = "none"
                        ) -> T5ForConditionalGeneration:
    """`from_pretrained` (a hub name needs internet; a local directory does not)."""
    kwargs = {}
    if quantize == "8bit":
        kwargs["quantization_config"] = BitsAndBytesConfig(load_in_8bit=True)
    elif quantize == "4bit":
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            llm_int8_skip_modules=unblocked_4bit_layers(name_or_path))
    elif quantize != "none":
        raise ValueError(f"quantize must be none, 8bit or 4bit (got {quantize!r})")
    try:
        return T5ForConditionalGeneration.from_pretrained(str(name_or_path), **kwargs)
    except OSError as error:
        raise OSError(f"cannot load backbone {name_or_path!r}: {error}. Pass a local directory "
                      "saved with save_pretrained, or use --backbone-config tiny|mini|small "
                      "to train one from scratch offline") from error


# bitsandbytes quantizes 4-bit weights in blocks of this many input features. On CPUs with
# AVX512-BF16 its inference kernel needs whole blocks: narrower layers fail at the first
# forward pass (bitsandbytes 0.50.2), so they stay in full precision instead.
BNB_4BIT_BLOCK = 64


def unblocked_4bit_layers(name_or_path: str | Path) -> list[str] | None:
    """T5 linear layers whose input width is not a whole number of 4-bit blocks.

    Returns patterns for `llm_int8_skip_modules` (matched as name suffixes), `lm_head` included
    as transformers does by default, or None when every layer can be quantized.
    """
    try:
        config = T5Config.from_pretrained(str(name_or_path))
    except OSError:
        return None  # from_pretrained below says what is wrong with the path
    inputs = {".q": config.d_model, ".k": config.d_model, ".v": config.d_model,
              ".o": config.num_heads * config.d_kv, ".wi": config.d_model,
              ".wi_0": config.d_model, ".wi_1": config.d_model, ".wo": config.d_ff}
    skipped = [name for name, width in inputs.items() if width % BNB_4BIT_BLOCK]
    return [*skipped, "lm_head"] if skipped else None


def apply_finetune(backbone: nn.Module, mode: str, lora_r: int = 8, lora_alpha: int = 16, *,
                   causal: bool = False) -> nn.Module:
    """Freeze, LoRA-wrap (peft) or leave trainable; returns the module to use.

    `causal` picks the decoder-only LM's task type and attention projections for LoRA.
    """
    if mode == "full":
        return backbone
    for param in backbone.parameters():
        param.requires_grad_(False)
    if mode == "frozen":
        return backbone
    if mode != "lora":
        raise ValueError(f"finetune must be frozen, lora or full (got {mode!r})")
    from peft import LoraConfig, TaskType, get_peft_model

    from elixir_agent.core_model.causal_backbone import CAUSAL_LORA_TARGETS

    task, targets = ((TaskType.CAUSAL_LM, CAUSAL_LORA_TARGETS) if causal
                     else (TaskType.SEQ_2_SEQ_LM, LORA_TARGETS))
    lora = LoraConfig(task_type=task, r=lora_r, lora_alpha=lora_alpha, lora_dropout=0.05,
                      target_modules=targets)
    return get_peft_model(backbone, lora)


def base_model(backbone: nn.Module) -> T5ForConditionalGeneration:
    """The underlying T5 whether or not peft wraps it."""
    get_base = getattr(backbone, "get_base_model", None)
    return get_base() if get_base is not None else backbone


def backbone_width(backbone: nn.Module) -> int:
    """The width soft prompts must have: d_model for T5, hidden_size for a causal LM."""
    width = getattr(backbone, "width", None)  # CausalBackbone
    return width if width is not None else base_model(backbone).config.d_model


def load_backbone(spec: str | Path, quantize: str = "none", finetune: str = "frozen",
                  lora_r: int = 8, lora_alpha: int = 16, sha256: str | None = None) -> nn.Module:
    """A pretrained backbone, T5 or causal, with the finetune mode applied."""
    from elixir_agent.core_model import causal_backbone as causal

    if causal.is_causal_spec(spec):
        lm = causal.load_causal_lm(spec, quantize, expected_sha256=sha256)
        return causal.CausalBackbone(apply_finetune(lm, finetune, lora_r, lora_alpha, causal=True))
    return apply_finetune(pretrained_backbone(spec, quantize), finetune, lora_r, lora_alpha)
