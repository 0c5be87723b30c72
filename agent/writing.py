"""How a writer LLM takes part in the routed planner's answers: the whole answer, or its lead.

* ``full``: the LLM writes the whole answer from the tool evidence (review text fenced as
  data). Right for capable chat models.
* ``lead``: the LLM writes one or two opening sentences from a digest of the evidence, and the
  deterministic composer's grounded body follows. Right for the embedded 135M model: its
  prompt shrinks from the full evidence (about 700 tokens, 3 s of prompt processing on two
  cores) to the digest (about 150 tokens), the numbers the person reads come from the
  composer, and strangers' review text never reaches its prompt.

Both go through the same verifier; a failed draft is revised once, then replaced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from elixir_agent.agent.answers import verdict
from elixir_agent.agent.compose import compose, digest
from elixir_agent.agent.llm import Writer, load_prompt
from elixir_agent.tools.artifacts import parse_artifact

__all__ = ["DRAFTING_MODES", "Drafter", "default_drafting", "lead_problems"]

DRAFTING_MODES = ("full", "lead")
_EVIDENCE_CHARS = 2400  # keeps the local model's prompt inside its context window
_LEAD_TOKENS = 48  # one or two sentences
# The opening needs the headline facts (verdict, strongest and weakest aspect), not every
# line: prompt processing is most of a small model's time on a CPU (about 230 tokens/s here).
# Its words are still checked against the whole digest.
_LEAD_FACT_CHARS = 400


def default_drafting(writer: Writer | None) -> str:
    """`lead` for the embedded llama.cpp model, `full` for everything else."""
    from elixir_agent.agent.llm import LlamaCppWriter

    return "lead" if isinstance(writer, LlamaCppWriter) else "full"


@dataclass(frozen=True)
class Drafter:
    """Writes a draft answer from a turn's tool records, and rewrites it once when asked."""

    writer: Writer
    mode: str = "full"
    max_tokens: int = 160

    def __post_init__(self) -> None:
        if self.mode not in DRAFTING_MODES:
            raise ValueError(f"drafting mode {self.mode!r}: expected one of {DRAFTING_MODES}")

    def draft(self, question: str, records: list[dict], preferences: list[str],
              intent: str | None) -> str:
        if self.mode == "lead":
            facts = digest(records, preferences=preferences, intent=intent,
                           max_chars=_LEAD_FACT_CHARS)
            lead = self.writer.write(load_prompt("lead"), load_prompt(
                "lead_task", question=question, preferences=_preferences_line(preferences),
                facts=facts), max_tokens=_LEAD_TOKENS)
            return self._with_body(lead, records, preferences, intent)
        return self.writer.write(load_prompt("writer"), load_prompt(
            "writer_task", question=question, preferences=_preferences_line(preferences),
            evidence=evidence_text(records)), max_tokens=self.max_tokens)

    def revise(self, draft: str, problems: list[str], question: str, records: list[dict],
               preferences: list[str], intent: str | None) -> str:
        listed = "\n".join(problems)
        if self.mode == "lead":
            lead = _lead_of(draft, records, preferences, intent)
            rewritten = self.writer.write(load_prompt("lead"), load_prompt(
                "lead_revise", problems=listed, draft=lead, question=question,
                facts=digest(records, preferences=preferences, intent=intent,
                             max_chars=_LEAD_FACT_CHARS)),
                max_tokens=_LEAD_TOKENS)
            return self._with_body(rewritten, records, preferences, intent)
        return self.writer.write(load_prompt("writer"), load_prompt(
            "revise", problems=listed, draft=draft, question=question,
            evidence=evidence_text(records)), max_tokens=self.max_tokens)

    def problems(self, draft: str, question: str, records: list[dict],
                 preferences: list[str], intent: str | None) -> list[str]:
        """What the verifier cannot see in a lead-in: invented names, praise, contradictions."""
        if self.mode != "lead":
            return []
        lead = _lead_of(draft, records, preferences, intent)
        return lead_problems(lead, question, digest(records, preferences=preferences,
                                                    intent=intent), records)

    @staticmethod
    def _with_body(lead: str, records: list[dict], preferences: list[str],
                   intent: str | None) -> str:
        body = compose(records, preferences=preferences, intent=intent)
        return "\n\n".join(p for p in (_one_paragraph(lead), body) if p)


def _lead_of(draft: str, records: list[dict], preferences: list[str],
             intent: str | None) -> str:
    """The LLM's opening of a lead-mode draft: the draft without the composed body."""
    return draft.removesuffix(compose(records, preferences=preferences, intent=intent)).strip()


def evidence_text(records: list[dict[str, Any]]) -> str:
    """The tools' texts as the LLM reads them (reviews inside are fenced by the tools)."""
    parts = []
    for r in records:
        head = f"[tool {r['name']}]" + ("" if r["status"] == "success" else " (error)")
        parts.append(f"{head}\n{r['content']}")
    text = "\n\n".join(parts)
    return text if len(text) <= _EVIDENCE_CHARS else text[:_EVIDENCE_CHARS] + "\n[...]"


def _preferences_line(preferences: list[str]) -> str:
    return (f"The person said these aspects matter most to them: {', '.join(preferences)}.\n"
            if preferences else "")


def _one_paragraph(text: str) -> str:
    """A lead-in is one paragraph: a small model sometimes runs on into a list of its own."""
    return " ".join(text.strip().split("\n\n", 1)[0].split())


# A lead-in may use the facts' own words, the question's, and these plain words of explanation.
# Anything else (places, features, praise, reviewers) is something the model made up.
_PLAIN_WORDS = frozenset(
    word for line in files("elixir_agent.agent").joinpath("prompts", "lead_words.txt")
    .read_text("utf-8").splitlines() if not line.startswith("#") for word in line.split())
_PRAISE = ("great", "excellent", "love", "perfect", "amazing", "fantastic", "outstanding",
           "highly", "wonderful", "must")
_DISPRAISE = ("not for you", "poor", "bad", "terrible", "avoid", "disappointing", "dislike")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


def lead_problems(lead: str, question: str, facts: str, records: list[dict]) -> list[str]:
    """Checks a lead-in must pass besides the number and citation check of the whole answer.

    A lead carries no numbers (the body does), uses no word that is neither in the facts, nor
    in the question, nor a plain word of explanation, and does not contradict the verdict.
    """
    problems = []
    if not lead:
        return ["- the opening is empty"]
    if not re.search(r"[.!?]$", lead):
        problems.append("- the opening is not a complete sentence")
    if re.search(r"\d", lead):
        problems.append("- the opening states numbers; leave them to the facts")
    known = set(_WORD.findall(f"{facts}\n{question}".lower())) | _PLAIN_WORDS
    invented = [w for w in dict.fromkeys(_WORD.findall(lead.lower()))
                if w not in known and w.rstrip("s") not in known]
    if invented:
        problems.append(f"- the facts do not say: {', '.join(invented[:8])}")
    lowered = lead.lower()
    rating = _predicted_rating(records)
    if rating is not None and rating < 3.0 and any(re.search(rf"\b{w}", lowered) for w in _PRAISE):
        problems.append("- the opening praises an item the model predicts you would not like")
    if rating is not None and rating >= 4.0 and any(w in lowered for w in _DISPRAISE):
        problems.append("- the opening runs down an item the model predicts you would like")
    return problems


def _predicted_rating(records: list[dict]) -> float | None:
    models = [parse_artifact(r.get("artifact")) for r in records if r["status"] == "success"]
    found = verdict([m for m in models if m is not None])
    return None if found is None else found.rating
