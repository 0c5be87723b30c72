"""Concurrent conversations on one agent never see each other's user, item or answer."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from elixir_agent.agent import build_agent
from tests.helpers.agent_fakes import BagOfWordsEmbedder


def test_parallel_sessions_keep_their_own_pair(world):
    agent = build_agent(world.context, llm="none", embedder=BagOfWordsEmbedder())
    pairs = [(row.user_id, row.item_id) for row in world.test.head(6).itertuples()]

    def converse(n: int) -> list[tuple[str | None, str | None, float]]:
        user, item = pairs[n]
        seen = []
        for question in ("Would I like it?", "Why?", "What about the rating again?"):
            turn = agent.ask(question, conversation_id=f"session-{n}",
                             user_id=user if question.startswith("Would") else None,
                             item_id=item if question.startswith("Would") else None)
            rating = next((c.artifact["rating"] for c in turn.tool_calls
                           if c.artifact and c.artifact.get("rating") is not None), None)
            seen.append((turn.active_user, turn.active_item, rating))
            assert turn.verification.ok
        return seen

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(converse, range(len(pairs))))
    for n, seen in enumerate(results):
        user, item = pairs[n]
        expected = world.context.recommender.predict(user, item).rating
        assert all(u == user and i == item for u, i, _ in seen)
        assert all(r is None or abs(r - expected) < 1e-9 for _, _, r in seen)
