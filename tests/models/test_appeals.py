"""Appeals (申诉, version 3), pinned on hand-written rows: an overturned QA flag, complaint or
violation changes the agent's month exactly as if it had never been delivered (compared table by
table with a warehouse without it); an overturned contact-rule breach stops counting as one; an
upheld or pending appeal changes nothing; the latest decision wins; the appeals marts. August
2026: M = [2026-08-01, 2026-09-01)."""

from __future__ import annotations

from datetime import date

import pytest

from kaohe.models.marts import build_all
from tests.metric_rows import (
    CFG,
    agent,
    assignment,
    call,
    case,
    complaint,
    insert,
    payment,
    violation,
    warehouse,
)

MONTH = date(2026, 8, 1)
# the agent-level tables an item counts in (team and centre tables also count what the centre
# received, e.g. complaints resolved in time, so they are not "the agent's month")
AGENT_TABLES = ("agent_month_metrics", "agent_month_scorecard", "agent_month_pay",
                "conduct_alerts", "gaming_signals", "promotion_candidates")


def appeal(appeal_id: str, subject_type: str, subject_id: str, decision: str | None,
           filed_at: str = "2026-08-20 10:00:00", decided_at: str | None = "2026-08-25 10:00:00",
           agent_id: str = "A") -> dict:
    return dict(appeal_id=appeal_id, agent_id=agent_id, subject_type=subject_type,
                subject_id=subject_id, filed_at=filed_at, reason="the debtor asked to be called",
                decided_at=decided_at if decision else None, decision=decision,
                reviewer_id="QA001" if decision else None)


def centre(con, with_items: bool = True) -> None:
    """Agents A and B (L2, T1), a case each held all month, paid on target; A's month carries a
    threat flag, a substantiated complaint and a major violation (a veto) when ``with_items``."""
    insert(con, "agents", [agent(a, "2026-07-01", level="L2") for a in "AB"])
    insert(con, "cases", [case(f"C{a}", f"D{a}") for a in "AB"])
    insert(con, "assignments", [assignment(f"S{a}", f"C{a}", a, "2026-07-01 00:00:00")
                                for a in "AB"])
    insert(con, "repayments", [payment(f"P{a}", f"C{a}", "2026-08-12 10:00:00", "350.00")
                               for a in "AB"])
    insert(con, "calls", [
        call(f"K{a}{i}", a, f"C{a}", f"2026-08-0{i + 3} 10:00:00", "connected_debtor", 90)
        for a in "AB" for i in range(3)])
    if with_items:
        insert(con, "qa_flags", [dict(call_id="KA0", label="threat", confidence=0.95,
                                      model_version="v1")])
        insert(con, "complaints", [dict(complaint("Q1", "2026-08-06 10:00:00", agent_id="A"),
                                        substantiated=True)])
        insert(con, "violations", [violation("V1", "A", "2026-08-07", severity="major")])


def agent_month(con, agent_id: str = "A") -> dict[str, list[tuple]]:
    build_all(con, CFG, "2026-08")
    out = {}
    for table in AGENT_TABLES:
        rows = con.execute(f"select * exclude (config_version) from marts.{table} "
                           "where month = ? and agent_id = ? order by all",
                           [MONTH, agent_id]).fetchall()
        out[table] = rows
    return out


@pytest.fixture
def pair(tmp_path):
    with_items, without = (warehouse(tmp_path / f"{n}.duckdb") for n in ("a", "b"))
    centre(with_items)
    centre(without, with_items=False)
    yield with_items, without
    with_items.close()
    without.close()


def test_overturned_items_leave_the_month_as_if_never_delivered(pair):
    con, clean = pair
    expected = agent_month(clean)
    # before any decision, the items count: a veto, a complaint, a flagged call
    before = agent_month(con)
    assert before != expected
    scorecard = con.execute("select veto, grade from marts.agent_month_scorecard "
                            "where agent_id = 'A' and month = ?", [MONTH]).fetchall()
    assert scorecard == [(True, "VETO")]
    insert(con, "appeals", [appeal("AP1", "qa_flag", "KA0:threat", "overturned"),
                            appeal("AP2", "complaint", "Q1", "overturned"),
                            appeal("AP3", "violation", "V1", "overturned")])
    assert agent_month(con) == expected


def test_an_upheld_or_pending_appeal_changes_nothing(pair):
    con, _ = pair
    before = agent_month(con)
    insert(con, "appeals", [appeal("AP1", "qa_flag", "KA0:threat", "upheld"),
                            appeal("AP2", "complaint", "Q1", None),
                            appeal("AP3", "violation", "V1", "upheld")])
    assert agent_month(con) == before


def test_the_latest_decision_wins(pair):
    con, clean = pair
    # overturned, then upheld on review: the flag stands again
    insert(con, "appeals", [
        appeal("AP1", "qa_flag", "KA0:threat", "overturned", decided_at="2026-08-22 10:00:00"),
        appeal("AP2", "qa_flag", "KA0:threat", "upheld", decided_at="2026-08-28 10:00:00")])
    build_all(con, CFG, "2026-08")
    assert con.execute("select qa_flagged_calls from marts.agent_month_metrics "
                       "where agent_id = 'A' and month = ?", [MONTH]).fetchall() == [(1,)]
    rows = con.execute("select appeal_id, decision, counts_against from marts.agent_appeals "
                       "where month = ? order by appeal_id", [MONTH]).fetchall()
    assert rows == [("AP1", "overturned", True), ("AP2", "upheld", True)]


def test_an_overturned_contact_rule_breach_stops_counting(tmp_path):
    con = warehouse(tmp_path / "w.duckdb")
    insert(con, "agents", [agent("A", "2026-07-01", level="L2")])
    insert(con, "cases", [case("C1", "D1")])
    insert(con, "assignments", [assignment("S1", "C1", "A", "2026-07-01 00:00:00")])
    # a call at 22:30 breaks the curfew; another at 10:00 does not
    insert(con, "calls", [call("K1", "A", "C1", "2026-08-03 22:30:00"),
                          call("K2", "A", "C1", "2026-08-04 10:00:00")])
    build_all(con, CFG, "2026-08")
    q = ("select curfew_calls, contact_rule_breaches from marts.agent_month_metrics "
         "where agent_id = 'A' and month = ?")
    assert con.execute(q, [MONTH]).fetchall() == [(1, 1)]
    insert(con, "appeals", [appeal("AP1", "contact_rule", "K1", "overturned")])
    build_all(con, CFG, "2026-08")
    assert con.execute(q, [MONTH]).fetchall() == [(0, 0)]
    con.close()


def test_the_appeals_marts(pair):
    con, _ = pair
    insert(con, "appeals", [
        appeal("AP1", "qa_flag", "KA0:threat", "overturned", filed_at="2026-08-20 10:00:00",
               decided_at="2026-08-23 10:00:00"),
        appeal("AP2", "complaint", "Q1", "upheld", filed_at="2026-08-20 10:00:00",
               decided_at="2026-08-21 22:00:00"),
        appeal("AP3", "violation", "V1", None),
        # an item kaohe never received: kept, in the month it was filed
        appeal("AP4", "qa_flag", "K404:abuse", None, filed_at="2026-08-09 09:00:00"),
        # a September item: not August's
        appeal("AP5", "complaint", "Q9", None, filed_at="2026-09-02 09:00:00"),
    ])
    build_all(con, CFG, "2026-08")
    rows = con.execute(
        "select appeal_id, subject_type, qa_label, model_version, item_found, decision, "
        "days_to_decide, counts_against, final_on from marts.agent_appeals where month = ? "
        "order by appeal_id", [MONTH]).fetchall()
    final_on = date(2026, 9, 1 + CFG.appeals.window_days)
    assert rows == [
        ("AP1", "qa_flag", "threat", "v1", True, "overturned", 3.0, False, final_on),
        ("AP2", "complaint", None, None, True, "upheld", 1.5, True, final_on),
        ("AP3", "violation", None, None, True, "pending", None, True, final_on),
        ("AP4", "qa_flag", "abuse", None, False, "pending", None, True, final_on),
    ]
    outcomes = con.execute(
        "select subject_type, qa_label, model_version, filed, decided, overturned, "
        "overturn_rate, median_days_to_decide from marts.appeal_outcomes where month = ? "
        "order by all", [MONTH]).fetchall()
    assert outcomes == [
        ("complaint", None, None, 1, 1, 0, 0.0, 1.5),
        ("qa_flag", "abuse", None, 1, 0, 0, None, None),
        ("qa_flag", "threat", "v1", 1, 1, 1, 1.0, 3.0),
        ("violation", None, None, 1, 0, 0, None, None),
    ]
