"""Tamper evidence: PTP and plan records are hash-chained; an altered record is found."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

from kaohe.ingest import evidence
from kaohe.warehouse.retention import purge

PTP = "{id},C1,A1,2026-08-0{d} 09:00:00,60,connected_debtor,{amount},2026-08-20,R"
PLAN = "{id},C1,A1,restructuring,2026-08-0{d} 10:00:00,active,false"


def build(landing):
    landing.write("calls", "calls_20260803.csv",
                  [PTP.format(id="K1", d=3, amount="100.00"), PTP.format(id="K2", d=3,
                                                                          amount="50.00"),
                   "K3,C1,A1,2026-08-03 09:00:00,0,no_answer,,,"])
    landing.write("plans", "plans_20260803.csv", [PLAN.format(id="L1", d=3)])
    landing.ingest()
    landing.write("calls", "calls_20260804.csv", [PTP.format(id="K4", d=4, amount="80.00")])
    landing.ingest()


def test_promises_and_plans_are_chained_batch_after_batch(landing):
    build(landing)
    rows = landing.query("select kind, batch, record_key from audit.evidence_chain "
                         "order by kind, batch, record_key")
    assert rows == [("plan", 1, "L1"), ("ptp", 1, "K1"), ("ptp", 1, "K2"), ("ptp", 2, "K4")]
    first, second = landing.query(
        "select batch_hash, prev_batch_hash from audit.evidence_chain where kind = 'ptp' "
        "and record_key in ('K1', 'K4') order by batch")
    assert second[1] == first[0]  # batch 2 links to batch 1
    with landing.warehouse.writer() as con:
        assert evidence.verify(con, "ptp").intact and evidence.verify(con, "plan").intact
        assert evidence.append(con, "ptp") == 0  # nothing new: nothing chained


def test_an_altered_promise_is_reported_at_its_link(landing):
    build(landing)
    with landing.warehouse.writer() as con:
        con.execute("update raw.calls set ptp_amount = 10.00 where call_id = 'K2'")
        status = evidence.verify(con, "ptp")
    assert not status.intact
    assert (status.broken_batch, status.broken_key) == (1, "K2")


def test_an_altered_link_breaks_the_chain(landing):
    build(landing)
    with landing.warehouse.writer() as con:
        con.execute("update audit.evidence_chain set content_hash = sha256('forged') "
                    "where record_key = 'K4'")
        status = evidence.verify(con, "ptp")
    assert status.broken_batch == 2 and "link" in status.reason


def test_a_redelivered_change_is_a_new_link_not_a_break(landing):
    build(landing)
    landing.write("plans", "plans_20260810.csv",
                  ["L1,C1,A1,restructuring,2026-08-03 10:00:00,completed,false"])
    landing.ingest()
    with landing.warehouse.writer() as con:
        assert evidence.verify(con, "plan").intact
    assert landing.query("select count(*) from audit.evidence_chain where record_key = 'L1'") \
        == [(2,)]


def test_kaohe_check_reports_the_first_broken_link(landing):
    build(landing)
    with landing.warehouse.writer() as con:
        con.execute("update raw.plans set status = 'cancelled' where plan_id = 'L1'")
    res = subprocess.run([sys.executable, "-m", "pipelines.cli", "check", "--month", "2026-08",
                          "--warehouse", str(landing.warehouse.paths.work_db)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 1
    assert "plan_chain_intact" in res.stdout and "batch 1 record L1" in res.stdout


def run(landing, month: str = "2026-08") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "run", "--month", month, "--landing",
         str(landing.root), "--home", str(landing.warehouse.paths.root)],
        capture_output=True, text=True, timeout=600)


def test_a_tampered_promise_stops_the_month_at_the_blocking_evidence_check(landing):
    build(landing)
    first = run(landing)
    assert first.returncode == 0, first.stdout + first.stderr[-3000:]
    published = landing.warehouse.paths.published_db
    before = published.stat().st_mtime_ns
    with landing.warehouse.writer() as con:  # a stored promise altered after the fact
        con.execute("update raw.calls set ptp_amount = 10.00 where call_id = 'K2'")
    again = run(landing)
    assert again.returncode == 3, again.stdout + again.stderr[-3000:]
    failed = [line for line in again.stdout.splitlines() if line.lstrip().startswith("BLOCKING")]
    assert len(failed) == 1 and "staging.calls" in failed[0]
    assert "ptp_chain_intact" in failed[0] and "batch 1 record K2" in failed[0]
    assert "not published" in again.stderr
    assert published.stat().st_mtime_ns == before  # the previous analyst copy stays
    with landing.warehouse.writer() as con:
        row = con.execute("select passed, sample from audit.check_results where "
                          "\"check\" = 'ptp_chain_intact'").fetchall()
    assert row == [(False, "batch 1 record K2")]


# Records that leave staging legitimately get a removal link: not a break (the chain is a
# blocking check, so a false break would stop every later month).


def test_a_replaced_file_that_drops_a_promise_is_not_a_break(landing):
    build(landing)
    landing.write("calls", "calls_20260803.csv", [PTP.format(id="K1", d=3, amount="100.00")])
    landing.ingest()
    with landing.warehouse.writer() as con:
        assert evidence.verify(con, "ptp").intact


def test_a_purge_is_not_a_break(landing):
    build(landing)
    landing.write("calls", "calls_20290101.csv", ["K9,C1,A1,2029-01-01 09:00:00,0,no_answer,,,"])
    landing.ingest()
    with landing.warehouse.writer() as con:
        purge(con, date(2027, 1, 1), 730, today=date(2029, 2, 1))
        assert evidence.verify(con, "ptp").intact


def test_a_withdrawn_promise_gets_a_removal_link_and_can_come_back(landing):
    build(landing)
    landing.write("calls", "calls_20260804.csv", ["K1,C1,A1,2026-08-03 09:00:00,60,connected_debtor,,,R"])
    landing.ingest()
    with landing.warehouse.writer() as con:
        assert evidence.verify(con, "ptp").intact
    assert landing.query("select content_hash from audit.evidence_chain where record_key = 'K1' "
                         "order by batch desc limit 1") == [(evidence.REMOVED,)]
    landing.write("calls", "calls_20260805.csv", [PTP.format(id="K1", d=3, amount="50.00")])
    landing.ingest()
    with landing.warehouse.writer() as con:
        assert evidence.verify(con, "ptp").intact
        # a removal that bypasses the pipeline is still a break
        con.execute("delete from raw.calls where call_id = 'K2'")
        status = evidence.verify(con, "ptp")
    assert not status.intact and status.broken_key == "K2"
