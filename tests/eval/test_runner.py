"""The runner end to end with fake explainers: files written, resumable, explainers' numbers used."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from elixir_agent.agent.explainers import AgentExplainer, CoreExplainer, Explanation, GroundingCounts
from elixir_agent.eval.runner import evaluate, load_records, run_pairs, select_pairs

ASPECTS = ["taste", "aroma"]


def _test_split(n: int = 6) -> pd.DataFrame:
    return pd.DataFrame({
        "review_id": [f"r{i}" for i in range(n)],
        "user_id": [f"u{i % 3}" for i in range(n)],
        "item_id": [f"b{i}" for i in range(n)],
        "rating": [4.0, 2.0, 5.0, 3.0, 1.0, 4.5][:n],
        "text": ["great taste and a lovely aroma", "bad taste", "wonderful aroma", "ok beer",
                 "awful taste", "good taste"][:n],
        "aspect_taste": [4.0, 2.0, None, 3.0, 1.0, 4.0][:n],
        "aspect_aroma": [4.5, 2.0, 5.0, None, 1.0, 4.0][:n],
    })


class CountingExplainer:
    def __init__(self, name: str, text: str, rating: float, grounding: GroundingCounts | None = None):
        self.name, self.text, self.rating, self.grounding = name, text, rating, grounding
        self.calls = 0

    def explain(self, user_id: str, item_id: str) -> Explanation:
        self.calls += 1
        return Explanation(text=f"{self.text} ({item_id})", rating=self.rating,
                           aspect_ratings={"taste": 4.0, "aroma": 2.0}, grounding=self.grounding,
                           latency=0.01 * self.calls)


class HashEncoder:
    def encode(self, texts):
        rng = [np.random.default_rng(sum(map(ord, t))) for t in texts]
        return np.array([r.normal(size=8) for r in rng], dtype=np.float32)


def test_select_pairs_is_a_fixed_prefix_and_filters_unknown():
    split = _test_split()
    four = select_pairs(split, ASPECTS, 4, seed=1)
    two = select_pairs(split, ASPECTS, 2, seed=1)
    assert [p.pair_id for p in two] == [p.pair_id for p in four[:2]]
    kept = select_pairs(split, ASPECTS, 10, seed=1, known=lambda u, i: u != "u0")
    assert {p.user_id for p in kept} == {"u1", "u2"} and len(kept) == 4
    by_id = {p.pair_id: p for p in kept}
    assert by_id["r2"].aspects == {"aroma": 5.0}  # a missing aspect rating is absent, not NaN


def test_run_pairs_resumes_and_survives_a_torn_line(tmp_path):
    pairs = select_pairs(_test_split(), ASPECTS, 4)
    path = tmp_path / "pairs.jsonl"
    core = CountingExplainer("core", "good taste", 4.0)
    run_pairs(pairs[:2], [core], path, progress=False)
    with path.open("a") as f:
        f.write('{"pair_id": "torn')  # an interrupted write
    agent = CountingExplainer("agent", "the aroma is bad", 3.0)
    records = run_pairs(pairs, [core, agent], path, progress=False)
    assert core.calls == 4 and agent.calls == 4  # core skipped its 2 finished pairs
    assert len(records) == 4 and all(set(r["systems"]) == {"core", "agent"} for r in records)
    assert set(load_records(path)) == {p.pair_id for p in pairs}
    again = run_pairs(pairs, [core, agent], path, progress=False)
    assert (core.calls, agent.calls, len(again)) == (4, 4, 4)


def test_evaluate_writes_every_artifact(tmp_path):
    pairs = select_pairs(_test_split(), ASPECTS, 6)
    core = CountingExplainer("core", "A great taste.", 4.0)
    agent = CountingExplainer("agent", "3.00 for you. The aroma is awful [r1].", 3.0,
                              GroundingCounts(numbers=2, numbers_supported=1, cited=1, cited_known=1, ok=False))
    summary = evaluate(pairs, [core, agent], tmp_path, aspects=ASPECTS, encoder=HashEncoder(),
                       resamples=20, meta={"run": "fake"}, progress=False)
    for name in ("pairs.jsonl", "summary.json", "summary.csv", "report.md", "metrics_text.png",
                 "latency.png", "grounding_consistency.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    on_disk = json.loads((tmp_path / "summary.json").read_text())
    core_m, agent_m = on_disk["systems"]["core"]["metrics"], on_disk["systems"]["agent"]["metrics"]
    # Ratings: core says 4.0 and agent 3.0 against 4, 2, 5, 3, 1, 4.5.
    true = np.array([4.0, 2.0, 5.0, 3.0, 1.0, 4.5])
    assert core_m["mae"]["value"] == pytest.approx(np.mean(np.abs(4.0 - true)))
    assert agent_m["rmse"]["value"] == pytest.approx(np.sqrt(np.mean((3.0 - true) ** 2)))
    # Grounding: 1 + 1 of 2 + 1 claims per answer -> 2/3; every answer cites a known review.
    assert agent_m["groundedness"]["value"] == pytest.approx(2 / 3)
    assert agent_m["citation_rate"]["value"] == 1.0 and agent_m["verified_ok"]["value"] == 0.0
    assert "groundedness" not in core_m  # the core has no verifier
    # Consistency: "great taste" (+) vs taste 4.0 agrees; "aroma is awful" (-) vs aroma 2.0 agrees.
    assert core_m["consistency"]["value"] == 1.0 and agent_m["consistency"]["value"] == 1.0
    assert core_m["fcr"]["value"] == 0.5 and agent_m["fcr"]["value"] == 0.5
    assert summary["systems"]["core"]["text_metric"] in core_m
    report = (tmp_path / "report.md").read_text()
    assert "| BLEU-4 |" in report and "run: fake" in report
    assert "core,bleu1," in (tmp_path / "summary.csv").read_text()


def test_core_and_agent_adapters():
    prediction = SimpleNamespace(rating=4.2, aspect_ratings={"taste": 4.5, "aroma": 3.1})
    recommender = SimpleNamespace(explain=lambda u, i, max_new_tokens: f"review of {i}",
                                  predict=lambda u, i: prediction)
    core = CoreExplainer(recommender).explain("u1", "b1")
    assert (core.text, core.rating, core.aspect_ratings) == ("review of b1", 4.2, {"taste": 4.5, "aroma": 3.1})

    verification = SimpleNamespace(ok=True, action="accepted", checked_numbers=["4.2", "4.5", "7"],
                                   unsupported_numbers=["7"], cited_ids=["r9", "zz"], unknown_ids=["zz"])
    evidence = [{"tool": "aspect_ratings", "user_id": "u1", "item_id": "b1", "item_name": "B one",
                 "rating": 4.2, "aspects": {"taste": {"rating": 4.5, "user_importance": 0.6,
                                                      "item_importance": 0.5}}}]
    turn = SimpleNamespace(answer="Yes: 4.2 [r9]", evidence=evidence, verification=verification,
                           cited_review_ids=["r9", "zz"], tool_calls=[SimpleNamespace(name="aspect_ratings")],
                           planner="routed")
    asked = []
    agent = AgentExplainer(lambda q, cid, **context: asked.append((q, cid, context)) or turn,
                           fallback=recommender)
    out = agent.explain("u1", "b1")
    # The pair travels as context, so ids with spaces or odd characters need no parsing.
    assert asked == [("Would I like it, and why?", "eval:why:u1:b1", {"user_id": "u1", "item_id": "b1"})]
    assert (out.rating, out.aspect_ratings) == (4.2, {"taste": 4.5})
    assert out.grounding == GroundingCounts(numbers=3, numbers_supported=2, cited=2, cited_known=1, ok=True)
    assert out.extra["tools"] == ["aspect_ratings"]
