"""Scripted chat models and writers: the agent runs for real, only the LLM's words are scripted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, Field


class ScriptedChatModel(BaseChatModel):
    """Each call answers with `script(messages, call_number)`: an AIMessage (maybe with tool calls).

    Like a FunctionModel: the script can read the tool results in the transcript and react.
    Every prompt it received is kept in `prompts` so tests can check what the model saw.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)
    script: Callable[[list[BaseMessage], int], AIMessage]
    prompts: list[list[BaseMessage]] = Field(default_factory=list)
    bound_tools: list[str] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools, **kwargs: Any):
        self.bound_tools = [t.name for t in tools]
        return self

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        self.prompts.append(list(messages))
        reply = self.script(list(messages), len(self.prompts) - 1)
        return ChatResult(generations=[ChatGeneration(message=reply)])


class ScriptedWriter:
    """A `Writer` whose replies are scripted; it records the prompts it was given."""

    def __init__(self, replies: Callable[[str, str, int], str]):
        self.replies = replies
        self.prompts: list[tuple[str, str]] = []

    def write(self, system: str, prompt: str, *, max_tokens: int = 160) -> str:
        self.prompts.append((system, prompt))
        return self.replies(system, prompt, len(self.prompts) - 1)
