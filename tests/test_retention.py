"""Retention: purges keep 2 years of collection records at least, and are logged."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import pytest

from kaohe.retention import PurgeRefused, check_purge, purge

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


def test_purge_command_refuses_a_recent_date(tmp_path):
    res = subprocess.run([sys.executable, "-m", "pipelines.cli", "purge", "--before",
                          date.today().isoformat(), "--home", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "younger than 730 days" in res.stderr
