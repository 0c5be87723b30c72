"""Shapes, losses and parameter budgets of the ELIXIR modules, without training."""

import pytest
import torch

from elixir_agent.core_model.config import ModelConfig, build_configs
from elixir_agent.core_model.model import Elixir, importance_loss, rating_loss
from elixir_agent.core_model.prompt_generator import (
    LowRankPromptGenerator,
    paper_generator_params,
)


def _cfg(**kw) -> ModelConfig:
    return ModelConfig(n_users=5, n_items=4, aspects=["a", "b", "c"], d=16, text=False, **kw)


@pytest.mark.parametrize("use_attention", [True, False])
def test_rating_model_shapes_and_importance(use_attention):
    model = Elixir(_cfg(use_attention=use_attention)).eval()
    out = model(torch.tensor([0, 1, 4]), torch.tensor([3, 2, 0]))
    assert out.rating.shape == (3,)
    assert out.aspect_ratings.shape == (3, 3)
    assert torch.allclose(out.user_importance.sum(-1), torch.ones(3))
    assert torch.allclose(out.item_importance.sum(-1), torch.ones(3))
    assert out.loss is None


def test_rating_loss_ignores_unrated_aspects():
    rating, target = torch.tensor([3.0]), torch.tensor([3.0])
    aspect = torch.tensor([[2.0, 100.0]])
    mask = torch.tensor([[1.0, 0.0]])
    loss = rating_loss(rating, aspect, target, torch.tensor([[3.0, 1.0]]), mask)
    # alpha = 1/3: overall error 0, one rated aspect with squared error 1.
    assert loss.item() == pytest.approx(2 / 3)


def test_importance_loss_rewards_weights_that_explain_the_overall_rating():
    target = torch.tensor([4.0, 2.0])
    aspects = torch.tensor([[4.0, 1.0], [2.0, 5.0]])  # the overall follows the first aspect
    mask = torch.ones(2, 2)
    on_first = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    uniform = torch.full((2, 2), 0.5)
    assert importance_loss(on_first, target, aspects, mask).item() == pytest.approx(0.0)
    assert importance_loss(uniform, target, aspects, mask).item() > 1.0
    partly_rated = torch.tensor([[1.0, 0.0], [1.0, 1.0]])  # row 0 is left out
    assert importance_loss(uniform, target, aspects, partly_rated).item() == pytest.approx(
        (3.5 - 2.0) ** 2)


def test_our_generator_is_under_five_percent_of_the_papers():
    d, width, prompts, n_aspects = 256, 512, 50, 4
    ours = LowRankPromptGenerator(2 + 2 * n_aspects, d, width, prompts, hidden=256, rank=32)
    n_ours = sum(p.numel() for p in ours.parameters())
    n_paper = paper_generator_params(n_aspects, d, width, prompts)
    assert n_paper > 700e6
    assert n_ours <= 0.05 * n_paper


@pytest.mark.parametrize("bad, message", [
    (dict(finetune="frozen"), "must be trained"),
    (dict(generator="huge"), "generator must be one of"),
    (dict(quantize="8bit", finetune="lora"), "needs a pretrained"),
])
def test_config_rejects_bad_choices(bad, message):
    with pytest.raises(ValueError, match=message):
        build_configs("tiny", bad)


def test_unknown_preset_is_named():
    with pytest.raises(ValueError, match="unknown preset 'huge'"):
        build_configs("huge")
