"""What the agent can do next (docs/scorecard.md "Next steps on the card"): a Polars transform of a
month's published cards, computed when the reports are rendered (no table stores it).

For each appraised agent (a composite, no veto):
- **points lost per measure**: each scored rule's share of the composite (its dimension's weight,
  reweighted over the dimensions with data under ``missing_dimension: reweight``, times the rule's
  effective weight within its dimension) times the points it fell short of full marks (100);
  the losses add up to 100 minus the composite, before its rounding and any points past 100.
- **the gap to the next grade**: the next band above the composite (``scorecard.grades``), and how
  many composite points it lies away; none for the top grade or under grading by distribution.
  A conduct-gated agent's grade is capped whatever the composite: the gap is shown with that
  warning, since conduct comes first.
- **where a realistic improvement gains most**: for each scored measure, the value the centre's
  better quarter reaches this month (the 75th percentile of the appraised agents, the 25th for
  a "lower is better" measure), where that is better than the agent's own; the composite points
  the agent would gain there under the month's floor, target and cap; the one or two measures
  with the largest gain of at least ``MIN_GAIN`` points. A realistic step is one other agents
  of the same centre take in the same month, not full marks.
"""

from __future__ import annotations

import polars as pl

from kaohe.config import Config
from kaohe.scoring.scorecard import DIMENSIONS

BETTER_QUARTER = 0.75  # the centre's better quarter: p75 (higher is better), p25 (lower)
MIN_GAIN = 0.5  # composite points: below it, a step is not worth naming
SHOWN = 2  # measures named as the best next steps


def _rules(cards: pl.DataFrame, cfg: Config) -> pl.DataFrame:
    """One row per appraised agent and scored rule: value, points, and the rule's share of the
    composite (``share``, 0..1)."""
    sc = cfg.scorecard
    present = [pl.col(f"{d}_score").is_not_null() for d in DIMENSIONS]
    if sc.missing_dimension == "reweight":
        used = pl.sum_horizontal([p.cast(pl.Float64) * sc.weights[d]
                                  for p, d in zip(present, DIMENSIONS, strict=True)])
    else:
        used = pl.lit(1.0)
    caps = pl.DataFrame({"dimension": [r.dimension for r in sc.rules],
                         "metric": [r.metric for r in sc.rules],
                         "max_points": [float(r.max_points) for r in sc.rules]}
                        ).unique(["dimension", "metric"], keep="first")
    rows = (cards.filter(pl.col("composite").is_not_null() & ~pl.col("veto").fill_null(False))
            .with_columns(_used=used)
            .select("agent_id", "_used", "rule_points").explode("rule_points")
            .unnest("rule_points").filter(pl.col("weight") > 0))
    return rows.join(caps, on=["dimension", "metric"], how="left").with_columns(
        max_points=pl.col("max_points").fill_null(100.0),
        share=pl.col("dimension").replace_strict(sc.weights, default=0.0) / pl.col("_used")
        * pl.col("weight") / pl.col("weight").sum().over("agent_id", "dimension"),
    )


def next_steps(cards: pl.DataFrame, cfg: Config) -> dict[str, dict]:
    """agent_id -> {"lost": {(dimension, metric): points}, "next_grade", "gap", "top" (in the
    top band already), "best": [{"dimension", "metric", "value", "realistic", "gain"}]} for
    every appraised agent."""
    if cards.is_empty() or "rule_points" not in cards.columns:
        return {}
    rules = _rules(cards, cfg)
    if rules.is_empty():
        return {}
    higher = pl.col("direction") == "higher"
    quarter = rules.group_by("dimension", "metric", "direction").agg(
        hi=pl.col("value").quantile(BETTER_QUARTER, "linear"),
        lo=pl.col("value").quantile(1 - BETTER_QUARTER, "linear"))
    realistic = pl.when(higher).then(pl.max_horizontal("value", "hi")).otherwise(
        pl.min_horizontal("value", "lo"))
    points_at = (((pl.col("realistic") - pl.col("floor")) / (pl.col("target") - pl.col("floor")))
                 .clip(0, pl.col("max_points") / 100) * 100)
    rules = (rules.join(quarter, on=["dimension", "metric", "direction"], how="left")
             .with_columns(realistic=realistic)
             .with_columns(
                 lost=pl.col("share") * (100 - pl.col("points").fill_null(0).clip(0, 100)),
                 gain=pl.col("share") * (points_at - pl.col("points").fill_null(0)).clip(0, None)))
    best = (rules.filter(pl.col("gain") >= MIN_GAIN)
            .sort(["agent_id", "gain", "metric"], descending=[False, True, False])
            .group_by("agent_id", maintain_order=True).head(SHOWN)
            .group_by("agent_id").agg(best=pl.struct("dimension", "metric", "value",
                                                     "realistic", "gain")))
    per_agent = (rules.group_by("agent_id")
                 .agg(lost=pl.struct("dimension", "metric", "lost"))
                 .join(best, on="agent_id", how="left")
                 .join(cards.select("agent_id", "composite"), on="agent_id")
                 .with_columns(**_next_band(cfg)))
    return {r["agent_id"]: {
        "lost": {(x["dimension"], x["metric"]): x["lost"] for x in r["lost"]},
        "best": r["best"] or [], "next_grade": r["next_grade"], "gap": r["gap"],
        "top": r["next_grade"] is None and cfg.grading.mode != "distribution",
    } for r in per_agent.to_dicts()}


def _next_band(cfg: Config) -> dict[str, pl.Expr]:
    """The next grade band above the composite and the points to it (none for the top grade,
    or when grades are given by distribution)."""
    bands = sorted(cfg.scorecard.grades.items(), key=lambda kv: kv[1])  # lowest band first
    if cfg.grading.mode == "distribution" or not bands:
        return {"next_grade": pl.lit(None, pl.String), "gap": pl.lit(None, pl.Float64)}
    grade, band = pl.when(False).then(None), pl.when(False).then(None)
    for name, lo in bands:
        grade = grade.when(pl.col("composite") < lo).then(pl.lit(name))
        band = band.when(pl.col("composite") < lo).then(pl.lit(float(lo)))
    return {"next_grade": grade.otherwise(None).cast(pl.String),
            "gap": (band.otherwise(None).cast(pl.Float64) - pl.col("composite")).round(2)}


def team_next_steps(team: dict, cfg: Config) -> dict:
    """The team report's explanation of the manager's points, like the card's (one team's row of
    marts.team_month_scorecard): per team rule, the composite points lost against full marks
    (its weight over the weights of the rules with a value, times the points short of 100), and
    the gap to the next band (scorecard.grades; team grades are always by bands)."""
    rules = [r for r in cfg.team_scorecard.rules
             if r.weight > 0 and team.get(f"{r.measure}_points") is not None]
    total = sum(r.weight for r in rules)
    lost = {r.measure: r.weight / total * (100 - min(100.0, team[f"{r.measure}_points"]))
            for r in rules} if total else {}
    composite = team.get("composite")
    above = sorted((b, g) for g, b in cfg.scorecard.grades.items()
                   if composite is not None and b > composite)
    return {"lost": lost, "next_grade": above[0][1] if above else None,
            "gap": round(above[0][0] - composite, 2) if above else None,
            "top": composite is not None and not above}
