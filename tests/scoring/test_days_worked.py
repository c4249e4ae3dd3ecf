"""Pay for the days worked (docs/scorecard.md "Pay for the days worked"): the last working day is
HR's `agents.left_on` when sent, else the agent's last call before the first roster snapshot
showing them left (a weekly roster cannot date a departure); base pay is prorated by the days
worked; an agent with no active day gets no pay row."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import duckdb
import pytest

from kaohe.models.marts import build_all
from tests.metric_rows import CFG, agent, assignment, call, case, insert

AUG = date(2026, 8, 1)


@pytest.fixture
def con(metric_con):
    return metric_con


def staff(agent_id: str, snapshot: str = "2026-08-01", status: str = "active",
          left_on: str | None = None, salary: str = "3100.00") -> dict:
    row = agent(agent_id, snapshot, status=status)
    row.update(hire_date="2025-01-01", base_salary=salary)
    if left_on:
        row["left_on"] = left_on
    return row


def calls_until(agent_id: str, last_day: int, cases: int = 14) -> list[dict]:
    """A call a day from the 1st to ``last_day`` of August, on ``cases`` distinct cases."""
    return [call(f"{agent_id}K{d}", agent_id, f"{agent_id}C{d % cases}",
                 f"2026-08-{d:02d} 10:00:00", "connected_debtor", 60)
            for d in range(1, last_day + 1)]


def month(con) -> dict[str, dict]:
    build_all(con, CFG, "2026-08")
    cur = con.execute("select s.agent_id, s.active_days, s.grade, s.not_appraised_code, "
                      "p.base_paid, p.active_days as paid_days from marts.agent_month_scorecard s "
                      "left join marts.agent_month_pay p using (agent_id, month) "
                      "where s.month = ?", [AUG])
    names = [d[0] for d in cur.description]
    return {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}


def test_a_leaver_is_active_until_the_last_call_before_the_roster_shows_them_left(con):
    # weekly rosters: active on the 11th, left on the 18th; the last call on the 12th. Counted
    # to the snapshot he had 17 days and was appraised; he worked 12
    insert(con, "agents", [staff("GONE", "2026-08-04"), staff("GONE", "2026-08-11"),
                           staff("GONE", "2026-08-18", status="left"), staff("STAY")])
    insert(con, "calls", calls_until("GONE", 12) + calls_until("STAY", 28))
    got = month(con)
    assert got["GONE"]["active_days"] == 12
    assert (got["GONE"]["grade"], got["GONE"]["not_appraised_code"]) == ("NA", "left")
    assert got["GONE"]["base_paid"] == Decimal("1200.00")  # 3,100 x 12 / 31
    assert got["STAY"]["active_days"] == 31 and got["STAY"]["base_paid"] == Decimal("3100.00")


def test_hr_s_leave_date_wins_when_sent(con):
    insert(con, "agents", [staff("GONE", "2026-08-11"),
                           staff("GONE", "2026-08-18", status="left", left_on="2026-08-16")])
    insert(con, "calls", calls_until("GONE", 12))
    assert month(con)["GONE"]["active_days"] == 16  # the 1st to the 16th, HR's last day


def test_no_active_day_no_pay_row_and_the_export_lists_the_agent_apart(con):
    # left in July, his last case released on the 1st: a scorecard row (NA, left), no pay row
    insert(con, "agents", [staff("JULY", "2026-07-06"),
                           staff("JULY", "2026-07-20", status="left", left_on="2026-07-17"),
                           staff("STAY")])
    insert(con, "cases", [case("C1", "D1")])
    insert(con, "assignments", [assignment("X1", "C1", "JULY", "2026-06-01 00:00:00",
                                           "2026-08-01 12:00:00")])
    insert(con, "calls", calls_until("STAY", 28))
    got = month(con)
    assert got["JULY"]["active_days"] == 0 and got["JULY"]["paid_days"] is None
    from kaohe.scoring.payroll import load

    export = load(con, "2026-08")
    assert [r[0] for r in export.rows] == ["STAY"]
    assert [(r[0], r[-1]) for r in export.not_paid] == [("JULY", "离职（在岗天数不足）")]


def test_full_proration_pays_the_contract(con, tmp_path):
    import yaml

    from kaohe.config import DEFAULT_CONFIG, load_config

    data = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    data["pay"]["base_proration"] = "full"
    path = tmp_path / "full.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    insert(con, "agents", [staff("GONE", "2026-08-11"),
                           staff("GONE", "2026-08-18", status="left", left_on="2026-08-16")])
    insert(con, "calls", calls_until("GONE", 12))
    build_all(con, load_config(path), "2026-08")
    assert con.execute("select base_paid from marts.agent_month_pay").fetchall() == [
        (Decimal("3100.00"),)]


def test_on_the_generated_centre_pay_follows_the_days_worked(sample_build):
    con = duckdb.connect(str(sample_build["home"] / "warehouse" / "kaohe.duckdb"),
                         read_only=True)
    try:
        # no appraised agent worked fewer than the minimum days, judged by their last call
        short = con.execute("""
            select count(*) from marts.agent_month_scorecard
            where grade not in ('NA') and active_days < ?""",
                            [CFG.appraisal.min_active_days]).fetchall()[0][0]
        assert short == 0
        # a leaver's active days never run past their last call (or HR's date)
        late = con.execute("""
            with last_call as (
                select agent_id, date_trunc('month', started_at)::date as month,
                       max(started_at)::date as last_day
                from staging.calls group by all)
            select count(*) from marts.agent_month_scorecard s
            join last_call l using (agent_id, month)
            where s.not_appraised_code = 'left'
                and s.active_days > date_diff('day', s.month, l.last_day) + 1""").fetchall()
        assert late[0][0] == 0
        # base pay is base x active days / days in the month, row by row and in total
        off, rows, total, expected = con.execute("""
            select count(*) filter (where base_paid <> round(base_salary * active_days
                   / date_diff('day', month, month + interval 1 month), 2)),
                   count(*), sum(base_paid),
                   sum(round(base_salary * active_days
                             / date_diff('day', month, month + interval 1 month), 2
                             )::decimal(18, 2))
            from marts.agent_month_pay""").fetchall()[0]
        assert rows > 100 and off == 0 and total == expected
        assert con.execute("select count(*) from marts.agent_month_pay where active_days = 0"
                           ).fetchall()[0][0] == 0
        # the lender sends left_on for some leavers, and the month says it was sent
        assert con.execute("select bool_or(sent) from marts.input_availability "
                           "where input = 'agents.left_on'").fetchall()[0][0]
    finally:
        con.close()
