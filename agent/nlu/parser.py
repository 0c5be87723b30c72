"""The question parser: one message plus the conversation state -> a typed `ParsedQuestion`.

Steps, each replaceable: (1) deterministic guard-rails read ids, "user 123" and ordinals
against the last list; (2) the catalog's matcher links item names, however shortened or
misspelt, and the linked spans are replaced by a placeholder so the intent does not depend on
the name; (3) the message is cut into requests at sentence ends and at joiners ("also", "and
how ..."), and the learned classifier names the intents of each, in order; (4) aspects,
counts and stated likes/dislikes are read from what is left; (5) references ("it", "the
other one", "the second one") are resolved against the state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import OSA

from elixir_agent.agent.extract import asked_count, labelled_ids, ordinal_item, preferences
from elixir_agent.agent.nlu.classifier import IntentClassifier
from elixir_agent.agent.nlu.corpus import MASK
from elixir_agent.agent.nlu.templates import DOMAINS, TEMPLATES
from elixir_agent.tools.aspects import SYNONYMS, aspects_in_text
from elixir_agent.tools.catalog import Catalog
from elixir_agent.tools.name_matching import (
    NameMatcher,
    clause_breaks,
    generic,
    similarity_floor,
    word_spans,
)

__all__ = ["ParsedQuestion", "QuestionParser", "question_words"]

# Where one request ends and the next begins; item names are masked before this runs, so
# "Between X and X" is not cut.
_SPLIT = re.compile(
    r"[?!.;\n]+\s*|\s+-\s+|,?\s+(?:and\s+)?(?:also|plus)\s+|\s+&\s+(?=\w)"
    r"|,?\s+and\s+(?=(?:how|what|which|would|will|is|are|can|could|show|tell|give|quote|write|"
    r"describe|recommend|suggest|compare|do|does|did|should|any|list|find|why\b))", re.IGNORECASE)
_OTHER = re.compile(r"\bthe other(?: one)?\b|\bthe other (?:beer|hotel|item|place)\b", re.IGNORECASE)
# "user 123", "item 46" (labelled), or a bare id: 3+ digits (not "top 10") or letters+digits.
_ID_TOKEN = re.compile(r"\b(user|item|beer|hotel)\s+(?:id\s+)?#?(\w[\w.:-]*)"
                       r"|(?<!top )\b(\d{3,}|[A-Za-z]{1,3}\d{3,})\b", re.IGNORECASE)
_STOP = ["a", "an", "the", "of", "to", "in", "on", "at", "for", "with", "and", "or", "but", "is", "are", "was", "were", "be", "been", "it", "this", "that", "these", "those", "i", "me", "my", "mine", "you", "your", "we", "our", "they", "them", "their", "he", "she", "his", "her", "its", "do", "does", "did", "not", "no", "yes", "so", "if", "then", "than", "as", "by", "from", "about", "into", "over", "under", "up", "down", "out", "off", "too", "very", "just", "really", "some", "any", "all", "each", "every", "more", "most", "less", "least", "other", "one", "ones", "there", "here", "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "can", "could", "would", "will", "should", "shall", "may", "might", "must", "have", "has", "had", "get", "got", "go", "going", "want", "wanna", "gonna", "like", "also", "plus", "btw", "nah", "please", "pls", "thanks", "ok", "okay", "hey", "hi", "lol", "yeah", "yep", "nope", "well", "again", "instead", "anyway", "though", "first", "second", "third", "fourth", "fifth", "last", "top", "number"]
# The best intent of a request is always taken; a second one from the same request only when
# the classifier is sure of it (two-part messages are mostly cut into requests before this).
_SECOND_INTENT_FLOOR = 0.9


def question_words() -> frozenset[str]:
    """Words of the questions themselves (templates, domains, stop words, aspect words): never a name."""
    words = list(_STOP) + list(SYNONYMS) + list(SYNONYMS.values())
    for templates in TEMPLATES.values():
        words += [re.sub(r"<\w+>|[{}|]", " ", t) for t in templates]
    for vocab in DOMAINS.values():
        words += [w for key, values in vocab.items() if key != "names" for w in values]
    return generic(words)


@dataclass
class ParsedQuestion:
    """What a message asks, with everything linked to catalog ids."""

    intents: list[str]  # in the order asked
    user: str | None = None
    items: list[str] = field(default_factory=list)  # linked item ids, in order of mention
    ambiguous: list[tuple[str, list[str]]] = field(default_factory=list)  # (said, candidate ids)
    unknown_names: list[str] = field(default_factory=list)  # names the catalog does not know
    aspects: list[str] = field(default_factory=list)
    k: int | None = None
    likes: list[str] = field(default_factory=list)
    dislikes: list[str] = field(default_factory=list)
    ordinal_item: str | None = None  # "the second one" against the last list
    other_item: str | None = None  # "the other one": the listed item that is not active
    masked: str = ""  # the message with linked names replaced by the placeholder
    probabilities: dict[str, float] = field(default_factory=dict)

    @property
    def intent(self) -> str:
        return self.intents[0]


class QuestionParser:
    """Parses messages for one catalog; the classifier and catalog are passed in."""

    def __init__(self, classifier: IntentClassifier, catalog: Catalog, aspects: list[str]):
        self.classifier, self.catalog, self.aspects = classifier, catalog, list(aspects)
        self.words = question_words()
        self._vocabulary = sorted(w for w in self.words if len(w) >= 3)
        self.matcher = NameMatcher({i: s.name for i, s in catalog.items.items()},
                                   generic_words=self.words)

    def parse(self, message: str, state: dict[str, Any] | None = None) -> ParsedQuestion:
        state = state or {}
        last_items = list(state.get("last_items") or [])
        user, spans, items, user_spans, unknown_ids = self._ids(message)
        ambiguous, unlinked = [], message
        for start, end in sorted(spans + user_spans, reverse=True):
            unlinked = unlinked[:start] + " " * (end - start) + unlinked[end:]
        for mention in self.matcher.link(unlinked):
            if mention.ambiguous:
                ambiguous.append((message[mention.start:mention.end],
                                  [mention.item_id, *mention.candidates]))
            else:
                items.append((mention.start, mention.item_id))
            spans.append((mention.start, mention.end))
        masked = _mask(message, [(a, b, MASK) for a, b in spans] + [(a, b, "me") for a, b in user_spans])
        parsed = ParsedQuestion(intents=[], user=user, ambiguous=ambiguous, masked=masked)
        for _, item in sorted(items):
            if item not in parsed.items:
                parsed.items.append(item)
        rest = masked.replace(MASK, " ")
        parsed.aspects = aspects_in_text(rest, self.aspects)
        parsed.k = asked_count(rest)
        parsed.likes, parsed.dislikes = preferences(rest, self.aspects)
        parsed.ordinal_item = ordinal_item(rest, last_items)
        active = state.get("active_item")
        if _OTHER.search(rest) and len(last_items) >= 2:
            parsed.other_item = next((i for i in last_items if i != active), None)
        parsed.intents, parsed.probabilities = self._intents(self._respell(masked))
        if unknown_ids and not parsed.items:
            parsed.unknown_names = unknown_ids
        elif not parsed.items and not ambiguous:
            # With an item under discussion, only a capitalised run reads as another name:
            # "how is the breakfast?" asks about the active item.
            parsed.unknown_names = [n for n in self._unknown_names(rest) if not active
                                    or any(w[:1].isupper() or w[:1].isdigit() for w in n.split())]
        return parsed

    def _ids(self, message: str):
        """The user and the items given by id ('user 123', 'item 46', a bare 'h0012' or '71102'),
        with the spans of item ids and of user ids."""
        user, _ = labelled_ids(message, self.catalog)
        spans, items, user_spans, unknown = [], [], [], []
        for match in _ID_TOKEN.finditer(message):
            label, token = match.group(1), (match.group(2) or match.group(3)).rstrip(".:-")
            if label and label.lower() == "user":
                found = self.catalog.resolve_user(token)
                user = user or found
            elif label or token != user:
                found = self.catalog.resolve_item(token)
                if found:
                    items.append((match.start(), found))
                elif not label and user is None and self.catalog.resolve_user(token):
                    found = user = self.catalog.resolve_user(token)
            else:
                found = token
            if found:
                (user_spans if found == user else spans).append(match.span())
            elif not label and not token.isdigit():
                unknown.append(token)  # 'h9999': id-shaped, nobody's; say so with close ids
        return user, spans, items, user_spans, unknown

    def _intents(self, masked: str) -> tuple[list[str], dict[str, float]]:
        segments = [s.strip(" ,") for s in _SPLIT.split(masked) if s and s.strip(" ,")] or [masked]
        probabilities = self.classifier.probabilities(segments)  # (S, L)
        labels = self.classifier.labels
        intents: list[str] = []
        for row in probabilities:
            order = sorted(range(len(labels)), key=lambda j: -row[j])
            chosen = [labels[order[0]]] + [labels[j] for j in order[1:] if row[j] >= _SECOND_INTENT_FLOOR]
            intents += [i for i in chosen if i not in intents]
        if len(intents) > 1:  # "thanks" beside a real request is not a request
            intents = [i for i in intents if i not in ("out_of_scope", "help")] or intents[:1]
        if "compare" in intents and "explain" in intents:  # "which suits me better and why?":
            intents.remove("explain")  # the comparison's aspect breakdown is the why
        best = {labels[j]: round(float(probabilities[:, j].max()), 3) for j in range(len(labels))}
        return intents, best

    def _respell(self, text: str) -> str:
        """Typos of question words put right before classifying: "wuold i lik" -> "would i like".

        The classifier's character n-grams carry some typos, but a message of nothing but
        misspelt words leaves it guessing; the words of the questions are a closed set.
        """
        def fix(match: re.Match) -> str:
            word = match.group()
            lower = word.lower()
            if lower in self.words or len(lower) < 3 or word == MASK:
                return word
            if len(lower) == 3:  # too short to compare: only a dropped last letter ("lik")
                return next((w for w in ("like", "rate", "same", "what", "have") if w.startswith(lower)), word)
            # OSA counts a swap of two letters as one slip: "wuold" is "would", not "world".
            found = process.extract(lower, self._vocabulary, scorer=OSA.normalized_similarity, limit=1)
            return found[0][0] if found and found[0][1] >= similarity_floor(lower) / 100 - 1e-9 else word

        return _WORD.sub(fix, text)

    def _unknown_names(self, text: str) -> list[str]:
        """Runs of words that are no question words: a name the catalog does not know."""
        runs, current = [], []
        tokens = word_spans(text)
        after_break = [False, *clause_breaks(text, tokens)]
        for (word, start, end), broken in zip(tokens, after_break, strict=True):
            if broken or word in self.words or (len(word) < 3 and not word.isdigit()):
                if current:
                    runs.append(current)
                current = []
            if not (word in self.words or (len(word) < 3 and not word.isdigit())):
                current.append((start, end))
        if current:
            runs.append(current)
        names = [text[r[0][0]:r[-1][1]] for r in runs if sum(e - s for s, e in r) >= 4]
        return [n for n in names if self.matcher.exact(n) is None][:2]


_WORD = re.compile(r"[A-Za-z]+")


def _mask(message: str, spans: list[tuple[int, int, str]]) -> str:
    out = message
    for start, end, placeholder in sorted(set(spans), reverse=True):
        out = out[:start] + placeholder + out[end:]
    return out
