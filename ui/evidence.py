"""The evidence panel: what the latest answers rest on, read from the turn's tool artifacts.

The panel follows the conversation. It keeps what earlier turns showed about the same user
and item (asking "show similar reviews" after "would I like it?" keeps the rating on screen)
and starts over when the pair changes. Everything here is read from the tools' typed
artifacts: no prediction is made by the UI. On top: the verdict sentence and the aspects that
drive it; below: the user's own cited reviews apart from other reviewers'.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field, replace
from typing import Any

from elixir_agent.agent.answers import driving_aspects, verdict
from elixir_agent.agent.turn import Turn, Verification
from elixir_agent.tools.artifacts import parse_artifact
from elixir_agent.tools.aspect_ratings import AspectRatingsArtifact
from elixir_agent.tools.predict_rating import PredictRatingArtifact
from elixir_agent.tools.similar_reviews import SimilarReviewsArtifact
from elixir_agent.tools.user_history import UserHistoryArtifact

__all__ = ["EvidenceView", "aspect_figure", "badge_html", "rating_markdown", "reviews_markdown"]

_REVIEW_CHARS = 320  # a cited review is shown in full up to this length


@dataclass(frozen=True)
class EvidenceView:
    """The panel's content for one browser session."""

    user_id: str | None = None
    item_id: str | None = None
    item_name: str | None = None
    rating: float | None = None
    cold: bool = False
    aspects: dict[str, dict[str, float]] = field(default_factory=dict)  # aspect -> rating, importance
    reviews: tuple[dict[str, Any], ...] = ()  # other reviewers' cited reviews, latest citing turn
    own_reviews: tuple[dict[str, Any], ...] = ()  # the user's own cited reviews, same turn
    verdict: str | None = None  # the answer's verdict sentence
    drivers: tuple[str, ...] = ()  # the aspects that drive the verdict for this user
    verification: Verification | None = None

    def update(self, turn: Turn) -> EvidenceView:
        """The view after `turn`: new artifacts win, the rest stays if the pair is unchanged."""
        view = self
        if (turn.active_user, turn.active_item) != (self.user_id, self.item_id):
            view = EvidenceView(user_id=turn.active_user, item_id=turn.active_item)
        changes: dict[str, Any] = {"verification": turn.verification}
        retrieved: dict[str, dict[str, Any]] = {}
        models = [m for m in (parse_artifact(a) for a in turn.evidence) if m is not None]
        about = [m for m in models if _about(m, view)]
        for model in models:
            if isinstance(model, SimilarReviewsArtifact):
                reviews = model.reviews
            elif isinstance(model, UserHistoryArtifact):
                reviews = [*model.similar, *([model.own_review] if model.own_review else [])]
            else:
                continue
            for review in reviews:
                retrieved.setdefault(review.review_id, review.model_dump())
        for model in about:
            if isinstance(model, (PredictRatingArtifact, AspectRatingsArtifact)):
                changes["rating"] = float(model.rating)
                changes["item_name"] = model.item_name or view.item_name
            if isinstance(model, PredictRatingArtifact):
                changes["cold"] = model.cold_user or model.cold_item
            if isinstance(model, AspectRatingsArtifact):
                changes["aspects"] = {a: row.model_dump() for a, row in model.aspects.items()}
        found = verdict(about)
        if found is not None and any(isinstance(m, (AspectRatingsArtifact, UserHistoryArtifact))
                                     for m in about):
            changes["verdict"] = found.sentence()
            changes["drivers"] = tuple(driving_aspects(about))
        cited = [retrieved[i] for i in turn.cited_review_ids if i in retrieved]
        if cited:
            changes["own_reviews"] = tuple(r for r in cited if r["user_id"] == view.user_id)
            changes["reviews"] = tuple(r for r in cited if r["user_id"] != view.user_id)
        return replace(view, **changes)


def _about(model: Any, view: EvidenceView) -> bool:
    """Whether an artifact is about the panel's pair (a comparison may score others)."""
    user, item = getattr(model, "user_id", None), getattr(model, "item_id", None)
    return (user is None or user == view.user_id) and (item is None or item == view.item_id)


def rating_markdown(view: EvidenceView) -> str:
    if view.user_id is None and view.item_id is None:
        return "Pick a user and an item, then ask a question."
    who = f"user `{view.user_id}`" if view.user_id else "no user yet"
    what = f"{view.item_name or view.item_id} (`{view.item_id}`)" if view.item_id else "no item yet"
    if view.rating is None:
        return f"**{what}** for {who}\n\nNo rating predicted yet: ask \"Would I like it?\""
    cold = "  \n_new to the model (cold start): a rough estimate_" if view.cold else ""
    top = ""
    if view.verdict:
        drivers = f"  \nDriven by: {', '.join(view.drivers)}" if view.drivers else ""
        top = f"**{html.escape(view.verdict, quote=False)}**{drivers}\n\n"
    return f"{top}**{what}** for {who}\n\n## Predicted rating: {view.rating:.2f} / 5{cold}"


def reviews_markdown(view: EvidenceView) -> str:
    if not view.reviews and not view.own_reviews:
        return "_No reviews cited yet. Ask \"Why?\" or \"Show similar reviews\"._"
    parts = []
    for title, reviews in (("Your reviews", view.own_reviews), ("Other reviewers", view.reviews)):
        if reviews:
            parts.append(f"#### {title}\n\n" + _reviews_list(reviews))
    return "\n\n".join(parts)


def _reviews_list(reviews: tuple[dict[str, Any], ...]) -> str:
    lines = []
    for review in reviews:
        text = str(review.get("text", ""))
        if len(text) > _REVIEW_CHARS:
            text = text[:_REVIEW_CHARS].rsplit(" ", 1)[0] + " …"
        # Review text is data written by strangers: escaped and quoted, never rendered as markup.
        quoted = html.escape(text).replace("\n", " ")
        lines.append(f"**[{review['review_id']}]** · rated {float(review['rating']):.2f} · "
                     f"{html.escape(str(review.get('item_name') or review.get('item_id', '')))} · "
                     f"by `{review.get('user_id', '?')}`\n> {quoted}")
    return "\n\n".join(lines)


def badge_html(verification: Verification | None) -> str:
    """A coloured line saying whether every number and citation was found in the evidence."""
    if verification is None:
        return _badge("neutral", "No answer checked yet.")
    v = verification
    numbers, cited = len(v.checked_numbers), len(v.cited_ids)
    bad_numbers, bad_ids = len(v.unsupported_numbers), len(v.unknown_ids)
    what = f"{numbers} number(s) and {cited} citation(s)"
    if v.ok:
        note = {"accepted": "", "revised": " after one revision",
                "replaced": " (the draft failed; replaced by the grounded composer)"}.get(v.action, "")
        return _badge("ok", f"✓ Verified: all {what} found in the evidence{note}.")
    problems = []
    if bad_numbers:
        problems.append(f"{bad_numbers} of {numbers} number(s) not in the evidence "
                        f"({', '.join(v.unsupported_numbers[:5])})")
    if bad_ids:
        problems.append(f"{bad_ids} of {cited} citation(s) unknown ({', '.join(v.unknown_ids[:5])})")
    return _badge("bad", "⚠ Not verified: " + "; ".join(problems or ["empty answer"]) + ".")


_COLOURS = {"ok": ("#e7f6ec", "#1d6b3a"), "bad": ("#fdf0e6", "#8a4b0f"), "neutral": ("#f2f2f2", "#555")}


def _badge(kind: str, text: str) -> str:
    background, colour = _COLOURS[kind]
    return (f'<div class="grounding-badge grounding-{kind}" style="background:{background};'
            f'color:{colour};padding:6px 10px;border-radius:6px;font-weight:600">'
            f"{html.escape(text)}</div>")


def aspect_figure(view: EvidenceView):
    """Predicted aspect ratings (1-5) beside the user's aspect importance (%), or None."""
    if not view.aspects:
        return None
    from matplotlib.figure import Figure  # not pyplot: figures are built in worker threads

    aspects = sorted(view.aspects, key=lambda a: view.aspects[a].get("user_importance", 0.0))
    ratings = [view.aspects[a].get("rating", 0.0) for a in aspects]
    importance = [100 * view.aspects[a].get("user_importance", 0.0) for a in aspects]
    figure = Figure(figsize=(6.4, 0.45 * len(aspects) + 1.1), dpi=90, layout="constrained")
    left, right = figure.subplots(1, 2, sharey=True)
    left.barh(aspects, ratings, color="#3b7dd8")
    left.set_xlim(1, 5)
    left.set_title("predicted rating (1-5)", fontsize=10)
    right.barh(aspects, importance, color="#e08a2c")
    right.set_xlim(0, max([*importance, 1.0]) * 1.25)
    right.set_title("matters to this user (%)", fontsize=10)
    for axis, values, fmt in ((left, ratings, "{:.2f}"), (right, importance, "{:.0f}%")):
        for y, value in enumerate(values):
            axis.text(value, y, " " + fmt.format(value), va="center", fontsize=8)
        axis.tick_params(labelsize=9)
        axis.spines[["top", "right"]].set_visible(False)
    return figure
