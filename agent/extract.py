"""Arguments from a message and the conversation state: items, user, aspects, k, preferences.

Resolves what small models cannot: "this one" and "it" (the active item), "the second one"
(from the last list shown), names with typos (fuzzy match against the catalog), aspect words
("clean" -> cleanliness) and stated preferences ("I care about taste more than looks").
Tokens that look like ids but are unknown are kept, so the tool can answer with close matches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from elixir_agent.tools.aspects import aspects_in_text
from elixir_agent.tools.catalog import Catalog

__all__ = ["Extracted", "asked_count", "extract", "labelled_ids", "ordinal_item", "preferences"]

_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "last": -1,
             "top": 1}
_ORDINAL = re.compile(r"\b(?:the\s+)?(first|second|third|fourth|fifth|last|top)\s+(?:one|item|"
                      r"hotel|beer|place|option)\b|#(\d{1,2})\b|\bnumber (\d{1,2})\b",
                      re.IGNORECASE)
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10}
_K = re.compile(r"\b(?:top|best|give me|show me|show|list|recommend|suggest)?\s*"
                r"(\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten)\s+"
                r"(?:items?|hotels?|beers?|places?|options?|reviews?|recommendations?|more|"
                r"suggestions?|things?)\b", re.IGNORECASE)
_TOP_K = re.compile(r"\btop\s+(\d{1,2})\b", re.IGNORECASE)
# Id-like tokens: a letter followed by 3+ digits ('h0012', 'u0007') or 6+ capital/digit mix.
_ID_LIKE = re.compile(r"\b([A-Za-z]{1,3}\d{3,}|[A-Z0-9]{6,})\b")
# "user 59229", "item id 71102": explicit labels, needed where ids are plain numbers
# (RateBeer) and a user id may also read as some item's id.
_LABELLED = re.compile(r"\b(user|item|beer|hotel)\s+(?:id\s+)?#?([\w.:-]+)", re.IGNORECASE)
# "compared with the Hilton": a name the catalog does not know is kept, so the tool can answer
# with close matches instead of the planner asking which item was meant.
_OTHER_NAME = re.compile(r"\b(?:compared? (?:with|to)|versus|vs\.?|against|better than)\s+"
                         r"(?:the\s+)?([A-Za-z0-9][\w'&.\- ]{1,60}?)\s*[?.!,]*\s*$", re.IGNORECASE)
_NOT_A_NAME = re.compile(r"^(?:it|this|that|this one|that one|the other one|other one|others?|"
                         r"the other|one)$", re.IGNORECASE)
_MORE_THAN = re.compile(r"\bmore than\b|\bover\b|\brather than\b|\binstead of\b", re.IGNORECASE)
_NOT_CARE = re.compile(r"\b(?:do not|don't|dont) care (?:about|for)\b|\bnot important\b",
                       re.IGNORECASE)


@dataclass
class Extracted:
    items: list[str] = field(default_factory=list)  # known item ids, in order of mention
    unknown_items: list[str] = field(default_factory=list)  # id-like tokens nobody knows
    unknown_names: list[str] = field(default_factory=list)  # "compared with <name>", unknown
    user: str | None = None
    aspects: list[str] = field(default_factory=list)
    k: int | None = None
    ordinal_item: str | None = None  # "the second one" resolved against the last list
    likes: list[str] = field(default_factory=list)  # stated preferences
    dislikes: list[str] = field(default_factory=list)


def extract(message: str, catalog: Catalog, aspects: list[str], *,
            last_items: list[str] = ()) -> Extracted:
    out = Extracted()
    out.items = catalog.find_items_in_text(message)
    user, labelled_items = labelled_ids(message, catalog)
    if user:
        out.user = user
        out.items = [i for i in out.items if i != user]
    out.items += [i for i in labelled_items if i not in out.items]
    remainder = message
    for item_id in out.items:  # numbers inside names are not counts
        remainder = re.sub(re.escape(item_id), " ", remainder, flags=re.IGNORECASE)
        name = catalog.item_name(item_id).replace("(synthetic)", "").strip()
        remainder = re.sub(re.escape(name), " ", remainder, flags=re.IGNORECASE)
    # Id-like words inside a recognised name ("Southern Tier 2XSTOUT") belong to that name.
    for token in _ID_LIKE.findall(remainder):
        if catalog.resolve_user(token):
            out.user = catalog.resolve_user(token)
        elif not catalog.resolve_item(token) and token not in out.unknown_items:
            out.unknown_items.append(token)
    other = _OTHER_NAME.search(message)
    if other and not out.items and not out.unknown_items \
            and not _NOT_A_NAME.match(other.group(1).strip()):
        out.unknown_names.append(other.group(1).strip())
    out.aspects = aspects_in_text(remainder, aspects)
    out.k = asked_count(remainder)
    out.ordinal_item = ordinal_item(remainder, last_items)
    out.likes, out.dislikes = preferences(remainder, aspects)
    return out


def labelled_ids(message: str, catalog: Catalog) -> tuple[str | None, list[str]]:
    """'user 59229', 'item 71102': the user and the item ids given with a label."""
    user, items = None, []
    for label, token in _LABELLED.findall(message):
        token = token.rstrip(".:-")
        if label.lower() == "user" and catalog.resolve_user(token):
            user = catalog.resolve_user(token)
        elif label.lower() != "user" and (item := catalog.resolve_item(token)) and item not in items:
            items.append(item)
    return user, items


def ordinal_item(text: str, last_items: list[str]) -> str | None:
    """'the second one', '#2', 'the last one' resolved against the last list shown."""
    ordinal = _ORDINAL.search(text)
    if not ordinal or not last_items:
        return None
    word, hash_n, number_n = ordinal.groups()
    n = _ORDINALS[word.lower()] if word else int(hash_n or number_n)
    if n == -1:
        return last_items[-1]
    return last_items[n - 1] if 1 <= n <= len(last_items) else None


def asked_count(text: str) -> int | None:
    """How many results were asked for ('top 3', 'five hotels'), 1-20, else None."""
    match = _TOP_K.search(text) or _K.search(text)
    if not match:
        return None
    raw = match.group(1).lower()
    value = _NUMBER_WORDS.get(raw) or int(raw)
    return value if 1 <= value <= 20 else None


def preferences(text: str, aspects: list[str]) -> tuple[list[str], list[str]]:
    """'I care about taste more than looks' -> (['taste'], ['appearance'])."""
    not_care = _NOT_CARE.search(text)
    if not_care:
        before, after = text[: not_care.start()], text[not_care.end():]
        return aspects_in_text(before, aspects), aspects_in_text(after, aspects)
    split = _MORE_THAN.search(text)
    if split:
        return aspects_in_text(text[: split.start()], aspects), aspects_in_text(
            text[split.end():], aspects)
    return aspects_in_text(text, aspects), []
