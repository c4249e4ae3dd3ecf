"""The four security points of the second reliability round, one hostile input each:
column-name case cannot switch pseudonymisation off, PII is masked where nobody looked (reasons,
separators, full-width digits, the debtor's name in free text), data cannot reach the file
system, and an unreadable file is quarantined instead of stopping the month."""

from __future__ import annotations

import errno
import itertools
import os

import duckdb
import polars as pl
import pytest

from assets.ingest import preview_columns
from kaohe.ingest import pii
from kaohe.ingest.contract import source
from kaohe.ingest.ingestor import Ingestor, discover
from kaohe.paths import UnsafePathError, data_path, safe_name
from kaohe.warehouse.publish import publish
from tests.conftest import HEADERS

NAME, PHONE, ID_NUMBER = "欧阳娜娜", "13912345678", "44030619900101123X"
# the contract's case columns, the optional version-2 dpd and overdue_amount left empty
CASE = "C{n},D{n},{name},{phone},{idn},cash_loan,440000,retail,{risk},false,1000.00,,"


def secrets_in_strings(con: duckdb.DuckDBPyConnection, secrets: tuple[str, ...]) -> list[str]:
    """Every (table.column, secret) where a string column of the database holds a secret."""
    cols = con.sql("select database_name, schema_name, table_name, column_name "
                   "from duckdb_columns() where data_type = 'VARCHAR' and not internal "
                   "and schema_name <> 'pg_catalog'").fetchall()
    found = []
    for (db, schema, table, col), secret in itertools.product(cols, secrets):
        n = con.execute(f'select count(*) from "{db}"."{schema}"."{table}" '
                        f'where contains("{col}", ?)', [secret]).fetchall()[0][0]
        if n:
            found.append(f"{schema}.{table}.{col}: {secret}")
    return found


def quarantine(landing) -> list[tuple]:
    return landing.query("select file, line, reason_code, reason from audit.quarantine "
                         "order by file, line")


# --- 1. column-name case never switches pseudonymisation off ------------------------------------

def cases_frame(**renamed: str) -> pl.DataFrame:
    df = pl.DataFrame({
        "case_id": ["C1", "C2"], "debtor_id": ["D1", "D2"], "debtor_name": [NAME, NAME],
        "debtor_phone": [PHONE, PHONE], "debtor_id_number": [ID_NUMBER, ID_NUMBER],
        "product": ["cash_loan", "credit_card"], "region_code": ["440000", "440000"],
        "industry": ["retail", "it"], "risk_score": [500, 600],
        "hardship_flag": [False, True], "principal": ["1000.00", "2000.00"],
    })
    return df.rename(renamed)


@pytest.mark.parametrize("renamed", [
    {"debtor_name": "Debtor_Name", "debtor_phone": "Debtor_Phone",
     "debtor_id_number": "Debtor_ID_Number"},
    {"debtor_name": "DEBTOR_NAME ", "debtor_phone": " debtor_PHONE",
     "debtor_id_number": "ｄｅｂｔｏｒ_id_number"},            # full-width letters
    {"debtor_name": "debtor\u200b_name", "case_id": "Case_Id"},  # a zero-width space
], ids=["title-case", "upper-spaces-fullwidth", "zero-width"])
def test_parquet_column_case_never_switches_pseudonymisation_off(landing, renamed):
    path = landing.root / "cases" / "cases_20260801.parquet"
    path.parent.mkdir(parents=True)
    cases_frame(**renamed).write_parquet(path)
    landing.ingest()
    key, _ = pii.pii_key()
    assert landing.query("select case_id, debtor_name, debtor_phone, debtor_id_number "
                         "from staging.cases order by case_id") == [
        (c, pii.hmac_hex(key, NAME), pii.hmac_hex(key, PHONE), pii.hmac_hex(key, ID_NUMBER))
        for c in ("C1", "C2")]
    con = landing.connect()
    assert secrets_in_strings(con, (NAME, PHONE, ID_NUMBER)) == []
    con.close()


def test_csv_header_case_and_width_are_matched_like_the_contract(landing):
    header = ("CASE_ID,Debtor_ID,DEBTOR_NAME,Debtor_Phone,ｄｅｂｔｏｒ_ｉｄ_ｎｕｍｂｅｒ,product,"
              "region_code,industry,risk_score,hardship_flag,principal")
    landing.write("cases", "cases_20260801.csv",
                  [CASE.format(n=1, name=NAME, phone=PHONE, idn=ID_NUMBER, risk=1)],
                  header=header)
    landing.ingest()
    assert pii.unpseudonymised(landing.connect()) == []
    assert landing.query("select count(*) from staging.cases") == [(1,)]


def test_a_pii_column_stored_as_a_number_is_hashed_too(landing):
    path = landing.root / "cases" / "cases_20260801.parquet"
    path.parent.mkdir(parents=True)
    cases_frame().with_columns(pl.col("debtor_phone").cast(pl.Int64)).write_parquet(path)
    landing.ingest()
    key, _ = pii.pii_key()
    assert landing.query("select distinct debtor_phone from staging.cases") == [
        (pii.hmac_hex(key, PHONE),)]


def test_publish_refuses_a_pii_column_holding_a_clear_value(landing, tmp_path):
    landing.write("cases", "cases_20260801.csv",
                  [CASE.format(n=1, name=NAME, phone=PHONE, idn=ID_NUMBER, risk=1)])
    landing.ingest()
    with landing.warehouse.writer() as con:  # a bug, or somebody writing by hand
        con.execute("update raw.cases set debtor_phone = ?", [PHONE])
        with pytest.raises(pii.PiiLeakError) as err:
            publish(con, landing.warehouse.paths)
    assert "raw.cases.debtor_phone (1 row(s))" in str(err.value)
    assert PHONE not in str(err.value)
    assert not landing.warehouse.paths.published_db.exists()


def test_the_dagster_preview_never_shows_pii_or_free_text():
    assert "debtor_name" not in preview_columns(source("cases"))
    assert "debtor_phone" not in preview_columns(source("cases"))
    assert "description" not in preview_columns(source("complaints"))
    assert "case_id" in preview_columns(source("cases"))


# --- 2. PII in places nobody masked -------------------------------------------------------------

def test_a_value_quoted_in_a_reason_is_masked(landing):
    # two header names swapped: the phone lands in risk_score, and a name in product
    header = ("case_id,debtor_id,debtor_name,risk_score,debtor_id_number,debtor_phone,"
              "region_code,industry,product,hardship_flag,principal")
    landing.write("cases", "cases_20260801.csv", [
        f"C1,D1,x,17550466648,{ID_NUMBER},500,440000,retail,cash_loan,false,1.00",
        f"C2,D2,x,500,{ID_NUMBER},500,440000,retail,{NAME},false,1.00",
    ], header=header)
    landing.ingest()
    rows = quarantine(landing)
    assert [r[2] for r in rows] == ["out_of_range", "unknown_enum"]
    assert "risk_score must be >= 0 and <= 1000: ***" in rows[0][3]
    assert "product must be one of cash_loan/credit_card/installment: ***" in rows[1][3]
    assert secrets_in_strings(landing.connect(), ("17550466648", NAME, ID_NUMBER)) == []


@pytest.mark.parametrize("text", [
    "请回电 175-5046-6648 谢谢", "请回电 175 5046 6648", "电话１７５５０４６６６４８",
    "手机 +86 175 5046 6648", "身份证 330506 19900522 9393", "身份证330506-1990-0522-939X",
    "卡号 6222 0212 3456 7890 123", "tel 175.5046.6648",
])
def test_free_text_masks_phones_and_ids_with_separators_and_full_width_digits(text):
    con = duckdb.connect()
    pii.install_macros(con, b"k" * 32)
    masked = con.execute("select mask_pii_text(?)", [text]).fetchall()[0][0]
    assert "***" in masked
    digits = "".join(ch for ch in masked if ch.isdigit())
    assert len(digits) < 4, masked
    assert pii.mask_text(text) == masked  # the Python twin agrees


def test_free_text_keeps_what_is_not_pii():
    for text in ("金额 12000.00 元, 2026-09-15 10:00 来电", "逾期 35 天", "工单 T-2031"):
        assert pii.mask_text(text) == text


def complaint(cid: str, case: str, text: str) -> str:
    # the optional version-2 resolved_at left empty after the description
    return f"{cid},{case},A1,2026-08-02 10:00:00,hotline,other,1,,{text},"


def test_the_debtors_name_is_masked_in_the_complaints_about_the_case(landing):
    landing.write("cases", "cases_20260801.csv", [
        CASE.format(n=1, name=NAME, phone=PHONE, idn=ID_NUMBER, risk=1),
        CASE.format(n=2, name="王伟", phone="13800000000", idn=ID_NUMBER, risk=1)])
    landing.write("complaints", "complaints_20260802.csv", [
        complaint("Q1", "C1", f"本人{NAME}，投诉催收员打电话给我同事"),
        complaint("Q2", "C2", "债务人王伟称催收员告诉了他的父亲王建国"),
        complaint("Q3", "C2", f"{NAME}不是本案债务人"),  # another debtor's name: not this case's
    ])
    landing.ingest()
    texts = dict(landing.query("select complaint_id, description from staging.complaints"))
    assert texts["Q1"] == "本人***，投诉催收员打电话给我同事"
    assert texts["Q2"] == "债务人***称催收员告诉了他的父亲王建国"
    assert texts["Q3"] == f"{NAME}不是本案债务人"  # what masking cannot promise (docs)


def test_a_name_is_masked_when_the_case_master_arrives_after_the_complaint(landing, tmp_path):
    landing.write("complaints", "complaints_20260802.csv", [
        complaint("Q1", "C1", f"本人{NAME}，电话 139-1234-5678")])
    landing.ingest()
    with landing.warehouse.writer() as con:
        publish(con, landing.warehouse.paths)
    assert landing.query("select description from staging.complaints") == [
        (f"本人{NAME}，电话 ***",)]
    landing.write("cases", "cases_20260803.csv",
                  [CASE.format(n=1, name=NAME, phone=PHONE, idn=ID_NUMBER, risk=1)])
    landing.ingest()
    assert landing.query("select description from staging.complaints") == [("本人***，电话 ***",)]
    assert landing.query("select source, rows_masked from audit.pii_masking_log") == [
        ("complaints", 1)]
    # the analysts' copy is rewritten, not appended to: the old text does not survive in it
    with landing.warehouse.writer() as con:
        publish(con, landing.warehouse.paths)
    pub = duckdb.connect(str(landing.warehouse.paths.published_db), read_only=True)
    assert pub.sql("select description from staging.complaints").fetchall() == [
        ("本人***，电话 ***",)]
    assert secrets_in_strings(pub, (NAME,)) == []
    pub.close()
    assert NAME.encode() not in landing.warehouse.paths.published_db.read_bytes()


def test_an_extra_column_is_masked_like_free_text(landing):
    header = HEADERS["calls"] + ",debtor_mobile"
    landing.write("calls", "calls_20260803.csv",
                  ["K1,C1,A1,2026-08-03 09:00:00,35,busy,,,R1,139 1234 5678"], header=header)
    landing.ingest()
    assert landing.query("select debtor_mobile from raw.calls") == [("***",)]


# --- 3. no path from data to the file system ----------------------------------------------------

@pytest.mark.parametrize(("src", "row", "column"), [
    ("calls", "K1,C1,../../../../PWNED_calls,2026-08-03 09:00:00,35,busy,,,R1", "agent_id"),
    ("agents", "A1,张三,../../../PWNED_team,一组,m@x.cn,SZ,L1,2026-01-01,in_house,,5000.00,"
     "active,", "team_id"),
    ("calls", "K1,C1,A1/../../x,2026-08-03 09:00:00,35,busy,,,R1", "agent_id"),
    ("calls", "..,C1,A1,2026-08-03 09:00:00,35,busy,,,R1", "call_id"),
    ("calls", "K1,C1,A 1,2026-08-03 09:00:00,35,busy,,,R1", "agent_id"),
])
def test_an_id_that_is_not_a_plain_name_is_quarantined(landing, src, row, column):
    name = f"{src}_20260803.csv"
    landing.write(src, name, [row, row.replace("K1,", "K2,").replace("A1,", "A2,", 1)
                              .replace("../../../../PWNED_calls", "A2")
                              .replace("../../../PWNED_team", "T1")
                              .replace("A1/../../x", "A2").replace("..,", "K3,")
                              .replace("A 1", "A2")])
    landing.ingest()
    rows = quarantine(landing)
    assert [(r[1], r[2]) for r in rows] == [(2, "bad_id")], rows
    assert f"{column} must be a plain identifier" in rows[0][3]
    assert landing.query(f"select count(*) from staging.{src}") == [(1,)]


def test_safe_name_keeps_plain_ids_and_hashes_anything_else():
    assert safe_name("A0001") == "A0001"
    assert safe_name("T-01.b_2") == "T-01.b_2"
    for bad in ("../../../PWNED", "..", ".", "a/b", "", None, "张三", "A\x00", "x" * 65):
        name = safe_name(bad)
        assert name.startswith("id-") and len(name) == 19 and "/" not in name
    assert safe_name("../x") == safe_name("../x") != safe_name("../y")


def test_data_path_stays_inside_its_folder(tmp_path):
    assert data_path(tmp_path, "agents", "../../../PWNED").parent == tmp_path / "agents"
    with pytest.raises(UnsafePathError):
        data_path(tmp_path, "../outside", "A1")


# --- 4. one unreadable file does not stop the month ---------------------------------------------

CALL = "{id},C1,A1,2026-08-03 09:00:00,35,connected_debtor,,,R1"


def test_a_file_with_an_io_error_is_quarantined_and_the_others_load(landing, monkeypatch):
    import kaohe.ingest.files as ingest  # where _try_hash looks sha256_file up

    landing.write("calls", "calls_20260803.csv", [CALL.format(id="K1")])
    landing.write("calls", "calls_20260805.csv", [CALL.format(id="K3")])
    # a disk that answers the read with EIO (a link to /proc/self/mem, the real thing, now
    # leaves the landing folder and is not followed: tests/ingest/test_landing_boundary.py)
    broken = landing.write("calls", "calls_20260804.csv", [CALL.format(id="K2")])
    real = ingest.sha256_file

    def sha(path):
        if path == broken:
            raise OSError(errno.EIO, "Input/output error", str(path))
        return real(path)

    monkeypatch.setattr(ingest, "sha256_file", sha)
    results = landing.ingest()
    assert results["calls"].count("rejected") == 1
    assert {r[0] for r in landing.query("select call_id from staging.calls")} == {"K1", "K3"}
    assert landing.query("select path, status, message from audit.file_registry "
                         "where status = 'rejected'") == [
        ("calls/calls_20260804.csv", "rejected", "unreadable_file: cannot be read: "
         "Input/output error")]
    assert [(r[0], r[2]) for r in quarantine(landing)] == [
        ("calls/calls_20260804.csv", "unreadable_file")]
    # the next run does not stumble on it either
    landing.write("calls", "calls_20260806.csv", [CALL.format(id="K4")])
    landing.ingest()
    assert landing.query("select count(*) from staging.calls") == [(3,)]


def test_a_file_denied_to_the_reader_is_quarantined(landing, monkeypatch):
    import kaohe.ingest.files as ingest  # where _try_hash looks sha256_file up

    landing.write("calls", "calls_20260803.csv", [CALL.format(id="K1")])
    denied = landing.write("calls", "calls_20260804.csv", [CALL.format(id="K2")])
    real = ingest.sha256_file

    def sha(path):
        if path == denied:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(ingest, "sha256_file", sha)
    landing.ingest()
    assert landing.query("select path, message from audit.file_registry "
                         "where status = 'rejected'") == [
        ("calls/calls_20260804.csv", "unreadable_file: cannot be read: Permission denied")]
    assert landing.query("select call_id from staging.calls") == [("K1",)]
    # readable again (the operator fixed the permission): it loads on the next run
    monkeypatch.setattr(ingest, "sha256_file", real)
    os.utime(denied)
    denied.chmod(0o644)
    landing.ingest()
    assert {r[0] for r in landing.query("select call_id from staging.calls")} == {"K1", "K2"}


def test_a_file_removed_after_listing_is_quarantined(landing):
    landing.write("calls", "calls_20260803.csv", [CALL.format(id="K1")])
    gone = landing.write("calls", "calls_20260804.csv", [CALL.format(id="K2")])
    files = discover(landing.root)["calls"]
    gone.unlink()
    with landing.warehouse.writer() as con:
        Ingestor(con, landing.root, landing.warehouse.paths.tmp).ingest_source(
            source("calls"), files)
    assert landing.query("select path, status from audit.file_registry order by path") == [
        ("calls/calls_20260803.csv", "loaded"), ("calls/calls_20260804.csv", "rejected")]
