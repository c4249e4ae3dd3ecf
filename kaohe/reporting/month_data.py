"""What the reports of a month read: a handful of queries per month (never per agent), over the
marts and ``sql/reports/*.sql``, held as Polars frames for kaohe.reporting.reports to render."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from kaohe.models import model_sql
from kaohe.months import month_bounds
from kaohe.quality import stored_results


@dataclass
class MonthData:
    month: str
    cards: pl.DataFrame
    teams: pl.DataFrame
    center: dict
    agencies: pl.DataFrame
    mismatches: pl.DataFrame
    trend: pl.DataFrame
    buckets: pl.DataFrame
    team_medians: pl.DataFrame
    checks: list
    quarantine: list[dict]
    late_sources: list[str]
    restated_on: str | None
    alerts: pl.DataFrame | None = None
    signals: pl.DataFrame | None = None
    agreement: pl.DataFrame | None = None
    roll_rates: pl.DataFrame | None = None
    rehabilitation: pl.DataFrame | None = None
    peers: pl.DataFrame | None = None
    appeals: pl.DataFrame | None = None
    appeal_outcomes: pl.DataFrame | None = None
    windows: pl.DataFrame | None = None


# "Best windows for your portfolio" on the team report: the best windows per kind of day.
TOP_WINDOWS = 3


def report_sql(name: str) -> str:
    """A query of the reports: ``sql/reports/<name>.sql``."""
    return model_sql("reports", name)


def _df(con: duckdb.DuckDBPyConnection, query: str, **params) -> pl.DataFrame:
    return con.sql(query, params=params or None).pl()


def load_month(con: duckdb.DuckDBPyConnection, month: str) -> MonthData:
    start, end, _ = month_bounds(month)
    six = start.replace(year=start.year - (start.month <= 5),
                        month=(start.month - 6) % 12 + 1)
    cards = _df(con, report_sql("agent_cards"), start=start, end=end)
    teams = _df(con, report_sql("teams"), start=start, end=end)
    center = _df(con, "select * from marts.center_month_summary where month = $start",
                 start=start).to_dicts()
    trend = _df(con, report_sql("composite_trend"), six=six, start=start)
    buckets = _df(con, report_sql("portfolio_buckets"), start=start, end=end)
    team_medians = _df(con, report_sql("team_medians"), start=start)
    quarantine = _df(con, report_sql("quarantine_summary"), start=start, end=end).to_dicts()
    checks = stored_results(con, month)
    late = [r.sample for r in checks if r.check == "daily_sources_fresh" and not r.passed]
    restated = con.execute(
        "select value from audit.warehouse_meta where key = ?", [f"restated:{month}"]
    ).fetchall()
    return MonthData(
        month=month, cards=cards, teams=teams, center=center[0] if center else {},
        agencies=_df(con, "select * from marts.agency_month_metrics where month = $start "
                          "order by agency_id", start=start),
        mismatches=_df(con, report_sql("skill_risk_mismatches"), start=start, end=end),
        trend=trend, buckets=buckets, team_medians=team_medians, checks=checks,
        quarantine=quarantine, late_sources=[s for group in late for s in group],
        restated_on=restated[0][0] if restated else None,
        alerts=_df(con, report_sql("conduct_alerts"), start=start),
        signals=_df(con, report_sql("gaming_signals"), start=start),
        agreement=_df(con, "select * from marts.qa_model_agreement where month = $start "
                           "order by model_version, label", start=start),
        roll_rates=_df(con, "select * from marts.roll_rates where month = $start "
                            "order by scope, team_id, opening_rank, closing_rank", start=start),
        rehabilitation=_df(con, report_sql("rehabilitation_summary"), start=start),
        peers=_peers(con, start) if _has_mart(con, "agent_peer_comparisons") else None,
        appeals=_df(con, "select * from marts.agent_appeals where month = $start "
                         "order by agent_id, filed_at, appeal_id", start=start)
        if _has_mart(con, "agent_appeals") else None,
        appeal_outcomes=_df(con, "select * from marts.appeal_outcomes where month = $start",
                            start=start) if _has_mart(con, "appeal_outcomes") else None,
        windows=(_df(con, report_sql("team_windows"), start=start, end=end, top=TOP_WINDOWS)
                 if _has_mart(con, "contact_windows") else None),
    )


def _peers(con: duckdb.DuckDBPyConnection, start) -> pl.DataFrame:
    """Agents like you (marts.agent_peer_comparisons)."""
    return _df(con, report_sql("peer_comparisons"), start=start)


def _has_mart(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """The warehouse has ``marts.<table>`` (one built by an older kaohe may not)."""
    return bool(con.execute("select count(*) from duckdb_tables() where database_name = "
                            "current_database() and schema_name = 'marts' and table_name = ?",
                            [table]).fetchall()[0][0])
