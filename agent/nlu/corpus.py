"""The training corpus of the intent classifier, generated from `templates.TEMPLATES`.

Every example is a message with its ordered intents. Variety comes from the templates'
alternatives, three domains, casual and rude registers, lower case, dropped punctuation,
typos, and two requests joined in one message. Item mentions are mostly the placeholder the
parser puts where it linked a name (`MASK`), sometimes a made-up name in full, shortened,
misspelt or lower-cased form, so that a name the linker missed does not derail the intent.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from elixir_agent.agent.nlu.templates import DOMAINS, TEMPLATES

__all__ = ["MASK", "VERSION", "Example", "generate_corpus", "misspell", "name_form"]

MASK = "X"  # what the parser writes in place of a linked item name
VERSION = 2  # bump when the generator changes: cached classifiers are then rebuilt
_CHOICE = re.compile(r"\{([^{}]*)\}")
_SLOT = re.compile(r"<(\w+)>")
_OPENERS = ["", "", "", "hey ", "ok ", "so ", "quick q: ", "hi, ", "um ", "yo ", "listen, ",
            "just tell me ", "ugh ", "come on, ", "seriously ", "honestly "]
_CLOSERS = ["", "", "", "?", "?", "??", " please", " pls", " thanks", " lol", " ffs", " mate",
            "?!", " already", " or not", ", be quick"]
_JOINERS = ["? ", ". ", " and ", ", and ", " also ", "? also ", " plus ", "; ", " - ",
            "? and ", ", ", " & "]
_REFERENCES = ["it", "this one", "that one", "this <noun>", "that <noun>", "the <noun>"]


@dataclass(frozen=True)
class Example:
    text: str
    intents: tuple[str, ...]


def misspell(word: str, rng: random.Random) -> str:
    """One typo: a dropped, doubled, swapped or replaced letter (words under 4 letters kept)."""
    if len(word) < 4 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return word[:i] + word[i + 1:]
    if kind == 1:
        return word[:i] + word[i] + word[i:]
    if kind == 2:
        return word[:i - 1] + word[i] + word[i - 1] + word[i + 1:]
    return word[:i] + rng.choice("aeioustrnl") + word[i + 1:]


def name_form(name: str, form: str, rng: random.Random) -> str:
    """A name as a person might type it: full, short (some words), typo (two typos), lower."""
    words = name.split()
    if form == "short" and len(words) > 1:
        keep = rng.randint(1, max(1, len(words) - 1))
        start = rng.randrange(0, len(words) - keep + 1)
        return " ".join(words[start:start + keep])
    if form == "typo":
        positions = [i for i, w in enumerate(words) if len(w) >= 4]
        for i in rng.sample(positions, min(2, len(positions))):
            words[i] = misspell(words[i], rng)
        return " ".join(words)
    if form == "lower":
        return name.lower()
    return name


def _fill(template: str, domain: str, rng: random.Random) -> str:
    vocab = DOMAINS[domain]
    text = _CHOICE.sub(lambda m: rng.choice(m.group(1).split("|")), template)
    aspects = rng.sample(vocab["aspect"], 2)

    def slot(match: re.Match) -> str:
        name = match.group(1)
        if name in ("x", "y"):
            roll = rng.random()
            if roll < 0.45:
                return MASK
            if roll < 0.6:
                return f"the {MASK}"
            if roll < 0.75 and name == "x":
                return _CHOICE.sub("", rng.choice(_REFERENCES)).replace("<noun>", rng.choice(vocab["noun"]))
            return name_form(rng.choice(vocab["names"]), rng.choice(["full", "short", "typo", "lower"]), rng)
        if name == "aspect":
            return aspects[0]
        if name == "aspect2":
            return aspects[1]
        if name == "k":
            return rng.choice(["3", "5", "two", "three", "10", "a few"])
        return rng.choice(vocab[name])

    return _SLOT.sub(slot, text)


def _noisy(text: str, rng: random.Random) -> str:
    if rng.random() < 0.35:
        words = text.split(" ")
        for i in rng.sample(range(len(words)), min(len(words), rng.choice((1, 1, 2)))):
            words[i] = misspell(words[i], rng)
        text = " ".join(words)
    if rng.random() < 0.5:
        text = text.lower()
    elif rng.random() < 0.5:
        text = text[:1].upper() + text[1:]
    return text


def _single(intent: str, rng: random.Random) -> str:
    domain = rng.choice(list(DOMAINS))
    return _noisy(_fill(rng.choice(TEMPLATES[intent]), domain, rng), rng)


def generate_corpus(n: int = 6000, *, seed: int = 0, two_intent_share: float = 0.25) -> list[Example]:
    """`n` examples, every intent about equally often; a share of them ask two things at once."""
    rng = random.Random(seed)
    intents = list(TEMPLATES)
    out: list[Example] = []
    for k in range(n):
        first = intents[k % len(intents)]
        opener, closer = rng.choice(_OPENERS), rng.choice(_CLOSERS)
        if rng.random() < two_intent_share and first not in ("help", "out_of_scope", "reset"):
            second = rng.choice([i for i in intents if i not in (first, "help", "out_of_scope")])
            text = _single(first, rng) + rng.choice(_JOINERS) + _single(second, rng)
            out.append(Example(f"{opener}{text}{closer}".strip(), (first, second)))
        else:
            out.append(Example(f"{opener}{_single(first, rng)}{closer}".strip(), (first,)))
    return out
