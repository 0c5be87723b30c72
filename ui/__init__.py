"""The Gradio app: a thin adapter from agent events to components.

`create_app(context, ...)` builds the Blocks without launching; `elixir-agent ui` launches it.
Names are imported on first use (Gradio is the `ui` extra).
"""

from elixir_agent._lazy import lazy_exports

_WHERE = {"QUICK_QUESTIONS": "app", "create_app": "app", "launch_app": "app",
          "ComparePair": "compare", "load_pairs": "compare", "Vote": "votes", "VoteStore": "votes"}
__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
