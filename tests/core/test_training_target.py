"""Training targets: a review too long for the word cap ends after a full sentence, so the
decoder never learns to stop in the middle of one."""

from __future__ import annotations

from elixir_agent.core_model.tokenizer import normalize_text, training_target


def test_a_long_review_ends_at_its_last_full_sentence_within_the_cap():
    review = "We stayed 2 nights. The room was clean (very clean). But if your flight is late"
    assert normalize_text(review, 12) == (
        "we stayed 2 nights. the room was clean (very clean). but if")
    assert training_target(review, 12) == "we stayed 2 nights. the room was clean (very clean)."


def test_short_reviews_and_reviews_without_a_late_sentence_end_keep_the_cap():
    assert training_target("Great  beer, would buy again", 12) == "great beer, would buy again"
    # the only sentence end would keep fewer than half the words: cut at the cap as before
    review = "Nice. a long run of words about malt and hops and caramel and toffee and more"
    assert training_target(review, 10) == normalize_text(review, 10)
    assert training_target("", 5) == ""
