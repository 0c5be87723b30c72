"""Give a run trained without rating guidance its rating lexicon, in place.

Training builds the lexicon when `--rating-guidance` is on (the `cpu-lm` and `gpu` presets);
a run trained before that, or with it off, has none, and `explain --rating-guidance` on it
used to mean training again. The lexicon needs no training: it is counted from the run's own
training reviews (rating_guidance.py), so it can be added to a finished run. Only three
files change: `elixir.safetensors` gains the lexicon's two tensors, `config.json` the default
strength and `summary.json` the strongest words; the manifest is rewritten to match.

Run with: elixir-agent add-guidance --run runs/rb-lm --data data/ratebeer
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from safetensors.torch import save_file

from elixir_agent.core_model.checkpoint import (
    CONFIG_FILE,
    RUN_FILES,
    WEIGHTS_FILE,
    read_artifacts,
    read_configs,
    read_safetensors,
)
from elixir_agent.core_model.integrity import write_manifest
from elixir_agent.errors import UserError

__all__ = ["add_rating_guidance"]

LEXICON_PREFIX = "rating_lexicon."  # the lexicon's keys in the model's own state
SUMMARY_FILE = "summary.json"
# Fewer of the data's training reviews than this share known to the run: not its data.
MIN_KNOWN_SHARE = 0.95


def add_rating_guidance(run_dir: Path, data_dir: Path, strength: float, *,
                        refit: bool = False) -> dict[str, list[tuple[str, float]]]:
    """Fit the lexicon on `data_dir`'s training split, store it in `run_dir` and make
    `strength` the run's default; returns its strongest words each way, as training reports.

    `refit`: replace a lexicon the run already has (the data may have grown); without it such
    a run is refused, since `explain --rating-guidance S` changes the strength alone.
    """
    from elixir_agent.core_model.data.storage import load_prepared
    from elixir_agent.core_model.rating_guidance import lexicon_for_split
    from elixir_agent.core_model.tokenizer import load_tokenizer

    run_dir, data_dir = Path(run_dir), Path(data_dir)
    if not strength > 0:
        raise UserError(f"--strength {strength:g}: guidance needs a strength above 0",
                        hint="16 is what the cpu-lm and gpu presets use")
    model_cfg, _ = read_configs(run_dir, verify=True)  # a damaged run is not rewritten
    if not model_cfg.text:
        raise UserError(f"{run_dir} was trained without a text model (text=False): there are "
                        "no reviews to guide", hint="train a run with text to use guidance")
    if model_cfg.rating_guidance > 0 and not refit:
        raise UserError(f"{run_dir} already has a rating lexicon (default strength "
                        f"{model_cfg.rating_guidance:g})",
                        hint="`explain --rating-guidance S` changes the strength alone; "
                             "pass --refit to count the lexicon again")
    train = load_prepared(data_dir).split("train")
    _check_same_data(run_dir, data_dir, train)
    tokenizer = load_tokenizer(str(run_dir / "tokenizer"))
    lexicon = lexicon_for_split(train, tokenizer, model_cfg.max_words, model_cfg.vocab_size)
    strongest = lexicon.strongest(tokenizer)

    weights = {k: v for k, v in read_safetensors(run_dir / WEIGHTS_FILE).items()
               if not k.startswith(LEXICON_PREFIX)}
    weights.update({LEXICON_PREFIX + k: v.contiguous() for k, v in lexicon.state_dict().items()})
    config = json.loads((run_dir / CONFIG_FILE).read_text())
    config["model"]["rating_guidance"] = float(strength)
    summary_path = run_dir / SUMMARY_FILE
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    summary["rating_lexicon"] = strongest
    summary["rating_lexicon_added"] = {"data": str(data_dir), "reviews": len(train),
                                       "strength": float(strength)}

    # Every new file is written beside its old one and the manifest is made to list them;
    # only then is each renamed over its old one. Interrupted before the renames, the run is
    # as it was; the renames themselves take microseconds.
    staged = {WEIGHTS_FILE: run_dir / f".{WEIGHTS_FILE}.tmp",
              SUMMARY_FILE: run_dir / f".{SUMMARY_FILE}.tmp",
              CONFIG_FILE: run_dir / f".{CONFIG_FILE}.tmp"}
    try:
        save_file(weights, str(staged[WEIGHTS_FILE]))
        staged[SUMMARY_FILE].write_text(json.dumps(summary, indent=2))
        staged[CONFIG_FILE].write_text(json.dumps(config, indent=2))
        write_manifest(run_dir, include=[n for n in RUN_FILES if n != CONFIG_FILE],
                       extra=list(staged.values()))
    except BaseException:
        for path in staged.values():
            path.unlink(missing_ok=True)
        raise
    for name, path in staged.items():  # config.json last, as when the run was saved
        os.replace(path, run_dir / name)
    return strongest


def _check_same_data(run_dir: Path, data_dir: Path, train) -> None:
    """The lexicon must come from the reviews the run was trained on: refuse other data."""
    artifacts = read_artifacts(run_dir)
    known = train["user_id"].astype(str).isin(set(artifacts.users.ids)) & train[
        "item_id"].astype(str).isin(set(artifacts.items.ids))
    share = float(known.mean()) if len(train) else 0.0
    if share < MIN_KNOWN_SHARE:
        raise UserError(f"--data {data_dir}: only {share:.0%} of its training reviews are by "
                        f"users and of items that {run_dir} knows; it is not the data the run "
                        f"was trained on{f' ({artifacts.dataset})' if artifacts.dataset else ''}",
                        hint="pass the prepared dataset the run was trained with")
