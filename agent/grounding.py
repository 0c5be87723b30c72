"""The grounding check: every number and every cited review id in an answer must be in the evidence.

Evidence is the artifacts of the turn's tool calls, read through the model each tool declared
(`tools.artifacts`): the model's annotations say which fields are shares (aspect importance,
similarity, stated as percentages or fractions), counts (review counts, k, ranks, list
lengths, claimed only next to a counted noun), values (ratings, aspect ratings, means,
differences), names, review ids and quotable review text. Nothing is guessed from key names. An answer number matches a fact of its kind at the
precision it is written with: "4.3" matches 4.2987, "4" matches only 4.0 - a draft that
rounds a rating to a whole star is sent back rather than trusted.

Citations count only when they name a review id of the evidence, outside quoted review text:
a review that contains "[999999]" cannot plant a citation. A non-finite number (NaN,
infinity) in the evidence or the answer always fails the check.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from elixir_agent.tools.artifacts import facts, parse_artifact

__all__ = ["Evidence", "check", "cited_ids"]

_CITATION = re.compile(r"\[([A-Za-z0-9][\w:.\-/]*)\]")
_NUMBER = re.compile(r"(?<![\w.])([-+]?\d+(?:\.\d+)?)(\s*%)?(?![\w])")
_COUNT_AFTER = re.compile(
    r"^\s*(?:\w+\s+)?(?:reviews?|items?|hotels?|beers?|options?|results?|recommendations?|"
    r"places?|users?|people)\b", re.IGNORECASE)
_COUNT_BEFORE = re.compile(r"\b(?:top|first|#|number)\s*$", re.IGNORECASE)
# The rating scale itself is not a claim: "out of 5", "1-5", "/5", "five-point".
_SCALE = re.compile(r"\bout of 5\b|\b1\s*[-–to]+\s*5\b|/\s*5\b", re.IGNORECASE)
_LIST_MARKER = re.compile(r"^\s*(\d+)[.)]\s", re.MULTILINE)
_TRAILING_NOTE = re.compile(r"\s*\([^()]*\)\s*$")
_NON_FINITE = re.compile(r"(?<![\w.])[-+]?(?:nan|inf(?:inity)?)(?![\w])", re.IGNORECASE)


@dataclass
class Evidence:
    values: list[float] = field(default_factory=list)
    shares: list[float] = field(default_factory=list)
    counts: list[float] = field(default_factory=list)
    review_ids: set[str] = field(default_factory=set)
    strings: set[str] = field(default_factory=set)  # ids and names, removed before number check
    texts: list[str] = field(default_factory=list)  # review texts: quoting them is not a claim
    non_finite: list[str] = field(default_factory=list)  # kinds holding NaN/inf: never evidence

    @classmethod
    def from_artifacts(cls, artifacts: Iterable[dict[str, Any]],
                       extra_strings: Iterable[str] = ()) -> Evidence:
        evidence = cls(strings=set(extra_strings))
        for artifact in artifacts:
            model = parse_artifact(artifact)
            if model is None:  # a plugin tool without a declared model: its numbers as values
                evidence._undeclared(artifact)
                continue
            for kind, value in facts(model):
                evidence._add(kind, value)
        return evidence

    def _add(self, kind: str, value: Any) -> None:
        if kind in ("share", "count", "value") and not math.isfinite(float(value)):
            self.non_finite.append(kind)
            return
        if kind == "share":
            self.shares.append(float(value))
        elif kind == "count":
            self.counts.append(float(value))
        elif kind == "value":
            self.values.append(float(value))
            self.values.append(abs(float(value)))  # "1.03 better" states a signed difference
        elif kind == "review_id":
            self.review_ids.add(str(value))
        elif kind == "name":
            self.strings.add(str(value))
            # "Royal Lodge 27" names "Royal Lodge 27 (synthetic)": its 27 is not a claim.
            self.strings.add(_TRAILING_NOTE.sub("", str(value)))
        elif kind == "quote":
            self.texts.append(_flat(str(value)))

    def _undeclared(self, node: Any) -> None:
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, (list, tuple)):
            for v in node:
                self._undeclared(v)
        elif isinstance(node, (int, float)) and not isinstance(node, bool):
            self._add("value", node)


def cited_ids(answer: str) -> list[str]:
    out: list[str] = []
    for match in _CITATION.finditer(answer):
        if match.group(1) not in out:
            out.append(match.group(1))
    return out


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    checked_numbers: list[str]
    unsupported_numbers: list[str]
    cited_ids: list[str]
    unknown_ids: list[str]


def check(answer: str, evidence: Evidence, *, question: str = "") -> CheckResult:
    """Check `answer` against `evidence`; numbers the person typed themselves are allowed."""
    # Quoted review text is removed first: brackets inside a review are not citations.
    unquoted = _strip_quotes(answer, evidence.texts)
    named = cited_ids(unquoted)
    # Brackets around an item id or a name are not citations of a review.
    cited = [c for c in named if c in evidence.review_ids or c not in evidence.strings]
    unknown = [c for c in named if c not in evidence.review_ids and c not in evidence.strings]
    text = _CITATION.sub(" ", unquoted)
    # Longest first so that 'Harbor Inn 12 (synthetic)' goes before 'h0012'.
    for s in sorted(evidence.strings, key=len, reverse=True):
        if len(s) >= 3:
            text = re.sub(re.escape(s), " ", text, flags=re.IGNORECASE)
    text = _SCALE.sub(" ", text)
    text = _LIST_MARKER.sub(" ", text)
    asked = {float(n) for n, _ in _NUMBER.findall(question)}
    checked, unsupported = [], []
    for match in _NON_FINITE.finditer(text):
        checked.append(match.group(0))
        unsupported.append(match.group(0))
    unsupported += [f"{kind}=non-finite" for kind in evidence.non_finite]
    for match in _NUMBER.finditer(text):
        raw, percent = match.group(1), bool(match.group(2))
        number = float(raw)
        decimals = len(raw.split(".")[1]) if "." in raw else 0
        label = raw + ("%" if percent else "")
        checked.append(label)
        if number in asked:
            continue
        if percent:
            pool, scale = evidence.shares, 100.0
        elif _COUNT_AFTER.match(text[match.end():]) or _COUNT_BEFORE.search(text[:match.start()]):
            pool, scale = evidence.counts, 1.0
        else:
            pool, scale = evidence.values + ([] if decimals == 0 else evidence.shares), 1.0
        if not any(_matches(number, decimals, v * scale, rounded=percent) for v in pool):
            unsupported.append(label)
    return CheckResult(ok=not unsupported and not unknown, checked_numbers=checked,
                       unsupported_numbers=unsupported, cited_ids=cited, unknown_ids=unknown)


_QUOTED = re.compile(r'"([^"\n]+)"|^>\s?(.+)$', re.MULTILINE)


def _flat(text: str) -> str:
    return " ".join(text.split()).replace('"', "'").lower()


def _strip_quotes(answer: str, texts: list[str]) -> str:
    """Remove quotations of evidence texts; a quote of anything else stays and is checked."""

    def replace(match: re.Match) -> str:
        quoted = _flat(match.group(1) or match.group(2)).removesuffix(" ...")
        return " " if quoted and any(quoted in t for t in texts) else match.group(0)

    return _QUOTED.sub(replace, answer)


def _matches(number: float, decimals: int, fact: float, *, rounded: bool = False) -> bool:
    if decimals == 0 and not rounded:  # a whole number must be exact ("4" is not 4.27)
        return abs(number - fact) < 1e-6
    # A value written with d decimals is the fact rounded (either way at the half) to d.
    return abs(abs(number) - abs(fact)) <= 0.5 * 10 ** -decimals + 1e-9
