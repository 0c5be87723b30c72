"""The fuzzy name matcher on a small hand-made catalog: where names start and end in a message."""

from __future__ import annotations

import pytest

from elixir_agent.agent.nlu.parser import question_words
from elixir_agent.tools.name_matching import NameMatcher

NAMES = {
    "b1": "Miller High Life",
    "b2": "Miller High Life Light",
    "b3": "Miller Lite",
    "b4": "Russian River Pliny the Elder",
    "b5": "Brown Nose Ale",
    "b6": "Meta Export Lager",
    "b7": "T.J.'s Best Bitter",
    "b8": "Black Heart Lager",
    "b9": "Black Cuillin",
    "b10": "St. Bernardus Abt 12",
    "b11": "St. Bernardus Tripel",
}


@pytest.fixture(scope="module")
def matcher() -> NameMatcher:
    return NameMatcher(NAMES, generic_words=question_words())


def _linked(matcher, text):
    return [NAMES[m.item_id] for m in matcher.link(text)]


def test_the_longer_name_and_the_shorter_one_are_both_found(matcher):
    assert _linked(matcher, "compare Miller High Life Light with Miller High Life") == [
        "Miller High Life Light", "Miller High Life"]


def test_a_one_word_short_name_stops_at_the_clause_break(matcher):
    # "Also" is not part of the name: the full stop ends it.
    assert _linked(matcher, "Tell me about Meta. Also, would I like it?") == ["Meta Export Lager"]


def test_a_question_word_capitalised_mid_sentence_is_a_name(matcher):
    assert _linked(matcher, "gonna enjoy Nose or nah") == ["Brown Nose Ale"]
    # The same word in lower case is the aspect, not the beer.
    assert _linked(matcher, "how is the nose") == []


def test_the_stretch_with_the_distinctive_word_wins(matcher):
    # "the" is a word of "Pliny the Elder" too, but the name is said where "Elder" is.
    assert _linked(matcher, "How's the palate at Elder?") == ["Russian River Pliny the Elder"]


def test_dotted_names_are_one_name(matcher):
    assert _linked(matcher, "what would I rate t.j.'s best bitter") == ["T.J.'s Best Bitter"]


def test_two_short_names_in_a_comparison(matcher):
    assert _linked(matcher, "which is better for me: Heart or Black Cuillin?") == [
        "Black Heart Lager", "Black Cuillin"]


def test_an_abbreviation_does_not_end_the_name(matcher):
    assert _linked(matcher, "Compare it with St. Bernardus Abt 12.") == ["St. Bernardus Abt 12"]
