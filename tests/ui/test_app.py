"""The app built without a server, and served in-process on 127.0.0.1 to gradio_client."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import gradio as gr
import pytest

from elixir_agent.agent import build_agent

pytest.importorskip("gradio_client")
from gradio_client import Client


def _text(message: dict) -> str:
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, dict))


def _ask(client: Client, question: str, user: str | None, item: str | None):
    chat, _box, user_out, item_out, rating, _plot, badge, reviews = client.predict(
        question, user, item, api_name="/ask")
    return {"chat": chat, "user": user_out, "item": item_out, "rating": rating, "badge": badge,
            "reviews": reviews}


def test_builds_without_launching(make_app):
    app = make_app()
    assert isinstance(app, gr.Blocks)
    assert getattr(app, "server", None) is None  # built, not launched
    names = {fn.api_name for fn in app.fns.values()}
    assert {"ask", "new_conversation", "compare"} <= names
    chatbots = [b for b in app.blocks.values() if isinstance(b, gr.Chatbot)]
    assert len(chatbots) == 1


def test_chat_gives_a_cited_verified_answer_with_tool_steps(served, ui_world):
    _, url = served()
    client = Client(url, verbose=False)
    pair = ui_world.pairs[0]
    out = _ask(client, "Why would I like it?", pair.user_id, pair.item_id)
    steps = [m for m in out["chat"] if m["role"] == "assistant" and m["metadata"].get("title")]
    assert {s["metadata"]["title"].split()[-1] for s in steps} >= {"aspect_ratings", "similar_reviews"}
    assert all(s["metadata"]["status"] == "done" and "duration" in s["metadata"] for s in steps)
    assert pair.user_id in _text(steps[0])  # the arguments are shown
    answer = _text(out["chat"][-1])
    cited = re.findall(r"\[([^\]\s]+)\]", answer)
    assert cited, answer
    assert "Verified" in out["badge"] and "Not verified" not in out["badge"]
    assert all(f"[{c}]" in out["reviews"] for c in cited if c.startswith("syn-"))
    assert "Predicted rating" in out["rating"] and pair.user_id in out["rating"]


def test_memory_follows_the_session_and_new_conversation_resets(served, ui_world):
    _, url = served()
    client = Client(url, verbose=False)
    pair = ui_world.pairs[1]
    _ask(client, "Would I like it?", pair.user_id, pair.item_id)
    out = _ask(client, "Show similar reviews", pair.user_id, pair.item_id)
    assert [m["role"] for m in out["chat"]].count("user") == 2
    assert "Predicted rating" in out["rating"]  # kept from the first turn: same pair
    cleared = client.predict(pair.user_id, pair.item_id, api_name="/new_conversation")
    assert cleared[0] == [] and "Pick a user" in cleared[4]


def test_unknown_ids_get_a_clear_message(served, ui_world):
    _, url = served()
    client = Client(url, verbose=False)
    out = _ask(client, "Would I like it?", "nobody-42", ui_world.pairs[0].item_id)
    message = _text(out["chat"][-1])
    assert "Unknown user `nobody-42`" in message and "Did you mean" in message


class _UnreachableWriter:
    def write(self, system: str, prompt: str, *, max_tokens: int = 160) -> str:
        raise ConnectionError("connection refused by 127.0.0.1:11434")


def test_unreachable_llm_backend_is_reported(served, ui_world):
    agent = build_agent(ui_world.context, llm=_UnreachableWriter(), embedder=ui_world.embedder)
    _, url = served(agent=agent, llm="ollama:llama3")
    client = Client(url, verbose=False)
    pair = ui_world.pairs[0]
    out = _ask(client, "Why?", pair.user_id, pair.item_id)
    message = _text(out["chat"][-1])
    assert "not reachable" in message and "--llm none" in message


def test_eight_concurrent_sessions_each_get_their_own_user(served, ui_world):
    _, url = served(concurrency=4)
    users = list(dict.fromkeys(p.user_id for p in ui_world.pairs))[:8]
    items = {p.user_id: p.item_id for p in ui_world.pairs}
    assert len(users) == 8

    def session(user: str):
        client = Client(url, verbose=False)
        first = _ask(client, "Would I like it?", user, items[user])
        second = _ask(client, "Why?", user, items[user])  # memory: same session, same user
        return user, first, second

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(session, users))
    for user, first, second in results:
        for out in (first, second):
            assert out["user"] == user
            assert f"`{user}`" in out["rating"]
            args = [_text(m) for m in out["chat"] if m["metadata"].get("title")]
            assert args and all(f'"user_id": "{user}"' in a for a in args if '"user_id"' in a)
            others = set(users) - {user}
            assert not any(f'"{o}"' in a for a in args for o in others)
        assert [m["role"] for m in second["chat"]].count("user") == 2


def test_compare_tab_is_blind_until_the_vote(served, ui_world):
    _, url = served()
    client = Client(url, verbose=False)
    out = client.predict(0, True, api_name="/compare")
    titles, texts = (out[0], out[3]), (out[1], out[4])
    assert titles == ("### Explanation A", "### Explanation B")
    assert all(t.strip() for t in texts)
    assert "hidden until you vote" in out[2]
    shown = client.predict(0, False, api_name="/compare")
    assert "Agent" in shown[0] and "Core-only" in shown[3]
    assert "BLEU-1 vs real review" in shown[2] and "grounded claims" in shown[2]


def test_every_quick_question_reaches_a_tool(ui_world):
    from elixir_agent.ui import QUICK_QUESTIONS

    agent = build_agent(ui_world.context, llm="none", embedder=ui_world.embedder)
    pair = ui_world.pairs[0]
    for n, question in enumerate(QUICK_QUESTIONS):
        turn = agent.ask(question, conversation_id=f"quick-{n}", user_id=pair.user_id, item_id=pair.item_id)
        assert any(c.status == "success" for c in turn.tool_calls), (question, turn.answer)
