"""`bench startup` times a command to its answer and to its exit, and splits the wait for the
answer into "before the turn" and the turn by the Turn's own clock."""

import json
import sys

import pytest

from elixir_agent.agent.startup import CommandTiming, StartupReport, _timed, turn_seconds

# A stand-in for `ask --json`: loads for 0.4 s, answers (a Turn that says it took 0.1 s),
# then takes 0.4 s more to exit.
_FAKE_ASK = ("import json, sys, time; time.sleep(0.4); "
             "print(json.dumps({'answer': 'yes', 'seconds': 0.1}), flush=True); time.sleep(0.4)")


def test_a_command_is_timed_to_its_answer_and_to_its_exit():
    timing = _timed([sys.executable, "-c", _FAKE_ASK], repeats=1)
    assert 0.4 <= timing.answered < timing.wall
    assert timing.wall - timing.answered >= 0.35  # the tear-down is not counted as waiting
    assert timing.turn == 0.1
    assert timing.before_turn == pytest.approx(timing.answered - 0.1, abs=1e-3)


def test_a_failing_command_says_which_and_why():
    with pytest.raises(RuntimeError, match="failed \\(3\\): no run there"):
        _timed([sys.executable, "-c", "import sys; sys.stderr.write('no run there'); sys.exit(3)"],
               repeats=1)


@pytest.mark.parametrize(("stdout", "seconds"), [
    (json.dumps({"answer": "a", "seconds": 0.25}), 0.25),
    ("user 1, item 2: overall 4.10 / 5", None),  # predict's text
    (json.dumps([1, 2]), None),
])
def test_turn_seconds_come_only_from_a_printed_turn(stdout, seconds):
    assert turn_seconds(stdout) == seconds


def test_the_report_puts_baseline_and_this_code_side_by_side():
    report = StartupReport(commands={
        "ask": {"this": CommandTiming(answered=3.0, wall=3.5, cpu=2.9, turn=0.5),
                "baseline": CommandTiming(answered=12.0, wall=12.8, cpu=11.0, turn=0.2)},
        "predict": {"this": CommandTiming(answered=2.0, wall=2.4, cpu=1.9), "baseline": None}},
        stages={"before the turn": [2.5, 2.4], "context: model": [0.1, None]})
    table = report.markdown().splitlines()
    assert table[2] == "| `ask` | 11.80 | 0.20 | 12.80 | 11.00 | 2.50 | 0.50 | 3.50 | 2.90 |"
    assert table[3] == "| `predict` | n/a | n/a | n/a | n/a | 2.00 | - | 2.40 | 1.90 |"
    assert "| context: model | 0.10 | - |" in table
    assert report.to_dict()["commands"]["ask"]["this"]["before_turn"] == 2.5
