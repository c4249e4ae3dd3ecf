"""Team, agency, skill-risk and centre marts (docs/scorecard.md), on hand-written rows."""

from __future__ import annotations

from datetime import date

import pytest

from kaohe.models.marts import build_all
from kaohe.months import months_to_build
from tests.metric_rows import CFG, agent, assignment, call, case, insert, payment, warehouse

MONTH = date(2026, 8, 1)


@pytest.fixture
def con(tmp_path):
    con = warehouse(tmp_path / "w.duckdb")
    yield con
    con.close()


def rows(con, table: str, key: str) -> dict:
    cur = con.execute(f"select * from marts.{table} where month = ?", [MONTH])
    names = [d[0] for d in cur.description]
    return {r[names.index(key)]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}


def test_team_ratios_are_recomputed_from_sums_not_averaged(con):
    insert(con, "agents", [agent("A1", "2026-08-01", team_id="T1"),
                           agent("A2", "2026-08-01", team_id="T1")])
    insert(con, "assignments", [
        assignment("S1", "C1", "A1", "2026-08-01 09:00:00", amount_due="100.00"),
        assignment("S2", "C2", "A2", "2026-08-01 09:00:00", amount_due="900.00"),
    ])
    insert(con, "repayments", [payment("P1", "C1", "2026-08-05 10:00:00", "100.00"),
                               payment("P2", "C2", "2026-08-05 10:00:00", "90.00")])
    build_all(con, CFG, "2026-08")
    team = rows(con, "team_month_metrics", "team_id")["T1"]
    # agents: 100% and 10%; their mean would be 55%, the team's rate is 190 / 1000
    assert team["recovery_rate"] == pytest.approx(0.19)
    assert team["agents"] == 2 and team["collected"] == 190


def test_a_case_two_agents_called_is_handled_once_by_team_and_centre(con):
    insert(con, "agents", [agent("A1", "2026-08-01", team_id="T1"),
                           agent("A2", "2026-08-01", team_id="T2")])
    insert(con, "calls", [
        call("K1", "A1", "C1", "2026-08-03 10:00:00", "connected_debtor", 60),
        call("K2", "A2", "C1", "2026-08-20 10:00:00", "no_answer", 0),
        call("K3", "A2", "C2", "2026-08-21 10:00:00", "no_answer", 0),
    ])
    build_all(con, CFG, "2026-08")
    teams = rows(con, "team_month_metrics", "team_id")
    assert (teams["T1"]["cases_handled"], teams["T2"]["cases_handled"]) == (1, 2)
    centre = con.execute("select cases_handled from marts.center_month_summary "
                         "where month = ?", [MONTH]).fetchall()
    assert centre == [(2,)]  # C1 once, though two agents of two teams called it


def test_high_risk_case_to_an_l1_or_new_agent_is_a_skill_risk_mismatch(con):
    insert(con, "agents", [
        dict(agent("L1NEW", "2026-08-01", level="L1"), hire_date="2024-01-01"),
        dict(agent("L2NEW", "2026-08-01", level="L2"), hire_date="2026-06-15"),
        dict(agent("L2OLD", "2026-08-01", level="L2"), hire_date="2024-01-01"),
    ])
    insert(con, "cases", [dict(case(f"C{i}", f"D{i}"), risk_score=score)
                          for i, score in enumerate([850, 850, 850, 799])])
    insert(con, "assignments", [
        assignment("S0", "C0", "L1NEW", "2026-08-03 09:00:00"),  # L1: mismatch
        assignment("S1", "C1", "L2NEW", "2026-08-03 09:00:00"),  # 1.5 months: mismatch
        assignment("S2", "C2", "L2OLD", "2026-08-03 09:00:00"),  # experienced: fine
        assignment("S3", "C3", "L1NEW", "2026-08-03 09:00:00"),  # risk 799: fine
    ])
    build_all(con, CFG, "2026-08")
    found = rows(con, "skill_risk_mismatches", "assignment_id")
    assert set(found) == {"S0", "S1"}
    assert found["S0"]["reason"] == "L1 agent" and found["S1"]["tenure_months"] == 1
    center = rows(con, "center_month_summary", "month")[MONTH]
    assert center["skill_risk_mismatches"] == 2


def test_ticket_response_median_p90_and_open_past_sla(con):
    insert(con, "agents", [agent("A1", "2026-08-01", team_id="T1")])
    insert(con, "tickets", [
        dict(ticket_id=f"W{i}", agent_id="A1", ticket_type="fee_waiver",
             opened_at="2026-08-02 00:00:00", closed_at=f"2026-08-02 {h:02d}:00:00")
        for i, h in enumerate([1, 2, 3, 4, 10])
    ] + [dict(ticket_id="OPEN", agent_id="A1", ticket_type="fee_waiver",
              opened_at="2026-08-20 00:00:00")])
    insert(con, "calls", [call("K1", "A1", "C1", "2026-08-02 10:00:00")])
    build_all(con, CFG, "2026-08")
    team = rows(con, "team_month_metrics", "team_id")["T1"]
    assert team["fee_waiver_median_h"] == pytest.approx(3.0)
    assert team["fee_waiver_p90_h"] == pytest.approx(7.6)  # linear between 4 h and 10 h
    assert team["legal_signoff_median_h"] is None  # no such tickets: NULL, not 0
    # open since 08-20, SLA 24 h, judged at the month's end: past its SLA
    assert team["open_tickets_past_sla"] == 1 and team["tickets_opened"] == 6


def test_agency_daily_spot_check_coverage(con):
    insert(con, "agents", [dict(agent("OUT", "2026-08-01"), employment_type="outsourced",
                                agency_id="AG1")])
    insert(con, "calls", [
        call("K1", "OUT", "C1", "2026-08-02 10:00:00", "connected_debtor", 60),
        call("K2", "OUT", "C1", "2026-08-02 11:00:00", "connected_debtor", 60),
        call("K3", "OUT", "C1", "2026-08-03 10:00:00", "connected_debtor", 60),
        call("K4", "OUT", "C1", "2026-08-04 10:00:00", "no_answer"),
    ])
    insert(con, "qa_flags", [dict(call_id="K1", label="empathy", confidence=0.9,
                                  model_version="m1")])
    build_all(con, CFG, "2026-08")
    agency = rows(con, "agency_month_metrics", "agency_id")["AG1"]
    assert agency["spot_checked_calls"] == 1
    assert agency["spot_check_coverage"] == pytest.approx(1 / 3)
    # connected calls on 2 days, a spot check on 1 of them
    assert (agency["days_with_connected_calls"], agency["days_spot_checked"]) == (2, 1)
    assert agency["daily_spot_check_rate"] == pytest.approx(0.5)


def test_unattributed_payments_and_complaints_reach_the_centre(con):
    insert(con, "assignments", [assignment("S1", "C1", "A1", "2026-08-01 09:00:00")])
    insert(con, "repayments", [payment("P1", "C1", "2026-08-05 10:00:00", "100.00"),
                               payment("P2", "NOBODY", "2026-08-05 10:00:00", "30.00")])
    insert(con, "complaints", [dict(complaint_id="Q1", case_id="NOBODY",
                                    received_at="2026-08-06 10:00:00", category="other")])
    build_all(con, CFG, "2026-08")
    center = rows(con, "center_month_summary", "month")[MONTH]
    assert center["unattributed_collected"] == 30 and center["collected"] == 100
    assert center["net_repayments"] == 130 and center["reconciliation_gap"] == 0
    assert center["unattributed_complaints"] == 1 and center["complaints_received"] == 1


def test_a_mart_with_no_data_gives_nulls_and_zeros_not_errors(con):
    build_all(con, CFG, "2026-08")
    center = rows(con, "center_month_summary", "month")[MONTH]
    assert center["agents"] == 0 and center["recovery_rate"] is None
    assert center["reconciliation_gap"] == 0


@pytest.mark.parametrize(("today", "months"), [
    (date(2026, 9, 1), ["2026-08", "2026-09"]),
    (date(2026, 9, 5), ["2026-08", "2026-09"]),
    (date(2026, 9, 6), ["2026-09"]),
    (date(2027, 1, 3), ["2026-12", "2027-01"]),
])
def test_nightly_rebuilds_the_previous_month_during_the_first_5_days(today, months):
    assert months_to_build(today) == months
