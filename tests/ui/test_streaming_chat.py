"""The chat handler streams the real steps of a turn: pending tool steps before the answer.

The handler is the app's own `/ask` function, taken from the built Blocks and called as Gradio
would call it; each yield is what the browser would show at that moment.
"""

from __future__ import annotations

from elixir_agent.ui.chat import Session


def _handler(app, api_name: str):
    return next(f.fn for f in app.fns.values() if f.api_name == api_name)


def _steps(chat, status: str) -> dict[str, str]:
    """Tool steps with this status, as {step id: tool name}."""
    return {m.metadata["id"]: m.metadata["title"].split()[-1] for m in chat
            if m.role == "assistant" and (m.metadata or {}).get("status") == status
            and m.metadata["id"].startswith("step-")}


def _notes(chat) -> list[str]:
    return [m.metadata["title"] for m in chat
            if (m.metadata or {}).get("status") == "pending" and m.metadata["id"] == "pending"]


def test_tool_steps_are_pending_before_the_answer_then_done(make_app, ui_world):
    respond = _handler(make_app(), "ask")
    pair = ui_world.pairs[0]
    yields = list(respond("Why would I like it?", pair.user_id, pair.item_id, Session()))
    chats = [y[0] for y in yields]
    final = chats[-1]
    answer = final[-1].content
    assert answer and not (final[-1].metadata or {}).get("title")

    # The plan arrives first: both tools are shown as pending while the answer does not exist.
    planned = next(n for n, chat in enumerate(chats) if _steps(chat, "pending"))
    assert set(_steps(chats[planned], "pending").values()) == {"aspect_ratings", "user_history",
                                                                "similar_reviews"}
    assert not any(m.content == answer for c in chats[:planned + 1] for m in c)
    assert pair.user_id in chats[planned][-1].content  # the arguments are shown at once

    # Then each step is done, with its time, and a note says the answer is being written.
    done = _steps(final, "done")
    assert done == _steps(chats[planned], "pending")  # the same step ids, now finished
    assert all("duration" in m.metadata for m in final if (m.metadata or {}).get("title"))
    assert "Writing the answer…" in [n for c in chats for n in _notes(c)]
    assert "Checking every number…" in [n for c in chats for n in _notes(c)]
    assert not _notes(final) and not _steps(final, "pending")


def test_a_question_without_tools_shows_no_step(make_app, ui_world):
    respond = _handler(make_app(), "ask")
    pair = ui_world.pairs[0]
    final = list(respond("hello, what can you do?", pair.user_id, pair.item_id, Session()))[-1][0]
    assert not _steps(final, "done") and not _notes(final)
    assert final[-1].role == "assistant" and final[-1].content
