"""Retention: purges keep 2 years of collection records at least, and are logged."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import pytest

from kaohe.warehouse.retention import PurgeRefused, check_purge, purge

CALL = "{id},C1,A1,{day} 09:00:00,0,no_answer,,,"


def test_a_purge_younger_than_the_retention_is_refused():
    today = date(2029, 1, 1)
    with pytest.raises(PurgeRefused, match="younger than 730 days"):
        check_purge(date(2027, 6, 1), 730, today)
    check_purge(date(2027, 1, 1), 730, today)  # exactly 730 days back: allowed


def test_a_retention_under_two_years_refuses_every_purge():
    with pytest.raises(PurgeRefused, match="at least 730 days"):
        check_purge(date(2000, 1, 1), 365, date(2029, 1, 1))


def test_purge_removes_old_records_everywhere_and_logs_itself(landing):
    landing.write("calls", "calls_20260803.csv",
                  [CALL.format(id="OLD", day="2026-08-03"), "bad"])
    landing.write("calls", "calls_20290101.csv", [CALL.format(id="NEW", day="2029-01-01")])
    landing.ingest()
    with landing.warehouse.writer() as con:
        result = purge(con, date(2027, 1, 1), 730, today=date(2029, 2, 1))
    assert result.files == 1 and result.rows["raw.calls"] == 1
    assert result.rows["staging.calls"] == 1 and result.rows["audit.quarantine"] == 1
    assert landing.query("select call_id from staging.calls") == [("NEW",)]
    assert landing.query("select count(*) from raw.calls") == [(1,)]
    assert dict(landing.query("select path, status from audit.file_registry")) == {
        "calls/calls_20260803.csv": "purged", "calls/calls_20290101.csv": "loaded"}
    log = landing.query("select before, files from audit.purge_log")
    assert log == [(date(2027, 1, 1), 1)]
    # the purged file delivered again is recognised, not loaded again
    again = landing.ingest()
    assert again["calls"].count("unchanged") == 2


def test_purge_command_refuses_a_recent_date(landing):
    landing.write("calls", "calls_20260803.csv", [CALL.format(id="K1", day="2026-08-03")])
    landing.ingest()  # a warehouse to purge
    res = subprocess.run([sys.executable, "-m", "pipelines.cli", "purge", "--before",
                          date.today().isoformat(), "--home", landing.warehouse.home],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "younger than 730 days" in res.stderr


def test_retention_trusts_the_records_not_the_file_name(landing):
    """A file named 2020-01-05 holding September 2026 calls is not purged before 2024; a file
    named and dated 2020 is. A file of the generous window (records up to 7 days after its
    date) holding records younger than the cutoff is kept too."""
    old = [CALL.format(id=f"O{i}", day="2020-01-05") for i in range(3)]
    landing.write("calls", "calls_20200105.csv", old)
    misnamed = [CALL.format(id=f"S{i}", day="2026-09-15") for i in range(3)]
    landing.write("calls", "calls_20200105_07.csv", misnamed)
    landing.write("calls", "calls_20231230.csv", [CALL.format(id="W1", day="2024-01-02")])
    with landing.warehouse.writer() as con:
        from kaohe.ingest.contract import load_contract
        from kaohe.ingest.ingestor import Ingestor, discover

        # a window wide enough to let the misnamed file in (the default quarantines it)
        ingestor = Ingestor(con, landing.root, landing.warehouse.paths.tmp,
                            window_days=(45, 5000))
        ingestor.ingest_source(load_contract()["calls"], discover(landing.root)["calls"])
    assert landing.query("select count(*) from staging.calls") == [(7,)]
    with landing.warehouse.writer() as con:
        result = purge(con, date(2024, 1, 1), 730, today=date(2029, 1, 1))
    assert result.files == 1 and result.rows["raw.calls"] == 3
    assert result.kept == [("calls/calls_20200105_07.csv", date(2020, 1, 5), date(2026, 9, 15)),
                           ("calls/calls_20231230.csv", date(2023, 12, 30), date(2024, 1, 2))]
    assert {r[0] for r in landing.query("select call_id from staging.calls")} == {
        "S0", "S1", "S2", "W1"}
    assert dict(landing.query("select path, status from audit.file_registry")) == {
        "calls/calls_20200105.csv": "purged", "calls/calls_20200105_07.csv": "loaded",
        "calls/calls_20231230.csv": "loaded"}
    # rows read = loaded + rejected, before and after
    assert landing.query("select count(*) from audit.file_registry "
                         "where rows_read <> rows_loaded + rows_rejected") == [(0,)]


def test_qa_flags_are_as_old_as_their_calls(landing):
    landing.write("calls", "calls_20260915.csv", [CALL.format(id="K1", day="2026-09-15")])
    landing.write("qa_flags", "qa_flags_20200105.csv", ["K1,threat,0.9,v1"])
    landing.write("qa_flags", "qa_flags_20200106.csv", ["K9,threat,0.9,v1"])  # unknown call
    landing.ingest()
    with landing.warehouse.writer() as con:
        result = purge(con, date(2024, 1, 1), 730, today=date(2029, 1, 1))
    assert [k[0] for k in result.kept] == ["qa_flags/qa_flags_20200105.csv"]
    assert landing.query("select call_id from staging.qa_flags") == [("K1",)]
