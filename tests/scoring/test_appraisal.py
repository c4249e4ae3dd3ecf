"""Who is appraised (config `appraisal`): an agent who did not work enough of the month gets
grade NA with a reason, no composite, no variable pay and no rank; a veto is never hidden; a
month not appraised neither breaks nor counts toward a promotion streak."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from kaohe.models.marts import build_all
from tests.metric_rows import (
    CFG,
    agent,
    assignment,
    call,
    case,
    insert,
    payment,
    violation,
    warehouse,
)


@pytest.fixture
def con(tmp_path):
    con = warehouse(tmp_path / "w.duckdb")
    yield con
    con.close()


def staff(agent_id: str, hire: str = "2025-01-01", snapshot: str = "2026-08-01",
          status: str = "active") -> dict:
    row = agent(agent_id, snapshot, status=status)
    row.update(hire_date=hire, base_salary="1500.00")
    return row


def busy(agent_id: str, cases: int, first_day: int = 3) -> list[dict]:
    """Calls on ``cases`` distinct cases (connected, in hours), one a day from ``first_day``."""
    return [call(f"{agent_id}K{i}", agent_id, f"{agent_id}C{i}",
                 f"2026-08-{first_day + i % (29 - first_day):02d} 10:00:00", "connected_debtor",
                 60) for i in range(cases)]


def cards(con, month: str = "2026-08") -> dict[str, dict]:
    build_all(con, CFG, month)
    cur = con.execute("select s.*, p.variable_earned, p.paid_now, p.deferred, "
                      "p.ytd_deferred_pool from marts.agent_month_scorecard s left join "
                      "marts.agent_month_pay p using (agent_id, month) where s.month = ?",
                      [date.fromisoformat(f"{month}-01")])
    names = [d[0] for d in cur.description]
    return {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}


def test_the_departed_agent_is_not_appraised_and_earns_nothing(con):
    # left in July (vetoed then), no case and no call in August, one old promise kept by a
    # payment on a case he held on the 1st: version 1 graded him S, rank 1, a 1.2x bonus
    insert(con, "agents", [staff("GONE", snapshot="2026-07-01"),
                           staff("GONE", snapshot="2026-07-20", status="left"),
                           staff("WORK")])
    insert(con, "violations", [violation("V1", "GONE", "2026-07-10", severity="major")])
    insert(con, "cases", [case("C1", "D1")])
    insert(con, "assignments", [assignment("X1", "C1", "GONE", "2026-06-01 00:00:00",
                                           "2026-08-01 12:00:00")])
    insert(con, "calls", [call("OLD", "GONE", "C1", "2026-07-05 10:00:00", "connected_debtor",
                               60, "100.00", "2026-08-01")] + busy("WORK", 12))
    insert(con, "repayments", [payment("P1", "C1", "2026-08-01 09:00:00", "100.00")])
    got = cards(con)
    gone = got["GONE"]
    assert (gone["grade"], gone["not_appraised_reason"], gone["active_days"]) == (
        "NA", "left", 0)
    assert gone["composite"] is None and gone["center_rank"] is None
    # no active day in August: no pay row at all (the pay export lists him apart)
    assert gone["variable_earned"] is None and gone["paid_now"] is None
    assert got["WORK"]["center_rank"] == 1 and got["WORK"]["grade"] != "NA"


def test_a_late_joiner_is_not_appraised_a_full_month_joiner_is(con):
    insert(con, "agents", [staff("LATE", hire="2026-08-26"), staff("EARLY", hire="2026-08-02")])
    insert(con, "calls", busy("LATE", 23, first_day=26) + busy("EARLY", 23))
    got = cards(con)
    assert (got["LATE"]["grade"], got["LATE"]["not_appraised_reason"],
            got["LATE"]["active_days"]) == ("NA", "joined", 6)
    assert got["EARLY"]["active_days"] == 30 and got["EARLY"]["not_appraised_reason"] is None
    assert got["LATE"]["center_rank"] is None and got["EARLY"]["center_rank"] == 1


@pytest.mark.parametrize(("cases_handled", "reason"), [(0, "no work"), (9, "too few cases"),
                                                       (10, None)])
def test_too_few_cases_is_not_a_month_to_grade(con, cases_handled, reason):
    insert(con, "agents", [staff("A")])
    insert(con, "assignments", [assignment("X1", "C1", "A", "2026-07-01 00:00:00")])
    insert(con, "calls", busy("A", cases_handled))
    a = cards(con)["A"]
    assert a["not_appraised_reason"] == reason
    assert (a["grade"] == "NA") == (reason is not None)


def test_a_vetoed_leaver_is_veto_not_na(con):
    insert(con, "agents", [staff("V", snapshot="2026-08-01"),
                           staff("V", snapshot="2026-08-05", status="left")])
    insert(con, "violations", [violation("V1", "V", "2026-08-03", severity="major")])
    v = cards(con)["V"]
    assert (v["grade"], v["veto"], v["composite"]) == ("VETO", True, 0.0)


def test_the_first_left_snapshot_ends_the_active_days(con):
    # an agent whose first `left` snapshot is dated the 15th was active 14 days
    insert(con, "agents", [staff("L", snapshot="2026-08-01"),
                           staff("L", snapshot="2026-08-15", status="left"),
                           staff("L", snapshot="2026-08-22", status="left")])
    insert(con, "calls", busy("L", 12))
    leaver = cards(con)["L"]
    assert (leaver["active_days"], leaver["not_appraised_reason"]) == (14, "left")


def test_a_month_not_appraised_neither_breaks_nor_counts_toward_a_streak(con):
    from dataclasses import replace

    from kaohe.config import PromotionRule

    # A stays L1 and is on the bar in June and August; July is not appraised (too few cases)
    cfg = replace(CFG, promotion=(PromotionRule("L1", "L2", 0.0, 2, False),))
    for month, n in (("2026-06", 12), ("2026-07", 3), ("2026-08", 12)):
        start = date.fromisoformat(f"{month}-01")
        insert(con, "agents", [staff("A", snapshot=f"{month}-01")])
        insert(con, "calls", [
            call(f"{month}K{i}", "A", f"C{i}", str(start + timedelta(days=2 + i)) + " 10:00:00",
                 "connected_debtor", 60) for i in range(n)])
        build_all(con, cfg, month)
    grades = dict(con.execute("select strftime(month, '%Y-%m'), grade from "
                              "marts.agent_month_scorecard order by 1").fetchall())
    assert grades["2026-07"] == "NA" and "NA" not in (grades["2026-06"], grades["2026-08"])
    streak, eligible = con.execute(
        "select streak_months, eligible from marts.promotion_candidates "
        "where month = date '2026-08-01'").fetchall()[0]
    assert (streak, eligible) == (2, True)  # June and August; July skipped, not a break


def test_reports_show_the_agents_not_appraised_apart_with_the_reason(con, tmp_path):
    from kaohe.reporting.reports import render_month

    insert(con, "agents", [staff("LATE", hire="2026-08-26"), staff("WORK")])
    insert(con, "calls", busy("LATE", 23, first_day=26) + busy("WORK", 12))
    cards(con)
    out = render_month(con, tmp_path / "reports", "2026-08", "en", CFG).directory
    team = (out / "teams" / "T1.html").read_text(encoding="utf-8")
    ranking, _, apart = team.partition("Not appraised this month</h2>")
    assert "LATE" not in ranking.split("<h2>", 2)[-1] and "WORK" in ranking
    assert "LATE" in apart and "joined (too few active days)" in apart
    card = (out / "agents" / "LATE.html").read_text(encoding="utf-8")
    assert "Not appraised this month: joined (too few active days)" in card
    centre = (out / "center.html").read_text(encoding="utf-8")
    assert "joined (too few active days): 1" in centre


# grading by a target distribution (config grading) ----------------------------------------------

def graded(composites: list[float | None], mode: str = "distribution", scope: str = "centre",
           teams: list[str] | None = None, min_group_size: int = 10) -> list[str | None]:
    from dataclasses import replace

    import polars as pl

    from kaohe.config import GradingConfig
    from kaohe.scoring.scorecard import _distribution_grade

    cfg = replace(CFG, grading=GradingConfig(mode=mode, scope=scope,
                                             min_group_size=min_group_size))
    frame = pl.DataFrame({
        "composite": composites, "veto": [False] * len(composites),
        "team_id": teams or ["T1"] * len(composites),
        "band": ["band"] * len(composites)})
    return frame.select(_distribution_grade(cfg, pl.col("band")).alias("g"))["g"].to_list()


def test_distribution_grades_by_rank_to_the_target_shares():
    got = graded([100.0 - i for i in range(20)])
    # 20 agents: S floor(1) = 1, A floor(4) - 1 = 3, B round(10) - 4 = 6, C round(17) - 10 = 7
    assert got == ["S"] + ["A"] * 3 + ["B"] * 6 + ["C"] * 7 + ["D"] * 3


def test_ties_share_the_better_grade_but_never_push_s_or_a_over_their_share():
    got = graded([99.0, 99.0] + [90.0 - i for i in range(18)])
    assert got[:2] == ["A", "A"]  # a tie for the one S place: both A, no S
    assert got.count("S") == 0 and got.count("A") <= 4
    tie_bc = graded([100.0 - i for i in range(9)] + [80.0, 80.0] + [70.0 - i for i in range(9)])
    assert tie_bc[9] == tie_bc[10] == "B"  # the tie at the B/C boundary shares B


def test_a_small_group_keeps_its_band_grades_and_team_scope_ranks_per_team():
    assert graded([90.0, 80.0, 70.0]) == ["band"] * 3
    teams = ["T1"] * 10 + ["T2"] * 3
    got = graded([100.0 - i for i in range(10)] + [99.0, 98.0, 97.0], scope="team", teams=teams)
    assert got[:10] == ["A", "A", "B", "B", "B", "C", "C", "C", "C", "D"]  # 10: S floor(0.5)=0
    assert got[10:] == ["band"] * 3


def test_the_grading_section_is_validated(tmp_path):
    from kaohe.config import ConfigError, load_config
    from tests.scoring.test_scorecard import config_copy

    bad = config_copy(tmp_path, lambda d: d.update(grading={
        "mode": "distribution", "distribution": {"S": 5, "A": 15, "B": 30, "C": 35, "D": 5}}))
    with pytest.raises(ConfigError, match="grading.distribution: percentages must sum to 100"):
        load_config(bad)
    bad = config_copy(tmp_path, lambda d: d.update(grading={"mode": "forced"}))
    with pytest.raises(ConfigError, match="grading.mode"):
        load_config(bad)
