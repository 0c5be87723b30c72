"""Scenario checks and the order-swapped judge, driven by scripted fakes."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import typer

from elixir_agent.eval.cli import register
from elixir_agent.eval.judge import PairwiseJudge
from elixir_agent.eval.scenario import bundled_scenarios, load_scenarios, run_scenarios


def _turn(answer, ok=True, cited=(), unknown=()):
    return SimpleNamespace(answer=answer, verification=SimpleNamespace(ok=ok, cited_ids=list(cited),
                                                                       unknown_ids=list(unknown)))


def test_bundled_scenarios_parse():
    names = {s.name for s in bundled_scenarios()}
    assert names == {"why-then-aspect", "show-reviews", "aspect-first"}


def test_unknown_check_names_the_file_and_turn(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"turns": [{"say": "hi", "checks": ["sings"]}]}))
    with pytest.raises(ValueError, match=r"bad.json: turn 1: unknown check 'sings'"):
        load_scenarios(path)


def test_run_scenarios_counts_checks(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('name = "s"\n[[turns]]\nsay = "Would {user} like {item}?"\n'
                    'checks = ["states_rating", "mentions_item", "grounded"]\n'
                    '[[turns]]\nsay = "And the {aspect}?"\nchecks = ["mentions_aspect:{aspect}", "cites_review"]\n')
    script = iter([
        _turn("Yes, Harbor Inn scores 4.23 out of 5."),                 # 4.23 vs 4.2312: pass; name: pass
        _turn("The rooms are spacious [r1].", cited=["r1"]),            # aspect pass, cites pass
        _turn("Probably: 4 stars for h2.", ok=False),                   # "4" is not the rating; id pass; not ok
        _turn("Great value [zz].", cited=["zz"], unknown=["zz"]),       # wrong aspect, unknown citation
    ])
    asked = []

    def ask(message, conversation):
        asked.append((message, conversation))
        return next(script)

    contexts = [{"user": "u1", "item": "h1", "item_name": "Harbor Inn", "aspect": "rooms", "rating": 4.2312},
                {"user": "u2", "item": "h2", "item_name": "", "aspect": "cleanliness", "rating": 3.9}]
    result = run_scenarios(load_scenarios(path), ask, contexts, transcript_path=tmp_path / "t.jsonl")
    assert asked[0] == ("Would u1 like h1?", "scenario:s:0") and asked[3][1] == "scenario:s:1"
    assert result["checks"] == {
        "states_rating": {"passed": 1, "total": 2}, "mentions_item": {"passed": 2, "total": 2},
        "grounded": {"passed": 1, "total": 2}, "mentions_aspect:{aspect}": {"passed": 1, "total": 2},
        "cites_review": {"passed": 1, "total": 2},
    }
    assert result["scenarios"] == {"s": {"runs": 2, "passed_runs": 1}}
    assert len((tmp_path / "t.jsonl").read_text().splitlines()) == 4


class ScriptedChat:
    """Answers with a fixed verdict for whichever explanation is shown first."""

    def __init__(self, prefers: str):
        self.prefers, self.prompts = prefers, []

    def invoke(self, prompt):
        self.prompts.append(prompt)
        first_is_preferred = prompt.index(self.prefers) < prompt.index("Explanation 2:")
        better = "1" if first_is_preferred else "2"
        return SimpleNamespace(content=f'Sure. {{"informative": "{better}", "persuasive": "1", "faithful": "oops"}}')


def test_judge_swaps_order_and_counts_only_consistent_wins(tmp_path):
    records = [{"pair_id": "p1", "systems": {
        "core": {"text": "core text", "rating": 4.0, "aspect_ratings": {"taste": 4.0}},
        "agent": {"text": "agent text", "rating": 4.0, "aspect_ratings": {"taste": 4.0}}}}]
    chat = ScriptedChat(prefers="agent text")
    judge = PairwiseJudge(chat, "fake:judge")
    result = judge.compare(records, "core", "agent", tmp_path / "judge.jsonl", progress=False)
    assert len(chat.prompts) == 2
    # informative: agent wins both orders; persuasive: always "1" = position bias -> tie;
    # faithful: unreadable -> tie.
    assert result["criteria"] == {"informative": {"a": 0, "b": 1, "tie": 0},
                                  "persuasive": {"a": 0, "b": 0, "tie": 1},
                                  "faithful": {"a": 0, "b": 0, "tie": 1}}
    judge.compare(records, "core", "agent", tmp_path / "judge.jsonl", progress=False)
    assert len(chat.prompts) == 2  # resumed from judge.jsonl


def test_a_structured_verdict_is_used_as_given(tmp_path):
    from elixir_agent.eval.judge import Verdict

    class StructuredChat:
        def invoke(self, prompt):
            return Verdict(informative="1", persuasive="2", faithful="tie")

    records = [{"pair_id": "p1", "systems": {"core": {"text": "c", "rating": 4.0, "aspect_ratings": {}},
                                             "agent": {"text": "a", "rating": 4.0, "aspect_ratings": {}}}}]
    result = PairwiseJudge(StructuredChat(), "fake:structured").compare(
        records, "core", "agent", tmp_path / "judge.jsonl", progress=False)
    # "1" in both orders means a different system each time: position bias, a tie.
    assert result["criteria"]["informative"] == {"a": 0, "b": 0, "tie": 1}
    assert result["criteria"]["faithful"] == {"a": 0, "b": 0, "tie": 1}


def test_register_adds_the_eval_command():
    app, bench = typer.Typer(), typer.Typer()
    register(app, bench)
    assert [c.name for c in app.registered_commands] == ["eval"]
