"""Everything a training run needs, built once from a dataset directory and two configs."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import torch

from elixir_agent.core_model import causal_backbone as causal
from elixir_agent.core_model.backbone import apply_finetune, load_backbone, random_backbone
from elixir_agent.core_model.checkpoint import RunArtifacts
from elixir_agent.core_model.config import ModelConfig, TrainConfig
from elixir_agent.core_model.data.storage import PreparedDataset, load_prepared
from elixir_agent.core_model.encoding import IdMap, RatingTensors, to_tensors
from elixir_agent.core_model.model import Elixir
from elixir_agent.core_model.tokenizer import (
    encode_targets,
    load_tokenizer,
    train_sentencepiece,
    training_target,
)


@dataclass
class TrainingSetup:
    model: Elixir
    tokenizer: object | None
    model_cfg: ModelConfig
    train_cfg: TrainConfig
    device: torch.device
    dataset: PreparedDataset
    artifacts: RunArtifacts
    train: RatingTensors
    valid: RatingTensors
    train_labels: list[list[int]]
    valid_labels: list[list[int]]

    def amp_dtype(self) -> torch.dtype | None:
        """Mixed precision on CUDA only (bf16 where supported, else fp16); None on CPU."""
        if self.device.type != "cuda" or not self.train_cfg.amp:
            return None
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16

    def autocast(self):
        dtype = self.amp_dtype()
        return contextlib.nullcontext() if dtype is None else torch.autocast("cuda", dtype=dtype)

    def grad_scaler(self) -> torch.amp.GradScaler:
        """Loss scaling for fp16, whose narrow exponent flushes small gradients to zero; bf16
        and full precision need none, and a disabled scaler passes everything through."""
        return torch.amp.GradScaler("cuda", enabled=self.amp_dtype() == torch.float16)


def build_artifacts(dataset: PreparedDataset) -> RunArtifacts:
    train = dataset.split("train")
    everything = dataset.all_reviews()
    names = everything.dropna(subset=["item_name"]).drop_duplicates("item_id")
    seen = train.groupby("user_id")["item_id"].apply(lambda s: sorted(set(s))).to_dict()
    info = dataset.info
    return RunArtifacts(
        users=IdMap.from_values(train["user_id"]), items=IdMap.from_values(train["item_id"]),
        aspects=list(info.aspects),
        rating_scale=[info.rating_scale.low, info.rating_scale.high],
        aspect_scales={a: [s.low, s.high] for a, s in info.aspect_scales.items()},
        item_names=dict(zip(names["item_id"], names["item_name"], strict=True)),
        seen={str(u): list(v) for u, v in seen.items()}, dataset=info.name)


def build_tokenizer(cfg: ModelConfig, train_texts: list[str]):
    if causal.is_causal_spec(cfg.backbone):
        return causal.load_causal_tokenizer(cfg.backbone)
    if cfg.backbone is not None:
        return load_tokenizer(cfg.backbone)
    return train_sentencepiece(train_texts, cfg.vocab_size)


def build_model(cfg: ModelConfig, means: torch.Tensor | None = None) -> Elixir:
    """A fresh model for `cfg` (random or pretrained backbone, finetune mode applied)."""
    backbone = None
    if cfg.text:
        if cfg.backbone is None:
            backbone = apply_finetune(random_backbone(cfg.backbone_config, cfg.vocab_size),
                                      cfg.finetune, cfg.lora_r, cfg.lora_alpha)
        else:
            backbone = load_backbone(cfg.backbone, cfg.quantize, cfg.finetune, cfg.lora_r,
                                     cfg.lora_alpha, cfg.backbone_sha256)
    model = Elixir(cfg, backbone)
    if means is not None:
        model.rating.offsets.copy_(means)
    return model


def training_means(data: RatingTensors) -> torch.Tensor:
    """Mean overall rating and mean of each aspect over rated entries (1 + A,)."""
    aspect = (data.aspects * data.mask).sum(0) / data.mask.sum(0).clamp(min=1)
    aspect = torch.where(data.mask.sum(0) > 0, aspect, data.rating.mean())
    return torch.cat([data.rating.mean()[None], aspect])


def build_setup(data_dir, model_cfg: ModelConfig, train_cfg: TrainConfig, device: torch.device,
                dataset: PreparedDataset | None = None) -> TrainingSetup:
    dataset = dataset or load_prepared(Path(data_dir))
    artifacts = build_artifacts(dataset)
    model_cfg = replace(model_cfg, n_users=len(artifacts.users), n_items=len(artifacts.items),
                        aspects=list(artifacts.aspects))
    model_cfg.validate()
    train = _tensors(dataset.split("train"), artifacts, model_cfg)
    valid = _tensors(dataset.split("valid"), artifacts, model_cfg)
    tokenizer, train_labels, valid_labels = None, [], []
    if model_cfg.text and causal.is_causal_spec(model_cfg.backbone):
        # The run references its base model; the digest tells a reload if the file changed.
        source = causal.resolve_causal(model_cfg.backbone)
        model_cfg = replace(model_cfg, backbone_sha256=causal.weights_sha256(source))
    if model_cfg.text:
        tokenizer = build_tokenizer(model_cfg, train.texts)
        model_cfg = replace(model_cfg, vocab_size=len(tokenizer))
        train_labels = encode_targets(tokenizer, train.texts, model_cfg.max_target_tokens)
        valid_labels = encode_targets(tokenizer, valid.texts, model_cfg.max_target_tokens)
        if model_cfg.min_new_tokens is None:
            model_cfg = replace(model_cfg, min_new_tokens=typical_length(train_labels))
    if model_cfg.item_context_words > 0 and not (model_cfg.text
                                                 and causal.is_causal_spec(model_cfg.backbone)):
        raise ValueError("item_context_words needs a causal backbone (--backbone smollm2, a "
                         "causal LM directory or a .gguf file); set it to 0 for T5")
    model = build_model(model_cfg, training_means(train))
    if model.item_context is not None:
        names = [artifacts.item_names.get(item) for item in artifacts.items.ids]
        model.item_context.fill(train.users.tolist(), train.items.tolist(), train.texts, names,
                                tokenizer, model_cfg.item_context_words,
                                model_cfg.user_context_words)
    if model.rating_lexicon is not None:  # every training review, not the text subset
        model.rating_lexicon.fill(train.texts, train.rating.tolist(), train.items.tolist(),
                                  tokenizer)
    if model.rating.interaction is not None:  # negatives are drawn by training popularity
        counts = torch.bincount(train.items, minlength=model_cfg.n_items).float()
        model.rating.interaction.log_popularity.copy_((1 + counts).log())
        model.rating.interaction.set_history(artifacts.seen_rows())
    model = model.to(device)
    return TrainingSetup(model, tokenizer, model_cfg, train_cfg, device, dataset, artifacts,
                         train, valid, train_labels, valid_labels)


def typical_length(labels: list[list[int]]) -> int:
    """The median tokenised target length, end-of-sequence token excluded."""
    lengths = sorted(max(0, len(ids) - 1) for ids in labels)
    return lengths[len(lengths) // 2] if lengths else 0


def _tensors(frame: pd.DataFrame, artifacts: RunArtifacts, cfg: ModelConfig) -> RatingTensors:
    data = to_tensors(frame, cfg.aspects, artifacts.users, artifacts.items)
    data.texts = [training_target(t, cfg.max_words) for t in data.texts]
    return data


def count_params(model: Elixir) -> dict[str, int]:
    def total(module, trainable=False):
        if module is None:
            return 0
        return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable)

    return {"total": total(model), "trainable": total(model, True),
            "rating": total(model.rating), "generator": total(model.generator),
            "backbone": total(model.backbone),
            "backbone_trainable": total(model.backbone, True)}
