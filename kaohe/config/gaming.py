"""The configuration's ``gaming`` section (version 3, optional): what counts as a commitment,
whose merit a collection on an uncontacted case is, and when a gaming signal is raised
(docs/scorecard.md "Gaming does not pay")."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from kaohe.config.base import Int, Num, _Model

# The gaming signals of marts.gaming_signals, each with the planted behaviour it looks for
# (docs/scorecard.md): the order is the pages' order.
SIGNALS = ("padding_calls", "token_promises", "month_boundary_shift", "unattempted_cases",
           "uncontacted_collections", "late_reassignment", "broken_promise_loops")


class SignalRule(_Model):
    """When a signal is raised: the agent's value at least ``min_ratio`` times the baseline of
    agents with a similar portfolio and at least ``min_excess`` above it, resting on at least
    ``min_evidence`` calls, promises, cases or payments."""
    min_ratio: Num = Field(default=2.0, ge=1, description="The value must be at least this "
                           "many times the portfolio baseline (the median of similar agents).")
    min_excess: Num = Field(default=0.0, ge=0, description="...and exceed it by at least this "
                            "much (in the signal's own unit: a share, or a count).")
    min_evidence: Int = Field(default=5, ge=1, description="The calls, promises, cases or "
                              "payments the value rests on.")


def _signals() -> dict[str, SignalRule]:
    return {s: SignalRule() for s in SIGNALS}


class GamingConfig(_Model):
    """``gaming`` (version 3): scores that gaming cannot move, and review signals."""
    commitment_min_call_s: Int = Field(
        default=60, ge=0, description="A promise is a commitment only when made on a "
        "right-party call of at least this many seconds (a promise in a few seconds is a way to "
        "end the call).")
    commitment_min_share: Num = Field(
        default=0.10, ge=0, le=1, description="...and for at least this share of the amount due "
        "on the case's holding (a token promise of 50 on a debt of 8,000 commits to nothing).")
    uncontacted_collections: Literal["centre", "agent"] = Field(
        default="centre", description="Collections on a case the agent never contacted while "
        "holding it before the payment: `centre` leaves them out of the agent's "
        "merit_recovery_vs_target (the centre's collection), `agent` keeps them in.")
    signals: dict[Literal[SIGNALS], SignalRule] = Field(  # type: ignore[valid-type]
        default_factory=_signals, description="When each gaming signal is raised "
        "(marts.gaming_signals); a signal left out keeps its defaults.")
