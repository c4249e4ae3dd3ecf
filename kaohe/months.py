"""Month arithmetic, defined once: the month pattern, a month's bounds, the late-file grace.

A month is ``YYYY-MM``; its rows are the half-open interval [first day, first day of the next
month) in the lender's local time. Files for a month may arrive late: during the first
``GRACE_DAYS`` days of the next month the nightly run rebuilds the previous month too, and a
month is closed (its figures frozen for pay, later changes recorded as restatements) after them.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

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
