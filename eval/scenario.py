"""Multi-turn scenarios: scripted conversations with checks on each answer.

A scenario file (TOML or JSON) holds one scenario:

    name = "why-then-aspect"
    description = "..."
    [[turns]]
    say = "Would user {user} like item {item}, and why?"
    checks = ["states_rating", "cites_review", "grounded"]
    [[turns]]
    say = "What about the {aspect}?"
    checks = ["mentions_aspect:{aspect}"]

Placeholders come from a test pair: {user}, {item}, {item_name} and {aspect} (the aspect the
user cares most about, by predicted importance). Checks:

    states_rating        the answer states the predicted overall rating (to 1 or 2 decimals)
    mentions_aspect:X    the answer talks about aspect X (name or synonym)
    mentions_item        the answer names the item (id or name)
    cites_review         the answer cites at least one review id found in the evidence
    grounded             the verifier accepted the final answer
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from elixir_agent.eval.features import FeatureLexicon

__all__ = ["CHECKS", "Scenario", "bundled_scenarios", "load_scenarios", "run_scenarios"]

_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w])")


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    turns: list[dict[str, Any]]  # each: {"say": str, "checks": [str, ...]}


def _states_rating(turn: Any, ctx: dict[str, Any], _: str) -> bool:
    rating = ctx["rating"]
    return any(abs(float(n) - rating) < 0.5 * 10 ** -len(n.split(".")[1])
               for n in _NUMBER.findall(turn.answer) if "." in n)


def _mentions_aspect(turn: Any, ctx: dict[str, Any], aspect: str) -> bool:
    return aspect in FeatureLexicon.for_aspects([aspect]).features(turn.answer)


def _mentions_item(turn: Any, ctx: dict[str, Any], _: str) -> bool:
    answer = turn.answer.lower()
    return ctx["item"].lower() in answer or (bool(ctx["item_name"]) and ctx["item_name"].lower() in answer)


def _cites_review(turn: Any, ctx: dict[str, Any], _: str) -> bool:
    v = turn.verification
    return bool(set(v.cited_ids) - set(v.unknown_ids))


def _grounded(turn: Any, ctx: dict[str, Any], _: str) -> bool:
    return bool(turn.verification.ok)


CHECKS: dict[str, Callable[[Any, dict[str, Any], str], bool]] = {
    "states_rating": _states_rating,
    "mentions_aspect": _mentions_aspect,
    "mentions_item": _mentions_item,
    "cites_review": _cites_review,
    "grounded": _grounded,
}


def _parse(path: Path) -> Scenario:
    if path.suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
    elif path.suffix == ".toml":
        try:
            import tomllib
        except ImportError as error:  # Python 3.10
            raise ImportError("TOML scenarios need Python 3.11+; use a .json scenario file") from error
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    else:
        raise ValueError(f"{path}: scenario files are .toml or .json")
    turns = data.get("turns")
    if not isinstance(turns, list) or not turns or not all(isinstance(t, dict) and "say" in t for t in turns):
        raise ValueError(f"{path}: expected a non-empty [[turns]] list, each with a 'say' line")
    for number, turn in enumerate(turns, start=1):
        for check in turn.get("checks", []):
            if check.split(":", 1)[0] not in CHECKS:
                raise ValueError(f"{path}: turn {number}: unknown check {check!r}; known: {', '.join(CHECKS)}")
    return Scenario(str(data.get("name", path.stem)), str(data.get("description", "")), turns)


def load_scenarios(path: str | Path) -> list[Scenario]:
    """One scenario file, or every .toml/.json file of a folder (sorted by name)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".toml", ".json"))
        if not files:
            raise FileNotFoundError(f"{path}: no .toml or .json scenario files")
        return [_parse(p) for p in files]
    if not path.exists():
        raise FileNotFoundError(f"scenario file {path} does not exist")
    return [_parse(path)]


def bundled_scenarios() -> list[Scenario]:
    """The example scenarios shipped in `elixir_agent/eval/scenarios/`."""
    folder = resources.files("elixir_agent.eval") / "scenarios"
    return load_scenarios(Path(str(folder)))


def run_scenarios(
    scenarios: Sequence[Scenario],
    ask: Callable[[str, str], Any],
    contexts: Sequence[dict[str, Any]],
    transcript_path: Path | None = None,
) -> dict[str, Any]:
    """Run every scenario once per context and count passed checks.

    `ask(message, conversation_id)` returns a turn; each run is a fresh conversation. A
    context has `user`, `item`, `item_name`, `aspect` and `rating` (the predicted overall).
    Check names in the result keep their argument pattern ("mentions_aspect:{aspect}").
    """
    checks: dict[str, dict[str, int]] = {}
    per_scenario: dict[str, dict[str, int]] = {}
    transcripts = []
    for scenario in scenarios:
        stats = per_scenario.setdefault(scenario.name, {"runs": 0, "passed_runs": 0})
        for run, ctx in enumerate(contexts):
            conversation = f"scenario:{scenario.name}:{run}"
            all_passed = True
            for turn_spec in scenario.turns:
                message = turn_spec["say"].format(**ctx)
                turn = ask(message, conversation)
                results = {}
                for check in turn_spec.get("checks", []):
                    name, _, arg = check.partition(":")
                    passed = CHECKS[name](turn, ctx, arg.format(**ctx))
                    results[check] = passed
                    tally = checks.setdefault(check, {"passed": 0, "total": 0})
                    tally["passed"] += passed
                    tally["total"] += 1
                    all_passed &= passed
                transcripts.append({"scenario": scenario.name, "run": run, "say": message,
                                    "answer": turn.answer, "checks": results})
            stats["runs"] += 1
            stats["passed_runs"] += all_passed
    if transcript_path is not None:
        with transcript_path.open("w", encoding="utf-8") as f:
            f.writelines(json.dumps(t, ensure_ascii=False) + "\n" for t in transcripts)
    return {"checks": checks, "scenarios": per_scenario}
