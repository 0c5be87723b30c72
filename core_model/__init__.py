"""The ELIXIR core: data loading and preparation, the aspect-aware model, training and inference.

Never imports LangChain or Gradio: the tools and the agent depend on this layer, not the
other way round.
"""
