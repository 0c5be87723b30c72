"""Weight-only int8 for the text decoder: the same outputs as the float layer, up to rounding."""

import pytest
import torch
from torch import nn

from elixir_agent.core_model.int8_weights import (
    FUSED_MAX_ROWS,
    FUSED_WIDTH_MULTIPLE,
    Int8WeightOnlyLinear,
    quantize_linear_weights,
)


# One token and a few go through the fused kernel, a prompt through the dense matmul; a width
# the fused kernel mishandles (72) always takes the dense path.
@pytest.mark.parametrize("rows", [1, FUSED_MAX_ROWS // 2, 3 * FUSED_MAX_ROWS])
@pytest.mark.parametrize("width", [64, 72])
@pytest.mark.parametrize("bias", [False, True])
def test_int8_linear_matches_the_float_layer(rows, width, bias):
    torch.manual_seed(0)
    linear = nn.Linear(width, 37, bias=bias)
    x = torch.randn(2, rows, width)
    expected = linear(x)
    layer = Int8WeightOnlyLinear(linear, dense_dtype=torch.float32)
    assert layer.fused == (width % FUSED_WIDTH_MULTIPLE == 0)
    got = layer(x)
    assert got.shape == expected.shape and got.dtype == x.dtype
    relative = (got - expected).norm() / expected.norm()
    assert relative < 0.02, f"int8 weights moved the output by {relative:.3%}"


def test_weights_take_a_quarter_of_the_bytes():
    layer = Int8WeightOnlyLinear(nn.Linear(256, 512, bias=False))
    assert layer.weight_int8.dtype == torch.int8
    assert layer.weight_int8.numel() == 256 * 512
    assert not any(p.requires_grad for p in layer.parameters())


def test_only_plain_linears_are_replaced():
    class Adapted(nn.Linear):  # stands for bitsandbytes' and PEFT's Linear subclasses
        pass

    model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Sequential(nn.Linear(8, 4)), Adapted(4, 4))
    assert quantize_linear_weights(model) == 2
    assert isinstance(model[0], Int8WeightOnlyLinear)
    assert isinstance(model[2][0], Int8WeightOnlyLinear)
    assert type(model[3]) is Adapted
    assert model(torch.randn(3, 8)).shape == (3, 4)


def test_the_agent_loads_an_int8_decoder_when_asked(tiny_run):
    from elixir_agent.agent.context import build_context

    loaded = build_context(tiny_run.run_dir, None, tiny_run.data_dir, int8=True)
    recommender = loaded.context.recommender
    user, item = recommender.artifacts.users.ids[0], recommender.artifacts.items.ids[0]
    plain = tiny_run.recommender().predict(user, item)
    assert recommender.predict(user, item).rating == plain.rating  # ratings stay fp32
    assert isinstance(recommender.explain(user, item, max_new_tokens=6), str)
    assert any(isinstance(m, Int8WeightOnlyLinear) for m in recommender.model.backbone.modules())
