"""Identifiers are clean or refused (issue 19.6): a NUL byte, a control character, a leading or
trailing space, a zero-width character or a look-alike letter in an id quarantines its row as
``bad_id`` with a reason that says which; and every reference to an agent, case or call its
master does not know is a non-blocking warning of the month's checks that lists the keys. Every
test also checks that the good rows of the file are kept: rows read = loaded + rejected."""

from __future__ import annotations

import polars as pl
import pytest

from kaohe.quality import blocking_failures, run_checks

CALL = "{id},C1,{agent},2026-08-03 09:00:00,35,busy,,,R1"


def quarantine(landing) -> list[tuple]:
    return landing.query("select line, reason_code, reason from audit.quarantine order by line")


def assert_reconciles(landing, read: int, loaded: int) -> None:
    assert landing.query("select rows_read, rows_loaded, rows_rejected from audit.file_registry"
                         ) == [(read, loaded, read - loaded)]


@pytest.mark.parametrize(("agent", "why"), [
    ("A\x011", "a control character U+0001"),
    ("A\x7f1", "a control character U+007F"),
    (" A1", "a leading or trailing space"),
    ("A1 ", "a leading or trailing space"),
    ("A1\u3000", "a leading or trailing space"),  # an ideographic space
    ("A\u200b1", "a zero-width or invisible character U+200B"),
    ("\u200fA1", "a zero-width or invisible character U+200F"),  # a right-to-left mark
    ("\u0410\u0031", "a Greek or Cyrillic letter that looks like a Latin one U+0410"),
    ("\u0391gent", "a Greek or Cyrillic letter that looks like a Latin one U+0391"),
    ("\uff21\uff11", "a full-width character U+FF21"),
    ("A\u00a01", "a space"),
    ("张三", "a character that is not ASCII"),
    ("a/b", "a path separator"),
    ("..", "a leading dot"),
], ids=["control", "del", "leading-space", "trailing-space", "ideographic-space", "zero-width",
        "rtl-mark", "cyrillic", "greek", "full-width", "nbsp", "cjk", "slash", "dots"])
def test_an_id_that_is_not_clean_is_refused_with_the_reason(landing, agent, why):
    landing.write("calls", "calls_20260803.csv", [
        CALL.format(id="K1", agent="A1"), CALL.format(id="K2", agent=agent),
        CALL.format(id="K3", agent="A-2.b_3")])
    landing.ingest()
    [(line, code, reason)] = quarantine(landing)
    assert (line, code) == (3, "bad_id")
    assert reason.startswith(f"bad_id: agent_id must be a plain identifier (ASCII letters, "
                             f"digits, _ . -, at most 64 characters), not {why}: ")
    assert "张三" not in reason  # a value quoted in a reason is masked
    assert {r[0] for r in landing.query("select call_id from staging.calls")} == {"K1", "K3"}
    assert_reconciles(landing, 3, 2)


def test_ids_in_parquet_are_taken_as_sent_nul_and_spaces_included(landing):
    path = landing.root / "calls" / "calls_20260803.parquet"
    path.parent.mkdir(parents=True)
    pl.DataFrame({
        "Call_ID": ["K1", "K2", "K3 ", "K4"], "case_id": ["C1"] * 4,
        "agent_id": ["A1", "A\x001", "A1", "\u0410\u0031"],
        "started_at": pl.Series(["2026-08-03 09:00:00"] * 4).str.to_datetime(),
        "duration_s": [35] * 4, "outcome": ["busy"] * 4,
        "ptp_amount": pl.Series([None] * 4, dtype=pl.Decimal(18, 2)),
        "ptp_due_date": pl.Series([None] * 4, dtype=pl.Date),
    }).write_parquet(path)
    landing.ingest()
    got = quarantine(landing)
    assert [(r[0], r[1]) for r in got] == [(2, "bad_id"), (3, "bad_id"), (4, "bad_id")]
    assert "not a NUL byte: A?1" in got[0][2]
    assert "call_id must be a plain identifier" in got[1][2] and "trailing space" in got[1][2]
    assert "U+0410" in got[2][2]
    assert landing.query("select call_id from staging.calls") == [("K1",)]
    assert_reconciles(landing, 4, 1)


# --- unknown references: warnings listing the keys ---------------------------------------------

AGENT = "{id},王芳,T01,催收一组,m@x.cn,深圳,L1,2025-01-01,in_house,,3000.00,active,a@x.cn"
CASE = "{id},D1,张三,13900000000,110101199001011234,cash_loan,110000,it,500,false,1000.00"
CASES = ("case_id,debtor_id,debtor_name,debtor_phone,debtor_id_number,product,region_code,"
         "industry,risk_score,hardship_flag,principal")


def test_references_to_unknown_agents_cases_and_calls_are_warnings_listing_the_keys(landing):
    landing.write("agents", "agents_20260801.csv", [AGENT.format(id="A1")])
    landing.write("cases", "cases_20260801.csv", [CASE.format(id="C1")], header=CASES)
    landing.write("calls", "calls_20260803.csv", [
        CALL.format(id="K1", agent="A1"), CALL.format(id="K2", agent="GHOST1"),
        CALL.format(id="K3", agent="GHOST2"), CALL.format(id="K4", agent="GHOST1")])
    landing.write("surveys", "surveys_20260804.csv", [
        "S1,K1,C1,A1,2026-08-04 10:00:00,5", "S2,K9,C1,NOBODY,2026-08-04 10:00:00,4"])
    landing.write("qa_flags", "qa_flags_20260804.csv", ["K1,threat,0.9,v1", "KX,abuse,0.8,v1"])
    landing.write("repayments", "repayments_20260805.csv", [
        "P1,C1,2026-08-05 10:00:00,100.00,payment,,app",
        "P2,C404,2026-08-05 11:00:00,50.00,payment,,app"])
    landing.ingest()
    # nothing was refused: a reference is not checked at ingestion (its master may come later)
    assert landing.query("select count(*) from audit.quarantine") == [(0,)]
    with landing.warehouse.writer() as con:
        results = run_checks(con, "2026-08", ["staging.calls", "staging.surveys",
                                              "staging.qa_flags", "staging.repayments"])
    failed = {(r.suite, r.check): (r.severity, r.unexpected, r.sample)
              for r in results if not r.passed and r.check.endswith("_known")}
    assert failed == {
        ("staging.calls", "agent_id_known"): ("warning", 2, ["GHOST1", "GHOST2"]),
        ("staging.surveys", "call_id_known"): ("warning", 1, ["K9"]),
        ("staging.surveys", "agent_id_known"): ("warning", 1, ["NOBODY"]),
        ("staging.qa_flags", "call_id_known"): ("warning", 1, ["KX"]),
        ("staging.repayments", "case_id_known"): ("warning", 1, ["C404"]),
    }
    assert blocking_failures([r for r in results if r.check.endswith("_known")]) == []


def test_known_references_pass(landing):
    landing.write("agents", "agents_20260801.csv", [AGENT.format(id="A1")])
    landing.write("cases", "cases_20260801.csv", [CASE.format(id="C1")], header=CASES)
    landing.write("calls", "calls_20260803.csv", [CALL.format(id="K1", agent="A1")])
    landing.write("qa_flags", "qa_flags_20260804.csv", ["K1,threat,0.9,v1"])
    landing.ingest()
    with landing.warehouse.writer() as con:
        results = run_checks(con, "2026-08", ["staging.calls", "staging.qa_flags"])
    known = [r for r in results if r.check.endswith("_known")]
    assert len(known) == 3 and all(r.passed for r in known)
