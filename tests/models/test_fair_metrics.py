"""Version-2 fair measurement, pinned on hand-written rows: the agent's own over-cap calls,
exposure to what was actually held, promises the middle office made impossible, third-party
disclosure as a privacy incident, suspected privacy calls; and the team and centre marts
counting each case once. August 2026: M = [2026-08-01, 2026-09-01), 31 days."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from kaohe.models.marts import build_all
from tests.metric_rows import (
    CFG,
    agent,
    assignment,
    build,
    call,
    case,
    complaint,
    insert,
    payment,
    violation,
    warehouse,
)

MONTH_S = 31 * 86400


@pytest.fixture
def con(tmp_path):
    con = warehouse(tmp_path / "w.duckdb")
    yield con
    con.close()


def ptp(call_id: str, agent_id: str, case_id: str, started_at: str, amount: str, due: str):
    return call(call_id, agent_id, case_id, started_at, "connected_debtor", 60, amount, due)


def ticket(ticket_id: str, case_id: str, ticket_type: str, opened_at: str,
           closed_at: str | None = None, agent_id: str = "MO"):
    return dict(ticket_id=ticket_id, case_id=case_id, agent_id=agent_id,
                ticket_type=ticket_type, opened_at=opened_at, closed_at=closed_at)


# own over-cap calls ------------------------------------------------------------------------------

def test_own_over_cap_counts_only_the_agents_own_excess_with_call_id_breaking_ties(con):
    insert(con, "cases", [case("C1", "D1"), case("C2", "D1")])
    insert(con, "calls", [
        # debtor D1 on the 12th: B calls twice, then A four times (A's 4th own call ties with
        # its 3rd at 10:00; call_id decides: K06 before K07)
        call("K01", "B", "C2", "2026-08-12 08:30:00"),
        call("K02", "B", "C2", "2026-08-12 08:45:00"),
        call("K05", "A", "C1", "2026-08-12 09:00:00"),   # day #3, A own #1
        call("K04", "A", "C1", "2026-08-12 09:30:00"),   # day #4 (over), own #2
        call("K07", "A", "C1", "2026-08-12 10:00:00"),   # day #6 (over), own #4: own excess
        call("K06", "A", "C1", "2026-08-12 10:00:00"),   # day #5 (over), own #3
    ])
    rows = build(con)
    assert (rows["A"]["over_cap_calls"], rows["A"]["own_over_cap_calls"]) == (3, 1)
    assert (rows["B"]["over_cap_calls"], rows["B"]["own_over_cap_calls"]) == (0, 0)
    # own excess is always a subset of the debtor's excess
    assert all(r["own_over_cap_calls"] <= r["over_cap_calls"] for r in rows.values())


def test_own_over_cap_is_per_debtor_and_calendar_day(con):
    insert(con, "cases", [case("C1", "D1"), case("C2", "D2")])
    insert(con, "calls", [
        call("K1", "A", "C1", "2026-08-12 09:00:00"),
        call("K2", "A", "C1", "2026-08-12 10:00:00"),
        call("K3", "A", "C1", "2026-08-12 23:59:59"),
        call("K4", "A", "C1", "2026-08-13 00:00:00"),   # the next day: #1 again
        call("K5", "A", "C2", "2026-08-12 11:00:00"),   # another debtor
    ])
    a = build(con)["A"]
    assert (a["over_cap_calls"], a["own_over_cap_calls"]) == (0, 0)


# exposure ----------------------------------------------------------------------------------------

def test_exposure_weighs_each_term_by_the_share_of_the_month_held(con):
    insert(con, "assignments", [
        # held the whole month (assigned before it, still open): full term
        assignment("X1", "C1", "A", "2026-07-15 00:00:00", amount_due="1000.00"),
        # released after exactly 3 days of the month
        assignment("X2", "C2", "A", "2026-07-20 00:00:00", "2026-08-04 00:00:00",
                   amount_due="3100.00"),
        # assigned at noon on the last day, open: 12 hours of the month
        assignment("X3", "C3", "A", "2026-08-31 12:00:00", amount_due="620.00"),
        # released exactly at the month's start: not held in the month at all
        assignment("X4", "C4", "A", "2026-07-01 00:00:00", "2026-08-01 00:00:00",
                   amount_due="999.00"),
    ])
    insert(con, "repayments", [payment("P1", "C1", "2026-08-20 10:00:00", "105.00")])
    a = build(con)["A"]
    assert a["amount_due"] == Decimal("4720.00")
    expected = 1000 + 3100 * 3 * 86400 / MONTH_S + 620 * 43200 / MONTH_S
    assert a["amount_due_exposure"] == Decimal(f"{expected:.2f}")  # 1310.00
    assert a["exposure_recovery_rate"] == pytest.approx(105 / float(a["amount_due_exposure"]))
    assert a["recovery_rate"] == pytest.approx(105 / 4720)


def test_exposure_uses_the_term_net_of_what_was_paid_before_the_month(con):
    insert(con, "assignments", [
        assignment("X1", "C1", "A", "2026-07-01 00:00:00", "2026-08-16 12:00:00",
                   amount_due="1000.00")])
    insert(con, "repayments", [payment("P0", "C1", "2026-07-10 10:00:00", "380.00")])
    a = build(con)["A"]
    assert a["amount_due"] == Decimal("620.00")
    assert a["amount_due_exposure"] == Decimal(f"{620 * 15.5 / 31:.2f}")  # 310.00
    assert a["exposure_recovery_rate"] == 0.0  # nothing collected in the month


def test_no_assignment_means_no_exposure_and_no_rate(con):
    insert(con, "calls", [call("K1", "A", "C1", "2026-08-03 10:00:00")])
    a = build(con)["A"]
    assert a["amount_due_exposure"] == Decimal("0.00")
    assert a["exposure_recovery_rate"] is None


# promises the middle office made impossible ----------------------------------------------------
# SLA (config/kaohe.yaml metrics.ticket_sla_hours): fee_waiver 24 h, restructuring_approval 120 h

def test_a_broken_promise_behind_a_late_fee_waiver_is_neutralised(con):
    insert(con, "calls", [
        ptp("K1", "A", "C1", "2026-08-05 10:00:00", "500.00", "2026-08-10"),
        ptp("K2", "A", "C2", "2026-08-05 10:00:00", "500.00", "2026-08-10"),
        ptp("K3", "A", "C3", "2026-08-05 10:00:00", "500.00", "2026-08-10"),
        ptp("K4", "A", "C4", "2026-08-05 10:00:00", "500.00", "2026-08-10"),
        ptp("K5", "A", "C5", "2026-08-05 10:00:00", "500.00", "2026-08-10"),
    ])
    insert(con, "tickets", [
        # C1: opened after the promise, deadline 08-07 11:00, closed a second late: neutralised
        ticket("T1", "C1", "fee_waiver", "2026-08-06 11:00:00", "2026-08-07 11:00:01"),
        # C2: closed exactly at its SLA deadline: in time, the promise counts
        ticket("T2", "C2", "fee_waiver", "2026-08-06 11:00:00", "2026-08-07 11:00:00"),
        # C3: never closed, but its deadline (08-11 00:00) is not before the due date's end
        ticket("T3", "C3", "fee_waiver", "2026-08-10 00:00:00"),
        # C4: opened before the promise call: the promise was made knowing it
        ticket("T4", "C4", "fee_waiver", "2026-08-05 09:59:59"),
        # C5: a legal sign-off does not neutralise
        ticket("T5", "C5", "legal_signoff", "2026-08-06 11:00:00"),
    ])
    a = build(con)["A"]
    assert (a["ptp_due"], a["ptp_kept"], a["ptp_neutralised"]) == (5, 0, 1)
    assert a["ptp_kept_rate"] == 0.0
    assert a["ptp_kept_rate_adjusted"] == 0.0  # 0 of 4


def test_a_promise_kept_despite_a_late_ticket_is_kept_not_neutralised(con):
    insert(con, "calls", [
        ptp("K1", "A", "C1", "2026-08-05 10:00:00", "500.00", "2026-08-20"),
        ptp("K2", "A", "C2", "2026-08-05 10:00:00", "500.00", "2026-08-20"),
    ])
    insert(con, "tickets", [
        ticket("T1", "C1", "restructuring_approval", "2026-08-06 00:00:00"),  # late (08-11)
        ticket("T2", "C2", "restructuring_approval", "2026-08-06 00:00:00"),  # late (08-11)
    ])
    insert(con, "repayments", [payment("P1", "C1", "2026-08-19 10:00:00", "500.00")])
    a = build(con)["A"]
    assert (a["ptp_due"], a["ptp_kept"], a["ptp_neutralised"]) == (2, 1, 1)
    assert a["ptp_kept_rate"] == 0.5
    assert a["ptp_kept_rate_adjusted"] == 1.0  # 1 of the 1 promise the agent could keep


def test_every_promise_neutralised_leaves_no_adjusted_rate(con):
    insert(con, "calls", [ptp("K1", "A", "C1", "2026-08-05 10:00:00", "500.00", "2026-08-20")])
    insert(con, "tickets", [ticket("T1", "C1", "fee_waiver", "2026-08-06 00:00:00")])
    a = build(con)["A"]
    assert (a["ptp_due"], a["ptp_neutralised"], a["ptp_kept_rate_adjusted"]) == (1, 1, None)


# privacy --------------------------------------------------------------------------------------

def test_substantiated_third_party_disclosure_is_a_privacy_incident(con):
    insert(con, "complaints", [
        complaint("Q1", "2026-08-05 10:00:00", agent_id="A", category="third_party_disclosure",
                  substantiated=True),
        complaint("Q2", "2026-08-06 10:00:00", agent_id="A", category="privacy_leak",
                  substantiated=True),
        complaint("Q3", "2026-08-07 10:00:00", agent_id="A", category="third_party_disclosure"),
        complaint("Q4", "2026-08-08 10:00:00", agent_id="A", category="third_party_disclosure",
                  substantiated=False),
    ])
    insert(con, "violations", [violation("V1", "A", "2026-08-09", "privacy_breach")])
    a = build(con)["A"]
    assert a["privacy_incidents"] == 3  # Q1, Q2 and V1; Q3 is pending, Q4 unfounded
    assert a["complaints"] == 3


def test_suspected_privacy_calls_are_connected_calls_flagged_privacy_disclosure(con):
    insert(con, "calls", [
        call("K1", "A", "C1", "2026-08-05 10:00:00", "connected_third_party", 40),
        call("K2", "A", "C1", "2026-08-05 11:00:00", "connected_debtor", 40),
        call("K3", "A", "C1", "2026-08-05 12:00:00", "connected_debtor", 40),
        call("K4", "A", "C1", "2026-08-05 13:00:00", "no_answer"),
    ])
    flag = lambda c, label, conf: dict(call_id=c, label=label, confidence=conf,  # noqa: E731
                                       model_version="v1")
    insert(con, "qa_flags", [
        flag("K1", "privacy_disclosure", 0.8),   # at the threshold: counts
        flag("K2", "privacy_disclosure", 0.79),  # below it
        flag("K3", "threat", 0.95),              # another label
        flag("K4", "privacy_disclosure", 0.99),  # not connected
    ])
    a = build(con)["A"]
    assert a["suspected_privacy_calls"] == 1
    assert a["qa_flagged_calls"] == 1
    assert a["privacy_incidents"] == 0  # a suspicion is not an incident


# team and centre: each case once ----------------------------------------------------------------

def build_month(con):
    build_all(con, CFG, "2026-08")
    team = {r[0]: dict(zip(("team_id", "cases_assigned", "amount_due", "cases_handled",
                            "hardship_cases_handled", "relief_rate", "complaints_per_1k_cases",
                            "collected", "own_over_cap_calls"), r, strict=True))
            for r in con.execute(
                "select team_id, cases_assigned, amount_due, cases_handled, "
                "hardship_cases_handled, relief_rate, complaints_per_1k_cases, "
                "collected, own_over_cap_calls from marts.team_month_metrics").fetchall()}
    centre = con.execute(
        "select cases_assigned, amount_due, hardship_cases_handled, relief_rate, "
        "complaints_per_1k_cases, over_cap_calls, own_over_cap_calls, "
        "cross_agent_over_cap_calls from marts.center_month_summary").fetchall()[0]
    return team, centre


def test_a_case_that_moves_between_agents_and_teams_counts_once(con):
    insert(con, "agents", [agent("A", "2026-08-01", "T1"), agent("B", "2026-08-01", "T1"),
                           agent("C", "2026-08-01", "T2")])
    insert(con, "cases", [case("C1", "D1", hardship_flag=True), case("C2", "D2")])
    insert(con, "assignments", [
        # C1: A (T1) until the 10th, then B (T1) until the 20th, then C (T2)
        assignment("X1", "C1", "A", "2026-07-01 00:00:00", "2026-08-10 00:00:00",
                   amount_due="1000.00"),
        assignment("X2", "C1", "B", "2026-08-10 00:00:00", "2026-08-20 00:00:00",
                   amount_due="900.00"),
        assignment("X3", "C1", "C", "2026-08-20 00:00:00", amount_due="800.00"),
        assignment("X4", "C2", "C", "2026-08-01 00:00:00", amount_due="500.00"),
    ])
    insert(con, "repayments", [payment("P1", "C1", "2026-08-15 10:00:00", "100.00")])
    insert(con, "calls", [
        call("K1", "A", "C1", "2026-08-05 10:00:00"),
        call("K2", "B", "C1", "2026-08-12 10:00:00"),
        call("K3", "C", "C1", "2026-08-22 10:00:00"),
        call("K4", "C", "C2", "2026-08-22 11:00:00"),
    ])
    insert(con, "complaints", [complaint("Q1", "2026-08-12 11:00:00", case_id="C1")])
    insert(con, "plans", [dict(plan_id="PL1", case_id="C1", agent_id="C",
                               plan_type="hardship_relief", created_at="2026-08-25 10:00:00",
                               status="active")])
    team, centre = build_month(con)
    t1, t2 = team["T1"], team["T2"]
    # T1: C1 once, its first assignment in the month among A and B is A's (1,000)
    assert (t1["cases_assigned"], t1["amount_due"]) == (1, Decimal("1000.00"))
    assert t1["cases_handled"] == 1  # A and B both called C1: one case
    assert t1["hardship_cases_handled"] == 1 and t1["relief_rate"] == 1.0
    assert t1["complaints_per_1k_cases"] == 1000.0  # one complaint on one case, not two
    assert t1["collected"] == Decimal("100.00")
    # T2: C1 (C's own assignment, 800) and C2
    assert (t2["cases_assigned"], t2["amount_due"]) == (2, Decimal("1300.00"))
    # the centre: C1 once (its first assignment, A's 1,000) and C2
    assert centre[:4] == (2, Decimal("1500.00"), 1, 1.0)


def test_the_centre_shows_the_breaches_no_single_agent_could_see(con):
    insert(con, "cases", [case("C1", "D1"), case("C2", "D1")])
    insert(con, "calls", [call(f"K{i}", "A" if i % 2 else "B", f"C{1 + i % 2}",
                               f"2026-08-12 {9 + i:02d}:00:00") for i in range(6)])
    _, centre = build_month(con)
    assert centre[5:] == (3, 0, 3)  # 6 calls on D1, 3 each: 3 over the cap, none own


def test_the_centre_shows_the_fairness_diagnostics_and_warns(con):
    from kaohe.models.marts import MONTHLY_MARTS, build

    insert(con, "agents", [agent(a, "2026-08-01", t) for a, t in
                           (("A", "T1"), ("B", "T1"), ("C", "T2"), ("D", "T2"))])
    insert(con, "assignments", [
        assignment("X1", "C1", "A", "2026-07-01 00:00:00", dpd=200),   # A: all M6+
        assignment("X2", "C2", "B", "2026-07-01 00:00:00", dpd=200),   # B: half M6+
        assignment("X3", "C3", "B", "2026-07-01 00:00:00", dpd=10),
        assignment("X4", "C4", "C", "2026-07-01 00:00:00", dpd=10),    # C, D: none
        assignment("X5", "C5", "D", "2026-07-01 00:00:00", dpd=10),
    ])
    build_all(con, CFG, "2026-08")
    assert MONTHLY_MARTS.index("center_month_summary") > MONTHLY_MARTS.index(
        "agent_month_scorecard")  # the build order follows the SQL
    # a scorecard that follows the portfolio: the more M6+, the higher the composite
    for agent_id, composite in (("A", 90.0), ("B", 80.0), ("C", 70.0), ("D", 70.0)):
        con.execute("update marts.agent_month_scorecard set composite = ?, veto = false "
                    "where agent_id = ?", [composite, agent_id])
    build(con, "fairness_diagnostics", CFG, "2026-08")
    build(con, "center_month_summary", CFG, "2026-08")
    rho, eta, warning = con.execute(
        "select rho_composite_m6plus_share, eta_composite_team, fairness_warning "
        "from marts.center_month_summary").fetchall()[0]
    assert rho == 1.0  # ties (C and D) share their average rank
    assert 0.3 < eta <= 1
    assert warning.startswith("the composite follows the portfolio")


# conduct alerts ---------------------------------------------------------------------------------

def test_conduct_alerts_fire_above_the_threshold_and_escalate_in_consecutive_months(con):
    from kaohe.models.marts import build

    insert(con, "cases", [case("C1", "D1"), case("C2", "D2")])
    for month, day in (("2026-07", "2026-07-14"), ("2026-08", "2026-08-12")):
        # H reaches debtor D1 eight times a day (5 answered calls over the legal cap of 3: a
        # breach rate of 5/8 on 5 breaching calls, the default rule's evidence minimum);
        # N calls once
        insert(con, "calls", [call(f"{month}H{i}", "H", "C1", f"{day} {9 + i:02d}:00:00",
                                   outcome="connected_debtor", duration_s=60)
                              for i in range(8)]
               + [call(f"{month}N", "N", "C2", f"{day} 10:00:00")])
        build_all(con, CFG, month)
        build(con, "conduct_alerts", CFG, month)
    rows = con.execute("select strftime(month, '%Y-%m'), agent_id, rule, value, threshold, "
                       "severity, consecutive_months from marts.conduct_alerts "
                       "order by 1, 2, 3").fetchall()
    assert rows == [
        ("2026-07", "H", "contact_rule_breach_rate", 0.625, 0.02, "medium", 1),
        ("2026-08", "H", "contact_rule_breach_rate", 0.625, 0.02, "high", 2),
    ]


# contact against what the book allows, by case load (8.0) ---------------------------------------

def _light_and_heavy_books(con):
    """20 agents holding M1 cases all month: L01-L10 two cases each and reach both, H01-H10 four
    each and reach two (a larger book is dialled less per case)."""
    agents = [f"L{i:02d}" for i in range(1, 11)] + [f"H{i:02d}" for i in range(1, 11)]
    insert(con, "agents", [agent(a, "2026-07-01", level="L2") for a in agents])
    cases, held, calls = [], [], []
    for a in agents:
        n = 2 if a[0] == "L" else 4
        for j in range(n):
            cid = f"C{a}{j}"
            cases.append(case(cid, f"D{a}{j}"))
            held.append(assignment(f"S{a}{j}", cid, a, "2026-07-01 00:00:00"))
            if j < 2:  # the first two of each book reached with an effective call
                calls.append(call(f"K{a}{j}", a, cid, "2026-08-05 10:00:00", "connected_debtor",
                                  120))
    insert(con, "cases", cases)
    insert(con, "assignments", held)
    insert(con, "calls", calls)


def test_expected_reach_is_the_centres_rate_among_agents_of_a_similar_case_load(con):
    _light_and_heavy_books(con)
    rows = build(con)
    # two bands of ten agents (at least 10 a band, so 2 of the 5 configured): the light books'
    # M1 cases are reached at 1.0 among light books, the heavy ones' at 0.5 among heavy books
    assert CFG.fairness.reach_load_bands == 5
    assert {(r["expected_case_reach_rate"], r["case_reach_vs_expected"])
            for r in rows.values()} == {(1.0, 1.0), (0.5, 1.0)}
    assert rows["H01"]["expected_case_reach_rate"] == 0.5


def test_one_load_band_expects_the_bucket_rate_of_the_whole_centre(con):
    _light_and_heavy_books(con)
    one = replace(CFG, fairness=CFG.fairness.model_copy(update={"reach_load_bands": 1}))
    rows = build(con, cfg=one)
    # 40 of 60 cases reached: the light books 1.5 times, the heavy ones 0.75 times the expected
    assert rows["L01"]["case_reach_vs_expected"] == pytest.approx(1.5)
    assert rows["H01"]["case_reach_vs_expected"] == pytest.approx(0.75)
