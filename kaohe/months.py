"""Month arithmetic, defined once: the month pattern, a month's bounds, the late-file grace.

A month is ``YYYY-MM``; its rows are the half-open interval [first day, first day of the next
month) in the lender's local time. Files for a month may arrive late: during the first
``GRACE_DAYS`` days of the next month the nightly run rebuilds the previous month too, and a
month is closed (its figures frozen for pay, later changes recorded as restatements) after them.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import duckdb

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
# Days of the next month during which late files still change a month (the nightly schedule
# rebuilds it; kaohe.models.restatement closes it after).
GRACE_DAYS = 5


def month_bounds(month: str | date) -> tuple[date, date, date]:
    """(first day, first day of next month, first day of the quarter) of a YYYY-MM month."""
    start = date.fromisoformat(f"{month}-01") if isinstance(month, str) else month.replace(day=1)
    end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    quarter = date(start.year, 3 * ((start.month - 1) // 3) + 1, 1)
    return start, end, quarter


def previous_month(month: str) -> str:
    """The YYYY-MM before ``month``."""
    return (month_bounds(month)[0] - timedelta(days=1)).strftime("%Y-%m")


def months_to_build(today: date, grace_days: int = GRACE_DAYS) -> list[str]:
    """What the nightly run rebuilds: the current month, and during the first ``grace_days``
    days of a month the previous one too (late files)."""
    current = today.strftime("%Y-%m")
    return [previous_month(current), current] if today.day <= grace_days else [current]


def is_closed(month: str, today: date, grace_days: int = GRACE_DAYS) -> bool:
    """A month is closed once the grace period of the next month has passed."""
    return today > month_bounds(month)[1] + timedelta(days=grace_days - 1)


# A month "has data" when something happened in it: a call or a repayment dated in it, a file of
# calls, assignments or repayments delivered for it (not rejected), or its marts built. Other
# sources carry dates far from the work (a repayment-plan cohort or a credit follow-up dated
# three years back) and would make every month since then look like one to check or build.
ACTIVITY = (  # (table, date column, condition)
    ("marts.agent_month_metrics", "month", "true"),
    ("staging.calls", "started_at", "true"),
    ("staging.repayments", "paid_at", "true"),
    ("audit.file_registry", "business_date",
     "status <> 'rejected' and source in ('calls', 'assignments', 'repayments')"),
)


def activity_months(con: duckdb.DuckDBPyConnection, first_only: bool = False) -> list[str]:
    """The months with activity (ACTIVITY) in a kaohe warehouse, sorted; a table the warehouse
    lacks is left out. ``first_only``: just the earliest (a min per table, no distinct over
    every call)."""
    found: set[str] = set()
    for table, column, where in ACTIVITY:
        sql = (f"select strftime(min({column}), '%Y-%m') from {table} where {where}"
               if first_only else
               f"select distinct strftime({column}, '%Y-%m') from {table} where {where}")
        try:
            found |= {r[0] for r in con.execute(sql).fetchall() if r[0]}
        except duckdb.Error:
            continue  # a table this warehouse does not have
    return sorted(found)[:1] if first_only else sorted(found)
