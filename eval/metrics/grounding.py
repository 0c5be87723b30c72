"""Groundedness of agent answers, from the counts the agent's verifier reports.

The verifier checks every number and every cited review id of an answer against the
evidence the tools returned; these functions only aggregate its counts over answers.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["citation_rate", "groundedness"]


def groundedness(verified_claims: Sequence[int], total_claims: Sequence[int]) -> float | None:
    """Share of all checked claims (numbers and cited ids) that the verifier found in the evidence.

    Pooled over answers (sum verified / sum total), so an answer with many claims weighs more
    than one with a single claim. None when no answer made a checkable claim.
    """
    if len(verified_claims) != len(total_claims):
        raise ValueError(f"{len(verified_claims)} verified counts but {len(total_claims)} totals")
    for verified, total in zip(verified_claims, total_claims, strict=True):
        if not 0 <= verified <= total:
            raise ValueError(f"verified claims ({verified}) must be between 0 and total claims ({total})")
    total = sum(total_claims)
    return sum(verified_claims) / total if total else None


def citation_rate(cites_real_review: Sequence[bool]) -> float | None:
    """Share of "why" answers that cite at least one real (verified) review; None for no answers."""
    if not cites_real_review:
        return None
    return sum(bool(flag) for flag in cites_real_review) / len(cites_real_review)
