"""The phase specs: their learning-rate schedules, and which phases a run plans."""

import math

import pytest
import torch

from elixir_agent.core_model.phases import Phase, plan_phases


def _phase(warmup_cosine: bool, lr: float = 0.01) -> Phase:
    def unused(*_):
        raise AssertionError("not called by the schedule")

    return Phase(name="text" if warmup_cosine else "rating", epochs=1, batch_size=1, lr=lr,
                 step_cap=None, uses_text=warmup_cosine, uses_ratings=not warmup_cosine,
                 warmup_cosine=warmup_cosine, freezes_ratings=False, time_share=1.0,
                 mixed_precision=True, clip_gradients=True, parameters=unused, loss=unused,
                 validate=unused, score=unused)


def _rates(phase: Phase, total: int, warmup: int, start: int = 0) -> list[float]:
    """The learning rate each optimizer step from `start` on uses."""
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=phase.lr)
    schedule = phase.schedule(optimizer, total, warmup, start)
    rates = []
    for _ in range(start, total):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    return rates


def test_text_schedule_warms_up_linearly_then_decays_by_cosine_to_a_tenth():
    lr, total, warmup = 0.01, 100, 10
    rates = _rates(_phase(True, lr), total, warmup)
    assert rates[:warmup] == pytest.approx([lr * (s + 1) / warmup for s in range(warmup)])
    assert rates[warmup] == pytest.approx(lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi / 90))))
    assert rates[-1] == pytest.approx(0.1 * lr)
    assert all(a >= b for a, b in zip(rates[warmup:], rates[warmup + 1:], strict=False))


def test_warm_up_is_at_most_a_tenth_of_the_steps():
    rates = _rates(_phase(True), total=20, warmup=10)
    assert rates[0] == pytest.approx(0.01 / 2) and rates[1] == pytest.approx(0.01)


def test_rating_schedule_is_constant():
    assert _rates(_phase(False), total=30, warmup=10) == [0.01] * 30


@pytest.mark.parametrize("warmup_cosine", [True, False])
def test_a_resumed_schedule_continues_where_it_stopped(warmup_cosine):
    whole = _rates(_phase(warmup_cosine), total=60, warmup=8)
    assert _rates(_phase(warmup_cosine), total=60, warmup=8, start=23) == pytest.approx(whole[23:])


@pytest.mark.parametrize(("schedule", "text", "expected"), [
    ("sequential", True, ["rating", "rank", "text"]),
    ("sequential", False, ["rating", "rank"]),
    ("joint", True, ["joint", "rank"]),
])
def test_planned_phases(tiny_data, schedule, text, expected):
    from elixir_agent.core_model.assembly import build_setup
    from elixir_agent.core_model.config import build_configs

    model_cfg, train_cfg = build_configs("tiny", {"text": text}, {"schedule": schedule})
    setup = build_setup(tiny_data, model_cfg, train_cfg, torch.device("cpu"))
    phases = plan_phases(setup)
    assert [p.name for p in phases] == expected
    first = phases[0]
    # a text phase to follow leaves the rating phase a share of the time budget only
    assert first.time_share == (train_cfg.rating_time_fraction
                                if text and schedule == "sequential" else 1.0)
