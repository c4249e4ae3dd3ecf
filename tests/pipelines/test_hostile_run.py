"""A whole month run through `kaohe run` with a hostile sender's files mixed in: parquet headers
in another case, free text with separated and full-width numbers and the debtor's name, ids that
climb directories, a link out of the landing folder to a file that cannot be read, a named pipe
and a Windows-1252 quote in a UTF-8 file. The month completes (the pipe never blocks it), nothing
is written outside the home, and no debtor PII is found in the published warehouse, the reports,
the logs or Dagster's storage."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date

import duckdb
import polars as pl
import pytest

from kaohe.generate import generate

MONTH = "2026-08"
PARQUET_NAME, PARQUET_PHONE, PARQUET_ID = "上官婉儿", "13612345678", "11010519491231002X"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("hostile")
    landing, home = root / "landing", root / "home"
    # a smaller centre: the hostile files, not the volume, are what this test is about
    generate(landing, date(2026, 8, 1), 1, 11, "small", progress=None, volume=0.4)
    cases = duckdb.sql(f"select case_id, debtor_name, debtor_phone, debtor_id_number from "
                       f"read_csv('{landing}/cases/cases_20260801.csv', all_varchar = true) "
                       "order by case_id limit 1").fetchall()[0]
    case_id, name, phone, id_number = cases
    # 1. a case master in parquet whose PII columns are spelt in another case
    pl.DataFrame({
        "Case_ID": ["CX00001"], "Debtor_ID": ["DX00001"], "Debtor_Name": [PARQUET_NAME],
        "Debtor_Phone": [PARQUET_PHONE], "Debtor_ID_Number": [PARQUET_ID],
        "Product": ["cash_loan"], "Region_Code": ["110000"], "Industry": ["it"],
        "Risk_Score": [300], "Hardship_Flag": [False], "Principal": ["5000.00"],
    }).write_parquet(landing / "cases" / "cases_20260801_99.parquet")
    # 2. free text quoting the debtor's name, phone and ID number with separators
    spaced_phone = f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"
    wide_phone = phone.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    spaced_id = f"{id_number[:6]} {id_number[6:14]} {id_number[14:]}"
    header = ("complaint_id,case_id,agent_id,received_at,channel,category,severity,"
              "substantiated,description")
    text = f"本人{name}，电话{spaced_phone}，另一号码{wide_phone}，身份证{spaced_id}"
    (landing / "complaints" / "complaints_20260820_99.csv").write_text(
        f"{header}\nCPX1,{case_id},A00001,2026-08-20 10:00:00,hotline,other,1,,{text}\n",
        encoding="utf-8")
    # 3. ids that climb out of the reports folder
    calls = sorted((landing / "calls").glob("calls_*.csv"))[3]
    first = calls.read_text(encoding="utf-8").splitlines()[1].split(",")
    first[0], first[2] = "KX1", "../../../../PWNED_calls"
    (landing / "calls" / "calls_20260805_99.csv").write_text(
        calls.read_text(encoding="utf-8").splitlines()[0] + "\n" + ",".join(first) + "\n",
        encoding="utf-8")
    roster = sorted((landing / "agents").glob("agents_*.csv"))[-1]
    lines = roster.read_text(encoding="utf-8-sig").splitlines()
    evil = lines[1].split(",")
    evil[0], evil[2] = "AX999", "../../../PWNED_team"
    (landing / "agents" / roster.name.replace(".csv", "_99.csv")).write_text(
        "\n".join(lines + [",".join(evil)]) + "\n", encoding="utf-8")
    # 4. a link out of the landing folder, to a file that cannot even be read (every read of
    # /proc/self/mem at offset 0 is an I/O error): not followed; and a named pipe, never opened
    os.symlink("/proc/self/mem", landing / "repayments" / "repayments_20260810_99.csv")
    os.mkfifo(landing / "calls" / "calls_20260806_99.csv")
    # 5. a Windows-1252 quote in the first megabyte of a UTF-8 file: one line, not the file
    costs = sorted((landing / "costs").glob("costs_*.csv"))[2]
    lines = costs.read_bytes().split(b"\n")
    lines[1] += "\u201cRec\u201d".encode("cp1252")
    costs_99 = costs.name.replace(".csv", "_99.csv")
    (landing / "costs" / costs_99).write_bytes(b"\n".join(lines))
    run = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "run", "--month", MONTH, "--landing", str(landing),
         "--home", str(home)], capture_output=True, text=True, timeout=600,
        env=os.environ.copy())
    report = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "report", "--month", MONTH, "--home", str(home),
         "--lang", "en"], capture_output=True, text=True, timeout=600, env=os.environ.copy())
    return {"root": root, "home": home, "run": run, "report": report,
            "costs_99": f"costs/{costs_99}",
            "secrets": [name, phone, id_number, PARQUET_NAME, PARQUET_PHONE, PARQUET_ID]}


def test_the_month_completes_despite_the_hostile_files(hostile):
    assert hostile["run"].returncode == 0, hostile["run"].stderr[-3000:]
    assert hostile["report"].returncode == 0, hostile["report"].stderr[-3000:]
    assert "Traceback" not in hostile["run"].stderr


def test_nothing_is_written_outside_the_home(hostile):
    above = hostile["root"].parent
    assert [str(p) for p in above.rglob("*PWNED*")] == []
    reports = hostile["home"] / "reports" / MONTH
    assert (reports / "agents").is_dir() and not list(reports.rglob("*..*"))


def test_the_hostile_rows_and_file_are_quarantined_with_their_reason(hostile):
    con = duckdb.connect(str(hostile["home"] / "warehouse" / "kaohe.duckdb"), read_only=True)
    costs_99 = hostile["costs_99"]
    rows = con.sql("select file, reason_code from audit.quarantine where file like '%_99.%' "
                   "order by file").fetchall()
    assert rows == [("agents/agents_20260831_99.csv", "bad_id"),
                    ("calls/calls_20260805_99.csv", "bad_id"),
                    ("calls/calls_20260806_99.csv", "not_a_file"),
                    (costs_99, "encoding_error"),
                    ("repayments/repayments_20260810_99.csv", "outside_landing")]
    # nothing good was lost: every file's rows read = loaded + rejected
    assert con.sql("select count(*) from audit.file_registry "
                   "where rows_read <> rows_loaded + rows_rejected").fetchall() == [(0,)]
    assert con.sql("select rows_read - rows_loaded, rows_rejected from audit.file_registry "
                   "where path = ?", params=[costs_99]).fetchall() == [(1, 1)]
    assert con.sql("select count(*) from staging.cases where case_id = 'CX00001'"
                   ).fetchall() == [(1,)]
    con.close()


def test_no_debtor_pii_in_the_warehouse_reports_logs_or_dagster_storage(hostile):
    home = hostile["home"]
    files = [p for p in home.rglob("*") if p.is_file() and "work" not in p.parts]
    assert any(p.suffix == ".html" for p in files) and any(p.suffix == ".duckdb" for p in files)
    blob = b"".join(p.read_bytes() for p in files)
    found = [s for s in hostile["secrets"] if s.encode() in blob]
    assert found == []
    # the separated and full-width forms too
    con = duckdb.connect(str(home / "warehouse" / "kaohe.duckdb"), read_only=True)
    text = con.sql("select description from staging.complaints where complaint_id = 'CPX1'"
                   ).fetchall()[0][0]
    con.close()
    assert text == "本人***，电话***，另一号码***，身份证***"
