"""`bench nlu`: the question parser against today's router + extractor on held-out questions.

The held-out questions (agent/nlu/heldout/questions.jsonl) were written apart from the training
templates: another family of phrasings plus hand-written ones. Item names are filled from the
dataset's own catalog at run time in one of five forms (full, short, typo, lower, id), so each
dataset gets its own test set; nothing here is used for training.
"""

from __future__ import annotations

import json
import random
import re
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from elixir_agent.tools.catalog import Catalog
from elixir_agent.tools.name_matching import name_words

__all__ = ["Case", "heldout_rows", "make_cases", "markdown_report", "score"]

FORMS = ("full", "short", "typo", "lower", "id")
_VOCAB = {
    "beer": {"noun": "beer", "nouns": "beers", "style": ["stouts", "IPAs", "sour beers", "lagers"]},
    "hotel": {"noun": "hotel", "nouns": "hotels", "style": ["beach resorts", "hotels in San Diego"]},
    "item": {"noun": "item", "nouns": "items", "style": ["cheap ones"]},
}
_KEYBOARD = dict(zip("qwertyuiopasdfghjklzxcvbnm", "wertyuiopqsdfghjklaxcvbnmz", strict=True))


@dataclass
class Case:
    text: str
    intents: list[str]
    items: list[str]  # gold item ids the message names or refers to
    form: str  # how the first name was written: full, short, typo, lower, id, or "none"
    source: str
    state: dict[str, Any] = field(default_factory=dict)


def heldout_rows() -> list[dict]:
    text = resources.files("elixir_agent.agent.nlu").joinpath("heldout/questions.jsonl").read_text()
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise ValueError(f"heldout/questions.jsonl:{n}: not JSON ({error})") from error
    return rows


def _domain(aspects: list[str]) -> str:
    return "beer" if "aroma" in aspects else "hotel" if "cleanliness" in aspects else "item"


def _short(name: str, others: list[list[str]], rng: random.Random) -> str | None:
    """Some of the name's words that no other name also has all of (as a person shortens)."""
    words = [w for w in re.sub(r"\([^)]*\)", " ", name).split() if w.lower() not in ("the", "&")]
    spans = [words[i:j] for i in range(len(words)) for j in range(i + 1, len(words) + 1)
             if j - i < len(words)]
    rng.shuffle(spans)
    for span in sorted(spans, key=len):
        folded = name_words(" ".join(span))
        if folded and sum(len(w) for w in folded) >= 4 and not any(
                all(w in other for w in folded) for other in others):
            return " ".join(span)
    return None


def _typo(name: str, rng: random.Random) -> str:
    """Two slips of the fingers: a neighbouring key and a dropped letter, in long words."""
    words = name.split()
    long = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    for n, i in enumerate(rng.sample(long, min(2, len(long)))):
        w = words[i]
        at = rng.randrange(1, len(w) - 1)
        words[i] = (w[:at] + _KEYBOARD.get(w[at].lower(), w[at]) + w[at + 1:]) if n == 0 \
            else w[:at] + w[at + 1:]
    return " ".join(words)


def _named(item_id: str, form: str, catalog: Catalog, others, rng) -> tuple[str, str]:
    name = catalog.item_name(item_id)
    if form == "id":
        return f"{'item'} {item_id}", "id"
    if form == "short":
        short = _short(name, others[item_id], rng)
        return (short, "short") if short else (name, "full")
    if form == "typo":
        typo = _typo(name, rng)
        return (typo, "typo") if typo != name else (name, "full")
    if form == "lower":
        return name.lower(), "lower"
    return name, "full"


def make_cases(catalog: Catalog, aspects: list[str], *, n: int = 400, seed: int = 0) -> list[Case]:
    """`n` held-out cases for this catalog: every row used in turn, name forms in rotation."""
    rng = random.Random(seed)
    rows = heldout_rows()
    vocab = _VOCAB[_domain(aspects)]
    named = [i for i, s in catalog.items.items() if s.name != i]
    folded = {i: name_words(re.sub(r"\([^)]*\)", " ", catalog.item_name(i))) for i in catalog.items}
    others = {i: [w for j, w in folded.items() if j != i] for i in named}
    users = sorted(catalog.users)
    cases = []
    for k in range(n):
        row = rows[k % len(rows)]
        text, gold, form = row["text"], [], "none"
        picked = rng.sample(named, 2)
        state: dict[str, Any] = {"active_user": rng.choice(users)}
        if "{item}" in text:
            said, form = _named(picked[0], FORMS[(k + k // len(rows)) % len(FORMS)], catalog, others, rng)
            text = text.replace("{item}", said)
            gold.append(picked[0])
        if "{item2}" in text:
            said, _ = _named(picked[1], rng.choice(("full", "short", "lower")), catalog, others, rng)
            text = text.replace("{item2}", said)
            gold.append(picked[1])
        if row.get("needs_active") or rng.random() < 0.3:
            active = rng.choice(named)
            state["active_item"] = active
            if row.get("needs_active"):
                gold.insert(0, active)
        two = rng.sample(aspects, 2) if len(aspects) >= 2 else aspects * 2
        text = (text.replace("{aspect}", two[0].replace("_", " ")).replace("{aspect2}", two[1].replace("_", " "))
                .replace("{nouns}", vocab["nouns"]).replace("{noun}", vocab["noun"])
                .replace("{style}", rng.choice(vocab["style"])))
        cases.append(Case(text, list(row["intents"]), gold, form, row["source"], state))
    return cases


def score(cases: list[Case], predictions: list[tuple[list[str], list[str]]],
          seconds: list[float]) -> dict[str, Any]:
    """Intent accuracy (exact set), per-intent precision/recall, confusions, linking by form."""
    exact = ordered = 0
    tp, fp, fn = Counter(), Counter(), Counter()
    confusion = Counter()
    linking: dict[str, list[int]] = {}
    for case, (intents, items) in zip(cases, predictions, strict=True):
        gold, said = set(case.intents), set(intents)
        exact += gold == said
        ordered += case.intents == intents
        for i in gold | said:
            tp[i] += i in gold and i in said
            fp[i] += i in said and i not in gold
            fn[i] += i in gold and i not in said
        if len(case.intents) == 1 and intents and intents[0] != case.intents[0]:
            confusion[(case.intents[0], intents[0])] += 1
        named = [i for i in case.items if case.state.get("active_item") != i] if case.form != "none" else []
        if named:
            linking.setdefault(case.form, []).append(int(all(i in items for i in named)))
    per_intent = {i: {"precision": round(tp[i] / max(1, tp[i] + fp[i]), 3),
                      "recall": round(tp[i] / max(1, tp[i] + fn[i]), 3), "support": tp[i] + fn[i]}
                  for i in sorted(set(tp) | set(fn) | set(fp))}
    ms = sorted(1000 * s for s in seconds)
    return {
        "n": len(cases), "intent_accuracy": round(exact / len(cases), 3),
        "intent_order_accuracy": round(ordered / len(cases), 3), "per_intent": per_intent,
        "confusions": [[g, p, c] for (g, p), c in confusion.most_common(12)],
        "linking": {f: {"accuracy": round(sum(v) / len(v), 3), "n": len(v)} for f, v in sorted(linking.items())},
        "latency_ms": {"p50": round(statistics.median(ms), 1),
                       "p95": round(ms[int(0.95 * (len(ms) - 1))], 1)} if ms else {},
    }


def run_parser(parser, cases: list[Case]) -> tuple[list[tuple[list[str], list[str]]], list[float]]:
    out, seconds = [], []
    for case in cases:
        start = time.perf_counter()
        parsed = parser.parse(case.text, case.state)
        seconds.append(time.perf_counter() - start)
        items = list(parsed.items) + [i for i in (parsed.ordinal_item,) if i]
        out.append((parsed.intents, items))
    return out, seconds


def markdown_report(name: str, results: dict[str, dict[str, Any]]) -> str:
    """One table of headline numbers per system, then per-intent recall and the confusions."""
    systems = list(results)
    forms = sorted({f for r in results.values() for f in r["linking"]}, key=lambda f: FORMS.index(f))
    lines = [f"### {name}", "", "| measure | " + " | ".join(systems) + " |",
             "|---|" + "---|" * len(systems)]
    rows = [("intent accuracy (exact set)", lambda r: r["intent_accuracy"]),
            ("intents in order", lambda r: r["intent_order_accuracy"])]
    rows += [(f"linking, {f} names", lambda r, f=f: f"{r['linking'].get(f, {}).get('accuracy', '-')} "
              f"(n={r['linking'].get(f, {}).get('n', 0)})") for f in forms]
    rows += [("parse p50 / p95 ms", lambda r: f"{r['latency_ms'].get('p50')} / {r['latency_ms'].get('p95')}")]
    for label, get in rows:
        lines.append(f"| {label} | " + " | ".join(str(get(results[s])) for s in systems) + " |")
    intents = sorted({i for r in results.values() for i in r["per_intent"]})
    lines += ["", "| intent | support | " + " | ".join(f"{s} P / R" for s in systems) + " |",
              "|---|---|" + "---|" * len(systems)]
    for i in intents:
        cells = [f"{r['per_intent'].get(i, {}).get('precision', 0)} / {r['per_intent'].get(i, {}).get('recall', 0)}"
                 for r in results.values()]
        support = max(r["per_intent"].get(i, {}).get("support", 0) for r in results.values())
        lines.append(f"| {i} | {support} | " + " | ".join(cells) + " |")
    for s in systems:
        confusions = ", ".join(f"{g}->{p} ({c})" for g, p, c in results[s]["confusions"]) or "none"
        lines.append(f"\n{s} confusions (gold->said, single-intent questions): {confusions}")
    return "\n".join(lines)
