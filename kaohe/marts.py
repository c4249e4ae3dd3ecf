"""Building the monthly marts from the SQL files under ``sql/marts/``.

Each mart is ``sql/marts/<table>.sql`` (one query, bound parameters) plus its dictionary
``sql/marts/<table>.yaml`` (columns, types, definitions in English and Chinese). A month is
rebuilt by replacing its rows in one transaction, so re-running a month gives the same table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import duckdb
import yaml

from kaohe.config import Config
from kaohe.warehouse import literal, quote

SQL_DIR = Path(__file__).resolve().parents[1] / "sql" / "marts"


@dataclass(frozen=True)
class Dictionary:
    table: str
    grain: str
    description: dict[str, str]
    columns: list[dict[str, str]]

    @property
    def names(self) -> list[str]:
        return [c["name"] for c in self.columns]


@cache
def dictionary(table: str) -> Dictionary:
    data = yaml.safe_load((SQL_DIR / f"{table}.yaml").read_text(encoding="utf-8"))
    return Dictionary(data["table"], data["grain"], data["description"], data["columns"])


@cache
def sql(table: str) -> str:
    return (SQL_DIR / f"{table}.sql").read_text(encoding="utf-8")


def month_bounds(month: str | date) -> tuple[date, date, date]:
    """(first day, first day of next month, first day of the quarter) of a YYYY-MM month."""
    start = date.fromisoformat(f"{month}-01") if isinstance(month, str) else month.replace(day=1)
    end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    quarter = date(start.year, 3 * ((start.month - 1) // 3) + 1, 1)
    return start, end, quarter


def metric_params(cfg: Config, month: str | date) -> dict:
    start, end, quarter = month_bounds(month)
    m = cfg.metrics
    return {
        "month_start": start,
        "month_end": end,
        "quarter_start": quarter,
        "bucket_weights": [{"bucket": b, "weight": w} for b, w in m.bucket_weights.items()],
        "contact_cap": m.contact_cap_per_day,
        "hours_start": m.hours_start,
        "hours_end": m.hours_end,
        "effective_min_s": m.effective_call_min_s,
        "qa_labels": list(m.qa_flag_labels),
        "qa_threshold": m.qa_confidence_threshold,
        "high_risk_score": m.high_risk_score,
        "min_tenure_months": m.min_tenure_months_for_high_risk,
        "sla_hours": [{"ticket_type": t, "hours": h} for t, h in m.ticket_sla_hours.items()],
        "variable_share": cfg.pay.variable_share,
        "deferred_share": cfg.pay.deferred_share,
        "payout_factors": [{"grade": g, "factor": f} for g, f in cfg.pay.payout_factors.items()],
        "promotion_rules": [
            {"from_level": r.from_level, "to_level": r.to_level,
             "min_composite": r.min_composite, "months": r.months,
             "requires_expertise": r.requires_expertise} for r in cfg.promotion],
        "m6plus_min": cfg.expertise.m6plus_min_assignments,
        "restructuring_min": cfg.expertise.restructuring_min_completed,
    }


def _used_params(text: str, params: dict) -> dict:
    """DuckDB refuses unused named parameters: bind only those the query names."""
    return {k: v for k, v in params.items() if f"${k}" in text}


def ensure_mart(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Create the mart table from its dictionary and (re)write every comment from it."""
    d = dictionary(table)
    cols = ", ".join(f"{quote(c['name'])} {c['type']}" for c in d.columns)
    con.execute("create schema if not exists marts")
    con.execute(f"create table if not exists {d.table} ({cols}, config_version varchar)")
    con.execute(f"comment on table {d.table} is {literal(d.description['en'] + ' ' + d.grain)}")
    for c in d.columns:
        con.execute(f"comment on column {d.table}.{quote(c['name'])} is "
                    f"{literal(c['en'] + ' | ' + c['zh'])}")
    con.execute(f"comment on column {d.table}.config_version is "
                f"{literal('configuration (version+hash) this row was built with')}")


def build_month(con: duckdb.DuckDBPyConnection, table: str, cfg: Config, month: str | date
                ) -> int:
    """Replace the month's rows of ``marts.<table>``; returns the row count."""
    d = dictionary(table)
    ensure_mart(con, table)
    query = sql(table)
    params = _used_params(query, metric_params(cfg, month))
    start = params.get("month_start") or month_bounds(month)[0]
    cols = ", ".join(quote(n) for n in d.names)
    con.execute("begin transaction")
    try:
        con.execute(f"delete from {d.table} where month = ?", [start])
        con.execute(
            f"insert into {d.table} ({cols}, config_version) "
            f"select {cols}, {literal(cfg.config_version)} from ({query})",
            params,
        )
        n = con.execute(f"select count(*) from {d.table} where month = ?", [start]).fetchall()
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return n[0][0]


# Build order within a month: each mart reads the ones before it.
MONTHLY_MARTS = (
    "agent_month_metrics",
    "skill_risk_mismatches",
    "team_month_metrics",
    "agency_month_metrics",
    "center_month_summary",
    "agent_month_scorecard",  # Polars: kaohe/scorecard.py
    "agent_month_pay",
    "promotion_candidates",
)


def build(con: duckdb.DuckDBPyConnection, table: str, cfg: Config, month: str) -> int:
    """One mart of one month, whichever engine builds it."""
    if table == "agent_month_scorecard":
        from kaohe.scorecard import build_scorecard

        return build_scorecard(con, cfg, month)
    return build_month(con, table, cfg, month)


def build_all(con: duckdb.DuckDBPyConnection, cfg: Config, month: str) -> dict[str, int]:
    """Every monthly mart of one month, in order; returns row counts."""
    return {table: build(con, table, cfg, month) for table in MONTHLY_MARTS}
