"""Training ELIXIR: one straight loop per phase, seeded, clipped, checkpointed, resumable.

Sequential schedule (paper): phase "rating" trains the rating model on the rating loss with
early stopping on validation RMSE; phase "text" freezes it and trains the prompt generator
(and the backbone's trainable weights) on token NLL with early stopping on validation NLL.
Joint schedule: one phase, loss = rating loss + text_weight * NLL, selected on RMSE.

Run with: elixir-agent train --data /tmp/rb --out runs/rb --preset cpu
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from elixir_agent.core_model.assembly import TrainingSetup, build_setup, count_params
from elixir_agent.core_model.checkpoint import (
    CONFIG_FILE,
    load_checkpoint,
    restore_optimizer,
    save_checkpoint,
    save_run,
)
from elixir_agent.core_model.config import ModelConfig, TrainConfig
from elixir_agent.core_model.encoding import pad_labels
from elixir_agent.core_model.evaluate import evaluate_ratings, text_nll, validation_text_score
from elixir_agent.core_model.progress import Progress
from elixir_agent.core_model.ranking import choose_blend, validation_ndcg

log = logging.getLogger(__name__)


@dataclass
class PhaseState:
    """Where training stands; saved with every checkpoint so --resume can continue."""

    phase: str = "rating"
    epoch: int = 0
    batch: int = 0  # batches done in the current epoch
    step: int = 0  # optimizer steps in this phase
    best: float = math.inf
    bad_epochs: int = 0
    elapsed_s: float = 0.0  # wall time spent so far, over all sessions
    done: list[str] = field(default_factory=list)  # finished phases
    history: list[dict] = field(default_factory=list)
    stops: list[dict] = field(default_factory=list)  # why each finished phase stopped


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def train(data_dir: str | Path, out_dir: str | Path, model_cfg: ModelConfig,
          train_cfg: TrainConfig, *, resume: bool = False, overwrite: bool = False) -> dict:
    """Train and write a run directory; returns the summary also stored in summary.json."""
    out_dir = Path(out_dir)
    _check_out_dir(out_dir, resume, overwrite)
    seed_everything(train_cfg.seed)
    if train_cfg.threads:
        torch.set_num_threads(train_cfg.threads)
    device = pick_device(train_cfg.device)
    setup = build_setup(data_dir, model_cfg, train_cfg, device)
    out_dir.mkdir(parents=True, exist_ok=True)
    state = PhaseState()
    loaded = load_checkpoint(out_dir, setup.model) if resume else None
    if loaded is not None:
        progress, optim_tensors = loaded
        state = PhaseState(**{k: v for k, v in progress.items() if k != "optimizer"})
        setup.resume_optimizer = (progress["optimizer"], optim_tensors)
        setup.model.to(device)
        log.info("resuming %s from phase %s, epoch %d, step %d (%.0f s trained so far)", out_dir,
                 state.phase, state.epoch + 1, state.step, state.elapsed_s)
    phases = ["rating", "text"] if train_cfg.schedule == "sequential" else ["joint"]
    if not model_cfg.text:
        phases = ["rating"] if train_cfg.schedule == "sequential" else ["joint"]
    if setup.model.rating.interaction is not None and train_cfg.rank_epochs > 0:
        phases.insert(1, "rank")  # the ranking head alone, on top of the chosen rating model
    for phase in phases:
        if phase in state.done:
            continue
        if state.phase != phase:
            state = PhaseState(phase=phase, elapsed_s=state.elapsed_s, done=state.done,
                               history=state.history, stops=state.stops)
        _run_phase(setup, state, out_dir)
        state.done.append(phase)
    summary = _summary(setup, state)
    if setup.model.rating.interaction is not None:  # rank()'s blend, chosen on validation
        setup.model_cfg, summary["rank_blend"] = choose_blend(
            setup.model, setup.model_cfg, setup.train, setup.valid, setup.device,
            train_cfg.seed)
    if model_cfg.text and train_cfg.select_decoding:
        from elixir_agent.core_model.decoding_selection import choose_decoding

        setup.model_cfg, summary["decoding_selection"] = choose_decoding(setup)
    save_run(out_dir, setup.model, setup.tokenizer, setup.model_cfg, train_cfg,
             setup.artifacts, summary)
    return summary


def _check_out_dir(out_dir: Path, resume: bool, overwrite: bool) -> None:
    if resume or not out_dir.exists() or not any(out_dir.iterdir()):
        return
    if not overwrite:
        what = "a finished run" if (out_dir / CONFIG_FILE).exists() else "files"
        raise FileExistsError(f"{out_dir} already holds {what}; pass --resume to continue "
                              "it, --overwrite to replace it, or choose another --out")
    import shutil

    shutil.rmtree(out_dir)


def _run_phase(setup: TrainingSetup, state: PhaseState, out_dir: Path) -> None:
    cfg, model = setup.train_cfg, setup.model
    text = state.phase in ("text", "joint") and setup.model_cfg.text
    params = _phase_parameters(model, state.phase)
    lr = cfg.text_lr if state.phase == "text" else cfg.lr
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=cfg.weight_decay)
    if setup.resume_optimizer is not None:
        restore_optimizer(optimizer, *setup.resume_optimizer)
        setup.resume_optimizer = None
    epochs = {"text": cfg.text_epochs, "rank": cfg.rank_epochs}.get(state.phase,
                                                                  cfg.rating_epochs)
    n_batches = math.ceil(_epoch_size(setup, text) / (cfg.text_batch_size if text
                                                       else cfg.batch_size))
    schedule = _lr_schedule(cfg, state.phase, epochs * n_batches)
    started = time.monotonic() - state.elapsed_s
    stopped = False
    with Progress(enabled=cfg.progress) as bars:
        while state.epoch < epochs:
            task = bars.start(f"{state.phase} epoch {state.epoch + 1}/{epochs}", n_batches,
                              done=state.batch)
            stopped = _run_epoch(setup, state, optimizer, schedule, bars, task, started, out_dir)
            if stopped and state.batch == 0:
                break
            # A limit hit mid-epoch still validates the partial epoch: it has the most training.
            _end_epoch(setup, state, started, out_dir, optimizer)
            if stopped:
                break
            if state.bad_epochs >= cfg.patience:
                break
    _record_stop(setup, state, epochs, started, stopped)
    if setup.best_state is not None:  # keep the best epoch, not the last one
        model.load_state_dict(setup.best_state, strict=False)
        setup.best_state = None


def _record_stop(setup: TrainingSetup, state: PhaseState, epochs: int, started: float,
                 limited: bool) -> None:
    """Say why the phase ended: all epochs, early stopping, a step cap or the time budget."""
    cfg = setup.train_cfg
    cap = cfg.max_text_steps if state.phase in ("text", "joint") else cfg.max_rating_steps
    after = f"after {state.epoch} of {epochs} epochs"
    if not limited and state.bad_epochs >= cfg.patience and state.epoch < epochs:
        reason = f"stopped early {after}: validation did not improve for {cfg.patience} epochs"
        short = False
    elif not limited:
        reason, short = f"ran all {epochs} epochs", False
    elif cap is not None and state.step >= cap:
        reason, short = f"stopped {after} at the cap of {cap} steps", True
    else:
        share = (f", of which the rating phase gets {cfg.rating_time_fraction:.0%}"
                 if state.phase == "rating" and setup.model_cfg.text else "")
        reason, short = f"stopped {after} by the time budget ({cfg.time_budget_s:g} s{share})", True
    stop = {"phase": state.phase, "reason": reason, "cut_short": short, "epochs_done": state.epoch,
            "epochs_planned": epochs, "steps": state.step,
            "elapsed_s": round(time.monotonic() - started, 1)}
    if not any(s["phase"] == state.phase for s in state.stops):
        state.stops.append(stop)
    log.info("%s phase: %s (%d steps)", state.phase, reason, state.step)


def _phase_parameters(model, phase: str) -> list[torch.nn.Parameter]:
    rating = list(model.rating.parameters())
    text = [p for p in model.backbone.parameters() if p.requires_grad] if model.backbone else []
    text += list(model.generator.parameters()) if model.generator is not None else []
    if phase == "rating":
        return rating
    if phase == "rank":
        return list(model.rating.interaction.parameters())
    if phase == "text":
        return text
    return rating + text


def _lr_schedule(cfg: TrainConfig, phase: str, total: int) -> Callable[[int], float]:
    """Rating (and rank) phase: constant (paper). Text phase: linear warm-up then cosine down
    to 10%."""
    if phase in ("rating", "rank"):
        return lambda step: cfg.lr
    warmup = min(cfg.warmup_steps, max(total // 10, 1))

    def lr(step: int) -> float:
        if step < warmup:  # warm-up: soft prompts start far from the backbone's input space
            return cfg.text_lr * (step + 1) / warmup
        progress = min((step - warmup) / max(total - warmup, 1), 1.0)
        return cfg.text_lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))

    return lr


def _batch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed * 1000 + epoch)
    return torch.randperm(n, generator=generator)


def _epoch_size(setup, text: bool) -> int:
    """Training rows per epoch: all of them, or `text_train_limit` in the text phase."""
    limit = setup.train_cfg.text_train_limit if text else None
    return len(setup.train) if limit is None else min(limit, len(setup.train))


def _text_subset(setup) -> torch.Tensor:
    """The fixed random subset of training rows the text phase draws from (same every epoch)."""
    size = _epoch_size(setup, True)
    return _batch_order(len(setup.train), setup.train_cfg.seed, -1)[:size]


def _run_epoch(setup, state, optimizer, schedule, bars, task, started, out_dir) -> bool:
    """Train until the epoch ends (False) or a step/time limit stops the phase (True)."""
    cfg, model, data = setup.train_cfg, setup.model, setup.train
    text = state.phase in ("text", "joint") and setup.model_cfg.text
    bs = cfg.text_batch_size if text else cfg.batch_size
    order = _batch_order(len(data), cfg.seed, state.epoch)
    if text and cfg.text_train_limit is not None:
        subset = _text_subset(setup)
        order = subset[_batch_order(len(subset), cfg.seed, state.epoch)]
    model.train()
    if state.phase == "text":
        model.rating.eval()  # frozen: no dropout on the vectors the prompts are built from
    for start in range(state.batch * bs, len(order), bs):
        if _limit_reached(setup, state, started):
            return True
        idx = order[start: start + bs]
        loss = _step(setup, state, optimizer, schedule, idx)
        state.batch += 1
        state.step += 1
        state.elapsed_s = time.monotonic() - started
        bars.advance(task, loss)
        if state.step % cfg.checkpoint_every == 0:
            save_checkpoint(out_dir, model, optimizer, _progress(state))
    return False


def _step(setup, state, optimizer, schedule, idx) -> float:
    cfg, data, device = setup.train_cfg, setup.train, setup.device
    for group in optimizer.param_groups:
        group["lr"] = schedule(state.step)
    batch = dict(users=data.users[idx].to(device), items=data.items[idx].to(device))
    if state.phase == "rank":
        return _rank_step(setup, optimizer, batch)
    if state.phase != "text":
        batch.update(target=data.rating[idx].to(device),
                     aspect_target=data.aspects[idx].to(device),
                     aspect_mask=data.mask[idx].to(device))
    if state.phase != "rating" and setup.model_cfg.text:
        batch["labels"] = pad_labels([setup.train_labels[i] for i in idx.tolist()]).to(device)
    with setup.autocast():
        out = setup.model(**batch, freeze_ratings=state.phase == "text")
        loss = out.loss if state.phase != "joint" else (
            out.rating_loss + cfg.text_weight * out.text_loss)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]],
                                   cfg.grad_clip)
    optimizer.step()
    return loss.item()


def _rank_step(setup, optimizer, batch) -> float:
    loss = setup.model.rating.rank_loss(batch["users"], batch["items"],
                                        setup.model_cfg.rank_negatives)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.item()


def _limit_reached(setup, state, started) -> bool:
    cfg = setup.train_cfg
    cap = cfg.max_text_steps if state.phase in ("text", "joint") else cfg.max_rating_steps
    if cap is not None and state.step >= cap:
        return True
    if cfg.time_budget_s is None:
        return False
    elapsed = time.monotonic() - started
    if state.phase in ("rating", "rank") and setup.model_cfg.text:
        return elapsed >= cfg.time_budget_s * cfg.rating_time_fraction
    return elapsed >= cfg.time_budget_s


def _end_epoch(setup, state, started, out_dir, optimizer) -> None:
    """Validate, keep the best weights, log a metrics line, checkpoint."""
    metrics = _validate(setup, state.phase)
    score = (metrics["valid_rmse"] if state.phase not in ("text", "rank")
             else -metrics["valid_ndcg@10"] if state.phase == "rank"
             else _text_score(setup, metrics))
    improved = score < state.best - 1e-5
    if improved:
        state.best, state.bad_epochs = score, 0
        setup.best_state = {k: v.detach().clone() for k, v in setup.model.state_dict().items()
                            if not k.startswith("backbone.") or "lora_" in k
                            or setup.model_cfg.finetune == "full"}
    else:
        state.bad_epochs += 1
    record = {"phase": state.phase, "epoch": state.epoch + 1, "step": state.step,
              "elapsed_s": round(time.monotonic() - started, 1), **metrics}
    state.history.append(record)
    with (out_dir / "metrics.jsonl").open("a") as log:
        log.write(json.dumps(record) + "\n")
    state.epoch += 1
    state.batch = 0
    # Best weights live in memory; a resumed run re-selects from the epochs it still runs.
    save_checkpoint(out_dir, setup.model, optimizer, _progress(state))


def _validate(setup, phase: str) -> dict[str, float]:
    out: dict[str, float] = {}
    if phase == "rank":
        return {"valid_ndcg@10": validation_ndcg(setup.model, setup.model_cfg, setup.train,
                                                 setup.valid, setup.device)}
    if phase != "text":
        errors = evaluate_ratings(setup.model, setup.valid, setup.model_cfg.aspects,
                                  setup.device)
        out["valid_rmse"], out["valid_mae"] = errors["rmse"], errors["mae"]
    if phase not in ("rating", "rank") and setup.model_cfg.text:
        out["valid_nll"] = text_nll(setup.model, setup.valid, setup.valid_labels, setup.device,
                                    limit=setup.train_cfg.valid_text_limit)
    metric = setup.train_cfg.select_text_by
    if phase == "text" and setup.model_cfg.text and metric != "nll":
        out[f"valid_{metric}"] = validation_text_score(
            setup.model, setup.tokenizer, setup.valid, metric,
            setup.train_cfg.select_text_pairs, setup.device, setup.model_cfg.max_target_tokens)
    return out


def _text_score(setup, metrics: dict[str, float]) -> float:
    """Lower is better: the NLL, or the negated text metric."""
    metric = setup.train_cfg.select_text_by
    return metrics["valid_nll"] if metric == "nll" else -metrics[f"valid_{metric}"]


def _progress(state: PhaseState) -> dict:
    return {k: v for k, v in state.__dict__.items()}


def _summary(setup: TrainingSetup, state: PhaseState) -> dict:
    valid = evaluate_ratings(setup.model, setup.valid, setup.model_cfg.aspects, setup.device)
    return {"valid": valid, "params": count_params(setup.model),
            "train_time_s": round(state.elapsed_s, 1), "history": state.history,
            "stops": state.stops,
            "n_train": len(setup.train), "n_valid": len(setup.valid),
            "n_text_train": _epoch_size(setup, setup.model_cfg.text)}
