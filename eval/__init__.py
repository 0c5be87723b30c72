"""Evaluation: pure metric functions and the agent-vs-core-only runner."""
