"""The vote log and the evidence panel's pure parts."""

from __future__ import annotations

import json

import pytest

from elixir_agent.agent.turn import ToolCallRecord, Turn, Verification
from elixir_agent.ui.evidence import EvidenceView, badge_html, reviews_markdown
from elixir_agent.ui.votes import Vote, VoteStore


def _vote(choice: str, sides=("agent", "core")) -> Vote:
    return Vote(user_id="u1", item_id="h1", sides={"A": sides[0], "B": sides[1]}, choice=choice,
                time="2025-01-01T00:00:00+00:00")


def test_votes_append_and_summarise(tmp_path):
    store = VoteStore(tmp_path)
    store.add(_vote("A"))
    store.add(_vote("A", ("core", "agent")))
    summary = store.add(_vote("tie"))
    assert summary == {"votes": 3, "agent": 1, "core": 1, "tie": 1, "both bad": 0, "agent_win_rate": 0.5}
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    assert len((tmp_path / "votes.jsonl").read_text().splitlines()) == 3


def test_summary_is_rebuilt_from_the_log_and_survives_a_cut_line(tmp_path):
    VoteStore(tmp_path).add(_vote("B"))
    with (tmp_path / "votes.jsonl").open("a") as handle:
        handle.write('{"user_id": "u1", "ite')  # a crash mid-write
    reopened = VoteStore(tmp_path)
    assert reopened.summary()["votes"] == 1 and reopened.summary()["core"] == 1


@pytest.mark.parametrize("choice, sides", [("C", {"A": "agent", "B": "core"}), ("A", {"A": "agent"})])
def test_bad_votes_are_refused(tmp_path, choice, sides):
    with pytest.raises(ValueError):
        VoteStore(tmp_path).add(Vote("u1", "h1", sides, choice, "t"))


def _turn(user, item, artifacts, cited=(), ok=True, unsupported=()):
    calls = [ToolCallRecord(a["tool"], {}, "", a, "success", 0.01) for a in artifacts]
    v = Verification(ok=ok, action="accepted", checked_numbers=["3.50", "4.00"],
                     unsupported_numbers=list(unsupported), cited_ids=list(cited))
    return Turn("c", "q", "answer", None, "routed", calls, v, list(cited), user, item, 0.1)


RATING = {"tool": "predict_rating", "user_id": "u1", "item_id": "h1", "item_name": "Inn", "rating": 3.5,
          "cold_user": False, "cold_item": False}


def _review(review_id, user, item, rating, text):
    return {"review_id": review_id, "user_id": user, "item_id": item, "item_name": item, "rating": rating,
            "similarity": 0.5, "text": text}


REVIEWS = {"tool": "similar_reviews", "reviews": [
    _review("r1", "u2", "h1", 4.0, "<b>great</b>"), _review("r2", "u3", "h1", 2.0, "meh")],
    "review_ids": ["r1", "r2"]}
HISTORY = {"tool": "user_history", "user_id": "u1", "item_id": "h1", "item_name": "Inn", "n_reviews": 4,
           "mean_rating": 3.0, "aspect_means": {}, "predicted_rating": 3.5, "share_below": 0.75,
           "similar": [_review("r7", "u1", "h5", 4.5, "my own words")]}


def test_evidence_follows_the_pair_and_keeps_earlier_facts():
    view = EvidenceView().update(_turn("u1", "h1", [RATING]))
    assert view.rating == 3.5
    view = view.update(_turn("u1", "h1", [REVIEWS], cited=["r1"]))
    assert view.rating == 3.5 and [r["review_id"] for r in view.reviews] == ["r1"]
    moved = view.update(_turn("u1", "h2", []))
    assert moved.rating is None and moved.reviews == ()


def test_review_text_is_escaped_and_badge_counts_problems():
    view = EvidenceView().update(_turn("u1", "h1", [REVIEWS], cited=["r1"]))
    assert "<b>" not in reviews_markdown(view) and "&lt;b&gt;great" in reviews_markdown(view)
    bad = _turn("u1", "h1", [], ok=False, unsupported=["4.00"]).verification
    assert "1 of 2 number(s) not in the evidence (4.00)" in badge_html(bad)
    assert "Verified" in badge_html(_turn("u1", "h1", []).verification)


def test_panel_puts_the_verdict_on_top_and_the_users_own_reviews_apart():
    from elixir_agent.ui.evidence import rating_markdown

    view = EvidenceView().update(_turn("u1", "h1", [RATING, HISTORY, REVIEWS], cited=["r7", "r1"]))
    assert [r["review_id"] for r in view.own_reviews] == ["r7"]
    assert [r["review_id"] for r in view.reviews] == ["r1"]
    shown = reviews_markdown(view)
    assert shown.index("Your reviews") < shown.index("my own words") < shown.index("Other reviewers")
    top = rating_markdown(view)
    assert top.startswith("**You'd probably") and "3.50, above your usual 3.00" in top
