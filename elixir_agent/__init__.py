"""elixir-agent: grounded, conversational explanations of recommendations.

The layers live in top-level folders of the repository and install as
`elixir_agent.core_model`, `elixir_agent.retrieval`, `elixir_agent.tools`,
`elixir_agent.agent`, `elixir_agent.ui` and `elixir_agent.eval`.
"""

from elixir_agent.offline import block_hub_kernels

__version__ = "0.1.0"

# Before anything imports peft/bitsandbytes, which would look up kernels on the Hub.
block_hub_kernels()
