"""Version-2 measures on hand-written rows: aging and roll rates from dpd snapshots, the
debt-rehabilitation index from credit follow-ups, and the note when an optional input is not
sent. August 2026: M = [2026-08-01, 2026-09-01)."""

from __future__ import annotations

import pytest

from kaohe.models.marts import build_month
from tests.metric_rows import CFG, agent, assignment, build, insert, warehouse

MONTH = "2026-08"


@pytest.fixture
def con(tmp_path):
    con = warehouse(tmp_path / "w.duckdb")
    yield con
    con.close()


def snap(case_id: str, day: str, dpd: int | None, overdue: str | None = None) -> dict:
    return dict(snapshot_date=day, case_id=case_id, debtor_id="D" + case_id, dpd=dpd,
                overdue_amount=overdue)


def roster(con, *agents: tuple[str, str]) -> None:
    insert(con, "agents", [agent(a, "2026-07-01", team_id=t) for a, t in agents])


# aging ----------------------------------------------------------------------------------------

def test_cure_roll_forward_handover_and_missing_snapshots(con):
    roster(con, ("A", "T1"), ("B", "T1"), ("C", "T2"))
    insert(con, "cases", [
        # C1 held by A all month: M2 (45) on the 1st, current (0) on the 24th: a cure
        snap("C1", "2026-08-01", 45, "900.00"), snap("C1", "2026-08-24", 0, "0.00"),
        # C2 held by A all month: M1 (20) -> M2 (41): rolled forward
        snap("C2", "2026-08-01", 20, "500.00"), snap("C2", "2026-08-24", 41, "800.00"),
        # C3 handed over on the 15th: A holds it 1st-15th (M3 70 -> M3 79 on the 10th: same
        # bucket), B from the 15th (opening = the 10th snapshot, closing = M4 on the 24th)
        snap("C3", "2026-08-01", 70, "700.00"), snap("C3", "2026-08-10", 79, "700.00"),
        snap("C3", "2026-08-24", 112, "750.00"),
        # C4: only one snapshot in the month: opening = closing -> not measured
        snap("C4", "2026-08-01", 30, "300.00"),
        # C5: dpd not sent on its snapshots: not measured
        snap("C5", "2026-08-01", None), snap("C5", "2026-08-24", None),
        # C6 held by C: the closing snapshot is the 24th, opening the 1st: M6 (170) -> M6+ (194)
        snap("C6", "2026-08-01", 170, "4000.00"), snap("C6", "2026-08-24", 194, "4000.00"),
    ])
    insert(con, "assignments", [
        assignment("S1", "C1", "A", "2026-07-01 02:00:00"),
        assignment("S2", "C2", "A", "2026-07-01 02:00:00"),
        assignment("S3", "C3", "A", "2026-07-01 02:00:00", "2026-08-15 03:00:00"),
        assignment("S4", "C3", "B", "2026-08-15 04:00:00"),
        assignment("S5", "C4", "B", "2026-07-20 02:00:00"),
        assignment("S6", "C5", "B", "2026-07-20 02:00:00"),
        assignment("S7", "C6", "C", "2026-08-03 02:00:00"),
    ])
    rows = build(con)
    a, b, c = rows["A"], rows["B"], rows["C"]
    assert (a["aging_cases"], a["aging_reduced"], a["rolled_forward"]) == (3, 1, 1)
    assert a["aging_reduction_rate"] == pytest.approx(1 / 3)
    assert a["roll_forward_rate"] == pytest.approx(1 / 3)
    assert (b["aging_cases"], b["aging_reduced"], b["rolled_forward"]) == (1, 0, 1)
    assert (c["aging_cases"], c["rolled_forward"]) == (1, 1)   # opening the 1st (held from 3rd)

    build_month(con, "roll_rates", CFG, MONTH)
    centre = {(o, c): (n, share, oa, ca) for o, c, n, share, oa, ca in con.execute(
        "select opening_bucket, closing_bucket, cases, share_of_opening, "
        "opening_overdue_amount::varchar, closing_overdue_amount::varchar "
        "from marts.roll_rates where scope = 'centre'").fetchall()}
    assert centre == {("M2", "current"): (1, 1.0, "900.00", "0.00"),
                      ("M1", "M2"): (1, 1.0, "500.00", "800.00"),
                      ("M3", "M3"): (1, 0.5, "700.00", "700.00"),
                      ("M3", "M4"): (1, 0.5, "700.00", "750.00"),
                      ("M6", "M6+"): (1, 1.0, "4000.00", "4000.00")}
    teams = dict(con.execute("select team_id, sum(cases) from marts.roll_rates "
                             "where scope = 'team' group by all").fetchall())
    assert teams == {"T1": 4, "T2": 1}


def test_without_dpd_the_aging_measures_are_null_not_zero(con):
    roster(con, ("A", "T1"))
    insert(con, "cases", [snap("C1", "2026-08-01", None), snap("C1", "2026-08-24", None)])
    insert(con, "assignments", [assignment("S1", "C1", "A", "2026-07-01 02:00:00")])
    a = build(con)["A"]
    assert [a[c] for c in ("aging_cases", "aging_reduced", "rolled_forward",
                           "aging_reduction_rate", "roll_forward_rate")] == [None] * 5
    assert build_month(con, "roll_rates", CFG, MONTH) == 0
    build_month(con, "input_availability", CFG, MONTH)
    notes = dict(con.execute("select input, note from marts.input_availability").fetchall())
    assert set(notes) == {"cases.dpd", "cases.overdue_amount", "complaints.resolved_at",
                          "qa_reviews", "credit_followups", "calls.dialled_number",
                          "agents.left_on"}
    # without dialled numbers the rule on unanswered attempts is judged per debtor, not NULL
    assert "per debtor" in notes["calls.dialled_number"]
    assert "aging_reduction_rate" in notes["cases.dpd"] and "NULL" in notes["cases.dpd"]
    assert all(n is not None for n in notes.values())   # nothing optional was sent


# the debt-rehabilitation index -----------------------------------------------------------------

def plan(plan_id: str, case_id: str, agent_id: str, created_at: str, plan_type: str,
         status: str) -> dict:
    return dict(plan_id=plan_id, case_id=case_id, agent_id=agent_id, created_at=created_at,
                plan_type=plan_type, status=status)


def followup(debtor_id: str, observed_on: str, status: str, new_credit: bool = False) -> dict:
    return dict(debtor_id=debtor_id, observed_on=observed_on, credit_status=status,
                new_credit=new_credit)


def test_rehabilitation_index_per_cohort_type_and_horizon(con):
    roster(con, ("A", "T1"), ("B", "T2"))
    insert(con, "cases", [dict(snapshot_date="2024-01-01", case_id=f"H{i}", debtor_id=f"HD{i}")
                          for i in range(1, 6)])
    insert(con, "plans", [
        plan("P1", "H1", "A", "2024-07-05 10:00:00", "restructuring", "completed"),
        plan("P2", "H2", "A", "2024-07-20 10:00:00", "restructuring", "active"),
        plan("P3", "H3", "B", "2024-07-21 10:00:00", "restructuring", "defaulted"),  # not counted
        plan("P4", "H4", "B", "2024-07-22 10:00:00", "restructuring", "completed"),
        # cohort 2025-08: its 12th month after is 2026-08, ended by M; 24 months not yet
        plan("P5", "H5", "B", "2025-08-02 10:00:00", "hardship_relief", "active"),
    ])
    insert(con, "credit_followups", [
        # HD1: delinquent, then normal within 12 months (horizon 12 ends 2025-07-31)
        followup("HD1", "2024-10-31", "delinquent"), followup("HD1", "2025-07-31", "normal", True),
        # HD2: normal at 12 months, delinquent again at 24 (horizon 24 ends 2026-07-31)
        followup("HD2", "2025-04-30", "normal"), followup("HD2", "2026-01-31", "delinquent"),
        # HD4: never observed within 12 months; observed after it
        followup("HD4", "2025-10-31", "normal"),
        followup("HD3", "2025-01-31", "normal"),
        # a follow-up after the month is not seen
        followup("HD4", "2026-09-30", "written_off"),
    ])
    build(con)
    build_month(con, "rehabilitation_index", CFG, MONTH)
    got = {(s, t, h): (n, o, k, c) for s, t, h, n, o, k, c in con.execute(
        "select scope, team_id, horizon_months, debtors, observed, normal, with_new_credit "
        "from marts.rehabilitation_index where cohort_month = date '2024-07-01' "
        "and plan_type = 'restructuring'").fetchall()}
    assert got == {
        # HD1's latest observation within 24 months is still the normal one with new credit
        ("centre", None, 12): (3, 2, 2, 1), ("centre", None, 24): (3, 3, 2, 1),
        ("team", "T1", 12): (2, 2, 2, 1), ("team", "T1", 24): (2, 2, 1, 1),
        ("team", "T2", 12): (1, 0, 0, 0), ("team", "T2", 24): (1, 1, 1, 0),
    }
    assert con.execute("select scope, horizon_months, debtors, observed, normal_share "
                       "from marts.rehabilitation_index where plan_type = 'hardship_relief' "
                       "order by scope").fetchall() == [("centre", 12, 1, 0, None),
                                                         ("team", 12, 1, 0, None)]
