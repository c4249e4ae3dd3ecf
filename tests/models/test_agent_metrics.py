"""marts.agent_month_metrics pinned rule by rule (docs/metrics.md), on hand-written rows.

Every test writes a few rows straight into the staging tables of an empty warehouse, builds
August 2026 (M = [2026-08-01, 2026-09-01), quarter from 2026-07-01) and reads the agents' rows.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from kaohe.models.marts import dictionary, metric_params, sql
from tests.metric_rows import (
    CFG,
    TABLE,
    agent,
    assignment,
    build,
    call,
    case,
    complaint,
    insert,
    month_rows,
    payment,
    reversal,
    training,
    violation,
    warehouse,
)

AUG = date(2026, 8, 1)


@pytest.fixture
def con(tmp_path):
    con = warehouse(tmp_path / "w.duckdb")
    yield con
    con.close()


def money(x: str) -> Decimal:
    return Decimal(x)


# payment attribution -------------------------------------------------------------------------

def test_payment_at_the_boundary_second_of_an_assignment_belongs_to_the_new_holder(con):
    insert(con, "assignments", [
        assignment("X1", "C1", "A", "2026-07-01 00:00:00", released_at="2026-08-10 12:00:00"),
        assignment("X2", "C1", "B", "2026-08-10 12:00:00"),
        assignment("X3", "C2", "B", "2026-08-05 09:00:00"),
        assignment("X4", "C3", "A", "2026-08-01 00:00:00", released_at="2026-08-20 00:00:00"),
    ])
    insert(con, "repayments", [
        payment("P1", "C1", "2026-08-10 11:59:59", "100.00"),  # A's last second
        payment("P2", "C1", "2026-08-10 12:00:00", "200.00"),  # = A's released_at: B's
        payment("P3", "C2", "2026-08-05 09:00:00", "50.00"),   # = B's assigned_at: B's
        payment("P4", "C2", "2026-08-05 08:59:59", "7.00"),    # nobody holds C2 yet
        payment("P5", "C3", "2026-08-19 23:59:59", "10.00"),   # A's last second on C3
        payment("P6", "C3", "2026-08-20 00:00:00", "3.00"),    # released, no next holder
    ])
    rows = build(con)
    assert rows["A"]["collected"] == money("110.00")
    assert rows["B"]["collected"] == money("250.00")


def test_reversal_in_a_later_month_claws_back_from_the_original_agent(con):
    insert(con, "assignments", [
        assignment("X1", "C1", "A", "2026-06-01 00:00:00", released_at="2026-07-20 00:00:00",
                   amount_due="500.00"),
        assignment("X2", "C1", "B", "2026-07-20 00:00:00", amount_due="400.00"),
    ])
    insert(con, "repayments", [
        payment("P1", "C1", "2026-07-10 10:00:00", "300.00"),     # A held C1
        reversal("R1", "P1", "C1", "2026-08-03 10:00:00", "300.00"),  # B holds C1 now
        payment("P2", "C1", "2026-08-04 10:00:00", "100.00"),     # B's
    ])
    july = build(con, "2026-07")
    assert july["A"]["collected"] == money("300.00")
    aug = build(con)
    # A holds nothing in August but the claw-back lands on A, in the reversal's month
    assert aug["A"]["collected"] == money("-300.00")
    assert aug["A"]["cases_assigned"] == 0
    assert aug["B"]["collected"] == money("100.00")
    # the claw-back is not B's, and A's payment never reduced B's amount due
    assert aug["B"]["amount_due"] == money("400.00")


def test_amount_due_of_a_carried_over_assignment_nets_earlier_payments_floored_at_zero(con):
    insert(con, "assignments", [
        # an earlier holder of C1: its payment is not A's
        assignment("Y0", "C1", "B", "2026-05-01 00:00:00", released_at="2026-06-15 00:00:00"),
        assignment("X1", "C1", "A", "2026-06-15 00:00:00", amount_due="1000.00"),
        assignment("X2", "C2", "A", "2026-07-01 00:00:00", amount_due="500.00"),
        # released exactly at M_start: does not overlap August
        assignment("X3", "C3", "A", "2026-07-01 00:00:00", released_at="2026-08-01 00:00:00",
                   amount_due="700.00"),
    ])
    insert(con, "repayments", [
        payment("P0", "C1", "2026-06-01 10:00:00", "999.00"),  # B's, before A's assignment
        payment("P1", "C1", "2026-06-20 10:00:00", "200.00"),
        payment("P2", "C1", "2026-07-15 10:00:00", "300.00"),
        reversal("R2", "P2", "C1", "2026-07-31 23:59:59", "300.00"),
        payment("P3", "C1", "2026-08-01 00:00:00", "100.00"),  # in M, not before it
        payment("P4", "C2", "2026-07-10 10:00:00", "600.00"),  # overpaid: floor at 0
    ])
    a = build(con)["A"]
    assert a["cases_assigned"] == 2
    assert a["amount_due"] == money("800.00")  # (1000 - 200 + 300 - 300) + max(0, 500 - 600)
    assert a["collected"] == money("100.00")
    assert a["recovery_rate"] == pytest.approx(0.125)


# promises to pay -----------------------------------------------------------------------------

def test_ptp_window_runs_to_the_last_second_of_the_due_date(con):
    ptp = dict(outcome="connected_debtor", duration_s=60, ptp_amount="500.00")
    insert(con, "calls", [
        call("K1", "A", "C1", "2026-08-05 10:00:00", **ptp, ptp_due_date="2026-08-20"),
        call("K2", "A", "C2", "2026-08-05 10:05:00", **ptp, ptp_due_date="2026-08-20"),
        call("K3", "A", "C3", "2026-08-06 10:00:00", **ptp, ptp_due_date="2026-08-20"),
        # made in July, due in August: August's ptp_due, July's ptp_made
        call("K4", "A", "C4", "2026-07-28 10:00:00", outcome="connected_debtor", duration_s=60,
             ptp_amount="200.00", ptp_due_date="2026-08-02"),
        # due in September: not August's
        call("K5", "A", "C5", "2026-08-28 10:00:00", **ptp, ptp_due_date="2026-09-01"),
    ])
    insert(con, "repayments", [
        payment("P1", "C1", "2026-08-20 23:59:59", "500.00"),  # last second: kept
        payment("P2", "C2", "2026-08-21 00:00:00", "500.00"),  # one second late: broken
        payment("P3", "C3", "2026-08-06 09:59:59", "500.00"),  # before the promise: broken
        payment("P4a", "C4", "2026-07-30 10:00:00", "150.00"),  # two payments together cover it
        payment("P4b", "C4", "2026-08-02 08:00:00", "50.00"),
    ])
    a = build(con)["A"]
    assert a["ptp_made"] == 4
    assert a["ptp_due"] == 4
    assert a["ptp_kept"] == 2
    assert a["ptp_kept_rate"] == pytest.approx(0.5)


def test_ptp_broken_by_a_reversal_inside_the_window_is_not_kept(con):
    ptp = dict(outcome="connected_debtor", duration_s=60, ptp_amount="300.00",
               ptp_due_date="2026-08-10")
    insert(con, "calls", [
        call("K1", "A", "C1", "2026-08-05 10:00:00", **ptp),
        call("K2", "A", "C2", "2026-08-05 10:00:00", **ptp),
    ])
    insert(con, "repayments", [
        payment("P1", "C1", "2026-08-06 10:00:00", "300.00"),
        reversal("R1", "P1", "C1", "2026-08-08 10:00:00", "300.00"),  # inside: broken
        payment("P2", "C2", "2026-08-06 10:00:00", "300.00"),
        reversal("R2", "P2", "C2", "2026-08-11 00:00:00", "300.00"),  # after the window: kept
    ])
    a = build(con)["A"]
    assert (a["ptp_due"], a["ptp_kept"]) == (2, 1)


# contact -------------------------------------------------------------------------------------

def test_over_cap_ranks_every_agents_calls_per_debtor_and_day_with_call_id_breaking_ties(con):
    insert(con, "cases", [case("C1", "D1"), case("C2", "D1"), case("C3", "D2")])
    insert(con, "calls", [
        call("K01", "A", "C1", "2026-08-12 09:00:00"),  # D1 #1
        call("K02", "B", "C2", "2026-08-12 09:30:00"),  # D1 #2 (another case of the debtor)
        call("K04", "A", "C1", "2026-08-12 10:00:00"),  # D1 tie: K03 < K04, so #4: over cap
        call("K03", "B", "C2", "2026-08-12 10:00:00"),  # D1 tie: #3, within cap
        call("K06", "A", "C3", "2026-08-12 10:30:00"),  # D2 #1
        call("K05", "B", "C2", "2026-08-13 09:00:00"),  # D1, next day #1
    ])
    rows = build(con)
    assert rows["A"]["over_cap_calls"] == 1
    assert rows["B"]["over_cap_calls"] == 0


def test_over_cap_sums_a_debtors_cases_and_a_case_without_a_master_row_is_its_own_debtor(con):
    # D1 has one case (C1): its own busy day; D2 has two cases, each under the cap alone but
    # over it together; C9 has no case-master row: counted as its own debtor
    insert(con, "cases", [case("C1", "D1"), case("C2", "D2"), case("C3", "D2")])
    insert(con, "calls", [
        *(call(f"K1{i}", "A", "C1", f"2026-08-12 0{i}:00:00") for i in range(1, 6)),  # 5: 2 over
        call("K21", "B", "C2", "2026-08-12 09:00:00"),   # D2 #1
        call("K22", "B", "C2", "2026-08-12 09:10:00"),   # D2 #2
        call("K23", "A", "C3", "2026-08-12 09:20:00"),   # D2 #3
        call("K24", "A", "C3", "2026-08-12 09:30:00"),   # D2 #4: over, A's own #2: not own
        call("K25", "B", "C2", "2026-08-13 09:00:00"),   # D2, next day
        *(call(f"K9{i}", "C", "C9", f"2026-08-12 1{i}:00:00") for i in range(1, 5)),  # 4: 1 over
    ])
    rows = build(con)
    assert (rows["A"]["over_cap_calls"], rows["A"]["own_over_cap_calls"]) == (3, 2)
    assert (rows["B"]["over_cap_calls"], rows["B"]["own_over_cap_calls"]) == (0, 0)
    assert (rows["C"]["over_cap_calls"], rows["C"]["own_over_cap_calls"]) == (1, 1)


def test_off_hours_are_before_08_00_00_and_from_21_00_00(con):
    insert(con, "calls", [
        call("K1", "A", "C1", "2026-08-03 07:59:59"),  # off
        call("K2", "A", "C2", "2026-08-03 08:00:00"),  # on
        call("K3", "A", "C3", "2026-08-03 20:59:59"),  # on
        call("K4", "A", "C4", "2026-08-03 21:00:00"),  # off
    ])
    a = build(con)["A"]
    assert (a["call_attempts"], a["off_hours_calls"]) == (4, 2)


# conduct -------------------------------------------------------------------------------------

def test_complaint_without_agent_id_goes_to_the_holder_of_the_case_at_received_at(con):
    insert(con, "assignments", [
        assignment("X1", "C1", "A", "2026-07-01 00:00:00", released_at="2026-08-15 10:00:00"),
        assignment("X2", "C1", "B", "2026-08-15 10:00:00"),
        assignment("X3", "C2", "A", "2026-08-01 00:00:00", released_at="2026-08-20 00:00:00"),
    ])
    insert(con, "complaints", [
        complaint("Q1", "2026-08-15 09:59:59", case_id="C1"),  # A still holds C1
        complaint("Q2", "2026-08-15 10:00:00", case_id="C1"),  # B from this second
        complaint("Q3", "2026-08-20 10:00:00", case_id="C1", agent_id="C"),  # named: C's
        complaint("Q4", "2026-08-20 10:00:00", case_id="C9"),  # nobody holds C9
        complaint("Q5", "2026-08-19 23:59:59", case_id="C2"),  # A's last second on C2
        complaint("Q6", "2026-08-20 00:00:00", case_id="C2"),  # released, nobody holds C2
    ])
    rows = build(con)
    assert {a: r["complaints"] for a, r in rows.items()} == {"A": 2, "B": 1, "C": 1}


def test_unsubstantiated_complaints_are_excluded_and_pending_ones_count(con):
    insert(con, "complaints", [
        complaint("Q1", "2026-08-03 10:00:00", agent_id="A", substantiated=False),
        complaint("Q2", "2026-08-03 10:00:00", agent_id="A", substantiated=None),
        complaint("Q3", "2026-08-03 10:00:00", agent_id="A", category="privacy_leak",
                  substantiated=True),
        complaint("Q4", "2026-08-03 10:00:00", agent_id="A", category="privacy_leak",
                  substantiated=None),
        complaint("Q5", "2026-08-03 10:00:00", agent_id="A", category="privacy_leak",
                  substantiated=False),
    ])
    insert(con, "violations", [
        violation("V1", "A", "2026-08-05", "privacy_breach", confirmed=True),
        violation("V2", "A", "2026-08-31", "unauthorized_disclosure", confirmed=True),
        violation("V3", "A", "2026-08-05", "privacy_breach", confirmed=False),
        violation("V4", "A", "2026-08-05", "privacy_breach", confirmed=None),
        violation("V5", "A", "2026-08-05", "other", confirmed=True),
        violation("V6", "A", "2026-07-31", "privacy_breach", confirmed=True),
        violation("V7", "A", "2026-09-01", "unauthorized_disclosure", confirmed=True),
    ])
    a = build(con)["A"]
    assert a["complaints"] == 3  # Q2, Q3, Q4
    # Q3 (privacy_leak, substantiated = true) + V1 + V2
    assert a["privacy_incidents"] == 3


def test_qa_confidence_threshold_is_inclusive_for_threat_abuse_insult_on_connected_calls(con):
    connected = dict(outcome="connected_debtor", duration_s=60)
    insert(con, "calls", [
        call("K1", "A", "C1", "2026-08-03 10:00:00", **connected),
        call("K2", "A", "C2", "2026-08-03 10:00:00", outcome="connected_third_party",
             duration_s=60),
        call("K3", "A", "C3", "2026-08-03 10:00:00", **connected),
        call("K4", "A", "C4", "2026-08-03 10:00:00", **connected),
        call("K5", "A", "C5", "2026-08-03 10:00:00", outcome="no_answer"),
        call("K6", "A", "C6", "2026-08-03 10:00:00", **connected),
        call("K7", "A", "C7", "2026-08-03 10:00:00", **connected),
    ])

    def flag(call_id, label, confidence):
        return dict(call_id=call_id, label=label, confidence=confidence, model_version="v1")

    insert(con, "qa_flags", [
        flag("K1", "threat", 0.8),               # at the threshold: counts
        flag("K2", "abuse", 0.79),               # below
        flag("K3", "insult", 0.95),              # counts
        flag("K4", "privacy_disclosure", 0.99),  # not a flagging label
        flag("K5", "threat", 0.99),              # not a connected call
        flag("K6", "threat", 0.9),               # two flags: one call
        flag("K6", "abuse", 0.85),
        flag("K7", "empathy", 0.9),
        flag("K7", "threat", 0.5),
    ])
    a = build(con)["A"]
    assert (a["qa_flagged_calls"], a["connected_calls"]) == (3, 6)
    assert a["threat_ratio"] == pytest.approx(0.5)


# skills --------------------------------------------------------------------------------------

def test_mandatory_training_counts_the_12_months_ending_at_m_end_and_simulation_is_quarter_to_date(
        con):
    insert(con, "agents", [agent("A", "2026-08-01")])
    insert(con, "trainings", [
        # window for August 2026 is [2025-09-01, 2026-09-01)
        training("T1", "A", "mandatory", "2025-09-01", "2025-08-20", True),   # due, passed
        training("T2", "A", "mandatory", "2025-08-31", "2025-08-20", True),   # before window
        training("T3", "A", "mandatory", "2026-08-31", "2026-09-01", True),   # due, done late
        training("T4", "A", "mandatory", "2026-08-15", "2026-08-10", False),  # due, failed
        training("T5", "A", "mandatory", "2026-09-01", "2026-08-10", True),   # after window
        training("T6", "A", "mandatory", "2026-08-31", "2026-08-31", True),   # due, passed
        training("T7", "A", "elective", "2026-08-01", "2026-08-01", True),    # not mandatory
        training("S1", "A", "simulation", completed_on="2026-06-30", score="10"),  # Q2
        training("S2", "A", "simulation", completed_on="2026-07-01", score="80"),
        training("S3", "A", "simulation", completed_on="2026-08-31", score="90"),
        training("S4", "A", "simulation", completed_on="2026-09-01", score="20"),  # after M
    ])
    a = build(con)["A"]
    assert (a["mandatory_due"], a["mandatory_passed"]) == (4, 2)
    assert a["mandatory_pass_rate"] == pytest.approx(0.5)
    assert a["simulation_score"] == pytest.approx(85.0)


# the agents of the month ---------------------------------------------------------------------

def test_team_and_level_come_from_the_latest_snapshot_dated_on_or_before_the_months_last_day(
        con):
    insert(con, "agents", [
        agent("A", "2026-07-31", team_id="T1", level="L1"),
        agent("A", "2026-08-31", team_id="T2", level="L2"),
        agent("A", "2026-09-01", team_id="T3", level="L3"),  # next month's: not used
        agent("B", "2026-08-31", team_id="T5", level="L2"),
        agent("B", "2026-09-01", team_id="T6", level="L4", status="left"),
    ])
    aug = build(con)
    assert (aug["A"]["team_id"], aug["A"]["level"]) == ("T2", "L2")
    # B left on the 1st of September: still active on August's last day, so a row
    assert (aug["B"]["team_id"], aug["B"]["level"]) == ("T5", "L2")
    july = build(con, "2026-07")
    assert set(july) == {"A"}
    assert (july["A"]["team_id"], july["A"]["level"]) == ("T1", "L1")


AGING = ("aging_cases", "aging_reduced", "rolled_forward", "aging_reduction_rate",
         "roll_forward_rate")


def test_active_agent_without_activity_gets_zeros_and_departed_agents_with_calls_keep_a_row(
        con):
    insert(con, "agents", [
        agent("G", "2026-08-20", team_id="TG", level="L3"),
        agent("H", "2026-08-20"),
        agent("A", "2026-08-31", team_id="TA", level="L2"),
        agent("L", "2026-08-31", status="left"),
        agent("Z", "2026-08-31", status="left"),
        # G and H are absent from the latest snapshot: departed
    ])
    insert(con, "calls", [
        call("K1", "L", "C1", "2026-08-03 10:00:00"),
        call("K2", "G", "C2", "2026-08-25 10:00:00"),
    ])
    rows = build(con)
    assert set(rows) == {"A", "G", "L"}  # H and Z: departed and idle
    assert rows["L"]["call_attempts"] == rows["G"]["call_attempts"] == 1
    # project decision: a departed agent absent from the latest snapshot keeps the team and
    # level of its own latest snapshot on or before M's last day
    assert (rows["G"]["team_id"], rows["G"]["level"]) == ("TG", "L3")

    a = rows["A"]
    assert (a["month"], a["team_id"], a["level"]) == (AUG, "TA", "L2")
    for col in dictionary(TABLE).columns:
        name, typ = col["name"], col["type"]
        if name in ("agent_id", "month", "team_id", "level"):
            continue
        if name in AGING:  # version 2: NULL, not 0, when no case snapshot carries a dpd
            assert a[name] is None, name
            continue
        if typ == "BIGINT":
            assert a[name] == 0 and type(a[name]) is int, name
        elif typ.startswith("DECIMAL"):
            assert a[name] == Decimal("0.00") and isinstance(a[name], Decimal), name
        elif typ == "DOUBLE":
            assert a[name] is None, name
        elif typ == "BOOLEAN":
            assert a[name] is False, name
        else:
            raise AssertionError(f"{name}: unexpected type {typ}")


def test_every_ratio_with_a_zero_denominator_is_null(con):
    insert(con, "assignments", [
        assignment("X1", "C1", "A", "2026-07-01 00:00:00", amount_due="100.00"),
    ])
    insert(con, "repayments", [
        payment("P1", "C1", "2026-07-10 10:00:00", "100.00"),  # amount due is 0 in August
        payment("P2", "C1", "2026-08-10 10:00:00", "20.00"),   # but A still collects
    ])
    insert(con, "complaints", [complaint("Q1", "2026-08-03 10:00:00", agent_id="A")])
    insert(con, "trainings", [training("T1", "A", "mandatory", "2025-01-31", "2025-01-01", True)])
    insert(con, "costs", [
        dict(cost_id="Z1", agent_id="A", incurred_on="2026-08-03", cost_type="field_visit",
             amount="80.00"),
        dict(cost_id="Z2", agent_id="B", incurred_on="2026-08-03", cost_type="field_visit",
             amount="0.00"),
    ])
    # B: one attempt, never connected, with a QA flag on it
    insert(con, "calls", [call("K1", "B", "C2", "2026-08-03 10:00:00", outcome="no_answer")])
    insert(con, "qa_flags", [
        dict(call_id="K1", label="threat", confidence=0.99, model_version="v1"),
    ])
    rows = build(con)
    a, b = rows["A"], rows["B"]
    assert (a["amount_due"], a["collected"]) == (money("0.00"), money("20.00"))
    assert (a["complaints"], a["total_cost"]) == (1, money("80.00"))
    for ratio in ("recovery_rate", "rpc_rate", "ptp_kept_rate", "complaints_per_1k_cases",
                  "threat_ratio", "mandatory_pass_rate", "cost_per_case", "csat_avg",
                  "simulation_score"):
        assert a[ratio] is None, ratio
    assert a["field_visit_share"] == pytest.approx(1.0)
    # B: total_cost 0 and connected_calls 0; denominators of 1 give numbers, not NULL
    assert b["field_visit_share"] is None
    assert b["threat_ratio"] is None
    assert b["rpc_rate"] == 0.0
    assert b["cost_per_case"] == 0.0
    assert b["complaints_per_1k_cases"] == 0.0


# credited collections ------------------------------------------------------------------------

def test_credited_collections_weights_m6plus_by_1_4_from_dpd_181(con):
    insert(con, "assignments", [
        assignment("X1", "C1", "A", "2026-07-01 00:00:00", dpd=180),  # M6
        assignment("X2", "C2", "A", "2026-07-01 00:00:00", dpd=181),  # M6+
        assignment("X3", "C3", "A", "2026-07-01 00:00:00", dpd=30),   # M1
    ])
    insert(con, "repayments", [
        payment("P1", "C1", "2026-08-03 10:00:00", "100.00"),
        payment("P2", "C2", "2026-08-03 10:00:00", "100.00"),
        payment("P2b", "C2", "2026-08-04 10:00:00", "20.00"),
        reversal("R2b", "P2b", "C2", "2026-08-05 10:00:00", "20.00"),
        payment("P3", "C3", "2026-08-03 10:00:00", "50.00"),
    ])
    a = build(con)["A"]
    assert a["collected"] == money("250.00")
    assert a["collected_m6plus"] == money("100.00")
    assert a["credited_collections"] == money("290.00")  # 100 + 1.4 x 100 + 50


def test_credited_collections_takes_the_bucket_weights_from_config(con, tmp_path):
    text = CFG.path.read_text(encoding="utf-8")
    old = "bucket_weights: {M1: 1.0,"
    assert old in text
    path = tmp_path / "kaohe.yaml"
    path.write_text(text.replace(old, "bucket_weights: {M1: 2.5,"), encoding="utf-8")
    from kaohe.config import load_config

    insert(con, "assignments", [
        assignment("X1", "C1", "A", "2026-07-01 00:00:00", dpd=1),
        assignment("X2", "C2", "A", "2026-07-01 00:00:00", dpd=200),
    ])
    insert(con, "repayments", [
        payment("P1", "C1", "2026-08-03 10:00:00", "10.00"),
        payment("P2", "C2", "2026-08-03 10:00:00", "10.00"),
    ])
    a = build(con, cfg=load_config(path))["A"]
    assert a["credited_collections"] == money("39.00")  # 2.5 x 10 + 1.4 x 10


# reconciliation ------------------------------------------------------------------------------

UNATTRIBUTED_SQL = """
with held as (
    select p.payment_id, exists (
        select 1 from staging.assignments a
        where a.case_id = p.case_id and a.assigned_at <= p.paid_at
            and (a.released_at is null or p.paid_at < a.released_at)
    ) as held
    from staging.repayments p where p.payment_type = 'payment'
)
select coalesce(sum(case when r.payment_type = 'reversal' then -r.amount else r.amount end), 0)
from staging.repayments r
join held h on h.payment_id = coalesce(r.reversal_of, r.payment_id)
where not h.held and r.paid_at >= ? and r.paid_at < ?
"""

SIGNED_SQL = """
select coalesce(sum(case when payment_type = 'reversal' then -amount else amount end), 0)
from staging.repayments where paid_at >= ? and paid_at < ?
"""


def test_collected_over_agents_plus_unattributed_reconciles_to_the_months_repayment_events(con):
    insert(con, "assignments", [
        assignment("X1", "C1", "A", "2026-06-01 00:00:00", released_at="2026-08-10 00:00:00"),
        assignment("X2", "C1", "B", "2026-08-10 00:00:00"),
        assignment("X3", "C2", "B", "2026-08-15 00:00:00", released_at="2026-08-20 00:00:00"),
        assignment("X4", "C3", "C", "2026-07-01 00:00:00", dpd=200),
    ])
    insert(con, "repayments", [
        payment("P1", "C1", "2026-07-15 10:00:00", "300.00"),   # A, July
        reversal("R1", "P1", "C1", "2026-08-12 10:00:00", "300.00"),  # A's claw-back, August
        payment("P2", "C1", "2026-08-05 10:00:00", "120.00"),   # A
        payment("P3", "C1", "2026-08-11 10:00:00", "80.50"),    # B
        payment("P4", "C2", "2026-08-14 23:59:59", "40.00"),    # before X3: unattributed
        reversal("R4", "P4", "C2", "2026-08-16 12:00:00", "40.00"),  # B holds C2 now: still
        payment("P5", "C2", "2026-08-16 10:00:00", "60.00"),    # B
        payment("P6", "C2", "2026-08-20 00:00:00", "25.00"),    # released: unattributed
        reversal("R6", "P6", "C2", "2026-08-21 10:00:00", "25.00"),  # of an unattributed one
        payment("P7", "C9", "2026-08-02 10:00:00", "13.13"),    # no assignment at all
        payment("P8", "C9", "2026-07-02 10:00:00", "5.00"),     # unattributed, July
        reversal("R8", "P8", "C9", "2026-08-03 10:00:00", "5.00"),  # its reversal, August
        payment("P9", "C3", "2026-08-30 10:00:00", "999.99"),   # C (M6+)
        payment("P10", "C3", "2026-09-01 00:00:00", "1.00"),    # September
    ])
    for month, start, end in (("2026-07", date(2026, 7, 1), AUG),
                              ("2026-08", AUG, date(2026, 9, 1))):
        rows = build(con, month)
        collected = sum((r["collected"] for r in rows.values()), Decimal("0"))
        unattributed = con.execute(UNATTRIBUTED_SQL, [start, end]).fetchall()[0][0]
        signed = con.execute(SIGNED_SQL, [start, end]).fetchall()[0][0]
        assert collected + unattributed == signed, month
    # the August figures themselves, so the reconciliation is not vacuous
    assert unattributed == money("8.13")  # 40 - 40 + 25 - 25 + 13.13 - 5
    assert collected == money("960.49")  # A -300 + 120, B 80.50 + 60, C 999.99


# the table as an interface -------------------------------------------------------------------

def test_output_columns_equal_the_dictionary_in_order_and_every_column_has_a_comment(con):
    d = dictionary(TABLE)
    query = sql(TABLE)
    params = {k: v for k, v in metric_params(CFG, "2026-08").items() if f"${k}" in query}
    described = con.execute(f"describe {query}", params).fetchall()
    assert [r[0] for r in described] == d.names
    # the SQL's own types are the dictionary's (no silent cast on insert)
    assert {r[0]: r[1] for r in described} == {c["name"]: c["type"] for c in d.columns}

    build(con)
    cols = con.execute(
        "select column_name, data_type, comment from duckdb_columns() "
        "where database_name = current_database() and schema_name = 'marts' "
        "and table_name = ? order by column_index", [TABLE],
    ).fetchall()
    assert [c[0] for c in cols] == [*d.names, "config_version"]
    missing = [name for name, _, comment in cols if not (comment or "").strip()]
    assert not missing, f"columns without a comment: {missing}"
    by_name = {name: comment for name, _, comment in cols}
    for c in d.columns:
        assert by_name[c["name"]] == f"{c['en']} | {c['zh']}"


def test_rebuilding_a_month_is_idempotent_and_another_month_leaves_it_untouched(con):
    insert(con, "agents", [agent("A", "2026-07-01"), agent("B", "2026-07-01")])
    insert(con, "assignments", [
        assignment("X1", "C1", "A", "2026-07-01 00:00:00", released_at="2026-08-10 00:00:00"),
        assignment("X2", "C1", "B", "2026-08-10 00:00:00"),
    ])
    insert(con, "repayments", [
        payment("P1", "C1", "2026-07-15 10:00:00", "300.00"),
        payment("P2", "C1", "2026-08-15 10:00:00", "70.00"),
    ])
    insert(con, "calls", [
        call("K1", "A", "C1", "2026-07-03 10:00:00", outcome="connected_debtor", duration_s=90),
        call("K2", "B", "C1", "2026-08-12 22:00:00"),
    ])
    first = build(con)
    assert set(first) == {"A", "B"}

    def everything():
        return con.execute(
            f"select * from marts.{TABLE} order by month, agent_id").fetchall()

    snapshot = everything()
    assert build(con) == first
    assert everything() == snapshot
    july = build(con, "2026-07")
    assert july["A"]["collected"] == money("300.00")
    assert month_rows(con) == first
    assert build(con) == first
    n = con.execute(f"select month, count(*) from marts.{TABLE} group by month order by month"
                    ).fetchall()
    assert n == [(date(2026, 7, 1), 2), (AUG, 2)]


def test_an_agent_whose_only_event_is_a_major_violation_keeps_a_row_with_the_veto(tmp_path):
    con = warehouse(tmp_path / "w.duckdb")
    insert(con, "violations", [dict(violation_id="V1", agent_id="GONE", occurred_on="2026-08-10",
                                    violation_type="private_collection_of_funds",
                                    severity="major", confirmed=True)])
    rows = build(con, "2026-08")
    assert rows["GONE"]["veto"] is True and rows["GONE"]["major_violations"] == 1
