"""The balanced scorecard of a month: ``marts.agent_month_scorecard``.

Inputs come from SQL (``marts.agent_month_metrics`` and ``sql/scorecard/scoring_inputs.sql``:
targets, difficulty, veto-list violations); the scoring itself is a Polars transform, one
expression per configured rule, never a loop over agents:

  points(rule)  = clip((value - floor) / (target - floor), 0, max_points / 100) x 100
                  (both directions; max_points 100 unless the rule sets more)
  dimension     = weighted mean of the points of its rules that have a value
  composite     = sum(weight x dimension), the weights of dimensions without data spread over the
                  others (``missing_dimension: reweight``) or counted as 0 (``zero``); 2 decimals
  veto          = a confirmed major violation, or one of ``veto_violation_types``: composite 0,
                  grade VETO
  grade         = the bands of scorecard.grades (or a target distribution), else D
An agent with no data in any dimension is not appraised: composite and grade are NULL.
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from kaohe.config import DIMENSIONS, Config
from kaohe.models import bound_params, dictionary, ensure_mart, model_dictionary, model_sql
from kaohe.scoring.shrinkage import shrink
from kaohe.warehouse import quote

TABLE = "agent_month_scorecard"


def scoring_inputs(con: duckdb.DuckDBPyConnection, cfg: Config, month: str) -> pl.DataFrame:
    params = bound_params(model_dictionary("scorecard", "scoring_inputs"), cfg, month)
    # the conduct gate reads the month's alerts (built before the scorecard in a run; a table
    # without rows where they were not built, e.g. a scorecard rebuilt on its own)
    ensure_mart(con, "conduct_alerts")
    # duckdb 2.0: .pl() on con.sql(...), not after execute()
    metrics = con.sql(
        "select * exclude (config_version) from marts.agent_month_metrics where month = $m",
        params={"m": params["month_start"]}).pl()
    inputs = con.sql(model_sql("scorecard", "scoring_inputs"), params=params).pl()
    return metrics.join(inputs, on="agent_id", how="left").join(
        _merit_window(con, cfg, params["month_start"]), on="agent_id", how="left")


def _merit_window(con: duckdb.DuckDBPyConnection, cfg: Config, month_start) -> pl.DataFrame:
    """Per agent, the months before ``month_start`` in the merit window (gaming.
    merit_window_months, the month itself included), as built in the warehouse: their merit
    collections (credited; without those on uncontacted cases when gaming.uncontacted_collections
    is ``centre``) and what their targets expected (recovery_target x amount_due_exposure).
    Months not built, or without a target, count for nothing."""
    ensure_mart(con, TABLE)
    merit = ("m.credited_collections - coalesce(m.uncontacted_collections, 0)"
             if cfg.gaming.uncontacted_collections == "centre" else "m.credited_collections")
    return con.sql(f"""
        select m.agent_id,
            sum(({merit})::double) as window_merit_collections,
            sum(s.recovery_target * m.amount_due_exposure::double) as window_expected
        from marts.agent_month_metrics m
        join marts.{TABLE} s using (agent_id, month)
        where m.month >= $start::date - to_months($months - 1) and m.month < $start::date
            and s.recovery_target is not null and m.amount_due_exposure > 0
        group by all
    """, params={"start": month_start, "months": cfg.gaming.merit_window_months}).pl()


def _merit_collections(cfg: Config) -> pl.Expr:
    """The month's credited collections that are the agent's merit: without those on cases they
    never contacted when gaming.uncontacted_collections is ``centre`` (the default)."""
    credited = pl.col("credited_collections").cast(pl.Float64)
    if cfg.gaming.uncontacted_collections == "centre":
        return credited - pl.col("uncontacted_collections").fill_null(0).cast(pl.Float64)
    return credited


def _ratio(num: str, den: str) -> pl.Expr:
    # in floating point: Polars divides two Decimal(18, 2) at scale 2 (175 / 1000 -> 0.18)
    return pl.when(pl.col(den) > 0).then(
        pl.col(num).cast(pl.Float64) / pl.col(den).cast(pl.Float64)).otherwise(None)


def _not_appraised(cfg: Config, active: pl.Expr) -> dict[str, pl.Expr]:
    """Why an agent is not appraised this month (NULL: appraised), config ``appraisal``, in
    parts: the reason code, the measure it is judged on, its threshold and the agent's value.

    Fewer active days than ``min_active_days`` (measure ``active_days``): ``left`` (the first
    roster snapshot showing the agent as left is dated before the month's end), else ``joined``
    (hired after the month's first day), else ``no_work``; then no work at all (no case, call,
    survey or course: a count of 0 incidents without any work is no evidence of compliance; no
    measure): ``no_work``; then fewer than ``min_cases_handled`` cases handled (measure
    ``cases_handled``): ``no_work`` when none, else ``too_few_cases``. The column
    ``not_appraised_reason`` is the code in words ("no work", "too few cases").
    """
    ap = cfg.appraisal
    handled = pl.col("cases_handled").fill_null(0)
    few_days = pl.col("active_days").fill_null(31) < ap.min_active_days
    few_cases = handled < ap.min_cases_handled

    def by_rule(days: pl.Expr, no_work: pl.Expr, cases: pl.Expr) -> pl.Expr:
        return (pl.when(few_days).then(days).when(~active).then(no_work)
                .when(few_cases).then(cases).otherwise(None))

    return {
        "not_appraised_code": by_rule(
            pl.when(pl.col("left_by_month_end").fill_null(False)).then(pl.lit("left"))
            .when(pl.col("joined_in_month").fill_null(False)).then(pl.lit("joined"))
            .otherwise(pl.lit("no_work")),
            pl.lit("no_work"),
            pl.when(handled == 0).then(pl.lit("no_work")).otherwise(pl.lit("too_few_cases"))),
        "not_appraised_measure": by_rule(pl.lit("active_days"), pl.lit(None, pl.String),
                                         pl.lit("cases_handled")),
        "not_appraised_threshold": by_rule(pl.lit(ap.min_active_days, pl.Int64),
                                           pl.lit(None, pl.Int64),
                                           pl.lit(ap.min_cases_handled, pl.Int64)),
        "not_appraised_value": by_rule(pl.col("active_days").cast(pl.Int64),
                                       pl.lit(None, pl.Int64), handled.cast(pl.Int64)),
    }


def _distribution_grade(cfg: Config, band_grade: pl.Expr) -> pl.Expr:
    """Grades by rank to the target distribution (config ``grading``), within the centre or
    each team; groups under ``min_group_size`` appraised agents keep their band grades.

    Quotas are cumulative over the group's n appraised, not vetoed agents: S and A are rounded
    down (never more than their share), B and C to the nearest (halves up). Ties share the
    better grade, except that a tie straddling the S or A quota goes down to the next grade
    whole, so S and A never exceed their share.
    """
    g = cfg.grading
    eligible = pl.col("composite").is_not_null() & ~pl.col("veto")
    group = ([pl.col("team_id").fill_null("(no team)")] if g.scope == "team" else []) + [eligible]
    n = pl.len().over(group)
    best = pl.col("composite").rank("min", descending=True).over(group)
    worst = pl.col("composite").rank("max", descending=True).over(group)
    cumulative, total = [], 0.0
    for name, share in g.distribution:
        total += share
        cumulative.append((name, total))
    expr = pl.when(~eligible | (n < g.min_group_size)).then(band_grade)
    for name, upto in cumulative[:-1]:
        if name in ("S", "A"):
            expr = expr.when(worst <= (n * upto / 100).floor()).then(pl.lit(name))
        else:
            expr = expr.when(best <= (n * upto / 100 + 0.5).floor()).then(pl.lit(name))
    return expr.otherwise(pl.lit(cumulative[-1][0]))


# Grades from best to worst: the conduct gate caps a grade at conduct_gate.max_grade.
GRADE_ORDER = ("S", "A", "B", "C", "D")


def _conduct_gate(cfg: Config) -> pl.Expr:
    """Why the conduct gate applies (scorecard.md, "Conduct decides the grade"): a high conduct
    alert in the month, else a compliance score below the minimum; NULL for a veto (already
    graded VETO) or an agent not appraised (no grade to cap)."""
    graded = ~pl.col("veto") & pl.col("not_appraised_code").is_null()
    return (pl.when(graded & (pl.col("high_conduct_alerts").fill_null(0) > 0))
            .then(pl.lit("high_alert"))
            .when(graded & (pl.col("compliance_score")
                            < cfg.conduct_gate.min_compliance_score))
            .then(pl.lit("low_compliance"))
            .otherwise(None))


def _gated(cfg: Config, grade: pl.Expr, code: pl.Expr) -> pl.Expr:
    """The grade, at most conduct_gate.max_grade when the gate applies."""
    cap = cfg.conduct_gate.max_grade
    better = list(GRADE_ORDER[:GRADE_ORDER.index(cap)])
    return pl.when(code.is_not_null() & grade.is_in(better)).then(pl.lit(cap)).otherwise(grade)


def score(frame: pl.DataFrame, cfg: Config) -> pl.DataFrame:
    """Scores, composite, grade and ranks for one month of agents (a pure function)."""
    sc = cfg.scorecard
    # the merit window's earlier months (scoring_inputs); a frame without them: the month alone
    frame = frame.with_columns([pl.lit(None, pl.Float64).alias(c) for c in
                                ("window_merit_collections", "window_expected")
                                if c not in frame.columns])
    if "credit_factor" not in frame.columns:  # a frame whose base_target is the whole base
        frame = frame.with_columns(credit_factor=pl.lit(1.0, pl.Float64))
    frame = frame.with_columns(
        recovery_target=pl.col("base_target") * pl.col("difficulty_coefficient"),
        # on what the agent held: credited collections per yuan of exposure
        credited_recovery_rate=_ratio("credited_collections", "amount_due_exposure"
                                      ).cast(pl.Float64),
    ).with_columns(
        recovery_vs_target=_ratio("credited_recovery_rate", "recovery_target"),
        # version 3: the agent's merit, without the collections on cases they never contacted
        # (config gaming.uncontacted_collections: centre, the default; agent keeps them)
        # over the merit window: this month and the months before it already built
        # (gaming.merit_window_months), their merit collections over what their targets expected
        merit_recovery_vs_target=pl.when(
            (pl.col("amount_due_exposure") > 0) & (pl.col("recovery_target") > 0)).then(
            (_merit_collections(cfg) + pl.col("window_merit_collections").fill_null(0.0))
            / (pl.col("recovery_target") * pl.col("amount_due_exposure").cast(pl.Float64)
               + pl.col("window_expected").fill_null(0.0))),
    )
    # one expression per rule: its points and its effective weight (NULL value: no weight).
    # An agent with no work at all in the month (no case, call, survey, course) is not
    # appraised: a count of 0 incidents without any work is no evidence of compliance.
    active = pl.any_horizontal(
        (pl.col("call_attempts") > 0), (pl.col("cases_assigned") > 0), (pl.col("surveys") > 0),
        (pl.col("mandatory_due") > 0), pl.col("simulation_score").is_not_null(),
    ).fill_null(False)
    # a rate on few events shrunk toward what a similar book gives (kaohe/scoring/shrinkage.py)
    if cfg.fairness.shrink_small_samples:
        frame = shrink(frame)
    scored_col = {r.metric: f"{r.metric}__scored" if f"{r.metric}__scored" in frame.columns
              else r.metric for r in sc.rules}
    rule_cols = []
    for i, rule in enumerate(sc.rules):
        # NaN is no value (a 0/0 in a hand-made or foreign frame never scores, nor grades S)
        value = pl.col(scored_col[rule.metric]).cast(pl.Float64).fill_nan(None)
        # past the target at the same slope up to max_points (100 unless configured higher)
        points = ((value - rule.floor) / (rule.target - rule.floor)).clip(
            0, rule.max_points / 100) * 100
        # a value at the floor of a lower-is-better rule is 0 / -1 = -0.0, which DuckDB 1.4
        # prints as "-0.0" and 2.0 as "0.0": analysts' clients must read the same text
        points = pl.when(points == 0).then(pl.lit(0.0)).otherwise(points)
        weight = (pl.lit(rule.weight) + rule.high_risk_weight * pl.col("high_risk_share"))
        rule_cols += [
            points.alias(f"_p{i}"),
            pl.when(value.is_not_null() & (weight > 0) & active).then(weight).otherwise(0.0)
            .alias(f"_w{i}"),
        ]
    frame = frame.with_columns(rule_cols)
    dims = []
    for dim in DIMENSIONS:
        idx = [i for i, r in enumerate(sc.rules) if r.dimension == dim]
        wsum = pl.sum_horizontal([pl.col(f"_w{i}") for i in idx])
        psum = pl.sum_horizontal([pl.col(f"_p{i}").fill_null(0) * pl.col(f"_w{i}") for i in idx])
        dims.append(pl.when(wsum > 0).then(psum / wsum).otherwise(None)
                    .alias(f"{dim}_score"))
    frame = frame.with_columns(dims)
    present = [pl.col(f"{d}_score").is_not_null() for d in DIMENSIONS]
    weighted = pl.sum_horizontal([pl.col(f"{d}_score").fill_null(0) * sc.weights[d]
                                  for d in DIMENSIONS])
    if sc.missing_dimension == "reweight":
        used = pl.sum_horizontal([p.cast(pl.Float64) * sc.weights[d]
                                  for p, d in zip(present, DIMENSIONS, strict=True)])
        raw_composite = pl.when(used > 0).then(weighted / used).otherwise(None)
    else:
        raw_composite = pl.when(pl.any_horizontal(present)).then(weighted).otherwise(None)
    veto = pl.col("veto").fill_null(False) | (pl.col("veto_list_violations").fill_null(0) > 0)
    frame = frame.with_columns(veto=veto, **_not_appraised(cfg, active)).with_columns(
        not_appraised_reason=pl.col("not_appraised_code").str.replace_all("_", " "))
    frame = frame.with_columns(
        # a veto is never hidden; a month not worked enough is not graded (grade NA)
        composite=pl.when(pl.col("veto")).then(0.0)
        .when(pl.col("not_appraised_reason").is_not_null()).then(None)
        .otherwise(raw_composite).round(2),
        missing_dimensions=pl.concat_list(
            [pl.when(~p).then(pl.lit(d)).otherwise(None) for p, d in zip(present, DIMENSIONS,
                                                                           strict=True)]
        ).list.drop_nulls(),
    )
    grade = pl.when(pl.col("veto")).then(pl.lit("VETO")).when(
        pl.col("not_appraised_reason").is_not_null()).then(pl.lit("NA"))
    for name, band in sc.grades.items():
        grade = grade.when(pl.col("composite") >= band).then(pl.lit(name))
    grade = grade.when(pl.col("composite").is_not_null()).then(pl.lit("D")).otherwise(None)
    if cfg.grading.mode == "distribution":
        grade = _distribution_grade(cfg, grade)
    frame = frame.with_columns(grade_before_gate=grade).with_columns(
        conduct_gate_code=_conduct_gate(cfg))
    frame = frame.with_columns(
        grade=_gated(cfg, pl.col("grade_before_gate"), pl.col("conduct_gate_code")),
        # the violation type behind a veto, "major" when the veto has none (a major violation)
        veto_code=pl.when(pl.col("veto")).then(
            pl.col("veto_violation_type").fill_null("major")).otherwise(None),
    ).with_columns(veto_reason=pl.format("one-vote veto: {}", pl.col("veto_code")))
    # ranks: 1 = best, ties share a rank; percentile = share of the group at or below
    ranked = pl.col("composite").is_not_null()
    team = pl.col("team_id").fill_null("(no team)")
    frame = frame.with_columns(
        team_rank=pl.when(ranked).then(
            pl.col("composite").rank("min", descending=True).over(team, ranked)),
        center_rank=pl.when(ranked).then(
            pl.col("composite").rank("min", descending=True).over(ranked)),
        team_percentile=pl.when(ranked).then(
            100.0 * pl.col("composite").rank("max").over(team, ranked)
            / pl.len().over(team, ranked)),
        center_percentile=pl.when(ranked).then(
            100.0 * pl.col("composite").rank("max").over(ranked) / pl.len().over(ranked)),
        # the target's parts (recovery_target = base x macro x high-risk x credit factor x
        # difficulty) and,
        # for analysts, a sentence made of them (the reports word the parts)
        base_recovery_rate=pl.lit(cfg.targets.base_recovery_rate, pl.Float64),
        target_explanation=pl.format(
            "target {}% (base {}%, macro x{}, high-risk industries x{}, credited mix x{}, "
            "difficulty x{})",
            (pl.col("recovery_target") * 100).round(1),
            round(cfg.targets.base_recovery_rate * 100, 1),
            pl.col("macro_factor").round(2), pl.col("high_risk_factor").round(2),
            pl.col("credit_factor").round(2), pl.col("difficulty_coefficient").round(2)),
    )
    points = pl.concat_list([
        pl.struct(
            dimension=pl.lit(rule.dimension), metric=pl.lit(rule.metric),
            value=pl.col(scored_col[rule.metric]).cast(pl.Float64).fill_nan(None),
            floor=pl.lit(rule.floor),
            target=pl.lit(rule.target), direction=pl.lit(rule.direction),
            weight=pl.col(f"_w{i}"), points=pl.col(f"_p{i}"),
        ) for i, rule in enumerate(sc.rules)
    ]).alias("rule_points")
    frame = frame.with_columns(points, config_version=pl.lit(cfg.config_version))
    # the same inputs give the same table: no float noise beyond 9 places
    floats = [c for c, t in frame.schema.items() if t == pl.Float64 and c != "composite"]
    rounded = {c: pl.col(c).round(9) for c in floats}  # and no -0.0 (see the points)
    frame = frame.with_columns(pl.when(r == 0).then(pl.lit(0.0)).otherwise(r).alias(c)
                               for c, r in rounded.items())
    names = dictionary(TABLE).names
    return frame.select([c for c in names if c != "config_version"] + ["config_version"])


def build_scorecard(con: duckdb.DuckDBPyConnection, cfg: Config, month: str) -> int:
    """Replace the month's rows of marts.agent_month_scorecard."""
    ensure_mart(con, TABLE)
    start = date.fromisoformat(f"{month}-01")
    cards = score(scoring_inputs(con, cfg, month), cfg)
    cols = ", ".join(quote(c) for c in cards.columns)
    con.execute("begin transaction")
    try:
        con.execute(f"delete from marts.{TABLE} where month = ?", [start])
        con.register("_cards", cards)
        con.execute(f"insert into marts.{TABLE} ({cols}) select {cols} from _cards")
        con.unregister("_cards")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return cards.height
