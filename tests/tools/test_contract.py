"""One contract every registered tool meets (built-ins and entry-point plugins alike)."""

from __future__ import annotations

import pytest
from langchain_core.messages import ToolMessage

from elixir_agent.tools.intents import INTENTS, declared_intents
from elixir_agent.tools.registry import BUILTIN, available, load_tools

NAMES = sorted(available())


def _example_args(schema, world) -> dict:
    """Valid arguments built from field names, so a new tool is tested without extra code."""
    user = world.test.user_id.iloc[0]
    items = sorted(world.catalog.items)
    by_name = {"user_id": user, "item_id": items[0], "item_a": items[0], "item_b": items[1],
               "query": "clean room", "aspects": [world.catalog.aspects[0]]}
    args = {}
    for name, field in schema.model_fields.items():
        if name in by_name:
            args[name] = by_name[name]
        elif field.is_required():
            pytest.fail(f"no example value for required field {name!r}; extend _example_args")
    return args


@pytest.mark.parametrize("name", NAMES)
def test_tool_contract(name, world):
    tool = load_tools(world.context, [name])[name]
    assert tool.name == name
    assert len(tool.description) >= 60, "descriptions are prompts: say what, when and returns"
    assert tool.response_format == "content_and_artifact"
    schema = tool.args_schema
    for field_name, field in schema.model_fields.items():
        assert field.description, f"{name}.{field_name} has no description for the LLM"
    message = tool.invoke({"type": "tool_call", "id": "call-1", "name": name,
                           "args": _example_args(schema, world)})
    assert isinstance(message, ToolMessage)
    assert message.status == "success", message.content
    assert isinstance(message.content, str) and message.content
    assert isinstance(message.artifact, dict) and message.artifact["tool"] == name
    assert set(declared_intents(tool)) <= set(INTENTS)
    if name in BUILTIN:
        assert declared_intents(tool), f"{name} declares no intent: the routed planner cannot use it"


@pytest.mark.parametrize("name", NAMES)
def test_unknown_ids_become_observations_with_close_matches(name, world):
    tool = load_tools(world.context, [name])[name]
    args = _example_args(tool.args_schema, world)
    key = next((k for k in ("item_id", "item_a", "user_id") if k in args), None)
    if key is None:
        pytest.skip(f"{name} takes no id")
    known = args[key]
    args[key] = known[:-1] + ("9" if known[-1] != "9" else "8") + "7"  # near miss, unknown
    message = tool.invoke({"type": "tool_call", "id": "call-2", "name": name, "args": args})
    assert message.status == "error"
    assert f"Unknown {'user' if key == 'user_id' else 'item'}" in message.content
    assert known[:3] in message.content  # the close matches are offered
