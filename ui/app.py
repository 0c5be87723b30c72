"""`create_app`: the Gradio Blocks of the chat, the evidence panel and the compare tab.

The app is a thin adapter: it sends what the person typed (and the picked user and item) to
`ElixirAgent.stream`, shows each tool call as it runs and finishes, and maps the final `Turn`
to the answer and the evidence panel. It builds without launching a server, so tests can
inspect or launch it in-process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import gradio as gr

from elixir_agent.agent.graph import ElixirAgent, build_agent
from elixir_agent.agent.streaming import TurnEvent
from elixir_agent.tools.context import ToolContext
from elixir_agent.ui import compare
from elixir_agent.ui.chat import (
    BACKEND_ERRORS,
    Session,
    TurnProgress,
    check_ids,
    conversation_storage_key,
    notice_message,
    stream_answer,
    turn_messages,
)
from elixir_agent.ui.evidence import (
    EvidenceView,
    aspect_figure,
    badge_html,
    rating_markdown,
    reviews_markdown,
)

__all__ = ["APP_CSS", "QUICK_QUESTIONS", "create_app", "launch_app"]

QUICK_QUESTIONS = ("Would I like it?", "Why?", "Which aspects matter to me?",
                   "Show similar reviews", "Recommend something else")

# Gradio hands this key to the page itself, so it hides nothing from the browser; it is fixed
# so that a restarted app can read the id it stored. Conversations stay apart because their
# ids are random, not because of this key.
_BROWSER_SECRET = "elixir-agent-conversation"

APP_CSS = """
#evidence-panel {border-left: 1px solid var(--border-color-primary); padding-left: 12px}
.quick-question button {font-size: 0.9em}
"""


def create_app(context: ToolContext, *, agent: ElixirAgent | None = None, llm: Any = "none",
               embedder: Any = None, pairs: Sequence[compare.ComparePair] = (),
               votes_dir: str | Path | None = None, notices: Sequence[str] = (),
               checkpointer: Any = None, concurrency: int = 1,
               title: str = "elixir-agent") -> gr.Blocks:
    """Build the app.

    `agent`: a built agent; without one it is built from `context` with `llm`, `embedder` and
    `checkpointer` (see `elixir_agent.agent.build_agent`; with
    `elixir_agent.agent.sqlite_checkpointer(path)` conversations survive a restart). `pairs`: held-out (user, item, review) triples for
    the compare tab; without them the tab says how to get them. `votes_dir`: where blind A/B
    votes go (no voting without it). `notices`: lines shown above the chat (e.g. "no review
    index loaded"). `concurrency`: turns run at once across all sessions (1 for a local LLM,
    which is not thread-safe).

    The browser keeps its conversation id in local storage, so reloading the page continues
    the conversation, transcript included, for as long as the agent remembers it.
    """
    agent = agent or build_agent(context, llm=llm, embedder=embedder, checkpointer=checkpointer)
    handlers = _ChatHandlers(agent, context, llm)
    catalog = context.catalog
    first = pairs[0] if pairs else None

    with gr.Blocks(title=title, fill_width=True) as app:
        session = gr.State(Session())
        kept_id = gr.BrowserState("", storage_key=conversation_storage_key(catalog),
                                  secret=_BROWSER_SECRET)
        gr.Markdown(f"# {title}\nWhy would I like this? Answers grounded in the recommender's "
                    "predictions and in real reviews, with every number checked."
                    + ("\n\n**Synthetic data**: users, items and reviews are generated, not real."
                       if catalog.synthetic else ""))
        for line in notices:
            gr.Markdown(f"⚠️ {line}", elem_classes=["app-notice"])
        with gr.Tab("Chat"), gr.Row():
            with gr.Column(scale=3):
                with gr.Row():
                    user = gr.Dropdown(
                        choices=[(f"{s.name} · {u}", u) for u, s in catalog.users.items()],
                        value=first.user_id if first else None, label="User",
                        info="Search by id or name", allow_custom_value=True, elem_id="user-picker")
                    item = gr.Dropdown(
                        choices=[(f"{s.name} · {i}", i) for i, s in catalog.items.items()],
                        value=first.item_id if first else None, label="Item",
                        info="Search by id or name", allow_custom_value=True, elem_id="item-picker")
                chatbot = gr.Chatbot(label="Conversation", height=480, elem_id="chat",
                                     placeholder="Ask about the picked user and item.")
                with gr.Row():
                    text = gr.Textbox(placeholder="Would I like it? Why? How is the location?",
                                      show_label=False, scale=5, elem_id="question")
                    send = gr.Button("Send", variant="primary", scale=1, elem_id="send")
                with gr.Row():
                    quick = [gr.Button(q, size="sm", elem_classes=["quick-question"])
                             for q in QUICK_QUESTIONS]
                new = gr.Button("New conversation", size="sm", elem_id="new-conversation")
            with gr.Column(scale=2, elem_id="evidence-panel"):
                gr.Markdown("### Evidence")
                rating = gr.Markdown(rating_markdown(EvidenceView()), elem_id="evidence-rating")
                plot = gr.Plot(label="Aspects", elem_id="evidence-aspects")
                badge = gr.HTML(badge_html(None), elem_id="evidence-badge")
                gr.Markdown("#### Cited reviews")
                reviews = gr.Markdown(reviews_markdown(EvidenceView()), elem_id="evidence-reviews")

        panel = [rating, plot, badge, reviews]
        outputs = [chatbot, text, session, user, item, *panel]
        shared = dict(outputs=outputs, concurrency_limit=concurrency, concurrency_id="agent")
        gr.on([text.submit, send.click], handlers.respond, inputs=[text, user, item, session],
              api_name="ask", **shared)
        for button, question in zip(quick, QUICK_QUESTIONS, strict=True):
            button.click(handlers.quick(question), inputs=[user, item, session],
                         api_visibility="private", **shared)
        new.click(handlers.new_conversation, inputs=[user, item], outputs=[*outputs, kept_id],
                  api_name="new_conversation")
        app.load(handlers.start, inputs=[session, kept_id],
                 outputs=[session, kept_id, chatbot, user, item], api_visibility="private")

        with gr.Tab("Compare"):
            compare.build_tab(agent, context, pairs, votes_dir, concurrency=concurrency)
    return app


class _ChatHandlers:
    """Event handlers of the chat tab; the agent and the context are shared, sessions are not."""

    def __init__(self, agent: ElixirAgent, context: ToolContext, llm: Any):
        self.agent, self.context, self.llm = agent, context, llm

    def start(self, session: Session, kept_id: str | None):
        """On page load: continue this browser's conversation if the agent still remembers it.

        The transcript and the remembered user and item come back; the evidence panel starts
        empty (it shows the evidence of turns answered in this page).
        """
        if session.conversation_id or not kept_id:
            session = session.ensure_id()
            return session, session.conversation_id, gr.skip(), gr.skip(), gr.skip()
        memory = self.agent.memory(kept_id)
        session = Session.resumed(kept_id, self.agent.transcript(kept_id),
                                  memory.get("active_user"), memory.get("active_item"))
        return (session, kept_id, list(session.messages) or gr.skip(),
                session.sent_user or gr.skip(), session.sent_item or gr.skip())

    def new_conversation(self, user: str | None, item: str | None):
        session = Session.new()
        view = EvidenceView()
        return ([], "", session, user, item, *_panel(view), session.conversation_id)

    def quick(self, question: str):
        def ask(user, item, session):
            yield from self.respond(question, user, item, session)
        return ask

    def respond(self, message: str, user: str | None, item: str | None, session: Session):
        session = (session or Session()).ensure_id()
        message = (message or "").strip()
        if not message:
            yield list(session.messages), "", session, user, item, *_panel(session.evidence)
            return
        asked = gr.ChatMessage(role="user", content=message)
        problem = check_ids(self.context.catalog, self.context.recommender.has_user,
                            self.context.recommender.has_item, user, item)
        if problem:
            session = replace(session, messages=(*session.messages, asked, notice_message(problem)))
            yield list(session.messages), "", session, user, item, *_panel(session.evidence)
            return
        history = [*session.messages, asked]
        unchanged = [gr.skip()] * 7  # session, pickers and panel stay as they are while the turn runs
        progress = TurnProgress()
        yield [*history, *progress.messages()], "", *unchanged
        try:
            # Picker values are sent only when they changed, so "what about h0003?" in the
            # text can move the conversation to another item without the picker undoing it.
            for event in self.agent.stream(message, conversation_id=session.conversation_id,
                                           user_id=user if user != session.sent_user else None,
                                           item_id=item if item != session.sent_item else None):
                if isinstance(event, TurnEvent):
                    turn = event.turn
                else:
                    yield [*history, *progress.update(event)], "", *unchanged
        except BACKEND_ERRORS as error:
            note = notice_message(
                f"The language model backend (`--llm {self.llm}`) is not reachable: {error}. "
                "Start it, or run the app with `--llm none` to answer with the grounded "
                "composer only.")
            session = replace(session, messages=(*history, note))
            yield list(session.messages), "", session, user, item, *_panel(session.evidence)
            return
        *steps, answer = turn_messages(turn)
        history += steps
        for partial in stream_answer(turn.answer):
            yield [*history, gr.ChatMessage(role="assistant", content=partial)], "", *unchanged
        history.append(answer)
        user, item = turn.active_user or user, turn.active_item or item
        session = replace(session, messages=tuple(history), sent_user=user, sent_item=item,
                          evidence=session.evidence.update(turn))
        yield list(session.messages), "", session, user, item, *_panel(session.evidence)


def _panel(view: EvidenceView) -> list[Any]:
    return [rating_markdown(view), aspect_figure(view), badge_html(view.verification),
            reviews_markdown(view)]


def launch_app(app: gr.Blocks, *, host: str = "127.0.0.1", port: int | None = 7860,
               auth: tuple[str, str] | None = None, block: bool = True, quiet: bool = False):
    """Start the server; returns Gradio's (app, local URL, share URL) when `block` is False.

    Local by default. Never shares through Gradio's tunnel: exposing the app is a decision
    made with `host` (and `auth`), not a side effect.
    """
    return app.launch(server_name=host, server_port=port, auth=auth, share=False,
                      prevent_thread_lock=not block, quiet=quiet, css=APP_CSS,
                      footer_links=[], show_error=False)
