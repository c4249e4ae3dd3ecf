"""Restatement: a closed month rebuilt with different results is recorded, not silently changed.

After a month's pay is built, its scorecard and pay are compared with the snapshot taken when
the month was first closed (``audit.month_snapshots``). A month is closed once its grace period
for late files is over (kaohe.months.GRACE_DAYS: the nightly schedule rebuilds a month during
the first days of the next one). A
difference is a restatement: every affected agent's before/after composite, grade and pay goes
to ``audit.restatements``, the month is stamped ``restated:YYYY-MM`` in audit.warehouse_meta (the
reports show "restated on ..."), and the snapshot moves to the new figures.
"""

from __future__ import annotations

from datetime import date

import duckdb

from kaohe.months import is_closed, month_bounds
from kaohe.warehouse import audit_tables as audit
from kaohe.warehouse import meta_set

CURRENT = """
select s.agent_id, s.composite, s.grade, p.paid_now, p.deferred, p.forfeited
from marts.agent_month_scorecard s left join marts.agent_month_pay p using (agent_id, month)
where s.month = $month
"""


def record(con: duckdb.DuckDBPyConnection, month: str, today: date) -> int:
    """Compare the month with its closing snapshot; returns the number of agents restated."""
    start = month_bounds(month)[0]
    if not is_closed(month, today):
        return 0  # the month to date changes every night: that is no restatement
    has_snapshot = con.execute("select count(*) from audit.month_snapshots where month = ?",
                               [start]).fetchall()[0][0]
    changed = 0
    con.execute("begin transaction")
    try:
        if has_snapshot:
            con.execute(
                "create or replace temp table _changes as "
                "select coalesce(n.agent_id, o.agent_id) as agent_id, o.composite as c0, "
                "n.composite as c1, o.grade as g0, n.grade as g1, o.paid_now as p0, "
                "n.paid_now as p1, o.deferred as d0, n.deferred as d1, o.forfeited as f0, "
                "n.forfeited as f1 "
                f"from ({CURRENT}) n full join (select * from audit.month_snapshots "
                "where month = $month) o using (agent_id) "
                "where n.composite is distinct from o.composite or n.grade is distinct from "
                "o.grade or n.paid_now is distinct from o.paid_now or n.deferred is distinct "
                "from o.deferred or n.forfeited is distinct from o.forfeited",
                {"month": start})
            changed = con.execute("select count(*) from _changes").fetchall()[0][0]
            if changed:
                con.execute(f"insert into audit.restatements {audit.columns('restatements')} "
                            "select ?, agent_id, c0, c1, g0, "
                            "g1, p0, p1, d0, d1, f0, f1, now()::timestamp from _changes",
                            [start])
                meta_set(con, f"restated:{month}", today.isoformat())
        if changed or not has_snapshot:
            con.execute("delete from audit.month_snapshots where month = ?", [start])
            con.execute(f"insert into audit.month_snapshots {audit.columns('month_snapshots')} "
                        "select $month, *, "
                        f"now()::timestamp from ({CURRENT})", {"month": start})
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return changed
