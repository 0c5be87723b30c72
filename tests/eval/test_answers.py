"""The evaluation cannot be fooled by non-answers, and it reaches users whose ids have spaces."""

from __future__ import annotations

from dataclasses import replace

import pytest

from elixir_agent.agent import build_agent
from elixir_agent.agent.explainers import AgentExplainer
from elixir_agent.eval.answers import answers_question, sentence_overlap, states_number
from elixir_agent.eval.features import FeatureLexicon
from elixir_agent.eval.report import write_report
from elixir_agent.eval.summary import answer_metrics
from elixir_agent.tools.catalog import Catalog
from tests.helpers.agent_fakes import BagOfWordsEmbedder, FakeRecommender, FakeReviewIndex
from tests.helpers.agent_world import build_world

LEXICON = FeatureLexicon.for_aspects(["taste", "aroma"])
WHO = "Who are you? Give me your user id (as listed in the data) and I can answer."


def _answer(text, *, rating=4.12, cited_known=0, numbers=0, ok=True, kind="why", **extra):
    return {"text": text, "rating": rating, "aspect_ratings": {"taste": 4.3, "aroma": 3.1},
            "cited_ids": ["r1"] * cited_known, "extra": {"kind": kind, "question": "Would I like it, and why?", **extra},
            "grounding": {"numbers": numbers, "numbers_supported": numbers, "cited": cited_known,
                          "cited_known": cited_known, "ok": ok}}


@pytest.mark.parametrize(("kind", "text", "extra", "answers"), [
    ("why", WHO, {}, False),
    ("why", "You'd probably like it: 4.12. Mainly the taste [r1].", {}, True),
    ("why", "You'd probably like it: 4.12 [r1].", {}, False),  # no reason
    ("rating", WHO, {}, False),
    ("rating", "You'd probably rate it 4.1, above your usual 3.80.", {}, True),
    ("aspects", "Taste: predicted 4.30 for you.", {}, True),
    ("compare", "For you, Ale beats Stout: 4.30 against 3.90.",
     {"compared": ["Ale", "Stout"]}, True),
    ("compare", "Ale: 4.30.", {"compared": ["Ale", "Stout"]}, False),
    ("what_matters", "Taste matters most to you: 43% of your weight.", {"top_aspect": "taste"}, True),
    ("what_matters", "You wrote 12 reviews. Taste matters most.", {"top_aspect": "taste"}, False),
])
def test_answers_the_question_per_kind(kind, text, extra, answers):
    cited = 1 if "[r1]" in text else 0
    assert answers_question(kind, _answer(text, kind=kind, cited_known=cited, **extra), LEXICON) is answers


def test_a_non_answer_fails_everything_and_is_listed_verbatim(tmp_path):
    good = "You'd probably like it: 4.12, above your usual 3.80. Mainly the taste [r1]."
    rows = [{"pair_id": f"p{n}", "user_id": f"u{n}", "item_id": "b1", "reference": "", "rating": 4.0,
             "systems": {"agent": answer}}
            for n, answer in enumerate([_answer(WHO), _answer(good, cited_known=1, numbers=2)])]
    block = answer_metrics(rows, "agent", LEXICON, resamples=10,
                           history={"u0": {"a", "b", "c"}, "u1": {"r1", "d", "e"}})
    metrics = block["metrics"]
    assert metrics["answers"]["value"] == 0.5
    assert metrics["verified_ok"]["value"] == 0.5  # "Who are you?" passes the verifier, yet fails
    assert metrics["groundedness"]["value"] == 1.0  # over the answer that answers only
    assert metrics["cites_own"]["value"] == 0.5 and metrics["personal"]["value"] == 0.5
    assert [f["text"] for f in block["failed"]] == [WHO]
    summary = {"meta": {"pairs": 2, "aspects": ["taste", "aroma"]},
               "systems": {"agent": {**block, "text_metric": "chrf",
                                     "length_words": {"mean": 1.0, "p50": 1.0, "p95": 1.0},
                                     "latency_s": {"mean": 1.0, "p50": 1.0, "p95": 1.0}}}}
    report = write_report(summary, [{**r, "systems": {"agent": {**r["systems"]["agent"], "latency": 0.1}}}
                                    for r in rows], tmp_path).read_text()
    assert report.index("## Failed answers (1)") < report.index("| metric |")
    assert WHO in report


def test_numbers_and_overlap_are_measured_as_written():
    assert states_number("predicted 4.1", 4.12) and not states_number("predicted 4", 4.0)
    assert sentence_overlap("One two three. Four five six.", "One two three. Seven eight nine.") == 0.5


def test_a_user_id_with_a_space_is_answered_through_eval(tmp_path):
    world = build_world(tmp_path / "world")
    old = world.test.iloc[0].user_id
    train = world.train.replace({"user_id": {old: "D Y"}})
    catalog = Catalog.from_frame(train, world.catalog.aspects, synthetic=True)
    context = replace(world.context, catalog=catalog, recommender=FakeRecommender(catalog),
                      index=FakeReviewIndex(train))
    agent = build_agent(context, llm="none", embedder=BagOfWordsEmbedder())
    explainer = AgentExplainer(lambda q, cid, **kw: agent.ask(q, conversation_id=cid, **kw),
                               fallback=context.recommender)
    explanation = explainer.explain("D Y", world.test.iloc[0].item_id)
    assert "Who are you" not in explanation.text
    assert answers_question("why", explanation.to_dict(), FeatureLexicon.for_aspects(catalog.aspects))
