"""Training ELIXIR: one straight loop run once per phase (phases.py says what each one trains),
seeded, clipped, checkpointed, resumable, data-parallel under a launcher.

Each epoch walks a seeded permutation of the training rows in global batches; under
`accelerate launch` each process takes its own slice of every global batch and DDP averages
the gradients, so N processes of batch b take the same steps as one process of batch N x b.
Only rank 0 writes (checkpoints, metrics.jsonl, the run directory). A checkpoint is the
project's own safetensors files (model and optimizer state) plus JSON: never a pickle.

Run with: elixir-agent train --data /tmp/rb --out runs/rb --preset cpu
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

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
from elixir_agent.core_model.distributed import Processes, start_processes
from elixir_agent.core_model.encoding import pad_labels
from elixir_agent.core_model.evaluate import evaluate_ratings
from elixir_agent.core_model.phases import Phase, plan_phases
from elixir_agent.core_model.progress import Progress
from elixir_agent.core_model.ranking import choose_blend

log = logging.getLogger(__name__)


@dataclass
class PhaseState:
    """Where training stands; saved with every checkpoint so --resume can continue."""

    phase: str = "rating"
    epoch: int = 0
    batch: int = 0  # global batches done in the current epoch
    step: int = 0  # optimizer steps in this phase
    best: float = math.inf
    bad_epochs: int = 0
    elapsed_s: float = 0.0  # wall time spent so far, over all sessions
    done: list[str] = field(default_factory=list)  # finished phases
    history: list[dict] = field(default_factory=list)
    stops: list[dict] = field(default_factory=list)  # why each finished phase stopped
    grad_scaler: dict = field(default_factory=dict)  # fp16 loss scale (empty when unused)

    def next_phase(self, name: str) -> PhaseState:
        return PhaseState(phase=name, elapsed_s=self.elapsed_s, done=self.done,
                          history=self.history, stops=self.stops)


def train(data_dir: str | Path, out_dir: str | Path, model_cfg: ModelConfig,
          train_cfg: TrainConfig, *, resume: bool = False, overwrite: bool = False) -> dict:
    """Train and write a run directory; returns the summary also stored in summary.json."""
    out_dir = Path(out_dir)
    procs = start_processes(train_cfg.device)
    if not procs.is_main:  # one copy of each progress message, from rank 0
        logging.getLogger("elixir_agent").setLevel(logging.WARNING)
    _check_out_dir(out_dir, resume, overwrite, procs)
    from transformers import set_seed  # here: importing it loads peft when that is installed

    set_seed(train_cfg.seed)  # the same on every process: same initial weights everywhere
    if train_cfg.threads:
        torch.set_num_threads(train_cfg.threads)
    setup = build_setup(data_dir, model_cfg, train_cfg, procs.device)
    if procs.is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
    procs.wait()  # the others read a checkpoint from it or write nothing until it exists
    state, optimizer_state = PhaseState(), None
    loaded = load_checkpoint(out_dir, setup.model) if resume else None
    if loaded is not None:
        progress, optimizer_tensors = loaded
        state = PhaseState(**{k: v for k, v in progress.items() if k != "optimizer"})
        optimizer_state = (progress["optimizer"], optimizer_tensors)
        setup.model.to(procs.device)
        log.info("resuming %s from phase %s, epoch %d, step %d (%.0f s trained so far)", out_dir,
                 state.phase, state.epoch + 1, state.step, state.elapsed_s)
    for phase in plan_phases(setup):
        if phase.name in state.done:
            continue
        if state.phase != phase.name:
            state, optimizer_state = state.next_phase(phase.name), None
        _run_phase(setup, phase, state, optimizer_state, out_dir, procs)
        state.done.append(phase.name)
    summary = _summary(setup, state)
    if setup.model.rating_lexicon is not None:  # what guidance pushes, for the user to read
        summary["rating_lexicon"] = setup.model.rating_lexicon.strongest(setup.tokenizer)
    if procs.is_main:  # choices made on validation after training, and the run's files
        if setup.model.rating.interaction is not None:  # rank()'s blend
            setup.model_cfg, summary["rank_blend"] = choose_blend(
                setup.model, setup.model_cfg, setup.train, setup.valid, setup.device,
                train_cfg.seed)
        if model_cfg.text and train_cfg.select_decoding:
            from elixir_agent.core_model.decoding_selection import choose_decoding

            setup.model_cfg, summary["decoding_selection"] = choose_decoding(setup)
        save_run(out_dir, setup.model, setup.tokenizer, setup.model_cfg, train_cfg,
                 setup.artifacts, summary)
    procs.finish()
    return summary


def _check_out_dir(out_dir: Path, resume: bool, overwrite: bool, procs: Processes) -> None:
    """Every process checks (so all raise alike); rank 0 alone clears it."""
    if not (resume or not out_dir.exists() or not any(out_dir.iterdir())):
        if not overwrite:
            what = "a finished run" if (out_dir / CONFIG_FILE).exists() else "files"
            raise FileExistsError(f"{out_dir} already holds {what}; pass --resume to continue "
                                  "it, --overwrite to replace it, or choose another --out")
        procs.wait()  # nobody may still be looking at what rank 0 is about to delete
        if procs.is_main:
            import shutil

            shutil.rmtree(out_dir)


def _run_phase(setup: TrainingSetup, phase: Phase, state: PhaseState,
               optimizer_state: tuple | None, out_dir: Path, procs: Processes) -> None:
    cfg, model = setup.train_cfg, setup.model
    optimizer = torch.optim.AdamW(phase.parameters(model), lr=phase.lr,
                                  weight_decay=cfg.weight_decay)
    if optimizer_state is not None:
        restore_optimizer(optimizer, *optimizer_state)
    steps_per_epoch = len(procs.global_batches(_epoch_order(setup, phase, 0), phase.batch_size))
    schedule = phase.schedule(optimizer, phase.epochs * steps_per_epoch, cfg.warmup_steps,
                              state.step)
    scaler = setup.grad_scaler()
    if state.grad_scaler and scaler.is_enabled():
        scaler.load_state_dict(state.grad_scaler)
    objective = procs.wrap(_Objective(model, phase))
    started = time.monotonic() - state.elapsed_s
    best_weights, stopped = None, False

    def checkpoint() -> None:
        state.grad_scaler = scaler.state_dict()
        if procs.is_main:
            save_checkpoint(out_dir, model, optimizer, asdict(state))

    with Progress(enabled=cfg.progress and procs.is_main) as bars:
        while state.epoch < phase.epochs and not stopped:
            batches = procs.global_batches(_epoch_order(setup, phase, state.epoch),
                                           phase.batch_size)
            task = bars.start(f"{phase.name} epoch {state.epoch + 1}/{phase.epochs}",
                              len(batches), done=state.batch)
            model.train()
            if phase.freezes_ratings:  # no dropout on the vectors the prompts are built from
                model.rating.eval()
            for rows in batches[state.batch:]:
                stopped = _limit_reached(setup, phase, state, started)
                if cfg.time_budget_s is not None:  # clocks differ: rank 0 must not stop alone
                    stopped = procs.any(stopped)
                if stopped:
                    break
                loss = _step(setup, phase, objective, optimizer, schedule, scaler, rows, procs)
                state.batch += 1
                state.step += 1
                state.elapsed_s = time.monotonic() - started
                bars.advance(task, loss)
                if state.step % cfg.checkpoint_every == 0:
                    checkpoint()
            if stopped and state.batch == 0:
                break
            # A limit hit mid-epoch still validates the partial epoch: it has the most training.
            metrics = phase.validate(setup)  # on every process: they must agree on what to keep
            score = phase.score(metrics)
            if score < state.best - 1e-5:
                state.best, state.bad_epochs = score, 0
                best_weights = _trained_weights(setup)
            else:
                state.bad_epochs += 1
            record = {"phase": phase.name, "epoch": state.epoch + 1, "step": state.step,
                      "elapsed_s": round(time.monotonic() - started, 1), **metrics}
            state.history.append(record)
            state.epoch, state.batch = state.epoch + 1, 0
            if procs.is_main:
                with (out_dir / "metrics.jsonl").open("a") as lines:
                    lines.write(json.dumps(record) + "\n")
            # Best weights live in memory; a resumed run re-selects from the epochs it still runs.
            checkpoint()
            if state.bad_epochs >= cfg.patience:
                break
    _record_stop(setup, phase, state, started, stopped)
    if best_weights is not None:  # keep the best epoch, not the last one
        model.load_state_dict(best_weights, strict=False)


class _Objective(torch.nn.Module):
    """The phase's loss as a module, so that DDP can wrap it and all-reduce its gradients."""

    def __init__(self, model: torch.nn.Module, phase: Phase):
        super().__init__()
        self.model, self.phase = model, phase

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.phase.loss(self.model, batch)


def _step(setup: TrainingSetup, phase: Phase, objective: torch.nn.Module,
          optimizer: torch.optim.Optimizer, schedule, scaler: torch.amp.GradScaler,
          global_rows: torch.Tensor, procs: Processes) -> float:
    """One optimizer step on this process's share of a global batch; returns its loss."""
    rows, weight = procs.shard(global_rows)
    batch = _batch(setup, phase, rows)
    with setup.autocast() if phase.mixed_precision else contextlib.nullcontext():
        loss = objective(batch)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss * weight if weight != 1.0 else loss).backward()
    if phase.clip_gradients:
        scaler.unscale_(optimizer)  # clip the true gradients, not the fp16-scaled ones
        torch.nn.utils.clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]],
                                       setup.train_cfg.grad_clip)
    scaler.step(optimizer)
    scaler.update()
    schedule.step()
    return loss.item()


def _batch(setup: TrainingSetup, phase: Phase, rows: torch.Tensor) -> dict[str, torch.Tensor]:
    data, device = setup.train, setup.device
    batch = dict(users=data.users[rows].to(device), items=data.items[rows].to(device))
    if phase.uses_ratings:
        batch.update(target=data.rating[rows].to(device),
                     aspect_target=data.aspects[rows].to(device),
                     aspect_mask=data.mask[rows].to(device))
    if phase.uses_text:
        batch["labels"] = pad_labels([setup.train_labels[i] for i in rows.tolist()]).to(device)
        batch["text_ratings"] = data.rating[rows].to(device)  # what the rating prompt states
    return batch


def _epoch_order(setup: TrainingSetup, phase: Phase, epoch: int) -> torch.Tensor:
    """The rows of one epoch in their seeded order, the same on every process.

    A text phase with `text_train_limit` draws from a fixed random subset (the same every
    epoch), reshuffled each epoch.
    """
    seed, n = setup.train_cfg.seed, len(setup.train)
    if not (phase.uses_text and setup.train_cfg.text_train_limit is not None):
        return _permutation(n, seed, epoch)
    subset = _permutation(n, seed, -1)[:_epoch_size(setup, True)]
    return subset[_permutation(len(subset), seed, epoch)]


def _permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed * 1000 + epoch)
    return torch.randperm(n, generator=generator)


def _epoch_size(setup: TrainingSetup, text: bool) -> int:
    """Training rows per epoch: all of them, or `text_train_limit` in the text phase."""
    limit = setup.train_cfg.text_train_limit if text else None
    return len(setup.train) if limit is None else min(limit, len(setup.train))


def _trained_weights(setup: TrainingSetup) -> dict[str, torch.Tensor]:
    """A copy of every weight training can change (a frozen backbone's are left out)."""
    full = setup.model_cfg.finetune == "full"
    return {k: v.detach().clone() for k, v in setup.model.state_dict().items()
            if not k.startswith("backbone.") or "lora_" in k or full}


def _limit_reached(setup: TrainingSetup, phase: Phase, state: PhaseState,
                   started: float) -> bool:
    if phase.step_cap is not None and state.step >= phase.step_cap:
        return True
    budget = setup.train_cfg.time_budget_s
    return budget is not None and time.monotonic() - started >= budget * phase.time_share


def _record_stop(setup: TrainingSetup, phase: Phase, state: PhaseState, started: float,
                 limited: bool) -> None:
    """Say why the phase ended: all epochs, early stopping, a step cap or the time budget."""
    cfg, epochs = setup.train_cfg, phase.epochs
    after = f"after {state.epoch} of {epochs} epochs"
    if not limited and state.bad_epochs >= cfg.patience and state.epoch < epochs:
        reason = f"stopped early {after}: validation did not improve for {cfg.patience} epochs"
    elif not limited:
        reason = f"ran all {epochs} epochs"
    elif phase.step_cap is not None and state.step >= phase.step_cap:
        reason = f"stopped {after} at the cap of {phase.step_cap} steps"
    else:
        share = (f", of which the {phase.name} phase gets {phase.time_share:.0%}"
                 if phase.time_share < 1 else "")
        reason = f"stopped {after} by the time budget ({cfg.time_budget_s:g} s{share})"
        if phase.step_cap is not None:
            # A preset's plan is its step cap; the budget is a guard. A machine shared with
            # other jobs reaches the guard first, and the run is then trained less than its
            # preset says (a cpu-lm run made 149 of 240 steps that way).
            reason += f", at {state.step} of its {phase.step_cap} planned steps"
            log.warning("the %s phase made %d of its %d planned steps before the time budget "
                        "ran out: each step was slower than planned (other jobs on the "
                        "machine?); raise --time-budget to train it fully", phase.name,
                        state.step, phase.step_cap)
    stop = {"phase": phase.name, "reason": reason, "cut_short": limited,
            "epochs_done": state.epoch, "epochs_planned": epochs, "steps": state.step,
            "elapsed_s": round(time.monotonic() - started, 1)}
    if not any(s["phase"] == phase.name for s in state.stops):
        state.stops.append(stop)
    log.info("%s phase: %s (%d steps)", phase.name, reason, state.step)


def _summary(setup: TrainingSetup, state: PhaseState) -> dict:
    valid = evaluate_ratings(setup.model, setup.valid, setup.model_cfg.aspects, setup.device)
    return {"valid": valid, "params": count_params(setup.model),
            "train_time_s": round(state.elapsed_s, 1), "history": state.history,
            "stops": state.stops,
            "n_train": len(setup.train), "n_valid": len(setup.valid),
            "n_text_train": _epoch_size(setup, setup.model_cfg.text)}
