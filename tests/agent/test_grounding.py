from elixir_agent.agent.grounding import Evidence, check

ARTIFACTS = [
    {"tool": "aspect_ratings", "user_id": "u0001", "item_id": "h0012",
     "item_name": "Harbor Inn 12 (synthetic)", "rating": 4.2687,
     "aspects": {"cleanliness": {"rating": 3.5, "user_importance": 0.4123,
                                 "item_importance": 0.2}}},
    {"tool": "similar_reviews", "reviews": [
        {"review_id": "r-7", "user_id": "u0002", "item_id": "h0012", "item_name": "Harbor Inn 12 (synthetic)",
         "rating": 5.0, "similarity": 0.8123, "text": "Stayed 3 nights, loved it."}],
     "review_ids": ["r-7"]},
]


def _check(answer, question=""):
    return check(answer, Evidence.from_artifacts(ARTIFACTS), question=question)


def test_grounded_numbers_and_citations_pass():
    result = _check('Harbor Inn 12 (synthetic) (h0012): predicted 4.27 out of 5 (about 4.3); '
                    'cleanliness 3.50 weighs 41% for you. One guest wrote "Stayed 3 nights, '
                    'loved it." [r-7], rated 5.00; 1 review found.')
    assert result.ok, result
    assert "4.27" in result.checked_numbers and "41%" in result.checked_numbers


def test_ungrounded_numbers_and_ids_fail():
    result = _check("You would rate it 1. Cleanliness is 4.9 and 93% of guests agree [r-999].")
    assert not result.ok
    assert result.unsupported_numbers == ["1", "4.9", "93%"]
    assert result.unknown_ids == ["r-999"]


def test_whole_numbers_must_be_exact_and_numbers_in_the_question_are_allowed():
    assert not _check("You would give it 4.").ok  # 4.2687 is not 4
    assert _check("You would give it 5.").ok  # a review's 5.0 is in the evidence
    assert _check("Here are your top 7.", question="show me the top 7").ok


def test_a_name_without_its_trailing_note_is_still_a_name():
    assert _check("Harbor Inn 12 looks fine for you: 4.27.").ok  # 12 is part of the name
    assert not _check("Harbor Inn looks like a 12 for you.").ok


def test_quotes_are_exempt_only_when_they_are_evidence():
    assert _check('A guest wrote "Stayed 3 nights, loved it." [r-7]').ok
    assert not _check('A guest wrote "Stayed 9 nights" [r-7]').ok


def test_a_vacuous_why_answer_is_revised_then_replaced(routed_agent, pair):
    """No wrong number is not enough: a 'why' answer must state a rating and cite a review."""
    from tests.helpers.fake_chat import ScriptedWriter

    user, item = pair
    writer = ScriptedWriter(lambda system, prompt, n: "The evidence is that the user liked it.")
    turn = routed_agent(llm=writer).ask("Would I like it, and why?", conversation_id="vacuous",
                                        user_id=user, item_id=item)
    assert len(writer.prompts) == 2  # the draft, then one revision that names the gaps
    assert "cites no review" in writer.prompts[1][1]
    assert turn.verification.action == "replaced" and not turn.verification.draft_ok
    assert turn.cited_review_ids and turn.verification.checked_numbers
