"""``kaohe whatif``: a month re-scored under a proposed configuration, the warehouse untouched.

The published copy is attached read-only to an in-memory scratch database whose ``staging``,
``intermediate`` and ``marts`` schemas are views over it, except the marts the proposal
rebuilds for the month (the scorecard, pay, promotion and the team scorecard;
``agent_month_metrics`` too when the proposal changes the ``metrics`` section, which is
slower). They are rebuilt with the very builders ``kaohe run`` uses (kaohe.models.marts), so the
"after" is exactly what a run with the proposal would publish for the month. Earlier months stay
as published, as they would after such a run.

Output: ``<home>/reports/YYYY-MM/whatif-<config hash>.csv`` (agent_id, team_id,
composite_before, composite_after, grade_before, grade_after, variable_pay_before,
variable_pay_after), ``-teams.csv`` (the team managers' scorecard: team_id, composite and grade
before and after) and ``.html`` (grade distribution before and after, total variable pay
before and after, the agents whose grade changes, every team's grade before and after, the
proposal's audit findings).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from kaohe.config import Config
from kaohe.models.marts import build
from kaohe.months import month_bounds
from kaohe.reporting.i18n import environment, metric_labels, texts
from kaohe.scoring.history import scratch
from kaohe.scoring.rule_audit import Finding, audit

CSV_COLUMNS = ("agent_id", "team_id", "composite_before", "composite_after", "grade_before",
               "grade_after", "variable_pay_before", "variable_pay_after")
# what the proposal rebuilds for the month, in build order
RESCORED = ("agent_month_scorecard", "agent_month_pay", "promotion_candidates",
            "team_month_scorecard")


class WhatIfError(RuntimeError):
    """Nothing to compare: no published warehouse, or the month is not in it."""


@dataclass
class WhatIf:
    month: str
    config_version: str
    rows: pl.DataFrame
    findings: list[Finding]
    rebuilt_metrics: bool
    seconds: float
    teams: pl.DataFrame | None = None  # team_id, composite and grade before and after
    csv: Path | None = None
    teams_csv: Path | None = None
    html: Path | None = None

    @property
    def changed(self) -> pl.DataFrame:
        """The agents whose grade, composite or pay changes: grade changes first, then by the
        size of the composite's change."""
        return self.rows.filter(
            pl.col("grade_before").ne_missing(pl.col("grade_after"))
            | pl.col("composite_before").ne_missing(pl.col("composite_after"))
            | pl.col("variable_pay_before").ne_missing(pl.col("variable_pay_after"))
        ).with_columns(
            grade_changed=pl.col("grade_before").ne_missing(pl.col("grade_after")),
            _size=(pl.col("composite_after").fill_null(0) - pl.col("composite_before")
                   .fill_null(0)).abs(),
        ).sort(["grade_changed", "_size", "agent_id"], descending=[True, True, False]
               ).drop("_size")

    @property
    def grade_changes(self) -> int:
        return int(self.rows.filter(
            pl.col("grade_before").ne_missing(pl.col("grade_after"))).height)


def run(published: Path, month: str, cfg: Config, reports_dir: Path | None = None,
        lang: str = "zh") -> WhatIf:
    """Re-score ``month`` under ``cfg`` from the published copy; write the CSV and HTML."""
    if not published.exists():
        raise WhatIfError(f"no published warehouse at {published}: run the month first")
    started = time.perf_counter()
    start = month_bounds(month)[0]
    con, meta = scratch(published, month, RESCORED + ("agent_month_metrics",))
    try:
        before = _graded(con, "pub.marts", start, "before")  # as published
        if before.is_empty():
            raise WhatIfError(f"{month} has no scorecard in {published}: run the month first")
        published_cfg = json.loads(meta.get(f"config:{month}", "{}"))
        rebuilt = published_cfg.get("metrics") != cfg.raw.get("metrics")
        if rebuilt:  # the metrics themselves change: rebuild them first (slower)
            build(con, "agent_month_metrics", cfg, month)
        else:
            con.execute("insert into marts.agent_month_metrics select * from "
                        "pub.marts.agent_month_metrics where month = ?", [start])
        for table in RESCORED:
            build(con, table, cfg, month)
        after = _graded(con, "marts", start, "after").drop("team_id")  # as re-scored
        teams = _teams(con, "pub.marts", start, "before").join(
            _teams(con, "marts", start, "after"), on="team_id", how="full", coalesce=True
        ).sort("team_id")
        # the names the page shows beside the ids (the roster as of the month's last day)
        roster = con.sql(
            "select agent_id, agent_name, team_id as roster_team, team_name "
            "from intermediate.roster_at(($e::date - interval 1 day)::date)",
            params={"e": month_bounds(month)[1]}).pl()
    finally:
        con.close()
    rows = before.join(after, on="agent_id", how="full", coalesce=True).select(
        "agent_id", "team_id", "composite_before", "composite_after", "grade_before",
        "grade_after", "variable_pay_before", "variable_pay_after", "conduct_held_before",
        "conduct_held_after").sort("agent_id")
    rows = rows.join(roster.select("agent_id", "agent_name"), on="agent_id", how="left")
    team_names = roster.select(team_id="roster_team", team_name="team_name").drop_nulls(
        "team_id").sort("team_id", "team_name").unique("team_id", keep="first",
                                                       maintain_order=True)
    rows = rows.join(team_names, on="team_id", how="left")
    teams = teams.join(team_names, on="team_id", how="left")
    result = WhatIf(month, cfg.config_version, rows, audit(cfg), rebuilt,
                    time.perf_counter() - started, teams)
    if reports_dir is not None:
        _write(result, reports_dir / month, lang, cfg)
    return result


def _graded(con: duckdb.DuckDBPyConnection, marts: str, start, side: str) -> pl.DataFrame:
    """The month's composite, grade and variable pay per agent, from ``marts`` (the published
    copy's or the re-scored ones), the columns suffixed ``_before`` or ``_after``;
    ``conduct_held``: vetoed or conduct-gated (no variable pay whatever the grade)."""
    return con.sql(
        f"select s.agent_id, s.team_id, s.composite as composite_{side}, s.grade as "
        f"grade_{side}, p.variable_earned::double as variable_pay_{side}, "
        f"coalesce(s.veto, false) or s.conduct_gate_code is not null as conduct_held_{side} "
        f"from {marts}.agent_month_scorecard s left join {marts}.agent_month_pay p "
        "using (agent_id, month) where s.month = $m", params={"m": start}).pl()


def _teams(con: duckdb.DuckDBPyConnection, marts: str, start, side: str) -> pl.DataFrame:
    """The month's team scorecard (the managers' appraisal): composite and grade per team."""
    return con.sql(
        f"select team_id, composite as composite_{side}, grade as grade_{side} "
        f"from {marts}.team_month_scorecard where month = $m", params={"m": start}).pl()


def distribution(rows: pl.DataFrame, column: str) -> list[tuple[str, int]]:
    counts = dict(rows.group_by(column).len().iter_rows())
    order = ["S", "A", "B", "C", "D", "VETO", "NA"]
    return [(g, counts.get(g, 0)) for g in order if counts.get(g, 0) or g in "SABCD"]


def _write(result: WhatIf, out: Path, lang: str, cfg: Config) -> None:
    out.mkdir(parents=True, exist_ok=True)
    stem = f"whatif-{cfg.hash[:12]}"
    result.csv = out / f"{stem}.csv"
    result.rows.select(CSV_COLUMNS).write_csv(result.csv)
    result.teams_csv = out / f"{stem}-teams.csv"
    result.teams.select("team_id", "composite_before", "grade_before", "composite_after",
                        "grade_after").write_csv(result.teams_csv)
    env = environment()
    html = env.get_template("whatif.html.j2").render(
        r=result, before=distribution(result.rows, "grade_before"),
        after=distribution(result.rows, "grade_after"),
        pay_before=result.rows["variable_pay_before"].fill_null(0).sum(),
        pay_after=result.rows["variable_pay_after"].fill_null(0).sum(),
        changed=result.changed.to_dicts(), teams=result.teams.to_dicts(), lang=lang,
        month=result.month,
        config_version=cfg.config_version, t=texts(lang), m=metric_labels(lang),
        generated_at=time.strftime("%Y-%m-%d %H:%M"))
    result.html = out / f"{stem}.html"
    result.html.write_text(html, encoding="utf-8")
