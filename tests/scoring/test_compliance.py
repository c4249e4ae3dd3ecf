"""The compliance officer's desk (version 2): human QA reviews (qa_reviews) ingested like every
source, agency spot-check coverage from them (an AI-label proxy without them), the speech-analytics
model against the reviewers, and the compliance page delivered to the compliance recipients only.
August 2026 throughout."""

from __future__ import annotations

import pytest

from kaohe.models.marts import build_month
from tests.metric_rows import CFG, build, call, insert, warehouse

MONTH = "2026-08"


@pytest.fixture
def con(tmp_path):
    con = warehouse(tmp_path / "w.duckdb")
    yield con
    con.close()


def outsourced(agent_id: str, agency_id: str) -> dict:
    return dict(snapshot_date="2026-08-01", agent_id=agent_id, team_id="T1", level="L2",
                employment_type="outsourced", agency_id=agency_id, status="active",
                hire_date="2025-01-01")


def review(review_id: str, call_id: str, finding: str = "none", result: str | None = None,
           reviewed_at: str = "2026-08-05 10:00:00") -> dict:
    failed = finding not in ("none", "script_deviation")
    return dict(review_id=review_id, call_id=call_id, reviewer_id="QA001",
                reviewed_at=reviewed_at, score=40 if failed else 90,
                result=result or ("fail" if failed else "pass"), finding=finding)


def flag(call_id: str, label: str, confidence: float = 0.9, version: str = "qa-2026.07") -> dict:
    return dict(call_id=call_id, label=label, confidence=confidence, model_version=version)


def connected(call_id: str, agent_id: str, day: int, hour: int = 10) -> dict:
    return call(call_id, agent_id, "C1", f"2026-08-{day:02d} {hour:02d}:00:00",
                "connected_debtor", 60)


def agency_row(con) -> dict:
    build(con)
    build_month(con, "agency_month_metrics", CFG, MONTH)
    cur = con.execute("select * from marts.agency_month_metrics where agency_id = 'AG1'")
    names = [d[0] for d in cur.description]
    return dict(zip(names, cur.fetchone(), strict=True))


# ingestion ---------------------------------------------------------------------------------------

def test_bad_review_rows_are_quarantined_with_reasons_and_the_good_ones_load(landing):
    landing.write("qa_reviews", "qa_reviews_20260805.csv", [
        "QR1,CL1,QA001,2026-08-05 10:00:00,90,pass,none",
        "QR2,CL2,QA001,2026-08-05 10:05:00,35,fail,threat",
        "QR3,CL3,QA001,2026-08-05 10:10:00,150,pass,none",         # score out of 0-100
        "QR4,CL4,QA001,2026-08-05 10:15:00,80,maybe,none",          # unknown result
        "QR5,CL5,QA001,2026-08-05 10:20:00,80,pass,rude",           # unknown finding
        "QR6,,QA001,2026-08-05 10:25:00,80,pass,none",              # no call
        "QR7,CL7,QA001,2026-08-05 25:00:00,80,pass,none",           # not a timestamp
        "QR1,CL8,QA002,2026-08-05 11:00:00,70,pass,none",           # review_id again
        "QR9,CL9,QA002,2026-08-05 11:05:00,70,pass,",               # no finding: allowed
    ])
    result = landing.ingest()["qa_reviews"]
    assert result.rows_read == 9 and result.rows_loaded + result.rows_rejected == 9
    assert landing.query("select review_id from staging.qa_reviews order by 1") == [
        ("QR1",), ("QR2",), ("QR9",)]
    reasons = dict(landing.query(
        "select line, reason_code from audit.quarantine where source = 'qa_reviews'"))
    assert reasons == {4: "out_of_range", 5: "unknown_enum", 6: "unknown_enum",
                       7: "missing_value", 8: "bad_type", 9: "duplicate_key"}


def test_a_landing_without_reviews_still_runs_and_the_mart_is_empty(con):
    insert(con, "agents", [outsourced("A", "AG1")])
    insert(con, "calls", [connected("K1", "A", 3)])
    insert(con, "qa_flags", [flag("K1", "empathy")])
    build(con)
    assert build_month(con, "qa_model_agreement", CFG, MONTH) == 0


# spot-check coverage ------------------------------------------------------------------------------

def test_coverage_is_the_ai_label_proxy_without_human_reviews(con):
    insert(con, "agents", [outsourced("A", "AG1")])
    insert(con, "calls", [connected("K1", "A", 3), connected("K2", "A", 3),
                          connected("K3", "A", 4)])
    insert(con, "qa_flags", [flag("K1", "empathy", 0.5)])
    row = agency_row(con)
    assert row["spot_check_basis"] == "ai_label_proxy"
    assert (row["connected_calls"], row["spot_checked_calls"]) == (3, 1)
    assert (row["days_with_connected_calls"], row["days_spot_checked"]) == (2, 1)


def test_coverage_counts_human_reviews_per_agency_and_day_against_the_daily_minimum(con):
    # the 3rd: 40 connected calls, 2 reviewed (5% >= 3%: met); the 4th: 50 connected, 1 reviewed
    # (2% < 3%: not met); the 5th: 10 connected, none reviewed. The AI labels on other calls no
    # longer count once the month has human reviews.
    insert(con, "agents", [outsourced("A", "AG1")])
    calls = ([connected(f"K3{i:02d}", "A", 3) for i in range(40)]
             + [connected(f"K4{i:02d}", "A", 4) for i in range(50)]
             + [connected(f"K5{i:02d}", "A", 5) for i in range(10)])
    insert(con, "calls", calls)
    insert(con, "qa_reviews", [review("R1", "K300"), review("R2", "K301"),
                               review("R3", "K301", "script_deviation"), review("R4", "K400")])
    insert(con, "qa_flags", [flag("K500", "empathy")])
    row = agency_row(con)
    assert row["spot_check_basis"] == "human_review"
    assert (row["connected_calls"], row["spot_checked_calls"]) == (100, 3)
    assert (row["days_with_connected_calls"], row["days_spot_checked"]) == (3, 2)
    assert CFG.compliance.spot_check_daily_min_share == 0.03
    assert row["days_meeting_minimum"] == 1
    assert row["daily_minimum_met_rate"] == pytest.approx(1 / 3)


# the model against the reviewers -----------------------------------------------------------------

def test_precision_and_recall_per_model_version_and_label(con):
    insert(con, "agents", [outsourced("A", "AG1")])
    insert(con, "calls", [connected(f"K{i}", "A", 3) for i in range(1, 7)]
           + [connected("K9", "A", 20)])
    insert(con, "qa_flags", [
        flag("K1", "threat"),               # flagged, found: true positive
        flag("K2", "threat"),               # flagged, reviewer found none: false positive
        flag("K3", "threat", 0.5),          # below the 0.8 threshold: not a flag
        flag("K5", "empathy"),              # unreviewed call: outside the population
        flag("K6", "threat"),               # not reviewed: outside the population
        flag("K9", "empathy", version="qa-2026.08"),  # the 20th: another version that day only
    ])
    insert(con, "qa_reviews", [
        review("R1", "K1", "threat"),
        review("R2", "K2"),
        review("R3", "K3", "threat"),       # found, not flagged: a miss
        review("R4", "K4", "abuse"),        # found, not flagged
        review("R5", "K4", "abuse"),        # reviewed twice: counts once
        review("R9", "K9", "insult"),       # the other version's day
    ])
    build(con)
    build_month(con, "qa_model_agreement", CFG, MONTH)
    rows = {(v, label): (n, f, h, b, p, r) for v, label, n, f, h, b, p, r in con.execute(
        "select model_version, label, reviewed_calls, ai_flagged, human_found, both_found, "
        "precision, recall from marts.qa_model_agreement").fetchall()}
    assert rows[("qa-2026.07", "threat")] == (4, 2, 2, 1, 0.5, 0.5)
    assert rows[("qa-2026.07", "abuse")] == (4, 0, 1, 0, None, 0.0)
    assert rows[("qa-2026.07", "insult")] == (4, 0, 0, 0, None, None)
    assert rows[("qa-2026.08", "insult")] == (1, 0, 1, 0, None, 0.0)
    assert len(rows) == 8


# escalation ----------------------------------------------------------------------------------

def test_a_training_backlog_is_not_escalated_but_repeated_curfew_calls_are(con):
    from tests.metric_rows import agent, training

    insert(con, "agents", [agent("A", "2026-06-01")])
    insert(con, "trainings", [training("E1", "A", "mandatory", "2026-06-30")])  # never passed
    # 5 calls at 22:00 (the legal curfew) of 10 in July and in August: a breach rate of 50%
    # on 5 breaching calls, the default alert's evidence minimum
    insert(con, "calls", [call(f"K7{i}", "A", "C1", f"2026-07-0{i % 9 + 1} "
                               f"{'22' if i < 5 else '10'}:00:00") for i in range(10)]
           + [call(f"K8{i}", "A", "C1", f"2026-08-0{i % 9 + 1} "
                   f"{'22' if i < 5 else '10'}:00:00") for i in range(10)])
    for month in ("2026-07", "2026-08"):
        build(con, month)
        build_month(con, "conduct_alerts", CFG, month)
    got = dict(con.execute("select rule, severity || ' ' || consecutive_months "
                           "from marts.conduct_alerts where month = date '2026-08-01'"
                           ).fetchall())
    assert got == {"contact_rule_breach_rate": "high 2", "mandatory_not_passed": "low 2"}


# the compliance page and its delivery ------------------------------------------------------------

def test_the_compliance_page_goes_to_the_compliance_recipients_only(tmp_path):
    import yaml

    from kaohe.config import DEFAULT_CONFIG, load_config
    from kaohe.models.marts import build_all
    from kaohe.reporting.mail import send_reports
    from kaohe.reporting.reports import render_month
    from tests.metric_rows import assignment, case

    data = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    data["delivery"]["compliance_recipients"] = ["compliance@example.cn"]
    path = tmp_path / "kaohe.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    cfg = load_config(path)

    home = tmp_path / "home"
    (home / "work").mkdir(parents=True)
    con = warehouse(home / "work" / "kaohe.duckdb")
    insert(con, "agents", [
        dict(snapshot_date="2026-08-01", agent_id=a, agent_name=n, team_id="T1",
             team_name="一组", manager_email="lead@example.cn", level="L2",
             employment_type="in_house", status="active", hire_date="2025-01-01")
        for a, n in (("A", "张三"), ("B", "李四"))])
    insert(con, "cases", [case("C1", "D1"), case("C2", "D2")])
    insert(con, "assignments", [assignment("S1", "C1", "A", "2026-07-01 02:00:00"),
                                assignment("S2", "C2", "B", "2026-07-01 02:00:00")])
    # A calls at night: an off-hours alert on the compliance page
    insert(con, "calls", [call(f"K{i}", "A", "C1", f"2026-08-0{i % 9 + 1} 22:30:00")
                          for i in range(5)]
           + [connected(f"L{i}", "B", i % 9 + 1) for i in range(5)])
    build_all(con, cfg, MONTH)
    render_month(con, home / "reports", MONTH, config=cfg)
    con.close()

    page = (home / "reports" / MONTH / "compliance.html").read_text(encoding="utf-8")
    assert "张三" in page and "A" in page and "off_hours" not in page.split("<body")[0]
    assert "compliance.html" not in (home / "reports" / MONTH / "index.html").read_text(
        encoding="utf-8")

    result = send_reports(home, MONTH, cfg, dry_run=True)
    got = {r: sorted(files) for r, files in result.attachments.items()}
    assert got["compliance@example.cn"] == ["compliance.html"]
    assert all("compliance.html" not in files for r, files in got.items()
               if r != "compliance@example.cn")
    assert "lead@example.cn" in got and "compliance.html" not in got["lead@example.cn"]
    (eml,) = (home / "outbox" / MONTH).glob("compliance-*.eml")
    assert "compliance@example.cn" in eml.read_text(encoding="utf-8", errors="replace")
