"""Restatement of a closed month: recorded with before/after, reports stamped."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from kaohe.config import AppraisalConfig
from kaohe.models.marts import build_all
from kaohe.models.restatement import is_closed, record
from kaohe.reporting.reports import render_month
from tests.metric_rows import CFG as SHIPPED
from tests.metric_rows import agent, assignment, call, insert, payment, warehouse

# a hand-made agent with one case and no call is appraised here (tests/scoring/test_appraisal.py pins
# who is appraised under the shipped thresholds)
CFG = replace(SHIPPED, appraisal=AppraisalConfig(min_active_days=0, min_cases_handled=0))


def test_a_month_closes_after_the_grace_period_for_late_files():
    assert not is_closed("2026-08", date(2026, 9, 5))
    assert is_closed("2026-08", date(2026, 9, 6))


def test_a_late_file_for_a_closed_month_is_recorded_as_a_restatement(tmp_path):
    con = warehouse(tmp_path / "w.duckdb")
    insert(con, "agents", [dict(agent("A1", "2026-08-01"), base_salary="3000.00")])
    insert(con, "assignments", [assignment("S1", "C1", "A1", "2026-08-01 09:00:00",
                                           amount_due="1000.00")])
    # the agent worked the case (a collection on a case never dialled is the centre's merit)
    insert(con, "calls", [call("K1", "A1", "C1", "2026-08-02 10:00:00")])
    insert(con, "repayments", [payment("P1", "C1", "2026-08-05 10:00:00", "100.00")])
    build_all(con, CFG, "2026-08")
    today = date(2026, 10, 2)
    assert record(con, "2026-08", today) == 0  # first close: a snapshot, no restatement
    assert record(con, "2026-08", today) == 0  # rebuilt identically: nothing to record
    # a payment of August delivered late
    insert(con, "repayments", [payment("P2", "C1", "2026-08-20 10:00:00", "300.00")])
    build_all(con, CFG, "2026-08")
    assert record(con, "2026-08", today) == 1
    (c0, c1, p0, p1), = con.execute(
        "select composite_before, composite_after, paid_now_before, paid_now_after "
        "from audit.restatements where agent_id = 'A1'").fetchall()
    assert c1 > c0 and p1 >= p0
    html = (render_month(con, tmp_path / "reports", "2026-08").directory / "agents"
            / "A1.html").read_text()
    assert "数据已于 2026-10-02 重述" in html


def test_the_month_to_date_is_never_a_restatement(tmp_path):
    con = warehouse(tmp_path / "w.duckdb")
    insert(con, "agents", [agent("A1", "2026-08-01")])
    build_all(con, CFG, "2026-08")
    assert record(con, "2026-08", date(2026, 8, 20)) == 0
    assert con.execute("select count(*) from audit.month_snapshots").fetchall() == [(0,)]
