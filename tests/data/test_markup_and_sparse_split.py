"""Page junk is stripped from review text (and counted); users with one review still leave
evaluable held-out pairs, with a warning when validation is too small to trust."""

from __future__ import annotations

from elixir_agent.core_model.data.prepare import MIN_TRUSTED_VALID, prepare_reviews, strip_markup
from elixir_agent.core_model.data.records import LoadResult, Review


def test_strip_markup_removes_tags_scripts_and_script_calls_but_not_text():
    raw = ("Great hotel! showReview(18533403, 'full'); <img src=x onerror=alert(1)> quiet "
           "<script>alert(1)</script><a href=\"http://x\">link</a> a<b and c>d, beer(s); <br/>end")
    assert strip_markup(raw) == "Great hotel! quiet link a<b and c>d, beer(s); end"
    plain = "Rooms 5/5 (really);\nstaff <3"
    assert strip_markup(plain) == plain  # untouched, line breaks included


def _review(n: int, user: str, item: str, text: str = "fine") -> Review:
    return Review(review_id=f"r{n}", user_id=user, item_id=item, rating=4.0, text=text)


def test_prepare_counts_stripped_texts_and_drops_reviews_left_empty():
    reviews = [_review(0, "u0", "i0", "<p class='x'>Good</p> showReview(1, 'full');"),
               _review(1, "u1", "i0", "<br/>"), _review(2, "u2", "i0", "plain text")]
    loaded = LoadResult(reviews=reviews, aspects=[], rating_scale=None, aspect_scales={})
    splits, report = prepare_reviews(loaded, kcore=1)
    assert report.stripped_markup == 2 and report.dropped_no_text == 1
    texts = sorted(r.text for part in splits.values() for r in part)
    assert texts == ["Good", "plain text"]


def test_one_review_users_still_leave_evaluable_pairs_and_a_warning():
    # 300 users with one review and 20 with four, over 5 items: like hotel data.
    reviews = [_review(n, f"solo{n}", f"i{n % 5}") for n in range(300)]
    reviews += [_review(1000 + n, f"multi{n // 4}", f"i{n % 5}") for n in range(80)]
    loaded = LoadResult(reviews=reviews, aspects=[], rating_scale=None, aspect_scales={})
    splits, report = prepare_reviews(loaded, kcore=1)
    train_users = {r.user_id for r in splits["train"]}
    train_items = {r.item_id for r in splits["train"]}
    for part in ("valid", "test"):
        # 38 each are asked for; 60 can be held out (each multi user keeps one): 30 each.
        assert len(splits[part]) == 30
        assert all(r.user_id in train_users and r.item_id in train_items for r in splits[part])
    assert report.evaluable_users == 20 and report.topped_up > 0
    assert sum(len(p) for p in splits.values()) == len(reviews)
    assert len(splits["valid"]) < MIN_TRUSTED_VALID and "not to be trusted" in report.warnings[0]
