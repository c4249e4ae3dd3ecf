"""Noise shown and damped (docs/scorecard.md "Small samples"): a rate measured on few events is
shrunk toward what is expected of a similar book before it is scored (empirical Bayes), and the
card shows its 90% interval.

For each measure of ``SHRUNK`` (a share of events: x of n), over the month's agents with n > 0:
- the **prior mean** m: the agent's own expectation where the measure has one (the case reach
  the centre gets from a book like theirs, ``expected_case_reach_rate``), else the centre's
  pooled rate (sum of events over sum of n);
- the **spread between agents** tau^2, by the method of moments: the variance of (rate - m) less
  the part sampling alone gives, mean(m (1 - m) / n) (at least 1e-6);
- the **prior strength** k = m (1 - m) / tau^2 - 1 (at least 0), as if k events at the prior mean
  had been seen;
- the **scored value** (n x rate + k x m) / (n + k): an agent with many events keeps their own
  rate, one with few is pulled toward m, as much as the data say the agents truly differ. Where
  the agent decides how many events there are (commitments: promises they chose to make), only
  downward (the smaller of the rate and the shrunk value): a lucky 2 of 2 is damped, but making
  fewer commitments never lifts a poor rate toward the centre;
- the **90% interval** scored +- 1.645 x sqrt(scored (1 - scored) / (n + k + 1)), within 0..1.
For a ratio to the expectation (``case_reach_vs_expected``, ``kept_commitments_vs_expected``),
the shrunk rate and its interval are divided by the expectation.

Shrunk: commitments kept (of the commitments due), restructurings completed (of those concluded
in the trailing 12 months), cases reached and commitments kept per case against the expectation
(of the cases held).
Not shrunk, on purpose: conduct (a breach, a complaint or a threat is judged on what happened,
never pulled toward the centre), the mandatory pass rate (a requirement, not an estimate: the
article asks every course passed), counts and amounts (merit is collections against a target over
a window of months), and the survey average (a mean of 1-5 scores with ~20 surveys an agent on
the generated centres; its spread within an agent is not in the marts).

A pure Polars transform: ``kaohe.scoring.scorecard.score`` scores the ``<metric>__scored``
columns (``fairness.shrink_small_samples``, default true); the reports call it again on the
published month to show the intervals, so the card and the score agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

Z90 = 1.645
MIN_TAU2 = 1e-6


@dataclass(frozen=True)
class Shrunk:
    metric: str  # the scored measure
    rate: str  # the share of events behind it
    n: str  # how many events
    prior: str | None = None  # the agent's own expectation (else the centre's pooled rate)
    over: str | None = None  # the measure is rate / over
    # the agent decides how many events there are: shrink only down (a lucky high on few
    # events), never up, or producing less evidence would lift a poor rate toward the centre
    downward_only: bool = False


SHRUNK = (
    # a commitment is a promise the agent chose to make on a long enough call: downward only
    Shrunk("commitment_kept_rate", "commitment_kept_rate", "commitments_due",
           downward_only=True),
    # restructuring plans the agent proposed, concluded in the trailing 12 months: downward only
    Shrunk("restructuring_success_rate", "restructuring_success_rate",
           "restructurings_concluded", downward_only=True),
    # the cases held are the manager's allocation: both ways
    Shrunk("case_reach_vs_expected", "case_reach_rate", "cases_assigned",
           prior="expected_case_reach_rate", over="expected_case_reach_rate"),
    # 7.0: commitments kept per case held, the cases held the manager's: both ways
    Shrunk("kept_commitments_vs_expected", "kept_commitment_case_rate", "cases_assigned",
           prior="expected_kept_commitment_case_rate",
           over="expected_kept_commitment_case_rate"),
)
BY_METRIC = {s.metric: s for s in SHRUNK}


def shrink(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with ``<metric>__scored``, ``__lo``, ``__hi`` and ``__n`` for each measure of
    SHRUNK whose columns it has (NULL where the agent has no event)."""
    for s in SHRUNK:
        needed = [c for c in (s.rate, s.n, s.prior, s.over) if c]
        if not all(c in frame.columns for c in needed):
            continue
        x, n = pl.col(s.rate).cast(pl.Float64), pl.col(s.n).cast(pl.Float64)
        # an expectation of 0 (a centre that reached no case of the bucket) leaves a ratio
        # undefined: no value, as the raw ratio has none
        valid = x.is_not_null() & ~x.is_nan() & (n > 0) & (
            pl.col(s.prior).is_not_null() if s.prior else pl.lit(True)) & (
            pl.col(s.over) > 0 if s.over else pl.lit(True))
        pooled = (x * n).filter(valid).sum() / n.filter(valid).sum()
        m = pl.col(s.prior).cast(pl.Float64) if s.prior else pooled
        frame = frame.with_columns(_m=m, _valid=valid)
        spread = ((x - pl.col("_m")).filter(pl.col("_valid")).var()
                  - (pl.col("_m") * (1 - pl.col("_m")) / n).filter(pl.col("_valid")).mean())
        frame = frame.with_columns(_tau2=pl.max_horizontal(spread, pl.lit(MIN_TAU2)))
        k = (pl.col("_m") * (1 - pl.col("_m")) / pl.col("_tau2") - 1).clip(lower_bound=0)
        post = ((n * x + k * pl.col("_m")) / (n + k))
        frame = frame.with_columns(_post=pl.when(pl.col("_valid")).then(post), _k=k)
        half = Z90 * (pl.col("_post") * (1 - pl.col("_post")) / (n + pl.col("_k") + 1)).sqrt()
        scale = pl.col(s.over).cast(pl.Float64) if s.over else pl.lit(1.0)
        value = pl.min_horizontal(pl.col("_post"), x) if s.downward_only else pl.col("_post")
        frame = frame.with_columns(**{
            f"{s.metric}__scored": (pl.when(pl.col("_valid")).then(value) / scale).round(9),
            f"{s.metric}__lo": ((pl.col("_post") - half).clip(0, 1) / scale).round(9),
            f"{s.metric}__hi": ((pl.col("_post") + half).clip(0, 1) / scale).round(9),
            f"{s.metric}__n": pl.when(pl.col("_valid")).then(pl.col(s.n)),
        }).drop("_m", "_valid", "_tau2", "_post", "_k")
    return frame


def intervals(cards: pl.DataFrame) -> dict[str, dict[str, dict]]:
    """agent_id -> metric -> {"observed", "scored", "lo", "hi", "n"} for the card (the same
    estimates ``score`` made of the month)."""
    shrunk = shrink(cards)
    out: dict[str, dict[str, dict]] = {}
    for s in SHRUNK:
        if f"{s.metric}__scored" not in shrunk.columns or s.metric not in shrunk.columns:
            continue
        rows = shrunk.select("agent_id", observed=pl.col(s.metric),
                             scored=pl.col(f"{s.metric}__scored"), lo=pl.col(f"{s.metric}__lo"),
                             hi=pl.col(f"{s.metric}__hi"), n=pl.col(f"{s.metric}__n")
                             ).filter(pl.col("scored").is_not_null())
        for r in rows.to_dicts():
            out.setdefault(r.pop("agent_id"), {})[s.metric] = r
    return out
