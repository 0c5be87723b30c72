"""The compare tab: core-only vs agent explanations of one held-out pair, and blind A/B votes.

Both explanations come from the explainers the evaluation harness uses (`agent.explainers`), so the
tab shows exactly what the evaluation report measures; the metrics beside each text are the
harness's pure metric functions applied to this one pair.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import gradio as gr

from elixir_agent.tools.context import ToolContext
from elixir_agent.ui.votes import CHOICES, Vote, VoteStore, summary_markdown

__all__ = ["ComparePair", "build_tab", "explanation_metrics", "load_pairs"]

_NAMES = {"agent": "Agent (tools + grounding)", "core": "Core-only (generated review)"}


@dataclass(frozen=True)
class ComparePair:
    """A held-out (user, item) pair with the review the user really wrote."""

    user_id: str
    item_id: str
    reference: str
    rating: float


def load_pairs(data_dir: str | Path, context: ToolContext, limit: int = 200,
               split: str = "test") -> list[ComparePair]:
    """Up to `limit` pairs of a split whose user and item the recommender knows."""
    from elixir_agent.core_model.data.storage import load_prepared

    frame = load_prepared(data_dir).split(split)
    known = context.recommender
    out = []
    for row in frame.itertuples(index=False):
        if known.has_user(str(row.user_id)) and known.has_item(str(row.item_id)):
            out.append(ComparePair(str(row.user_id), str(row.item_id), str(row.text), float(row.rating)))
        if len(out) >= limit:
            break
    return out


def explanation_metrics(explanation, reference: str) -> dict[str, Any]:
    """Per-explanation numbers: overlap with the real review, length, grounding, latency."""
    from elixir_agent.core_model.text_metrics import bleu, rouge_f1

    text = explanation.text or ""
    metrics: dict[str, Any] = {
        "predicted rating": None if explanation.rating is None else round(explanation.rating, 2),
        "BLEU-1 vs real review": round(bleu([text], [reference], max_order=1), 2) if text else 0.0,
        "ROUGE-L F1 vs real review": round(rouge_f1([text], [reference])["rougeL"], 2) if text else 0.0,
        "words": len(text.split()),
        "cited reviews": len(explanation.cited_ids),
        "seconds": round(explanation.latency, 2),
    }
    g = explanation.grounding
    metrics["grounded claims"] = f"{g.verified}/{g.claims}" if g is not None else "no verifier"
    return metrics


def _metrics_markdown(metrics: dict[str, Any]) -> str:
    return "| metric | value |\n| --- | --- |\n" + "\n".join(
        f"| {name} | {'n/a' if value is None else value} |" for name, value in metrics.items())


def build_tab(agent, context: ToolContext, pairs, votes_dir: str | Path | None, *,
              concurrency: int = 1) -> None:
    """Add the compare tab's components and events to the enclosing Blocks."""
    if not pairs:
        gr.Markdown("No held-out pairs to compare: start the app with `--data DIR` (a prepared "
                    "dataset with a test split) to compare core-only and agent explanations.")
        return
    store = VoteStore(votes_dir) if votes_dir is not None else None
    tab = _CompareHandlers(agent, context, list(pairs), store)
    state = gr.State(None)
    gr.Markdown("Pick a held-out pair, or a random one, and compare the two explanations. In "
                "blind mode the sides are shuffled and named A and B until you vote.")
    with gr.Row():
        choice = gr.Dropdown(
            choices=[(f"{p.user_id} · {context.catalog.item_name(p.item_id)} ({p.item_id})", n)
                     for n, p in enumerate(tab.pairs)], value=0, label="Held-out pair", scale=4)
        blind = gr.Checkbox(value=store is not None, label="Blind A/B", interactive=store is not None,
                            scale=1)
        pick = gr.Button("Random pair", scale=1)
        run = gr.Button("Explain both", variant="primary", scale=1, elem_id="compare-run")
    with gr.Row():
        sides = []
        for _ in range(2):
            with gr.Column():
                sides += [gr.Markdown("### —"), gr.Markdown(""), gr.Markdown("")]
    with gr.Accordion("The review the user really wrote (held out)", open=False):
        reference = gr.Markdown("")
    with gr.Row():
        votes = [gr.Button(label, interactive=False, size="sm")
                 for label in ("A is better", "B is better", "Tie", "Both bad")]
    status = gr.Markdown(summary_markdown(store.summary()) if store else
                         "Voting is off: start the app with a votes directory to record votes.")
    shown = [*sides, reference, *votes, status, state]
    pick.click(lambda: random.randrange(len(tab.pairs)), outputs=[choice], api_visibility="private")
    run.click(tab.explain, inputs=[choice, blind], outputs=shown, concurrency_limit=concurrency,
              concurrency_id="agent", api_name="compare")
    for button, vote in zip(votes, CHOICES, strict=True):
        button.click(tab.voter(vote), inputs=[state], outputs=shown, api_visibility="private")


class _CompareHandlers:
    def __init__(self, agent, context: ToolContext, pairs: list[ComparePair], store: VoteStore | None):
        self.agent, self.context, self.pairs, self.store = agent, context, pairs, store

    def explain(self, index: int | None, blind: bool):
        from elixir_agent.agent.explainers import AgentExplainer, CoreExplainer

        pair = self.pairs[int(index or 0)]
        recommender = self.context.recommender
        # A fresh conversation per comparison, so memory of the chat tab never leaks in.
        prefix = f"compare-{uuid.uuid4().hex[:12]}"
        agent = AgentExplainer(lambda q, cid, **context: self.agent.ask(q, conversation_id=cid, **context),
                               fallback=recommender, conversation_prefix=prefix)
        results = {"agent": agent.explain(pair.user_id, pair.item_id),
                   "core": CoreExplainer(recommender).explain(pair.user_id, pair.item_id)}
        order = ["agent", "core"]
        if blind:
            random.shuffle(order)
        state = {"pair": pair, "sides": {"A": order[0], "B": order[1]}, "blind": bool(blind),
                 "voted": False, "session": prefix,
                 "texts": {k: v.text for k, v in results.items()},
                 "metrics": {k: explanation_metrics(v, pair.reference) for k, v in results.items()}}
        return self._render(state)

    def voter(self, choice: str):
        def vote(state: dict | None):
            if not state or state["voted"] or not state["blind"] or self.store is None:
                return self._render(state) if state else [gr.skip()] * 13
            pair = state["pair"]
            self.store.add(Vote(user_id=pair.user_id, item_id=pair.item_id, sides=state["sides"],
                                choice=choice, time=datetime.now(timezone.utc).isoformat(),
                                session=state["session"]))
            return self._render({**state, "voted": True, "choice": choice})
        return vote

    def _render(self, state: dict) -> list[Any]:
        hidden = state["blind"] and not state["voted"]
        columns: list[Any] = []
        for side in ("A", "B"):
            system = state["sides"][side]
            name = f"Explanation {side}" if hidden else (
                f"{side}: {_NAMES[system]}" if state["blind"] else _NAMES[system])
            columns += [f"### {name}", state["texts"][system] or "_(empty)_",
                        "_Metrics hidden until you vote._" if hidden
                        else _metrics_markdown(state["metrics"][system])]
        pair = state["pair"]
        reference = f"Rated **{pair.rating:.1f}** by `{pair.user_id}`:\n\n> {pair.reference}"
        can_vote = hidden and self.store is not None
        buttons = [gr.update(interactive=can_vote) for _ in CHOICES]
        if state["voted"]:
            status = (f"Vote recorded ({state['choice']}). "
                      + summary_markdown(self.store.summary() if self.store else {}))
        elif can_vote:
            status = "Which explanation is more useful and convincing? Vote to reveal the systems."
        else:
            status = summary_markdown(self.store.summary()) if self.store else "Voting is off."
        return [*columns, reference, *buttons, status, state]
