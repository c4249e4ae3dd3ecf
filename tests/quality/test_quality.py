"""Data-quality gates: clean data passes every check; data broken in exactly one way fails the
check that guards against it, with the offending keys in the result."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta

import pytest

from kaohe.ingest.contract import load_contract
from kaohe.models.marts import MONTHLY_MARTS, build_all
from kaohe.quality import (
    GENERATED_DIR,
    SUITES_DIR,
    blocking_failures,
    check_name,
    generated_suites,
    load_suites,
    run_checks,
    store_results,
    stored_results,
    suites_for,
)
from kaohe.quality.page import render, write_page
from tests.metric_rows import (
    CFG,
    agent,
    assignment,
    call,
    case,
    insert,
    payment,
    warehouse,
)

MONTH = "2026-08"


def clean(con) -> None:
    insert(con, "agents", [agent("A1", "2026-08-01"), agent("A2", "2026-08-01", team_id="T2")])
    insert(con, "cases", [case("C1", "D1"), case("C2", "D2")])
    insert(con, "assignments", [
        assignment("S1", "C1", "A1", "2026-07-20 09:00:00"),
        assignment("S2", "C2", "A2", "2026-08-02 09:00:00"),
    ])
    insert(con, "calls", [
        call("K1", "A1", "C1", "2026-08-03 10:00:00", "connected_debtor", 60, "200.00",
             "2026-08-10"),
        call("K2", "A2", "C2", "2026-08-04 10:00:00"),
    ])
    insert(con, "repayments", [payment("P1", "C1", "2026-08-09 10:00:00", "200.00"),
                               payment("P2", "C9", "2026-08-09 11:00:00", "50.00")])


@pytest.fixture
def con(tmp_path):
    con = warehouse(tmp_path / "w.duckdb")
    clean(con)
    yield con
    con.close()


def checks(con, build: bool = True, month: str = MONTH) -> dict[tuple[str, str], object]:
    if build:
        build_all(con, CFG, month)
    return {(r.suite, r.check): r for r in run_checks(con, month)}


def failed(results: dict) -> dict:
    return {k: r for k, r in results.items() if not r.passed}


def test_clean_data_passes_every_blocking_check(con):
    results = checks(con)
    assert blocking_failures(list(results.values())) == []
    assert len(results) > 150
    # both engines ran: Great Expectations on the marts, DuckDB SQL on staging
    assert {r.engine for r in results.values()} == {"gx", "sql"}


def test_duplicated_key_fails_the_uniqueness_check(con):
    insert(con, "calls", [call("K1", "A2", "C2", "2026-08-05 10:00:00")])
    bad = failed(checks(con))
    r = bad[("staging.calls", "column_values_to_be_unique(call_id)")]
    assert r.severity == "blocking" and r.unexpected == 1 and r.sample == ["K1"]


def test_unknown_enum_fails_the_value_set_check(con):
    insert(con, "calls", [call("K9", "A2", "C2", "2026-08-05 10:00:00", outcome="hung_up")])
    bad = failed(checks(con))
    r = bad[("staging.calls", "column_values_to_be_in_set(outcome)")]
    assert r.sample == ["hung_up"] and r.severity == "blocking"


def test_overlapping_assignment_fails(con):
    insert(con, "assignments", [assignment("S3", "C1", "A2", "2026-08-05 09:00:00")])
    bad = failed(checks(con))
    r = bad[("staging.assignments", "no_overlapping_assignments")]
    assert r.sample == ["C1: S3"] and r.severity == "blocking"


def test_reconciliation_gap_of_one_cent_fails(con):
    build_all(con, CFG, MONTH)
    con.execute("update marts.agent_month_metrics set collected = collected + 0.01 "
                "where agent_id = 'A1'")
    bad = failed(checks(con, build=False))
    r = bad[("marts.center_month_summary", "repayments_reconcile_with_staging")]
    assert r.severity == "blocking"
    assert r.sample == ["marts 250.01 vs staging 250.00"]
    assert ("marts.team_month_metrics", "teams_sum_to_agents") in bad


def test_calls_not_counted_for_any_agent_fail_the_call_reconciliation(con):
    build_all(con, CFG, MONTH)
    insert(con, "calls", [call("K7", "A1", "C1", "2026-08-06 10:00:00")])  # after the build
    bad = failed(checks(con, build=False))
    assert bad[("marts.agent_month_metrics", "calls_reconcile_with_staging")].sample == [
        "marts 2 vs staging 3"]


def test_rate_out_of_bounds_fails_in_great_expectations(con):
    build_all(con, CFG, MONTH)
    con.execute("update marts.agent_month_metrics set rpc_rate = 1.5 where agent_id = 'A1'")
    r = failed(checks(con, build=False))[
        ("marts.agent_month_metrics", "column_values_to_be_between(rpc_rate)")]
    assert r.engine == "gx" and r.unexpected == 1 and r.sample == ["1.5"]


def test_volume_drop_is_a_warning_not_a_block(con):
    start = date(2026, 5, 1)
    rows = []
    for day in range(92):  # May to July: 10 calls a day
        d = start + timedelta(days=day)
        rows += [call(f"H{day}-{i}", "A1", "C1", f"{d} 10:0{i % 10}:00") for i in range(10)]
    insert(con, "calls", rows)
    results = checks(con)  # August: 2 calls in the month
    r = results[("staging.calls", "calls_volume_vs_trailing_months")]
    assert not r.passed and r.severity == "warning"
    assert "vs trailing 10" in r.sample[0]
    assert blocking_failures(list(results.values())) == []


def test_late_daily_source_is_a_freshness_warning(con):
    con.execute("insert into audit.file_registry values (1, 'calls/calls_20260831.csv', 'calls', "
                "date '2026-08-31', 0, 'csv', 1, 'x', 'utf-8', 1, 1, 0, 'loaded', null, "
                "now()::timestamp, null, true, 0, null), (2, "
                "'repayments/repayments_20260820.parquet', "
                "'repayments', date '2026-08-20', 0, 'parquet', 1, 'y', 'parquet', 1, 1, 0, "
                "'loaded', null, now()::timestamp, null, true, 0, null)")
    r = checks(con)[("audit.file_registry", "daily_sources_fresh")]
    assert not r.passed and r.severity == "warning"
    assert "repayments newest 2026-08-20" in r.sample


def test_every_staging_table_and_mart_has_a_suite():
    names = {s.name for s in load_suites()}
    assert {f"staging.{n}" for n in load_contract()} <= names
    assert {f"marts.{t}" for t in MONTHLY_MARTS} <= names


@pytest.mark.parametrize("source", sorted(load_contract()))
def test_staging_suite_is_generated_from_the_contract(source):
    """Keys, not-nulls, value sets and ranges come from kaohe/ingest/contract.yaml, all blocking; the
    suite file keeps only what the contract cannot say."""
    src = load_contract()[source]
    (suite,) = suites_for(f"staging.{source}")
    kinds = {(e["type"], e["kwargs"].get("column") or tuple(e["kwargs"].get("column_list", []))):
             e for e in suite.expectations}
    assert all(e["meta"]["severity"] == "blocking" for e in kinds.values()
               if e["type"] != "unexpected_rows_query")
    key = src.pk[0] if len(src.pk) == 1 else tuple(src.pk)
    unique = ("expect_column_values_to_be_unique" if len(src.pk) == 1
              else "expect_compound_columns_to_be_unique")
    assert (unique, key) in kinds
    for col in src.columns:
        assert (("expect_column_values_to_not_be_null", col.name) in kinds) == (not col.nullable)
        if col.enum:
            assert kinds[("expect_column_values_to_be_in_set", col.name)]["kwargs"][
                "value_set"] == list(col.enum)
        between = kinds.get(("expect_column_values_to_be_between", col.name), {}).get("kwargs")
        if col.gt is not None:  # strictly greater: GX's strict_min
            assert between["min_value"] == col.gt and between["strict_min"] is True
        elif col.min is not None or col.max is not None:
            assert (between.get("min_value"), between.get("max_value")) == (col.min, col.max)
            assert not between.get("strict_min")
        else:
            assert between is None
    kept = json.loads((SUITES_DIR / f"staging.{source}.json").read_text())["expectations"]
    assert all(e["type"] == "unexpected_rows_query" for e in kept)  # only what it cannot say


def test_a_suite_restating_a_generated_expectation_is_refused(tmp_path):
    suite = json.loads((SUITES_DIR / "staging.calls.json").read_text())
    suite["expectations"].append({"type": "expect_column_values_to_be_between", "kwargs": {
        "column": "duration_s", "min_value": 0}, "meta": {"severity": "blocking"}})
    (tmp_path / "staging.calls.json").write_text(json.dumps(suite))
    with pytest.raises(ValueError, match=r"column_values_to_be_between\(duration_s\) is generated"):
        load_suites(tmp_path)


def test_generated_suite_files_are_up_to_date():
    """expectations/generated/ shows each suite as it runs; it must match what the contract and
    the suite files generate now (the run itself never reads it)."""
    expected = generated_suites()
    assert sorted(p.name for p in GENERATED_DIR.glob("*.json")) == sorted(expected), (
        "run `uv run python -m kaohe.quality --write-generated`")
    for name, text in expected.items():
        assert (GENERATED_DIR / name).read_text(encoding="utf-8") == text, (
            f"expectations/generated/{name} is stale: run "
            "`uv run python -m kaohe.quality --write-generated`")
    loaded = {s.name: s for s in load_suites()}
    for text in expected.values():
        suite = json.loads(text)
        assert [check_name(e) for e in suite["expectations"]] == [
            check_name(e) for e in loaded[suite["name"]].expectations]


def test_an_amount_due_of_zero_fails_the_contracts_strict_lower_bound(con):
    """The contract says amount_due gt 0: zero is out of range, a cent is not."""
    insert(con, "assignments", [
        assignment("S3", "C3", "A1", "2026-08-05 09:00:00", amount_due="0.00"),
        assignment("S4", "C4", "A1", "2026-08-05 09:00:00", amount_due="0.01"),
    ])
    insert(con, "repayments", [payment("P3", "C1", "2026-08-09 12:00:00", "0.00")])
    bad = failed(checks(con))
    r = bad[("staging.assignments", "column_values_to_be_between(amount_due)")]
    assert r.severity == "blocking" and r.unexpected == 1 and r.sample == ["0.00"]
    assert bad[("staging.repayments", "column_values_to_be_between(amount)")].sample == ["0.00"]


def test_results_are_stored_and_rendered_escaped(con, tmp_path):
    insert(con, "calls", [call("<script>x</script>", "A2", "C2", "2026-08-05 10:00:00",
                               outcome="<b>bad</b>")])
    build_all(con, CFG, MONTH)
    results = run_checks(con, MONTH)
    store_results(con, results, MONTH)
    assert len(stored_results(con, MONTH)) == len(results)
    page = write_page(con, tmp_path / "reports", MONTH).read_text()
    assert "<b>bad</b>" not in page and "&lt;b&gt;bad&lt;/b&gt;" in page
    assert "本月报表不予生成" in page  # blocking failures announced
    assert "Blocking failures" in render(MONTH, results, [], lang="en")


def test_kaohe_check_exits_non_zero_on_a_broken_warehouse(tmp_path):
    path = tmp_path / "w.duckdb"
    con = warehouse(path)
    clean(con)
    build_all(con, CFG, MONTH)
    con.close()

    def check(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pipelines.cli", "check", "--month", MONTH,
                               "--warehouse", str(path), *extra], capture_output=True,
                              text=True, timeout=300)

    ok = check()
    con = warehouse(path)
    insert(con, "calls", [call("K1", "A2", "C2", "2026-08-05 10:00:00")])
    con.close()
    html = tmp_path / "dq.html"
    bad = check("--html", str(html))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert bad.returncode == 1
    assert "BLOCKING" in bad.stdout and "column_values_to_be_unique(call_id)" in bad.stdout
    assert html.exists()
