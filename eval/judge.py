"""Optional pairwise LLM judge: which of two explanations is more informative, persuasive, faithful.

Each pair is judged twice with the order swapped, because LLM judges favour a position; a
criterion counts as a win only when both orders agree, and as a tie otherwise. Verdicts are
appended to `judge.jsonl` as they come, so a resumed run does not pay for them again.

A provider model answers through LangChain's `with_structured_output(Verdict)`; a model
without structured output (or a scripted one in tests) answers in text, and the first JSON
object in it is read instead.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = ["CRITERIA", "PairwiseJudge", "Verdict"]

CRITERIA = ("informative", "persuasive", "faithful")
_JSON = re.compile(r"\{.*?\}", re.DOTALL)


Choice = Literal["1", "2", "tie"]


class Verdict(BaseModel):
    """The judge's answer: which explanation (1 or 2, as shown) is better on each criterion."""

    informative: Choice = Field(description="Which tells the user more that is specific and useful.")
    persuasive: Choice = Field(description="Which would better help the user decide.")
    faithful: Choice = Field(description="Which agrees better with the evidence (no invented claims).")


def _prompt_template() -> str:
    return (resources.files("elixir_agent.eval") / "prompts" / "judge.md").read_text(encoding="utf-8")


def _parse(content: str) -> dict[str, str]:
    """criterion -> "1" | "2" | "tie"; anything unreadable is a tie (the judge did not decide)."""
    match = _JSON.search(content)
    try:
        data = json.loads(match.group(0)) if match else {}
    except json.JSONDecodeError:
        data = {}
    verdicts = {c: str(data.get(c, "tie")).strip() for c in CRITERIA}
    return {c: v if v in ("1", "2") else "tie" for c, v in verdicts.items()}


def _text(content: Any) -> str:
    if isinstance(content, list):  # content blocks
        return "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content)
    return str(content)


class PairwiseJudge:
    """`chat` is any LangChain chat model (anything with `invoke(str) -> message`)."""

    def __init__(self, chat: Any, model: str):
        self.chat = chat
        self.model = model
        self.template = _prompt_template()

    @classmethod
    def from_spec(cls, spec: str) -> PairwiseJudge:
        """A judge from a `provider:model` string via LangChain's `init_chat_model`."""
        from langchain.chat_models import init_chat_model

        chat = init_chat_model(spec, temperature=0)
        with contextlib.suppress(NotImplementedError):  # else the text answer is parsed
            chat = chat.with_structured_output(Verdict)
        return cls(chat, spec)

    def _ask(self, evidence: str, first: str, second: str) -> dict[str, str]:
        prompt = self.template.format(evidence=evidence, first=first, second=second)
        answer = self.chat.invoke(prompt)
        if isinstance(answer, Verdict):
            return answer.model_dump()
        return _parse(_text(answer.content))

    def judge_pair(self, record: dict[str, Any], a: str, b: str) -> dict[str, str]:
        """criterion -> "a" | "b" | "tie" for one record, from both presentation orders."""
        ex_a, ex_b = record["systems"][a], record["systems"][b]
        source = ex_a if ex_a.get("aspect_ratings") else ex_b
        evidence = json.dumps({"predicted_rating": source.get("rating"),
                               "predicted_aspect_ratings": source.get("aspect_ratings")})
        forward = self._ask(evidence, ex_a["text"], ex_b["text"])   # a shown first
        backward = self._ask(evidence, ex_b["text"], ex_a["text"])  # b shown first
        out = {}
        for c in CRITERIA:
            first = {"1": "a", "2": "b"}.get(forward[c], "tie")
            second = {"1": "b", "2": "a"}.get(backward[c], "tie")
            out[c] = first if first == second else "tie"
        return out

    def compare(self, records: Sequence[dict[str, Any]], a: str, b: str, path: Path, *,
                progress: bool = True) -> dict[str, Any]:
        from rich.progress import Progress

        done: dict[str, dict[str, str]] = {}
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip().endswith("}"):
                    row = json.loads(line)
                    done[row["pair_id"]] = row["verdict"]
        with path.open("a", encoding="utf-8") as sink, Progress(disable=not progress) as bar:
            task = bar.add_task("judging pairs", total=len(records))
            for record in records:
                if record["pair_id"] not in done:
                    verdict = self.judge_pair(record, a, b)
                    sink.write(json.dumps({"pair_id": record["pair_id"], "verdict": verdict}) + "\n")
                    sink.flush()
                    done[record["pair_id"]] = verdict
                bar.advance(task)
        criteria = {c: {"a": 0, "b": 0, "tie": 0} for c in CRITERIA}
        for record in records:
            for c, winner in done[record["pair_id"]].items():
                criteria[c][winner] += 1
        return {"model": self.model, "a": a, "b": b, "criteria": criteria}
