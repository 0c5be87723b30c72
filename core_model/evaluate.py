"""Scoring a model on a split: rating errors per aspect, validation NLL, generated reviews."""

from __future__ import annotations

import math

import torch

from elixir_agent.core_model.encoding import RatingTensors, pad_labels
from elixir_agent.core_model.model import Elixir


def rating_errors(pred: torch.Tensor, pred_aspects: torch.Tensor, data: RatingTensors,
                  aspects: list[str]) -> dict[str, float]:
    """RMSE and MAE overall and per aspect (rated entries only), predictions clipped to 1-5."""
    pred, pred_aspects = pred.clamp(1, 5), pred_aspects.clamp(1, 5)
    err = pred - data.rating
    out = {"rmse": float(err.pow(2).mean().sqrt()), "mae": float(err.abs().mean())}
    for a, name in enumerate(aspects):
        rated = data.mask[:, a] > 0
        if rated.any():
            e = pred_aspects[rated, a] - data.aspects[rated, a]
            out[f"rmse_{name}"] = float(e.pow(2).mean().sqrt())
            out[f"mae_{name}"] = float(e.abs().mean())
    return out


@torch.no_grad()
def predict_tensors(model: Elixir, data: RatingTensors, device: torch.device,
                    batch_size: int = 1024) -> tuple[torch.Tensor, torch.Tensor]:
    was_training = model.training
    model.eval()
    ratings, aspects = [], []
    for start in range(0, len(data), batch_size):
        sl = slice(start, start + batch_size)
        out = model(data.users[sl].to(device), data.items[sl].to(device))
        ratings.append(out.rating.float().cpu())
        aspects.append(out.aspect_ratings.float().cpu())
    model.train(was_training)
    return torch.cat(ratings), torch.cat(aspects)


def evaluate_ratings(model: Elixir, data: RatingTensors, aspects: list[str],
                     device: torch.device) -> dict[str, float]:
    return rating_errors(*predict_tensors(model, data, device), data, aspects)


@torch.no_grad()
def text_nll(model: Elixir, data: RatingTensors, labels: list[list[int]], device: torch.device,
             batch_size: int = 64, limit: int = 2000) -> float:
    """Mean token negative log-likelihood of the references (lower is better)."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    n = min(len(data), limit)
    for start in range(0, n, batch_size):
        sl = slice(start, min(start + batch_size, n))
        target = pad_labels(labels[sl]).to(device)
        # The true rating in the rating prompt, as in training (teacher forcing).
        out = model(data.users[sl].to(device), data.items[sl].to(device), labels=target,
                    text_ratings=data.rating[sl].to(device))
        tokens = int((target != -100).sum())
        total += float(out.text_loss) * tokens
        count += tokens
    model.train(was_training)
    return total / max(count, 1) if count else math.nan


@torch.no_grad()
def generate_texts(model: Elixir, tokenizer, users: torch.Tensor, items: torch.Tensor,
                   device: torch.device, max_new_tokens: int = 128, batch_size: int = 64,
                   cold_users=None, cold_items=None) -> list[str]:
    """Greedy reviews for aligned user/item index tensors."""
    model.eval()
    texts: list[str] = []
    for start in range(0, len(users), batch_size):
        sl = slice(start, start + batch_size)
        cu = None if cold_users is None else cold_users[sl].to(device)
        ci = None if cold_items is None else cold_items[sl].to(device)
        ids = model.generate(users[sl].to(device), items[sl].to(device), cu, ci,
                             max_new_tokens=max_new_tokens)
        texts.extend(t.strip() for t in tokenizer.batch_decode(ids, skip_special_tokens=True))
    return texts


def validation_text_score(model: Elixir, tokenizer, data: RatingTensors, metric: str,
                          n_pairs: int, device: torch.device, max_new_tokens: int) -> float:
    """BLEU-4 or ROUGE-L F1 of greedy reviews for the first `n_pairs` validation rows.

    The same rows every epoch, so scores are comparable from one epoch to the next.
    """
    from elixir_agent.core_model.text_metrics import bleu, rouge_f1

    n = min(n_pairs, len(data.texts))
    was_training = model.training
    hyps = generate_texts(model, tokenizer, data.users[:n], data.items[:n], device,
                          max_new_tokens=max_new_tokens)
    model.train(was_training)
    refs = data.texts[:n]
    return bleu(hyps, refs) if metric == "bleu4" else rouge_f1(hyps, refs)["rougeL"]
