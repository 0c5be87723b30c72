"""The Gradio app: a thin adapter from agent events to components."""
