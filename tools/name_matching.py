"""The one fuzzy matcher for names people type: find item names inside a message, suggest close ones.

People shorten names ("the Sheraton", "celebrator" for "Ayinger Celebrator Doppelbock"), drop
the brewery or city, misspell words and ignore case and accents. So a name is matched word by
word: each word of the message is compared (rapidfuzz) with the words of every catalog name,
and a name scores by how much of its *distinctive* weight the message covers. Words shared by
many names ("brewing", "hotel", "ale") weigh little (inverse document frequency), so "Sierra
Nevada" alone is ambiguous and "Celebrator" alone is not. Words of the question itself
("would", "like", "rooms") can support a name but never anchor one.

`link(text)` returns the mentions it is sure of and, where two names are about as good, the
candidates to ask about; it never returns an id that is not in the catalog.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

__all__ = ["Mention", "NameMatcher", "clause_breaks", "fold", "generic", "name_words", "similarity_floor", "word_spans"]

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_BRACKETS = re.compile(r"\([^)]*\)")
_SYNTHETIC = re.compile(r"\(synthetic\)", re.IGNORECASE)
# A name word counts this much less when it sits in brackets ("(Bottle/Can)", "(9.2%)"):
# it tells two listings of one beer apart, it is rarely typed.
_BRACKET_WEIGHT = 0.3
_AMBIGUITY_MARGIN = 0.12  # two names covering the message this closely: ask, do not guess
_MIN_COVERAGE = 0.3  # below this share of a name's weight the mention is too thin to trust
# Punctuation then a space ends a clause; "T.J." or "I.P.A." without spaces is one name.
_CLAUSE_END = re.compile(r"[.?!,;:]+\s")
_SENTENCE_END = re.compile(r"[.?!]+\s")
_ABBREVIATIONS = frozenset(["st", "ste", "mt", "dr", "mr", "mrs", "ms", "jr", "sr", "co", "bros", "inc", "ltd", "no", "vs", "ft", "ave", "rd"])


def fold(text: str) -> str:
    """Lower case without accents, one kind of apostrophe: 'Disney’s Café' -> "disney's cafe".

    Precomposed accents fold to one letter each, so positions in the result are positions in
    `text` (the parser masks the spans it linked).
    """
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return plain.lower().replace("\u2019", "'")


def word_spans(text: str) -> list[tuple[str, int, int]]:
    """(word without apostrophes, start, end) for each word of `text`."""
    return [(m.group().replace("'", ""), m.start(), m.end()) for m in _WORD.finditer(fold(text))]


def name_words(text: str) -> list[str]:
    return [w for w, _, _ in word_spans(text)]


def similarity_floor(word: str) -> float:
    """How close (rapidfuzz ratio) a typed word must be to a name word; short words must be exact."""
    if len(word) <= 3:
        return 100.0
    if len(word) == 4:
        return 85.0
    return 80.0 if len(word) <= 7 else 75.0


@dataclass(frozen=True)
class Mention:
    """A catalog item found in a message: its id, name, where it was said and how well it matched."""

    item_id: str
    name: str
    start: int  # character span in the message
    end: int
    score: float  # share of the name's weight the message covers, 0-1
    candidates: tuple[str, ...] = ()  # other ids about as likely: ask which one was meant

    @property
    def ambiguous(self) -> bool:
        return bool(self.candidates)


@dataclass
class _Name:
    item_id: str
    name: str
    words: list[str]
    weights: list[float]
    total: float = 0.0


@dataclass
class NameMatcher:
    """Item names (id -> name) indexed by word; `generic_words` can never anchor a match."""

    names: dict[str, str]
    generic_words: frozenset[str] = frozenset()
    _entries: list[_Name] = field(default_factory=list, repr=False)
    _by_word: dict[str, list[int]] = field(default_factory=dict, repr=False)
    _vocabulary: list[str] = field(default_factory=list, repr=False)
    _idf: dict[str, float] = field(default_factory=dict, repr=False)
    _exact: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        parsed = []
        for item_id, name in self.names.items():
            clean = _SYNTHETIC.sub("", name)
            core = name_words(_BRACKETS.sub(" ", clean))
            extra = [w for w in name_words(clean) if w not in core]
            parsed.append((item_id, name, core, extra))
            self._exact.setdefault(" ".join(name_words(clean)), item_id)
        document_frequency: dict[str, int] = {}
        for _, _, core, extra in parsed:
            for word in set(core + extra):
                document_frequency[word] = document_frequency.get(word, 0) + 1
        n = max(1, len(parsed))
        self._idf = {w: math.log(1 + n / df) for w, df in document_frequency.items()}
        for item_id, name, core, extra in parsed:
            words = core + extra
            weights = [self._idf[w] for w in core] + [_BRACKET_WEIGHT * self._idf[w] for w in extra]
            entry = _Name(item_id, name, words, weights, sum(weights))
            for word in set(words):
                self._by_word.setdefault(word, []).append(len(self._entries))
            self._entries.append(entry)
        self._vocabulary = sorted(self._by_word)

    # -- finding names in a message --------------------------------------------------------

    def link(self, text: str) -> list[Mention]:
        """Items named in `text`, in order of mention; ambiguous ones carry their candidates."""
        tokens = word_spans(text)
        if not tokens or not self._entries:
            return []
        similar = [self._similar_words(word) for word, _, _ in tokens]
        # A name never runs across a clause break: "about Meta. Also" ends the name at "Meta".
        breaks = clause_breaks(text, tokens)
        proper = _proper_nouns(text, tokens, breaks)
        used: set[int] = set()
        mentions: list[Mention] = []
        while True:
            scored = self._score_names(tokens, similar, used, breaks, proper)
            if not scored:
                break
            # The name that explains most of what was typed (idf-weighted) first, then the one
            # most fully typed: "Wild Raspberry" is Great Divide Wild Raspberry Ale, not Wild Blue.
            scored.sort(key=lambda s: (-round(s[3], 3), -s[0], s[1].item_id))
            best_score, best, positions, evidence = scored[0]
            close = [e.item_id for score, e, pos, ev in scored[1:]
                     if ev >= 0.9 * evidence and score >= best_score - _AMBIGUITY_MARGIN
                     and pos >= positions and e.item_id != best.item_id]
            start, end = tokens[min(positions)][1], tokens[max(positions)][2]
            mentions.append(Mention(best.item_id, best.name, start, end, round(best_score, 3),
                                    tuple(close[:4])))
            used |= set(range(min(positions), max(positions) + 1))
        return sorted(mentions, key=lambda m: m.start)

    def _similar_words(self, word: str) -> dict[str, float]:
        """Name words close enough to a typed word, with their 0-1 similarity."""
        if word in self._by_word:
            return {word: 1.0}
        floor = similarity_floor(word)
        if floor >= 100.0 or word.isdigit():
            return {}
        found = process.extract(word, self._vocabulary, scorer=fuzz.ratio, score_cutoff=floor,
                                limit=3)
        return {w: score / 100.0 for w, score, _ in found if len(w) > 3}

    def _is_anchor(self, word: str, matches: dict[str, float], proper: bool = False) -> bool:
        """A typed word that can start a name match: not a question word, nor a typo of one.

        A question word capitalised inside a sentence is a name after all ("enjoy Nose or nah"
        for Brown Nose Ale), when it is a word of some name as typed.
        """
        if not matches:
            return False
        if word in self.generic_words:
            return proper and matches.get(word) == 1.0 and len(word) >= 4
        if max(matches.values()) == 1.0 and self._idf.get(word, 0) > 0:
            return not word.isdigit() or len(word) >= 3
        return not any(fuzz.ratio(word, g) >= 85 for g in self.generic_words)

    def _score_names(self, tokens, similar, used: set[int], breaks: list[bool],
                     proper: list[bool]) -> list[tuple[float, _Name, frozenset, float]]:
        """(coverage of the name, name, message positions matched, idf-weighted evidence)."""
        anchors = [i for i, (word, _, _) in enumerate(tokens)
                   if i not in used and self._is_anchor(word, similar[i], proper[i])]
        candidates = {e for i in anchors for w in similar[i] for e in self._by_word[w]}
        out = []
        for index in candidates:
            entry = self._entries[index]
            gains: dict[int, float] = {}
            for word, weight in zip(entry.words, entry.weights, strict=True):
                best, at = 0.0, None
                for i, (typed, _, _) in enumerate(tokens):
                    if i in used or i in gains:
                        continue
                    sim = similar[i].get(word, 0.0)
                    if sim < 1.0 and typed in self.generic_words and not proper[i]:
                        continue  # a question word only counts when typed exactly
                    if sim > best:
                        best, at = sim, i
                if at is not None:
                    gains[at] = weight * best
            positions = self._compact(gains, breaks, set(anchors))
            if not positions or not positions & set(anchors):
                continue
            covered = sum(gains[p] for p in positions)
            coverage = covered / entry.total if entry.total else 0.0
            # One word no other name has, typed (nearly) right, names the item on its own:
            # "the Hyatt", "Makena".
            unique = any(len(self._by_word[w]) == 1 and len(w) >= 4 and sim >= 0.9
                         for p in positions for w, sim in similar[p].items()
                         if w in entry.words)
            if coverage < 0.5 and self._unknown_beside(tokens, similar, positions, breaks):
                continue  # "the Bellagio Grande": a thin match next to a word no name has
            if coverage >= _MIN_COVERAGE or unique:
                out.append((coverage, entry, frozenset(positions), covered))
        return out

    def _unknown_beside(self, tokens, similar, positions: frozenset[int] | set[int],
                        breaks: list[bool]) -> bool:
        """Is the matched stretch next to a word that is neither a question word nor a name word?

        A word across a clause break ("Meta. Also") is not beside the name.
        """
        first, last = min(positions), max(positions)
        for i, gap in ((first - 1, first - 1), (last + 1, last)):
            if 0 <= i < len(tokens) and not breaks[gap]:
                word = tokens[i][0]
                if not similar[i] and len(word) >= 4 and not word.isdigit() and not any(
                        fuzz.ratio(word, g) >= 80 for g in self.generic_words):
                    return True
        return False

    @staticmethod
    def _compact(gains: dict[int, float], breaks: list[bool], anchors: set[int]) -> set[int]:
        """Keep the matched words that sit together: a name is said in one stretch of a clause.

        Of several stretches, the one with an anchor and the most weight: in "the palate at
        Elder", "the" matches a word of "Pliny the Elder" too, but the name is where "Elder" is.
        """
        if not gains:
            return set()
        ordered = sorted(gains)
        groups, current = [], [ordered[0]]
        for p in ordered[1:]:
            if p - current[-1] <= 2 and not any(breaks[current[-1]:p]):
                current.append(p)
            else:
                groups.append(current)
                current = [p]
        groups.append(current)
        return set(max(groups, key=lambda g: (bool(anchors.intersection(g)), sum(gains[p] for p in g))))

    # -- suggestions for a name nobody knows -----------------------------------------------

    def exact(self, text: str) -> str | None:
        """The id whose whole name (any case, accents, punctuation) is `text`, else None."""
        return self._exact.get(" ".join(name_words(_SYNTHETIC.sub("", text))))

    def suggest(self, text: str, limit: int = 5) -> list[tuple[str, float]]:
        """(id, 0-100 score) of the names closest to `text`, best first."""
        query = " ".join(name_words(text))
        if not query or not self.names:
            return []
        choices = {e.item_id: " ".join(e.words) for e in self._entries}
        found = process.extract(query, choices, scorer=fuzz.WRatio, limit=limit)
        return [(key, float(score)) for _, score, key in found]


def clause_breaks(text: str, tokens) -> list[bool]:
    """For each word of `text` but the last (`word_spans`), whether a clause ends after it."""
    return [_ends_clause(text, tokens, i, _CLAUSE_END) for i in range(len(tokens) - 1)]


def _ends_clause(text: str, tokens, i: int, pattern: re.Pattern) -> bool:
    """Whether the gap after word `i` ends a clause: punctuation and a space, except the full
    stop of an abbreviation ("St. Bernardus Abt 12", "Mt. Hood", "J. W. Lees")."""
    gap = text[tokens[i][2]:tokens[i + 1][1] + 1]
    if not pattern.search(gap):
        return False
    abbreviated = len(tokens[i][0]) <= 2 or tokens[i][0] in _ABBREVIATIONS
    return not (abbreviated and gap[:-1].strip() == ".")


def _proper_nouns(text: str, tokens, breaks: list[bool]) -> list[bool]:
    """Which words are capitalised inside a sentence (so written as names), not at its start."""
    out = []
    for i, (word, start, _) in enumerate(tokens):
        sentence_start = i == 0 or _ends_clause(text, tokens, i - 1, _SENTENCE_END)
        out.append(text[start].isupper() and not sentence_start and word != "i")
    return out


def generic(words: Iterable[str]) -> frozenset[str]:
    """A set of question words in the matcher's folded form."""
    return frozenset(w for text in words for w in name_words(text))
