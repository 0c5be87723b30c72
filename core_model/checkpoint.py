"""Run directories and training checkpoints: safetensors + JSON, never pickles.

A finished run directory::

    config.json          model + train config (written last: its presence marks a complete run)
    elixir.safetensors   rating model and prompt generator
    backbone/            the T5 (save_pretrained); absent for a quantized backbone, which is
                         re-loaded from `config.model.backbone` and quantized again, and for
                         a frozen or LoRA causal LM, which is referenced (spec + sha256)
    adapter/             LoRA adapter (peft, safetensors), when finetune = lora
    tokenizer/           tokenizer files
    ids.json             user and item id maps, aspects, rating and aspect scales
    catalog.json         item names and the items each user reviewed in training
    metrics.jsonl        one JSON line per evaluation during training
    summary.json         final validation/test metrics, parameter counts, training time
    manifest.json        size and sha256 of each file above (checked on every load)
    checkpoint/          the latest training checkpoint (for --resume), with its own manifest
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
from safetensors.torch import load_file, save_file

from elixir_agent.atomic import write_directory
from elixir_agent.core_model.config import ModelConfig, TrainConfig, config_from_json, config_to_json
from elixir_agent.core_model.encoding import IdMap
from elixir_agent.core_model.integrity import MANIFEST_FILE as MANIFEST_NAME
from elixir_agent.core_model.integrity import CorruptRunError, verify_manifest, write_manifest
from elixir_agent.core_model.model import Elixir
from elixir_agent.errors import UserError

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "elixir.safetensors"
CHECKPOINT_DIR = "checkpoint"
# The entries of a finished run that its manifest lists; the rest changes after training.
RUN_FILES = ("config.json", WEIGHTS_FILE, "backbone", "adapter", "tokenizer", "ids.json",
             "catalog.json", "summary.json")


class RunDirError(UserError, FileNotFoundError):
    """A run directory that is missing, incomplete or inconsistent with its config."""


@dataclass
class RunArtifacts:
    """What a run directory holds besides the network."""

    users: IdMap
    items: IdMap
    aspects: list[str]
    rating_scale: list[float] = field(default_factory=lambda: [1.0, 5.0])
    aspect_scales: dict[str, list[float]] = field(default_factory=dict)
    item_names: dict[str, str] = field(default_factory=dict)
    seen: dict[str, list[str]] = field(default_factory=dict)  # user -> items in training
    dataset: str = ""

    def seen_rows(self) -> list[list[int]]:
        """Per user row, the item rows they reviewed in training."""
        return [[self.items.index[i] for i in self.seen.get(user, []) if i in self.items]
                for user in self.users.ids]


def atomic_dir(final: Path, write: Callable[[Path], None]) -> None:
    """Fill a temporary sibling with `write(tmp)`, then swap it onto `final`."""
    write_directory(final, write)


def write_text(path: Path, text: str) -> None:
    """Write `text` to a temporary sibling, then rename it onto `path`: whole or not at all."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_json(path: Path, payload: Any) -> None:
    write_text(path, json.dumps(payload, indent=2))


# ---- the network's own weights -------------------------------------------------------------

def own_state(model: Elixir) -> dict[str, torch.Tensor]:
    """Rating model + generator weights (the backbone is saved on its own)."""
    return {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()
            if not k.startswith("backbone.")}


def load_own_state(model: Elixir, state: dict[str, torch.Tensor], where: str) -> None:
    """Load with a shape check that names every mismatch instead of a bare RuntimeError."""
    expected = own_state(model)
    problems = [f"{k}: saved {tuple(v.shape)}, model expects {tuple(expected[k].shape)}"
                for k, v in state.items() if k in expected and v.shape != expected[k].shape]
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected) - {k for k in state if k.startswith("backbone.")})
    if missing:
        problems.append(f"missing: {', '.join(missing[:8])}")
    if unexpected:
        problems.append(f"unexpected: {', '.join(unexpected[:8])}")
    if problems:
        raise RunDirError(f"{where} does not match its config.json:\n  " + "\n  ".join(problems))
    model.load_state_dict(state, strict=False)


# ---- saving a finished run -----------------------------------------------------------------

def save_run(run_dir: Path, model: Elixir, tokenizer, model_cfg: ModelConfig,
             train_cfg: TrainConfig, artifacts: RunArtifacts, summary: dict | None = None) -> None:
    """Write the run's files; config.json goes last so a partial run is never mistaken for one."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # per-shard bars are noise in CLI output
    run_dir.mkdir(parents=True, exist_ok=True)
    save_file(own_state(model), str(run_dir / f".{WEIGHTS_FILE}.tmp"))
    os.replace(run_dir / f".{WEIGHTS_FILE}.tmp", run_dir / WEIGHTS_FILE)
    if model.backbone is not None:
        _save_backbone(run_dir, model.backbone, model_cfg)
        atomic_dir(run_dir / "tokenizer", lambda d: tokenizer.save_pretrained(str(d)))
    write_json(run_dir / "ids.json", {
        "users": artifacts.users.ids, "items": artifacts.items.ids, "aspects": artifacts.aspects,
        "rating_scale": artifacts.rating_scale, "aspect_scales": artifacts.aspect_scales,
        "dataset": artifacts.dataset})
    write_json(run_dir / "catalog.json", {"item_names": artifacts.item_names,
                                          "seen": artifacts.seen})
    if summary is not None:
        write_json(run_dir / "summary.json", summary)
    # config.json is hashed at its temporary path, then renamed: the manifest exists before
    # the run counts as finished, and "integrity" tells the loader to insist on it.
    config_tmp = run_dir / f".{CONFIG_FILE}.tmp"
    config_tmp.write_text(json.dumps({"format_version": 1, "integrity": MANIFEST_NAME,
                                      **config_to_json(model_cfg, train_cfg)}, indent=2))
    write_manifest(run_dir, include=[n for n in RUN_FILES if n != CONFIG_FILE],
                   extra=[config_tmp])
    os.replace(config_tmp, run_dir / CONFIG_FILE)


def _save_backbone(run_dir: Path, backbone: nn.Module, cfg: ModelConfig) -> None:
    if cfg.finetune == "lora":
        atomic_dir(run_dir / "adapter", lambda d: backbone.save_pretrained(str(d)))
    if cfg.quantize != "none":
        return  # re-loaded from cfg.backbone and quantized again
    from elixir_agent.core_model.backbone import base_model
    from elixir_agent.core_model.causal_backbone import CausalBackbone

    if isinstance(backbone, CausalBackbone):
        if cfg.finetune == "full":  # changed weights: the run must carry them
            atomic_dir(run_dir / "backbone", lambda d: backbone.base.save_pretrained(str(d)))
        return  # frozen or LoRA: the base is referenced by cfg.backbone and its sha256
    clean = base_model(backbone)
    if cfg.finetune == "lora":  # a copy without the LoRA layers: the untouched base weights
        clean = copy.deepcopy(backbone).unload()
    atomic_dir(run_dir / "backbone", lambda d: clean.save_pretrained(str(d)))


# ---- loading a finished run ----------------------------------------------------------------

def read_configs(run_dir: Path, *, verify: bool = False) -> tuple[ModelConfig, TrainConfig]:
    """The run's configs; with `verify`, every file is first checked against manifest.json."""
    if not run_dir.exists():
        raise RunDirError(f"run directory {run_dir} does not exist; train one with "
                          "`elixir-agent train --data DIR --out RUN`")
    if not (run_dir / CONFIG_FILE).exists():
        hint = (" (it has a checkpoint: finish it with `elixir-agent train ... --resume`)"
                if (run_dir / CHECKPOINT_DIR).exists() else "")
        raise RunDirError(f"{run_dir} is not a finished run: {CONFIG_FILE} is missing{hint}")
    raw = _read_json(run_dir / CONFIG_FILE)
    if verify:
        verify_manifest(run_dir, what="run", required=bool(raw.get("integrity")))
    try:
        return config_from_json(raw)
    except (KeyError, TypeError, ValueError) as error:
        raise CorruptRunError(f"{run_dir / CONFIG_FILE} is not a run config ({error}); "
                              "retrain the run") from error


def _read_json(path: Path) -> dict:
    """A JSON object from a run file, or one error naming the file (truncated, not JSON)."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as error:
        raise RunDirError(f"{path} is missing; the run is incomplete: retrain it") from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CorruptRunError(f"{path} is truncated or not JSON ({error}); restore it or "
                              "retrain the run") from error
    if not isinstance(data, dict):
        raise CorruptRunError(f"{path} should hold a JSON object; restore it or retrain the run")
    return data


def read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    """Tensors of a safetensors file, or one error naming the file when it cannot be parsed."""
    if not path.is_file():
        raise RunDirError(f"{path} is missing; the run is incomplete: retrain it")
    try:
        return load_file(str(path))
    except Exception as error:  # safetensors raises its own SafetensorError, and OSError
        raise CorruptRunError(f"{path} is truncated or not a safetensors file ({error}); "
                              "restore it or retrain the run") from error


def read_artifacts(run_dir: Path) -> RunArtifacts:
    ids = _read_json(run_dir / "ids.json")
    catalog_file = run_dir / "catalog.json"
    catalog = _read_json(catalog_file) if catalog_file.exists() else {}
    return RunArtifacts(
        users=IdMap(ids["users"]), items=IdMap(ids["items"]), aspects=ids["aspects"],
        rating_scale=ids.get("rating_scale", [1.0, 5.0]),
        aspect_scales=ids.get("aspect_scales", {}), dataset=ids.get("dataset", ""),
        item_names=catalog.get("item_names", {}), seen=catalog.get("seen", {}))


def load_backbone_from_run(run_dir: Path, cfg: ModelConfig, quantize: str | None = None
                           ) -> nn.Module:
    """The saved backbone (or its source, re-quantized) with the LoRA adapter if any."""
    quantize = cfg.quantize if quantize is None else quantize
    source = run_dir / "backbone"
    if not source.exists():
        if cfg.backbone is None:
            raise RunDirError(f"{run_dir} has no backbone/ directory")
        source = cfg.backbone
    from elixir_agent.core_model.backbone import pretrained_backbone
    from elixir_agent.core_model.causal_backbone import CausalBackbone, is_causal_spec, load_causal_lm

    if is_causal_spec(source):
        sha = cfg.backbone_sha256 if source == cfg.backbone else None
        backbone = load_causal_lm(source, quantize, expected_sha256=sha)
    else:
        backbone = pretrained_backbone(source, quantize)
    if cfg.finetune == "lora":
        from peft import PeftModel

        backbone = PeftModel.from_pretrained(backbone, str(run_dir / "adapter"))
        if quantize in (None, "none"):
            # Folding B @ A into the frozen weights removes two extra matmuls and PEFT's
            # wrappers from every adapted layer, with the same outputs up to float rounding.
            # A quantized base cannot absorb the adapter exactly, so it keeps it beside.
            backbone = backbone.merge_and_unload()
    if is_causal_spec(source):
        backbone = CausalBackbone(backbone)
    for param in backbone.parameters():
        param.requires_grad_(False)
    return backbone


def load_model(run_dir: Path, quantize: str | None = None, *, ratings_only: bool = False,
               verify: bool = True):
    """(model in eval mode, tokenizer or None, model config, train config, artifacts).

    `ratings_only`: skip the backbone, the prompt generator and the tokenizer (and the import
    of transformers): enough for rating predictions, and much faster to start. With `verify`
    (the default) every file is checked against the run's manifest first.
    """
    run_dir = Path(run_dir)
    model_cfg, train_cfg = read_configs(run_dir, verify=verify)
    artifacts = read_artifacts(run_dir)
    if (len(artifacts.users), len(artifacts.items)) != (model_cfg.n_users, model_cfg.n_items):
        raise RunDirError(f"{run_dir}/ids.json has {len(artifacts.users)} users and "
                          f"{len(artifacts.items)} items; config.json says "
                          f"{model_cfg.n_users} and {model_cfg.n_items}")
    backbone, tokenizer = None, None
    if model_cfg.text and not ratings_only:
        from transformers.utils import logging as hf_logging

        from elixir_agent.core_model.tokenizer import load_tokenizer

        hf_logging.disable_progress_bar()

        backbone = load_backbone_from_run(run_dir, model_cfg, quantize)
        tokenizer = load_tokenizer(str(run_dir / "tokenizer"))
    model = Elixir(model_cfg, backbone)
    state = read_safetensors(run_dir / WEIGHTS_FILE)
    if backbone is None:  # no generator was built: its saved weights are not needed
        state = {k: v for k, v in state.items() if not k.startswith("generator.")}
    load_own_state(model, state, str(run_dir / WEIGHTS_FILE))
    if model.rating.interaction is not None:  # the ranking head reads the users' train items
        model.rating.interaction.set_history(artifacts.seen_rows())
    return model.eval(), tokenizer, model_cfg, train_cfg, artifacts


# ---- training checkpoints (for --resume) ---------------------------------------------------

def trainable_state(model: Elixir) -> dict[str, torch.Tensor]:
    """Our weights plus every backbone weight that training changes (full or LoRA)."""
    state = own_state(model)
    for name, param in model.named_parameters():
        if name.startswith("backbone.") and param.requires_grad:
            state[name] = param.detach().cpu().contiguous()
    return state


def save_checkpoint(run_dir: Path, model: Elixir, optimizer: torch.optim.Optimizer,
                    progress: dict) -> None:
    def write(tmp: Path) -> None:
        save_file(trainable_state(model), str(tmp / "model.safetensors"))
        tensors, meta = _flatten_optimizer(optimizer)
        save_file(tensors, str(tmp / "optimizer.safetensors"))
        (tmp / "state.json").write_text(json.dumps({"optimizer": meta, **progress}, indent=2))
        write_manifest(tmp)

    atomic_dir(run_dir / CHECKPOINT_DIR, write)


def load_checkpoint(run_dir: Path, model: Elixir) -> tuple[dict, dict[str, torch.Tensor]] | None:
    """(progress dict, flat optimizer tensors), with model weights loaded; None when absent."""
    ckpt = run_dir / CHECKPOINT_DIR
    if not (ckpt / "state.json").exists():
        return None
    verify_manifest(ckpt, what="checkpoint",
                    fix=f"delete {ckpt} to start again, or restore it from a backup")
    weights = read_safetensors(ckpt / "model.safetensors")
    load_own_state(model, weights, str(ckpt / "model.safetensors"))
    model.load_state_dict({k: v for k, v in weights.items() if k.startswith("backbone.")},
                          strict=False)
    return _read_json(ckpt / "state.json"), read_safetensors(ckpt / "optimizer.safetensors")


def _flatten_optimizer(optimizer: torch.optim.Optimizer):
    """Optimizer state as flat tensors + JSON-able metadata (safetensors cannot nest)."""
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, entry in state["state"].items():
        for key, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"{index}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{index}.{key}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def restore_optimizer(optimizer: torch.optim.Optimizer, meta: dict,
                      tensors: dict[str, torch.Tensor]) -> None:
    entries: dict[int, dict] = {}
    for flat, value in [*tensors.items(), *meta["scalars"].items()]:
        index, key = flat.split(".", 1)
        entries.setdefault(int(index), {})[key] = value
    optimizer.load_state_dict({"state": entries, "param_groups": meta["param_groups"]})
