"""`elixir-agent bench agent`: turn latency and grounding over generated questions.

Questions are generated from test pairs (a user and an item the user reviewed in the held-out
split), cycling over the kinds of question the agent handles, each in a fresh conversation.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass, field

import pandas as pd

from elixir_agent.agent.graph import ElixirAgent

__all__ = ["AgentBench", "generate_questions", "markdown_table", "run_bench"]

_TEMPLATES = [
    "Would I like this one?",
    "Why would I like it?",
    "How is the {aspect}?",
    "Show me reviews about the {aspect}.",
    "Compare it with {other}.",
    "Recommend me 3 items.",
    "Tell me about this one.",
    "What would my review of it say?",
    "What do I usually like?",
    "How does it do on each aspect?",
]


@dataclass
class AgentBench:
    llm: str
    planner: str
    n_turns: int
    p50_s: float
    p95_s: float
    mean_s: float
    verified_share: float  # final answers whose every number and citation is grounded
    draft_verified_share: float  # first drafts that passed before any revision/replacement
    actions: dict[str, int]
    load_s: float
    turns: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def generate_questions(test: pd.DataFrame, aspects: list[str], item_names: dict[str, str],
                       n: int = 50, seed: int = 0) -> list[tuple[str, str, str]]:
    """(user, item, question) triples over distinct test pairs, cycling over the templates."""
    pairs = test[["user_id", "item_id"]].drop_duplicates().sample(
        frac=1.0, random_state=seed).itertuples(index=False)
    items = sorted(item_names)
    out = []
    for k, (user, item) in enumerate(pairs):
        if len(out) >= n:
            break
        other = items[(items.index(item) + 1) % len(items)] if item in items else items[0]
        question = _TEMPLATES[k % len(_TEMPLATES)].format(
            aspect=aspects[k % len(aspects)], other=item_names.get(other, other))
        out.append((user, item, question))
    return out


def run_bench(agent: ElixirAgent, questions: list[tuple[str, str, str]], *, llm: str,
              load_s: float = 0.0) -> AgentBench:
    latencies, turns, actions = [], [], {}
    for k, (user, item, question) in enumerate(questions):
        start = time.perf_counter()
        turn = agent.ask(question, conversation_id=f"bench-{k}", user_id=user, item_id=item)
        latencies.append(time.perf_counter() - start)
        v = turn.verification
        actions[v.action] = actions.get(v.action, 0) + 1
        turns.append({"question": question, "user": user, "item": item, "intent": turn.intent,
                      "tools": [c.name for c in turn.tool_calls], "seconds": latencies[-1],
                      "ok": v.ok, "draft_ok": v.draft_ok, "action": v.action,
                      "unsupported": v.unsupported_numbers, "answer": turn.answer})
    ordered = sorted(latencies)
    return AgentBench(
        llm=llm, planner=agent.planner, n_turns=len(turns),
        p50_s=round(statistics.median(ordered), 4),
        p95_s=round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 4),
        mean_s=round(statistics.fmean(ordered), 4),
        verified_share=round(sum(t["ok"] for t in turns) / len(turns), 4),
        draft_verified_share=round(sum(t["draft_ok"] for t in turns) / len(turns), 4),
        actions=actions, load_s=round(load_s, 3), turns=turns)


def markdown_table(results: list[AgentBench]) -> str:
    """One row per configuration: latency, verification and what happened to the drafts."""
    lines = ["| llm (drafting) | planner | turns | p50 s | p95 s | mean s | verified | "
             "drafts accepted | revised | replaced |", "|" + " --- |" * 10]
    for r in results:
        lines.append(
            f"| {r.llm} | {r.planner} | {r.n_turns} | {r.p50_s:.2f} | {r.p95_s:.2f} | "
            f"{r.mean_s:.2f} | {100 * r.verified_share:.0f}% | {r.actions.get('accepted', 0)} | "
            f"{r.actions.get('revised', 0)} | {r.actions.get('replaced', 0)} |")
    return "\n".join(lines)
