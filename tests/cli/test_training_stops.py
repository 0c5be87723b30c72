"""`train` says when and why each phase stopped (kept in summary.json for the demo)."""

from __future__ import annotations

import json

from tests.helpers.tiny_run import train_tiny


def test_a_finished_run_says_how_each_phase_ended(tiny_run):
    stops = json.loads((tiny_run.run_dir / "summary.json").read_text())["stops"]
    assert [s["phase"] for s in stops] == ["rating", "rank", "text"]
    for stop in stops:
        assert not stop["cut_short"]
        assert stop["reason"].startswith(("ran all", "stopped early after"))


def test_a_step_cap_is_reported_as_cutting_training_short(tiny_data, tmp_path):
    summary = train_tiny(tiny_data, tmp_path / "run", text=False, max_rating_steps=2)
    stop = summary["stops"][0]  # the rating phase; the ranking phase shares its step cap
    assert stop["phase"] == "rating"
    assert stop["cut_short"] and "cap of 2 steps" in stop["reason"] and stop["steps"] == 2


def test_a_time_budget_that_stops_a_planned_step_count_says_how_far_it_got(tiny_data, tmp_path):
    summary = train_tiny(tiny_data, tmp_path / "run", text=False, max_rating_steps=10_000,
                         time_budget_s=0.01)
    stop = summary["stops"][0]
    assert stop["cut_short"] and "by the time budget" in stop["reason"]
    assert f"at {stop['steps']} of its 10000 planned steps" in stop["reason"]
