"""Ingestion rules of the data contract: each bad-input rule quarantines exactly the bad row and
keeps every good row of the same file; delivery rules (same file twice, corrected file, latest
wins, snapshot history); encodings and formats."""

from __future__ import annotations

import gzip
import hashlib
import hmac
import itertools
import os

import duckdb
import polars as pl
import pytest

from kaohe.ingest import pii

CALL = "{id},C1,A1,2026-08-03 09:00:00,35,connected_debtor,,,R1"
# the version-1 columns of these sources (the contract's later optional columns left out)
COMPLAINTS = ("complaint_id,case_id,agent_id,received_at,channel,category,severity,"
              "substantiated,description")
CASES = ("case_id,debtor_id,debtor_name,debtor_phone,debtor_id_number,product,region_code,"
         "industry,risk_score,hardship_flag,principal")


def good_calls(*ids: str) -> list[str]:
    return [CALL.format(id=i) for i in ids]


def quarantine(landing) -> list[tuple]:
    return landing.query(
        "select source, file, line, reason_code, reason, raw_text from audit.quarantine "
        "order by file, line"
    )


def call_ids(landing) -> set[str]:
    return {r[0] for r in landing.query("select call_id from staging.calls")}


def assert_one_bad_row(landing, code: str, line: int, good: set[str]) -> tuple:
    rows = quarantine(landing)
    assert [(r[2], r[3]) for r in rows] == [(line, code)], rows
    assert call_ids(landing) == good
    reg = landing.query("select rows_read, rows_loaded, rows_rejected, status "
                        "from audit.file_registry")
    assert reg == [(len(good) + 1, len(good), 1, "loaded")]
    return rows[0]


# --- one test per bad-input rule ----------------------------------------------------------------

@pytest.mark.parametrize(
    ("bad_row", "code", "reason_part"),
    [
        ("K9,C1,A1,2026-08-03 25:61:00,0,no_answer,,,", "bad_type", "started_at is not a timestamp"),
        ("K9,C1,A1,2026-08-03 09:00:00,abc,no_answer,,,", "bad_type", "duration_s is not a whole"),
        ("K9,C1,A1,2026-08-03 09:00:00,1.5,no_answer,,,", "bad_type", "duration_s is not a whole"),
        ("K9,C1,A1,2026-08-03 09:00:00,0,hung_up,,,", "unknown_enum", "outcome must be one of"),
        ("K9,C1,A1,2026-08-03 09:00:00,-5,busy,,,", "out_of_range", "duration_s must be >= 0"),
        ("K9,C1,A1,1899-08-03 09:00:00,0,busy,,,", "out_of_range", "started_at must be"),
        (",C1,A1,2026-08-03 09:00:00,0,busy,,,", "missing_value", "call_id is required"),
        ("K9,C1,,2026-08-03 09:00:00,0,busy,,,", "missing_value", "agent_id is required"),
        ("K9,C1,A1,2026-08-03 09:00:00,40,connected_debtor,100.00,,R", "missing_value",
         "ptp_due_date is required"),
        ("K9,C1,A1,2026-08-03 09:00:00,40,connected_debtor,100.123,2026-08-09,R", "bad_type",
         "ptp_amount is not a decimal"),
        ("K9,C1,A1,2026-08-03 09:00:00,0,busy,,,,surplus", "malformed_row", "TOO MANY COLUMNS"),
        ("K9,C1,A1", "malformed_row", "MISSING COLUMNS"),
    ],
)
def test_bad_row_is_quarantined_with_reason_and_good_rows_kept(landing, bad_row, code,
                                                               reason_part):
    landing.write("calls", "calls_20260803.csv",
                  good_calls("K1", "K2") + [bad_row] + good_calls("K3"))
    landing.ingest()
    row = assert_one_bad_row(landing, code, 4, {"K1", "K2", "K3"})
    assert reason_part in row[4]
    assert row[5]  # the raw text is kept for the operator


def test_duplicate_key_within_a_file_keeps_the_first_and_quarantines_the_later(landing):
    again = CALL.format(id="K1").replace(",35,", ",36,")  # the key again, with other values
    landing.write("calls", "calls_20260803.csv", [*good_calls("K1", "K2"), again,
                                                  *good_calls("K3")])
    landing.ingest()
    row = assert_one_bad_row(landing, "duplicate_key", 4, {"K1", "K2", "K3"})
    assert "K1" in row[4]
    assert landing.query("select _line from staging.calls where call_id = 'K1'") == [(2,)]


def test_reversal_of_an_unknown_payment_is_quarantined(landing):
    landing.write("repayments", "repayments_20260806.csv", [
        "P1,C1,2026-08-05 10:00:00,100.00,payment,,app",
        "P2,C1,2026-08-06 10:00:00,100.00,reversal,P1,app",
        "P3,C1,2026-08-06 11:00:00,50.00,reversal,NOPE,app",
    ])
    landing.write("repayments", "repayments_20260807.csv", [
        "P4,C1,2026-08-07 10:00:00,20.00,reversal,P1,app",  # payment from an earlier file: fine
    ])
    landing.ingest()
    rows = quarantine(landing)
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("repayments/repayments_20260806.csv", 4, "unknown_reversal")]
    assert "NOPE" in rows[0][4]
    ids = {r[0] for r in landing.query("select payment_id from staging.repayments")}
    assert ids == {"P1", "P2", "P4"}


def test_missing_required_column_rejects_the_file_naming_the_column(landing):
    header = "call_id,case_id,agent_id,duration_s,outcome,ptp_amount,ptp_due_date,recording_id"
    landing.write("calls", "calls_20260803.csv", ["K1,C1,A1,35,busy,,,"], header=header)
    landing.write("calls", "calls_20260804.csv", good_calls("K2"))
    landing.ingest()
    rows = quarantine(landing)
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("calls/calls_20260803.csv", None, "missing_column")]
    assert "started_at" in rows[0][4]
    assert call_ids(landing) == {"K2"}
    status = dict(landing.query("select path, status from audit.file_registry"))
    assert status == {"calls/calls_20260803.csv": "rejected", "calls/calls_20260804.csv": "loaded"}


def test_optional_column_may_be_absent(landing):
    header = "call_id,case_id,agent_id,started_at,duration_s,outcome,ptp_amount,ptp_due_date"
    landing.write("calls", "calls_20260803.csv", ["K1,C1,A1,2026-08-03 09:00:00,0,busy,,"],
                  header=header)
    landing.ingest()
    assert landing.query("select call_id, recording_id from staging.calls") == [("K1", None)]


def test_extra_columns_are_kept_in_raw_and_ignored_downstream(landing):
    header = "Call_ID , case_id,agent_id,started_at,duration_s,outcome,ptp_amount,ptp_due_date," \
             "recording_id,dialer_campaign"
    landing.write("calls", "calls_20260803.csv", [CALL.format(id="K1") + ",autumn"],
                  header=header)
    landing.ingest()
    assert landing.query("select call_id, dialer_campaign from raw.calls") == [("K1", "autumn")]
    cols = {r[0] for r in landing.query(
        "select column_name from duckdb_columns() where schema_name = 'staging' "
        "and table_name = 'calls'")}
    assert "dialer_campaign" not in cols and "call_id" in cols


def test_empty_file_is_rejected_and_header_only_file_loads_nothing(landing):
    (landing.root / "calls").mkdir(parents=True)
    (landing.root / "calls" / "calls_20260803.csv").write_bytes(b"")
    landing.write("calls", "calls_20260804.csv", [])
    landing.ingest()
    reg = dict(landing.query("select path, status from audit.file_registry"))
    assert reg == {"calls/calls_20260803.csv": "rejected", "calls/calls_20260804.csv": "loaded"}
    assert [r[3] for r in quarantine(landing)] == ["empty_file"]


def test_badly_named_file_is_quarantined(landing):
    landing.write("calls", "calls_2026-08-03.csv", good_calls("K1"))
    landing.write("calls", "calls_20260803.csv", good_calls("K2"))
    landing.ingest()
    assert [(r[1], r[3]) for r in quarantine(landing)] == [
        ("calls/calls_2026-08-03.csv", "bad_file_name")]
    assert call_ids(landing) == {"K2"}


def test_truncated_gzip_is_reported_not_crashed(landing):
    path = landing.write("calls", "calls_20260803.csv.gz", good_calls(*[f"K{i}" for i in range(500)]))
    path.write_bytes(path.read_bytes()[:-40])
    landing.write("calls", "calls_20260804.csv", good_calls("OK"))
    landing.ingest()
    codes = [r[3] for r in quarantine(landing)]
    assert codes == ["truncated_file"]
    assert "OK" in call_ids(landing)


def test_undecodable_bytes_are_an_encoding_error(landing):
    path = landing.root / "calls" / "calls_20260803.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\xff\xfe\x00\x81" * 50)
    landing.ingest()
    assert [r[3] for r in quarantine(landing)] == ["encoding_error"]


# --- delivery rules -----------------------------------------------------------------------------

def test_same_file_twice_changes_nothing(landing):
    landing.write("calls", "calls_20260803.csv", good_calls("K1", "K2") + ["bad"])
    first = landing.ingest()
    second = landing.ingest()
    assert first["calls"].count("loaded") == 1
    assert second["calls"].count("unchanged") == 1
    assert landing.query("select count(*) from audit.file_registry") == [(1,)]
    assert landing.query("select count(*) from audit.quarantine") == [(1,)]
    assert landing.query("select count(*) from raw.calls") == [(2,)]


def test_corrected_file_with_the_same_name_replaces_the_earlier_rows(landing):
    landing.write("calls", "calls_20260803.csv", good_calls("K1", "K2") + ["bad"])
    landing.ingest()
    landing.write("calls", "calls_20260803.csv", good_calls("K1", "K3"))
    landing.ingest()
    assert call_ids(landing) == {"K1", "K3"}
    assert landing.query("select count(*) from raw.calls") == [(2,)]
    assert landing.query("select count(*) from audit.quarantine") == [(0,)]
    reg = landing.query("select status, replaced_by is not null from audit.file_registry "
                        "order by file_id")
    assert reg == [("replaced", True), ("loaded", False)]


def test_latest_file_wins_by_business_date_then_seq_then_arrival(landing):
    row = "X1,C1,A1,2026-08-01 09:00:00,{released},30,{amount},{amount}"
    assign = "X1,C1,A1,2026-08-01 09:00:00,{released},30,{amount}"
    landing.write("assignments", "assignments_20260801.csv",
                  [assign.format(released="", amount="100.00")])
    landing.write("assignments", "assignments_20260805_02.csv",
                  [assign.format(released="2026-08-05 12:00:00", amount="100.00")])
    landing.write("assignments", "assignments_20260805_01.csv",
                  [assign.format(released="2026-08-05 08:00:00", amount="100.00")])
    landing.ingest()
    assert landing.query("select released_at::varchar, _file from staging.assignments") == [
        ("2026-08-05 12:00:00", "assignments/assignments_20260805_02.csv")]
    # an older day delivered late does not override the newer one
    landing.write("assignments", "assignments_20260803.csv",
                  [assign.format(released="", amount="120.00")])
    landing.ingest()
    assert landing.query("select released_at::varchar from staging.assignments") == [
        ("2026-08-05 12:00:00",)]
    assert landing.query("select count(*) from raw.assignments") == [(4,)]
    del row


def test_complaint_verdict_in_a_later_file_updates_the_complaint(landing):
    c = "Q1,C1,A1,2026-08-02 10:00:00,hotline,harassment,2,{s},打扰"
    landing.write("complaints", "complaints_20260802.csv", [c.format(s="")], header=COMPLAINTS)
    landing.ingest()
    assert landing.query("select substantiated from staging.complaints") == [(None,)]
    landing.write("complaints", "complaints_20260815.csv", [c.format(s="true")],
                  header=COMPLAINTS)
    landing.ingest()
    assert landing.query("select substantiated from staging.complaints") == [(True,)]


def test_snapshot_history_is_kept_one_row_per_date(landing):
    a = "A1,王芳,T01,催收一组,m@x.cn,深圳,{level},2025-01-01,in_house,,3000.00,active,a@x.cn"
    landing.write("agents", "agents_20260801.csv", [a.format(level="L1")], bom=True)
    landing.write("agents", "agents_20260901.csv", [a.format(level="L2")], bom=True)
    landing.ingest()
    assert landing.query(
        "select snapshot_date::varchar, level from staging.agents order by 1"
    ) == [("2026-08-01", "L1"), ("2026-09-01", "L2")]


def test_outsourced_agent_without_agency_is_quarantined(landing):
    a = "A{n},王芳,T01,催收一组,m@x.cn,深圳,L1,2025-01-01,{t},{ag},3000.00,active,a@x.cn"
    landing.write("agents", "agents_20260801.csv", [
        a.format(n=1, t="outsourced", ag="AG1"), a.format(n=2, t="outsourced", ag="")])
    landing.ingest()
    assert [(r[2], r[3]) for r in quarantine(landing)] == [(3, "missing_value")]


# --- encodings and formats ----------------------------------------------------------------------

COMPLAINT = "Q{n},C1,A1,2026-08-02 10:00:00,hotline,harassment,{sev},,催收员态度恶劣，多次来电<b>骚扰</b>"


def test_gb18030_file_is_detected_and_decoded(landing):
    landing.write("complaints", "complaints_20260802.csv",
                  [COMPLAINT.format(n=1, sev=2), COMPLAINT.format(n=2, sev=7)],
                  encoding="gb18030", header=COMPLAINTS)
    landing.ingest()
    assert landing.query("select encoding from audit.file_registry") == [("gb18030",)]
    assert landing.query("select description from staging.complaints") == [
        ("催收员态度恶劣，多次来电<b>骚扰</b>",)]
    rows = quarantine(landing)
    assert [(r[2], r[3]) for r in rows] == [(3, "out_of_range")]
    assert "催收员" in rows[0][5]


def test_utf8_bom_is_stripped_from_the_header(landing):
    landing.write("calls", "calls_20260803.csv", good_calls("K1"), bom=True)
    landing.ingest()
    assert call_ids(landing) == {"K1"}
    assert quarantine(landing) == []


def test_gzip_csv_is_read(landing):
    landing.write("calls", "calls_20260803.csv.gz", good_calls("K1", "K2") + ["x"])
    landing.ingest()
    assert call_ids(landing) == {"K1", "K2"}
    assert [(r[2], r[3]) for r in quarantine(landing)] == [(4, "malformed_row")]


def test_parquet_with_native_types_is_read_and_checked(landing):
    path = landing.root / "repayments" / "repayments_20260806.parquet"
    path.parent.mkdir(parents=True)
    df = pl.DataFrame({
        "payment_id": ["P1", "P2", "P3"],
        "case_id": ["C1", "C1", "C2"],
        "paid_at": pl.Series(["2026-08-06 10:00:00"] * 3).str.to_datetime(),
        "amount": pl.Series(["100.00", "0.00", "20.50"]).cast(pl.Decimal(18, 2)),
        "payment_type": ["payment", "payment", "payment"],
        "reversal_of": [None, None, None],
        "channel": ["app", "app", "bank_transfer"],
    }).with_columns(pl.col("reversal_of").cast(pl.String))
    df.write_parquet(path)
    landing.ingest()
    assert {r[0] for r in landing.query("select payment_id from staging.repayments")} == {"P1", "P3"}
    assert [(r[2], r[3]) for r in quarantine(landing)] == [(2, "out_of_range")]


@pytest.mark.parametrize("rows", [0, 1])
def test_a_parquet_column_written_twice_in_two_cases_is_a_duplicate_header(landing, rows):
    """DuckDB renames the second of ``case_id`` / ``CASE_ID`` to ``CASE_ID_1``: the header is
    checked on the file's own names (found by the fuzz test, an empty file loaded as fine)."""
    path = landing.root / "repayments" / "repayments_20260806.parquet"
    path.parent.mkdir(parents=True)
    cols = ["payment_id", "case_id", "paid_at", "payment_type", "amount", "reversal_of",
            "channel", "CASE_ID"]
    pl.DataFrame({c: pl.Series(["x"] * rows, dtype=pl.String) for c in cols}).write_parquet(path)
    landing.ingest()
    assert landing.query("select status, message from audit.file_registry") == [
        ("rejected", "missing_column: duplicate column(s) in header: case_id")]


# --- personal information -----------------------------------------------------------------------

NAME, PHONE, ID_NUMBER = "欧阳娜娜", "13912345678", "44030619900101123X"


def test_pii_is_hmac_pseudonymised_and_never_stored_in_clear(landing):
    case = "C{n},D1,{name},{phone},{idn},cash_loan,440000,retail,{risk},false,1000.00"
    landing.write("cases", "cases_20260801.csv", [
        case.format(n=1, name=NAME, phone=PHONE, idn=ID_NUMBER, risk=500),
        case.format(n=2, name=NAME, phone=PHONE, idn=ID_NUMBER, risk="abc"),
        f"C3,D1,{NAME},{PHONE},{ID_NUMBER},too,many,fields,here,x,y,z",
    ], header=CASES)
    landing.write("complaints", "complaints_20260802.csv", [
        f"Q1,C1,A1,2026-08-02 10:00:00,hotline,other,1,,请回电 {PHONE} 身份证 {ID_NUMBER}"],
        header=COMPLAINTS)
    landing.ingest()
    key, _ = pii.pii_key()
    expected = hmac.new(key, NAME.encode(), hashlib.sha256).hexdigest()
    assert landing.query("select debtor_name from staging.cases") == [(expected,)]
    assert pii.hmac_hex(key, PHONE) == landing.query("select debtor_phone from staging.cases")[0][0]
    # every string column of every table of the writer's database
    con = landing.connect()
    string_columns = con.sql(
        "select schema_name, table_name, column_name from duckdb_columns() "
        "where data_type = 'VARCHAR' and not internal"
    ).fetchall()
    assert len(string_columns) > 50
    for (schema, table, col), secret in itertools.product(string_columns,
                                                          (NAME, PHONE, ID_NUMBER)):
        hits = con.execute(
            f'select count(*) from {schema}.{table} where contains("{col}", ?)', [secret]
        ).fetchall()[0][0]
        assert hits == 0, f"{secret} found in {schema}.{table}.{col}"
    con.close()
    assert {r[0] for r in quarantine(landing)} == {"cases"}
    assert len(quarantine(landing)) == 2
    # the database file itself holds no clear value either
    data = landing.warehouse.paths.work_db.read_bytes()
    for secret in (NAME, PHONE, ID_NUMBER):
        assert secret.encode() not in data


def test_sql_hmac_equals_python_hmac():
    con = duckdb.connect()
    key = b"a-test-key-of-some-length"
    pii.install_macros(con, key)
    for value in ["张三", "13812345678", "x" * 200, ""]:
        got = con.execute("select pii_hmac(?)", [value]).fetchall()[0][0]
        assert got == hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
    assert con.execute("select pii_hmac(null)").fetchall() == [(None,)]


def test_a_different_pii_key_on_an_existing_warehouse_is_refused(landing, monkeypatch):
    landing.write("calls", "calls_20260803.csv", good_calls("K1"))
    landing.ingest()
    monkeypatch.setenv("KAOHE_PII_KEY", "another-key-0123456789")
    with pytest.raises(pii.PiiKeyError, match="differs"):
        landing.ingest()


def test_short_pii_key_is_refused(monkeypatch):
    monkeypatch.setenv("KAOHE_PII_KEY", "short")
    with pytest.raises(pii.PiiKeyError, match="at least 16"):
        pii.pii_key()


def test_a_warehouse_whose_staging_was_a_table_is_upgraded_on_the_next_run(landing):
    # Before staging became a view over raw it was a table of its own: the first run of the new
    # code drops it and recomputes the superseded versions from raw, with no new file to load.
    landing.write("calls", "calls_20260803.csv", good_calls("K1", "K2"))
    landing.write("calls", "calls_20260804.csv", good_calls("K2"))
    landing.ingest()
    with landing.warehouse.writer() as con:
        con.execute("drop view staging.calls")
        con.execute("create table staging.calls as select * from raw.calls")
        con.execute("delete from raw.calls__superseded")
        con.execute("update audit.warehouse_meta set value = 'old' where key = 'schema_fingerprint'")
    results = landing.ingest()
    assert results["calls"].staging_rows == 2
    assert landing.query("select call_id, _file from staging.calls order by all") == [
        ("K1", "calls/calls_20260803.csv"), ("K2", "calls/calls_20260804.csv")]
    assert landing.query("select count(*) from audit.file_registry where not staged") == [(0,)]
    assert landing.query("select table_type from information_schema.tables where "
                         "table_schema = 'staging' and table_name = 'calls'") == [("VIEW",)]


def test_rows_read_equal_loaded_plus_rejected(landing):
    landing.write("calls", "calls_20260803.csv.gz",
                  good_calls("K1", "K2", "K2") + ["x,y", "K4,C1,A1,bad,0,busy,,,"])
    landing.ingest()
    reg = landing.query("select rows_read, rows_loaded, rows_rejected from audit.file_registry")
    assert reg == [(5, 2, 3)]
    assert gzip  # used by the landing helper


def test_files_committed_by_an_interrupted_run_reach_staging_on_the_next(landing):
    landing.write("calls", "calls_20260803.csv", good_calls("K1", "K2"))
    landing.ingest()
    # as if a run died after committing a file (a new call K3, a re-delivered K2) but before
    # recording which versions it superseded
    landing.write("calls", "calls_20260804.csv", good_calls("K2", "K3"))
    with landing.warehouse.writer() as con:
        from kaohe.ingest.contract import load_contract
        from kaohe.ingest.ingestor import Ingestor, discover

        ingestor = Ingestor(con, landing.root, landing.warehouse.paths.tmp)
        con.execute("create or replace temp table _touched_calls (call_id varchar)")
        new = [f for f in discover(landing.root)["calls"] if f.rel.endswith("0804.csv")][0]
        ingestor.ingest_file(load_contract()["calls"], new)
    # staging is a view over raw: K3 shows at once, K2 twice until the superseded versions
    # are known
    assert landing.query("select call_id, count(*) from staging.calls group by all "
                         "order by all") == [("K1", 1), ("K2", 2), ("K3", 1)]
    landing.write("calls", "calls_20260805.csv", good_calls("K4"))
    landing.ingest()
    assert landing.query("select call_id, count(*), max(_file) from staging.calls "
                         "group by all order by all") == [
        ("K1", 1, "calls/calls_20260803.csv"), ("K2", 1, "calls/calls_20260804.csv"),
        ("K3", 1, "calls/calls_20260804.csv"), ("K4", 1, "calls/calls_20260805.csv")]


def test_an_unchanged_file_is_not_hashed_again_but_a_rewritten_one_is(landing, monkeypatch):
    from kaohe.ingest import files as ingest  # where _try_hash looks sha256_file up

    path = landing.write("calls", "calls_20260803.csv", good_calls("K1"))
    landing.ingest()
    hashed = []
    real = ingest.sha256_file
    monkeypatch.setattr(ingest, "sha256_file", lambda p: hashed.append(p.name) or real(p))
    assert landing.ingest()["calls"].files[0].status == "unchanged"
    assert hashed == []  # same path, size and ctime: not read at all
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert landing.ingest()["calls"].files[0].status == "unchanged"  # touched: same sha256
    assert hashed == ["calls_20260803.csv"]
    landing.write("calls", "calls_20260803.csv", good_calls("K9"))
    assert landing.ingest()["calls"].files[0].status == "loaded"
    assert call_ids(landing) == {"K9"}


def test_a_bad_row_in_a_file_without_an_optional_ranged_column_is_one_row(landing):
    """Found on a generated month: the reason of a bad row quoted every column's value, the
    optional ``cases.dpd`` (with a range) too when the file lacks it, which made the SQL fail:
    the whole file was rejected as unreadable instead of the one row."""
    case = "C{n},D1,张三,13900000000,110101199001011234,cash_loan,110000,it,{risk},false,1000.00"
    landing.write("cases", "cases_20260801.csv",
                  [case.format(n=1, risk=500), case.format(n=2, risk="abc")], header=CASES)
    landing.ingest()
    assert [(r[2], r[3]) for r in quarantine(landing)] == [(3, "bad_type")]
    assert landing.query("select case_id from staging.cases") == [("C1",)]
