"""Typed LangChain tools over the core model, the review index and the catalog."""
