"""Conversations kept in a SQLite file survive a restart of the app.

"Restart" here is what it means for the process: a new checkpointer over the same file, a new
agent and a new app. The browser brings back the conversation id it kept; the page load
handler resumes the transcript and the pair, and the next turn uses the remembered item.
"""

from __future__ import annotations

from elixir_agent.agent import build_agent, sqlite_checkpointer
from elixir_agent.ui.chat import Session
from elixir_agent.ui.cli import memory_path


def _handler(app, name: str):
    return next(f.fn for f in app.fns.values()
                if f.api_name == name or getattr(f.fn, "__name__", "") == name)


def _app(make_app, ui_world, path):
    agent = build_agent(ui_world.context, embedder=ui_world.embedder,
                        checkpointer=sqlite_checkpointer(path))
    return make_app(agent=agent)


def test_a_restarted_app_resumes_the_conversation_the_browser_kept(make_app, ui_world, tmp_path):
    path = tmp_path / "conversations.sqlite"
    pair = ui_world.pairs[0]
    before = _app(make_app, ui_world, path)
    first = list(_handler(before, "ask")("Would I like it?", pair.user_id, pair.item_id,
                                         Session(conversation_id="kept")))[-1]
    answer = first[0][-1].content

    after = _app(make_app, ui_world, path)  # nothing shared with `before` but the file
    session, kept_id, chat, user, item = _handler(after, "start")(Session(), "kept")
    assert kept_id == "kept" and session.conversation_id == "kept"
    assert [(m.role, m.content) for m in chat] == [("user", "Would I like it?"),
                                                    ("assistant", answer)]
    assert (user, item) == (pair.user_id, pair.item_id)

    # The pickers were not touched, so nothing is sent: the item comes from the file.
    second = list(_handler(after, "ask")("what about the location?", user, item, session))[-1]
    steps = [m.content for m in second[0] if (m.metadata or {}).get("title")]
    assert steps and f'"item_id": "{pair.item_id}"' in steps[-1]
    assert [m.role for m in second[0]].count("user") == 2


def test_an_unknown_kept_id_starts_empty_and_new_conversation_draws_another(make_app, ui_world,
                                                                             tmp_path):
    app = _app(make_app, ui_world, tmp_path / "conversations.sqlite")
    session, kept_id, chat, _user, _item = _handler(app, "start")(Session(), "never-seen")
    assert session.conversation_id == kept_id == "never-seen" and not session.messages
    assert not isinstance(chat, list)  # the chat is left as it is: nothing to show
    fresh = _handler(app, "new_conversation")(None, None)
    assert fresh[-1] == fresh[2].conversation_id != "never-seen"


def test_memory_none_means_in_process_only(tmp_path):
    assert memory_path("none") is None and memory_path("NONE") is None
    assert memory_path(str(tmp_path / "c.sqlite")) == tmp_path / "c.sqlite"
