"""The conversation: planners, memory, LLM backends and grounding, built as a LangGraph graph."""
