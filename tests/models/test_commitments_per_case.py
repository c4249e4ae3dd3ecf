"""Commitments kept per case held (7.0, intermediate.agent_commitments), pinned on hand-written
rows: each held case counts by its best-kept commitment due in the month (0..1), a case without
one counts 0, the expectation is the centre's same-month rate of the case's bucket, and leaving a
broken promise unrecorded moves nothing. August 2026; a commitment is a right-party call of at
least 60 s for at least 10% of the amount due (gaming.commitment_min_call_s, _min_share)."""

from __future__ import annotations

import pytest

from tests.metric_rows import assignment, build, call, insert, payment, warehouse


@pytest.fixture
def con(tmp_path):
    con = warehouse(tmp_path / "w.duckdb")
    yield con
    con.close()


def promise(call_id, agent_id, case_id, at, amount, due, duration_s=90):
    return call(call_id, agent_id, case_id, at, "connected_debtor", duration_s, amount, due)


def _book(con, broken_recorded: bool = True) -> dict:
    # A holds C1..C4 (M1: dpd 10), B holds C5, C6 (M1) and C7 (M4: dpd 100); amounts due 1000
    insert(con, "assignments", [
        assignment(f"S{i}", f"C{i}", "A", "2026-07-20 00:00:00") for i in range(1, 5)] + [
        assignment("S5", "C5", "B", "2026-07-20 00:00:00"),
        assignment("S6", "C6", "B", "2026-07-20 00:00:00"),
        assignment("S7", "C7", "B", "2026-07-20 00:00:00", dpd=100)])
    calls = [
        promise("K1", "A", "C1", "2026-08-03 10:00:00", "300.00", "2026-08-10"),  # kept in full
        promise("K3", "A", "C2", "2026-08-12 10:00:00", "400.00", "2026-08-20"),  # half kept
        # C3: a token promise (a 20-second call), kept: no commitment, the case counts 0
        promise("K4", "A", "C3", "2026-08-05 10:00:00", "200.00", "2026-08-09", duration_s=20),
        promise("K5", "B", "C5", "2026-08-03 10:00:00", "300.00", "2026-08-10"),  # kept
        promise("K6", "B", "C7", "2026-08-03 10:00:00", "300.00", "2026-08-10"),  # broken
    ]
    if broken_recorded:  # C2's first promise, broken (nothing paid by the 8th)
        calls.append(promise("K2", "A", "C2", "2026-08-02 10:00:00", "500.00", "2026-08-08"))
    insert(con, "calls", calls)
    insert(con, "repayments", [
        payment("P1", "C1", "2026-08-09 12:00:00", "300.00"),
        payment("P2", "C2", "2026-08-15 12:00:00", "200.00"),
        payment("P3", "C3", "2026-08-08 12:00:00", "200.00"),
        payment("P4", "C5", "2026-08-10 12:00:00", "300.00")])
    return build(con)


def test_each_held_case_counts_by_its_best_kept_commitment_against_its_bucket(con):
    rows = _book(con)
    a, b = rows["A"], rows["B"]
    # A: C1 1.0, C2 max(0, 0.5) = 0.5, C3 and C4 0 -> 1.5 of 4 held
    assert a["kept_commitment_cases"] == pytest.approx(1.5)
    assert a["kept_commitment_case_rate"] == pytest.approx(0.375)
    # B: C5 1.0, C6 0 (M1); C7 0 (M4)
    assert b["kept_commitment_cases"] == pytest.approx(1.0)
    # the centre's M1 rate: (1.5 + 1.0) over 6 M1 cases held; M4: 0 of 1
    m1 = 2.5 / 6
    assert a["expected_kept_commitment_case_rate"] == pytest.approx(m1)
    assert a["kept_commitments_vs_expected"] == pytest.approx(0.375 / m1)
    assert b["expected_kept_commitment_case_rate"] == pytest.approx(2 * m1 / 3)
    assert b["kept_commitments_vs_expected"] == pytest.approx(1.0 / (2 * m1))
    # the 6.0 measure: kept share of the commitments recorded, by amount
    assert a["commitment_kept_rate"] == pytest.approx((300 + 200) / (300 + 500 + 400))


def test_leaving_the_broken_promise_unrecorded_moves_nothing(con, tmp_path):
    recorded = _book(con)["A"]
    other = warehouse(tmp_path / "unrecorded.duckdb")
    try:
        unrecorded = _book(other, broken_recorded=False)["A"]
    finally:
        other.close()
    # the kept share of the promises recorded rises (what an agent could game) ...
    assert unrecorded["commitment_kept_rate"] > recorded["commitment_kept_rate"]
    # ... commitments kept per case held do not move
    for column in ("kept_commitment_cases", "kept_commitment_case_rate",
                   "expected_kept_commitment_case_rate", "kept_commitments_vs_expected"):
        assert unrecorded[column] == recorded[column], column


def test_an_agent_without_a_case_held_has_no_value(con):
    insert(con, "calls", [promise("K1", "A", "C1", "2026-08-03 10:00:00", "300.00",
                                  "2026-08-10")])
    a = build(con)["A"]
    assert a["kept_commitment_cases"] is None and a["kept_commitments_vs_expected"] is None
