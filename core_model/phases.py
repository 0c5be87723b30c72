"""The phases of a training run, one small spec each: which parameters train, on which loss,
at which learning rate and schedule, selected on which validation score, under which step cap.

Sequential schedule (paper): "rating" trains the rating model on the rating loss, selected on
validation RMSE; "rank" (models with a ranking head) trains the head alone on its sampled
softmax, selected on validation NDCG@10; "text" freezes the rating model and trains the prompt
generator and the backbone's trainable weights on token NLL, selected on validation NLL or a
text metric. Joint schedule: one phase on rating loss + text_weight * NLL, selected on RMSE.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.optim.lr_scheduler import LambdaLR

from elixir_agent.core_model.assembly import TrainingSetup
from elixir_agent.core_model.evaluate import evaluate_ratings, text_nll, validation_text_score
from elixir_agent.core_model.model import Elixir
from elixir_agent.core_model.ranking import validation_ndcg

__all__ = ["Phase", "plan_phases"]

Batch = dict[str, torch.Tensor]


@dataclass(frozen=True)
class Phase:
    name: str  # rating | rank | text | joint; the key of its records and checkpoints
    epochs: int
    batch_size: int  # rows per process and step
    lr: float  # peak learning rate
    step_cap: int | None  # optimizer steps after which the phase stops (None: no cap)
    uses_text: bool  # batches carry token labels and come from the text subset
    uses_ratings: bool  # batches carry rating and aspect targets
    warmup_cosine: bool  # linear warm-up then cosine decay; else a constant rate
    freezes_ratings: bool  # the rating model stays in eval mode (no dropout) and untouched
    time_share: float  # of the time budget, how much may have passed when this phase stops
    mixed_precision: bool  # runs under the setup's autocast (CUDA only)
    clip_gradients: bool
    parameters: Callable[[Elixir], list[torch.nn.Parameter]]
    loss: Callable[[Elixir, Batch], torch.Tensor]
    validate: Callable[[TrainingSetup], dict[str, float]]  # the metrics line of an epoch
    score: Callable[[dict[str, float]], float]  # lower is better: decides the kept epoch

    def schedule(self, optimizer: torch.optim.Optimizer, total_steps: int, warmup_steps: int,
                 steps_done: int) -> LambdaLR:
        """The learning rate of each step, continuing after `steps_done` steps on resume.

        Rating and rank: constant (paper). Text: linear warm-up, because soft prompts start far
        from the backbone's input space, then cosine decay to 10% of the peak.
        """
        # Imported here: transformers.optimization loads peft (and bitsandbytes) when installed.
        from transformers.optimization import (
            get_constant_schedule,
            get_cosine_with_min_lr_schedule_with_warmup_lr_rate,
        )

        for group in optimizer.param_groups:  # where a resumed schedule starts from
            group["initial_lr"] = self.lr
        if not self.warmup_cosine:
            return get_constant_schedule(optimizer, last_epoch=steps_done - 1)
        warmup = min(warmup_steps, max(total_steps // 10, 1))
        return get_cosine_with_min_lr_schedule_with_warmup_lr_rate(
            optimizer, warmup, total_steps, min_lr_rate=0.1, last_epoch=steps_done - 1)


def plan_phases(setup: TrainingSetup) -> list[Phase]:
    """The run's phases in order, from its configs and whether the model has a ranking head."""
    cfg, text = setup.train_cfg, setup.model_cfg.text
    ranks = setup.model.rating.interaction is not None and cfg.rank_epochs > 0
    first = [_joint(setup)] if cfg.schedule == "joint" else [_rating(setup)]
    rank = [_rank(setup)] if ranks else []
    last = [_text(setup)] if text and cfg.schedule == "sequential" else []
    return first + rank + last


def _rating(setup: TrainingSetup) -> Phase:
    cfg = setup.train_cfg
    return Phase(
        name="rating", epochs=cfg.rating_epochs, batch_size=cfg.batch_size, lr=cfg.lr,
        step_cap=cfg.max_rating_steps, uses_text=False, uses_ratings=True, warmup_cosine=False,
        freezes_ratings=False, time_share=_rating_time_share(setup), mixed_precision=True,
        clip_gradients=True, parameters=lambda model: list(model.rating.parameters()),
        loss=lambda model, batch: model(**batch).loss,
        validate=_rating_metrics, score=lambda metrics: metrics["valid_rmse"])


def _rank(setup: TrainingSetup) -> Phase:
    cfg, negatives = setup.train_cfg, setup.model_cfg.rank_negatives
    # It shares the rating phase's step cap and time share: it refines the same model.
    return Phase(
        name="rank", epochs=cfg.rank_epochs, batch_size=cfg.batch_size, lr=cfg.lr,
        step_cap=cfg.max_rating_steps, uses_text=False, uses_ratings=False, warmup_cosine=False,
        freezes_ratings=False, time_share=_rating_time_share(setup), mixed_precision=False,
        clip_gradients=False,
        parameters=lambda model: list(model.rating.interaction.parameters()),
        loss=lambda model, batch: model.rating.rank_loss(batch["users"], batch["items"],
                                                         negatives),
        validate=lambda s: {"valid_ndcg@10": validation_ndcg(s.model, s.model_cfg, s.train,
                                                             s.valid, s.device)},
        score=lambda metrics: -metrics["valid_ndcg@10"])


def _text(setup: TrainingSetup) -> Phase:
    cfg = setup.train_cfg
    metric = cfg.select_text_by
    return Phase(
        name="text", epochs=cfg.text_epochs, batch_size=cfg.text_batch_size, lr=cfg.text_lr,
        step_cap=cfg.max_text_steps, uses_text=True, uses_ratings=False, warmup_cosine=True,
        freezes_ratings=True, time_share=1.0, mixed_precision=True, clip_gradients=True,
        parameters=_text_parameters,
        loss=lambda model, batch: model(**batch, freeze_ratings=True).loss,
        validate=_text_metrics,
        score=lambda m: m["valid_nll"] if metric == "nll" else -m[f"valid_{metric}"])


def _joint(setup: TrainingSetup) -> Phase:
    cfg, text = setup.train_cfg, setup.model_cfg.text

    def loss(model: Elixir, batch: Batch) -> torch.Tensor:
        out = model(**batch)
        if out.text_loss is None:  # a ratings-only model
            return out.rating_loss
        return out.rating_loss + cfg.text_weight * out.text_loss

    def validate(s: TrainingSetup) -> dict[str, float]:
        metrics = _rating_metrics(s)
        if text:
            metrics["valid_nll"] = _valid_nll(s)
        return metrics

    # The text phase's learning rate, schedule and step cap: the text part is what needs them.
    return Phase(
        name="joint", epochs=cfg.rating_epochs,
        batch_size=cfg.text_batch_size if text else cfg.batch_size,
        lr=cfg.text_lr, step_cap=cfg.max_text_steps, uses_text=text, uses_ratings=True,
        warmup_cosine=True, freezes_ratings=False, time_share=1.0, mixed_precision=True,
        clip_gradients=True,
        parameters=lambda model: list(model.rating.parameters()) + _text_parameters(model),
        loss=loss, validate=validate, score=lambda metrics: metrics["valid_rmse"])


def _rating_time_share(setup: TrainingSetup) -> float:
    """With a text phase to follow, the rating (and rank) phases leave it most of the budget."""
    return setup.train_cfg.rating_time_fraction if setup.model_cfg.text else 1.0


def _text_parameters(model: Elixir) -> list[torch.nn.Parameter]:
    params = [p for p in model.backbone.parameters() if p.requires_grad] if model.backbone else []
    return params + (list(model.generator.parameters()) if model.generator is not None else [])


def _rating_metrics(setup: TrainingSetup) -> dict[str, float]:
    errors = evaluate_ratings(setup.model, setup.valid, setup.model_cfg.aspects, setup.device)
    return {"valid_rmse": errors["rmse"], "valid_mae": errors["mae"]}


def _valid_nll(setup: TrainingSetup) -> float:
    return text_nll(setup.model, setup.valid, setup.valid_labels, setup.device,
                    limit=setup.train_cfg.valid_text_limit)


def _text_metrics(setup: TrainingSetup) -> dict[str, float]:
    metrics = {"valid_nll": _valid_nll(setup)}
    metric = setup.train_cfg.select_text_by
    if metric != "nll":  # the paper keeps the epoch with the best generated reviews
        metrics[f"valid_{metric}"] = validation_text_score(
            setup.model, setup.tokenizer, setup.valid, metric,
            setup.train_cfg.select_text_pairs, setup.device, setup.model_cfg.max_target_tokens)
    return metrics
