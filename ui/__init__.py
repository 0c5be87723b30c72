"""The Gradio app: a thin adapter from agent events to components.

`create_app(context, ...)` builds the Blocks without launching; `elixir-agent ui` launches it.
"""

from elixir_agent.ui.app import QUICK_QUESTIONS, create_app, launch_app
from elixir_agent.ui.compare import ComparePair, load_pairs
from elixir_agent.ui.votes import Vote, VoteStore

__all__ = ["QUICK_QUESTIONS", "ComparePair", "Vote", "VoteStore", "create_app", "launch_app", "load_pairs"]
