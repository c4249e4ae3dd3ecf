"""Complaint resolution (version 2, complaints.resolved_at) per team and for the centre, pinned on
hand-written rows: hours to resolution (median, P90), the share resolved within
metrics.complaint_deadline_days (15 in config/kaohe.yaml), open complaints past the deadline at
the month's end, and NULL (never 0) when the lender never sends resolved_at.
August 2026: M = [2026-08-01, 2026-09-01)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kaohe.models.marts import build_all
from tests.metric_rows import CFG, agent, complaint, insert, warehouse

COLUMNS = ("complaint_resolution_median_h", "complaint_resolution_p90_h",
           "complaints_resolved_on_time_share", "open_complaints_past_deadline")


@pytest.fixture
def con(tmp_path):
    con = warehouse(tmp_path / "w.duckdb")
    # two teams: A and B in T1, Z in T2
    insert(con, "agents", [agent("A", "2026-08-31"), agent("B", "2026-08-31"),
                           agent("Z", "2026-08-31", team_id="T2")])
    yield con
    con.close()


def resolved(complaint_id: str, agent_id: str | None, received_at: str, resolved_at: str | None,
             business_date: str | None = None, **kw) -> dict:
    row = dict(complaint(complaint_id, received_at, agent_id=agent_id, **kw),
               resolved_at=resolved_at)
    if business_date:
        row["_business_date"] = business_date
    return row


def measures(con, cfg=CFG, month: str = "2026-08") -> tuple[dict, tuple]:
    build_all(con, cfg, month)
    teams = {r[0]: r[1:] for r in con.execute(
        f"select team_id, {', '.join(COLUMNS)} from marts.team_month_metrics "
        "where month = ? order by team_id", [f"{month}-01"]).fetchall()}
    center = con.execute(f"select {', '.join(COLUMNS)} from marts.center_month_summary "
                         "where month = ?", [f"{month}-01"]).fetchall()[0]
    return teams, center


def test_hours_median_p90_and_share_within_the_deadline(con):
    insert(con, "complaints", [
        resolved("Q1", "A", "2026-08-03 10:00:00", "2026-08-04 10:00:00"),   # 24 h
        resolved("Q2", "B", "2026-08-04 10:00:00", "2026-08-06 10:00:00"),   # 48 h
        resolved("Q3", "A", "2026-08-05 10:00:00", "2026-08-09 10:00:00"),   # 96 h
        resolved("Q4", "B", "2026-08-06 10:00:00", "2026-08-26 10:00:00"),   # 480 h: 20 days
        # unsubstantiated: the deadline applies to every complaint, whatever the verdict
        resolved("Q5", "Z", "2026-08-07 10:00:00", "2026-08-08 22:00:00",    # 36 h
                 substantiated=False),
    ])
    teams, center = measures(con)
    median, p90, share, open_late = teams["T1"]
    assert median == 72.0                                    # (48 + 96) / 2
    assert p90 == pytest.approx(96 + 0.7 * (480 - 96))      # quantile_cont: 364.8
    assert share == 0.75                                     # Q4 took 20 days > 15
    assert open_late == 0
    assert teams["T2"] == (36.0, 36.0, 1.0, 0)
    # the centre: every complaint (medians are not summed over teams)
    assert center[0] == 48.0 and center[2] == 0.8 and center[3] == 0


def test_the_deadline_is_elapsed_time_to_the_second_and_configurable(con):
    insert(con, "complaints", [
        resolved("Q1", "A", "2026-08-03 10:00:00", "2026-08-18 10:00:00"),   # exactly 15 days
        resolved("Q2", "A", "2026-08-03 10:00:00", "2026-08-18 10:00:01"),   # a second more
    ])
    teams, _ = measures(con)
    assert teams["T1"][2] == 0.5
    longer = replace(CFG, metrics=replace(CFG.metrics, complaint_deadline_days=16))
    teams, _ = measures(con, longer)
    assert teams["T1"][2] == 1.0


def test_all_null_when_the_lender_never_sends_resolved_at(con):
    # the version-1 file: no resolved_at on any complaint ever loaded
    insert(con, "complaints", [
        complaint("Q1", "2026-07-03 10:00:00", agent_id="A"),
        complaint("Q2", "2026-08-03 10:00:00", agent_id="A", substantiated=True),
        complaint("Q3", "2026-08-04 10:00:00"),                              # unattributed
    ])
    teams, center = measures(con)
    assert teams["T1"] == (None, None, None, None)
    assert teams["T2"] == (None, None, None, None)
    assert center == (None, None, None, None)
    # the complaints still count where they always did
    assert con.execute("select complaints from marts.team_month_metrics where team_id = 'T1'"
                       ).fetchall() == [(1,)]


def test_all_open_is_not_absent_it_is_late(con):
    # resolved_at is sent (a July complaint was resolved): August's open ones are open
    insert(con, "complaints", [
        resolved("Q0", "Z", "2026-07-01 10:00:00", "2026-07-02 10:00:00"),
        resolved("Q1", "A", "2026-08-03 10:00:00", None),
        resolved("Q2", "B", "2026-08-04 10:00:00", None),
    ])
    teams, center = measures(con)
    assert teams["T1"] == (None, None, 0.0, 2)   # none resolved: no hours, none in time
    assert teams["T2"] == (None, None, None, 0)  # nothing received in August
    assert center == (None, None, 0.0, 2)


def test_a_complaint_is_due_once_resolved_or_past_its_deadline_at_the_newest_data(con):
    # complaint files up to 2026-09-01: the data is as of 2026-09-02 00:00
    insert(con, "complaints", [
        resolved("Q1", "A", "2026-08-10 10:00:00", None, "2026-09-01"),     # deadline 08-25: due, late
        resolved("Q2", "A", "2026-08-28 10:00:00", None, "2026-09-01"),     # deadline 09-12: not yet due
        resolved("Q3", "A", "2026-08-29 10:00:00", "2026-08-30 10:00:00", "2026-09-01"),  # due, in time
    ])
    teams, _ = measures(con)
    median, _, share, open_late = teams["T1"]
    assert median == 24.0
    assert share == 0.5              # Q3 of Q1 and Q3; Q2 is not judged yet
    assert open_late == 1            # Q1 at the month's end; Q2's deadline has not passed


def test_open_past_deadline_counts_earlier_months_and_is_judged_at_the_months_end(con):
    insert(con, "complaints", [
        # received in June, still open: counts every month until resolved
        resolved("Q1", "A", "2026-06-20 10:00:00", None),
        # received in July, resolved after August ended: open (and late) at August's end
        resolved("Q2", "B", "2026-07-20 10:00:00", "2026-09-03 10:00:00"),
        # received in July, resolved in August: not open at the month's end
        resolved("Q3", "A", "2026-07-20 10:00:00", "2026-08-20 10:00:00"),
        # received on 08-20, open: its deadline (09-04) is after the month's end
        resolved("Q4", "A", "2026-08-20 10:00:00", None),
        # unattributed and late: the centre's only
        resolved("Q5", None, "2026-07-01 10:00:00", None),
    ])
    teams, center = measures(con)
    assert teams["T1"][3] == 2       # Q1, Q2
    assert center[3] == 3            # and Q5
    # received in August, open, not yet due: no share, no hours
    assert teams["T1"][:3] == (None, None, None)


def test_the_shared_rule_is_one_row_per_complaint_with_its_flags(con):
    insert(con, "complaints", [
        resolved("Q1", "A", "2026-08-03 10:00:00", "2026-08-04 16:00:00"),
        resolved("Q2", None, "2026-07-03 10:00:00", None),
    ])
    rows = con.execute(
        "select complaint_id, agent_id, resolution_delivered, received_in_month, resolution_h, "
        "due, resolved_on_time, open_past_deadline from intermediate.complaint_resolution("
        "date '2026-08-01', date '2026-09-01', 15) order by complaint_id").fetchall()
    assert rows == [("Q1", "A", True, True, 30.0, True, True, False),
                    ("Q2", None, True, False, None, False, False, True)]
