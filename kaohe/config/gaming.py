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
    ``min_evidence`` calls, promises, cases or payments. A key left out keeps the signal's
    shipped threshold (DEFAULT_SIGNALS)."""
    min_ratio: Num | None = Field(default=None, ge=1, description="The value must be at least "
                                  "this many times the portfolio baseline (the median of "
                                  "similar agents).")
    min_excess: Num | None = Field(default=None, ge=0, description="...and exceed it by at "
                                   "least this much (in the signal's own unit: a share, or a "
                                   "count of cases).")
    min_evidence: Int | None = Field(default=None, ge=1, description="The calls, promises, "
                                     "cases or payments the value rests on.")


# The shipped thresholds (docs/scorecard.md "Gaming signals"), measured on generated centres with
# planted gaming (tests/scoring/test_gaming_signals.py): each signal finds the planted agents and
# leaves the honest ones, including those whose portfolio naturally gives short calls or early
# payments. Units: a share (0-1) except late_reassignment and broken_promise_loops (cases).
DEFAULT_SIGNALS: dict[str, dict] = {
    "padding_calls": {"min_ratio": 3.0, "min_excess": 0.05, "min_evidence": 20},
    "token_promises": {"min_ratio": 3.0, "min_excess": 0.10, "min_evidence": 10},
    "month_boundary_shift": {"min_ratio": 1.5, "min_excess": 0.30, "min_evidence": 15},
    "unattempted_cases": {"min_ratio": 2.0, "min_excess": 0.12, "min_evidence": 5},
    "uncontacted_collections": {"min_ratio": 3.0, "min_excess": 0.20, "min_evidence": 15},
    "late_reassignment": {"min_ratio": 2.0, "min_excess": 6.5, "min_evidence": 8},
    "broken_promise_loops": {"min_ratio": 3.0, "min_excess": 3.0, "min_evidence": 10},
}


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
    merit_window_months: Int = Field(
        default=3, ge=1, le=12, description="merit_recovery_vs_target is judged on this month "
        "and the months before it, up to this many in all (their collections over what their "
        "targets expected): a collection moved across a month's end stays in the window, so "
        "saving it for next month gains nothing. 1: the month alone.")
    baseline_min_agents: Int = Field(
        default=8, ge=1, description="A signal compares the agent with the appraised agents "
        "whose largest bucket is the same; with fewer than this many, with the whole centre.")
    signals: dict[Literal[SIGNALS], SignalRule] = Field(  # type: ignore[valid-type]
        default_factory=dict, description="When each gaming signal is raised "
        "(marts.gaming_signals); a signal left out keeps its shipped thresholds.")

    def signal_rules(self) -> dict[str, SignalRule]:
        """Every signal's rule: the configured one, else the shipped thresholds."""
        out = {}
        for s in SIGNALS:
            given = self.signals[s].model_dump(exclude_none=True) if s in self.signals else {}
            out[s] = SignalRule(**{**DEFAULT_SIGNALS[s], **given})
        return out
