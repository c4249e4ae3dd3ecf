"""End to end: the real CLI on generated sample data, asserting on the published warehouse."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.conftest import copy_home

MONTH = "2026-09"  # the second of the sample's two months


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=600)


@pytest.fixture(scope="module")
def built(sample_build, tmp_path_factory) -> dict:
    """The session's sample (seed 7, August and September run by the CLI, no PII key set), in
    a home of this module's own: the tests below run months on it again."""
    home = copy_home(sample_build, tmp_path_factory.mktemp("e2e") / "home")
    landing = sample_build["landing"]
    manifest = json.loads((landing / "_manifest.json").read_text(encoding="utf-8"))
    first = subprocess.CompletedProcess([], **sample_build["runs"][MONTH])
    return {"landing": landing, "home": home, "manifest": manifest, "first": first}


@pytest.fixture
def published(built):
    con = duckdb.connect(str(built["home"] / "warehouse" / "kaohe.duckdb"), read_only=True)
    yield con
    con.close()


def test_run_prints_where_the_published_warehouse_is(built):
    assert "published warehouse:" in built["first"].stdout
    assert "KAOHE_PII_KEY is not set" in built["first"].stderr  # the demo key says so


def test_published_warehouse_has_only_analyst_facing_schemas(published):
    schemas = {r[0] for r in published.sql(
        "select distinct schema_name from duckdb_tables()").fetchall()}
    assert schemas == {"staging", "marts", "audit"}
    cols = {r[0] for r in published.sql(
        "select column_name from duckdb_columns() where table_name = 'quarantine'").fetchall()}
    assert "raw_text" not in cols and "reason" in cols


def test_every_documented_bad_row_and_file_is_quarantined_with_its_reason(built, published):
    got = {(f, line, code) for f, line, code in published.sql(
        "select file, line, reason_code from audit.quarantine").fetchall()}
    for bad in built["manifest"]["bad_rows"]:
        assert (bad["file"], bad["line"], bad["reason_code"]) in got, bad
    for bad in built["manifest"]["bad_files"]:
        rows = published.execute(
            "select reason from audit.quarantine where file = ? and line is null",
            [bad["file"]]).fetchall()
        assert rows and bad["column"] in rows[0][0], bad
    # nothing else was rejected: the generator writes every other row valid
    expected = len(built["manifest"]["bad_rows"]) + len(built["manifest"]["bad_files"])
    assert published.sql("select count(*) from audit.quarantine").fetchall()[0][0] == expected


def test_rows_read_reconcile_with_loaded_and_rejected_for_every_file(built, published):
    bad = published.sql(
        "select path from audit.file_registry where rows_read <> rows_loaded + rows_rejected"
    ).fetchall()
    assert bad == []
    rows = dict(published.sql(
        "select source, sum(rows_read) from audit.file_registry group by all").fetchall())
    for source, n in built["manifest"]["rows"].items():
        if source == "tickets":  # one tickets file is rejected whole (missing column)
            assert rows[source] < n
        else:
            assert rows[source] == n, source


def test_every_source_reaches_staging(published):
    for (table,) in published.sql(
            "select table_name from duckdb_tables() where schema_name = 'staging'").fetchall():
        assert published.sql(f"select count(*) from staging.{table}").fetchall()[0][0] > 0, table


def test_month_marts_are_built_and_reconcile(published):
    agents = published.sql(
        f"select count(*) from marts.agent_month_metrics where month = date '{MONTH}-01'"
    ).fetchall()[0][0]
    assert 50 <= agents <= 80
    gap, calls_gap, net = published.sql(
        f"select reconciliation_gap, calls_gap, net_repayments from marts.center_month_summary "
        f"where month = date '{MONTH}-01'").fetchall()[0]
    assert gap == 0 and calls_gap == 0 and net > 0
    comments = published.sql(
        "select count(*) from duckdb_columns() where schema_name = 'marts' "
        "and table_name = 'agent_month_metrics' and comment is null").fetchall()[0][0]
    assert comments == 0


def test_no_debtor_pii_in_any_string_column_of_the_published_warehouse(built, published):
    cases = sorted((built["landing"] / "cases").glob("cases_*.csv"))[0]
    sample = duckdb.sql(
        "select * from (select debtor_name, debtor_phone, debtor_id_number from "
        f"read_csv('{cases}', all_varchar = true) where debtor_name is not null and "
        "debtor_phone is not null and debtor_id_number is not null) "
        "using sample 40 rows (reservoir, 1)").fetchall()
    # a debtor may share a common name with an agent (王芳): no leak, so such names are left
    # out; names are matched as whole values, phone and ID numbers anywhere inside a value
    agents = (built["landing"] / "agents").as_posix() + "/agents_*.csv"
    agent_names = {r[0] for r in duckdb.sql(
        f"select distinct agent_name from read_csv('{agents}', all_varchar = true, "
        "union_by_name = true)").fetchall()}
    names = [n for n, _, _ in sample if n and n not in agent_names]
    numbers = [v for _, p, i in sample for v in (p, i) if v]
    assert len(names) > 20 and len(numbers) == 80
    published.execute("create temp table names (v varchar)")
    published.execute("create temp table numbers (v varchar)")
    published.executemany("insert into names values (?)", [[v] for v in names])
    published.executemany("insert into numbers values (?)", [[v] for v in numbers])
    columns = published.sql(
        "select schema_name, table_name, column_name from duckdb_columns() "
        "where data_type = 'VARCHAR' and database_name <> 'temp'").fetchall()
    for schema, table, col in columns:
        hits = published.sql(
            f'select (select count(*) from {schema}.{table} t join names s on t."{col}" = s.v)'
            f' + (select count(*) from {schema}.{table} t join numbers s '
            f'on contains(t."{col}", s.v))').fetchall()[0][0]
        assert hits == 0, f"debtor PII in {schema}.{table}.{col}"


def test_running_the_same_month_again_changes_nothing(built):
    def snapshot() -> dict:
        con = duckdb.connect(str(built["home"] / "warehouse" / "kaohe.duckdb"), read_only=True)
        try:
            out = {}
            for schema, table in con.sql(
                    "select schema_name, table_name from duckdb_tables() where schema_name in "
                    "('staging', 'marts')").fetchall():
                out[f"{schema}.{table}"] = con.sql(
                    f"select count(*), sum(hash(t::varchar)) from {schema}.{table} t"
                ).fetchall()[0]
            return out
        finally:
            con.close()

    before = snapshot()
    for _ in range(1):  # the same month again: identical tables
        again = run_cli("run", "--month", MONTH, "--landing", str(built["landing"]),
                        "--home", str(built["home"]))
        assert again.returncode == 0, again.stderr[-3000:]
        assert snapshot() == before


def test_a_second_run_on_the_same_home_refuses_while_one_is_running(built):
    import fcntl

    lock = built["home"] / "work" / "run.lock"
    with lock.open("a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        busy = run_cli("run", "--month", MONTH, "--landing", str(built["landing"]),
                       "--home", str(built["home"]))
    assert busy.returncode == 2
    assert "another kaohe run" in busy.stderr


def test_bad_month_is_refused_with_a_clear_message(built):
    res = run_cli("run", "--month", "2026-13", "--landing", str(built["landing"]),
                  "--home", str(built["home"]))
    assert res.returncode == 2 and "--month must look like" in res.stderr


def test_manifest_is_written_beside_the_landing_files(built):
    manifest = json.loads((Path(built["landing"]) / "_manifest.json").read_text())
    assert manifest["scale"] == "small" and manifest["bad_rows"]


def test_generate_command_writes_a_landing_folder(tmp_path):
    res = run_cli("generate", "--out", str(tmp_path / "l"), "--start", "2026-08-01",
                  "--months", "1", "--seed", "3", "--scale", "small")
    assert res.returncode == 0, res.stderr[-2000:]
    assert "wrote" in res.stdout
    assert (tmp_path / "l" / "calls").is_dir() and (tmp_path / "l" / "_manifest.json").exists()


def test_an_analyst_holding_the_published_copy_neither_blocks_a_run_nor_sees_half_of_it(built):
    published = built["home"] / "warehouse" / "kaohe.duckdb"
    # the copy the analyst holds lacks August's agent rows (as if August were not built yet):
    # the run publishes a new copy, which has them
    marked = duckdb.connect(str(published))
    try:
        marked.execute("delete from marts.agent_month_metrics where month = date '2026-08-01'")
    finally:
        marked.close()
    analyst = duckdb.connect(str(published), read_only=True)
    try:
        run = run_cli("run", "--month", "2026-08", "--landing", str(built["landing"]),
                      "--home", str(built["home"]))
        assert run.returncode == 0, run.stderr[-3000:]
        # the open connection still reads its consistent (old) copy...
        assert analyst.sql("select count(*) from marts.agent_month_metrics "
                           "where month = date '2026-08-01'").fetchall()[0][0] == 0
    finally:
        analyst.close()
    # ...and the new copy on reconnect
    again = duckdb.connect(str(published), read_only=True)
    try:
        assert again.sql("select count(*) from marts.agent_month_metrics "
                         "where month = date '2026-08-01'").fetchall()[0][0] > 0
    finally:
        again.close()


def test_no_debtor_pii_and_no_key_in_any_log(built):
    cases = sorted((built["landing"] / "cases").glob("cases_*.csv"))[0]
    numbers = [v for row in duckdb.sql(
        f"select debtor_phone, debtor_id_number from read_csv('{cases}', all_varchar = true)"
    ).fetchall() for v in row if v]
    from kaohe.ingest.pii import DEV_KEY

    logs = [p for folder in ("logs", "dagster") for p in (built["home"] / folder).rglob("*")
            if p.is_file()]
    assert logs
    blob = b"".join(p.read_bytes() for p in logs)
    assert DEV_KEY not in blob
    # every run of 11 or more digits (and X) in the logs, against the set of the debtors'
    # phones and ID numbers (one pass over the logs, not one per number)
    found = {m.group() for m in re.finditer(rb"[0-9Xx]{11,}", blob)}
    leaked = [n for n in numbers if any(n.encode() in f for f in found)]
    assert leaked == []


def test_the_benchmarks_floor_and_pandas_compute_the_pipelines_metrics(built, tmp_path):
    # benchmarks/run.py compares kaohe with these two: they must give the very same table
    import importlib.util

    from kaohe.config import load_config
    from kaohe.models.marts import dictionary, metric_params

    bench_dir = Path(__file__).resolve().parents[2] / "benchmarks"
    sys.path.insert(0, str(bench_dir))
    try:
        spec = importlib.util.spec_from_file_location("kaohe_bench_run", bench_dir / "run.py")
        bench = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(bench)
        import floor
        import pandas_metrics
    finally:
        sys.path.remove(str(bench_dir))
    published = built["home"] / "warehouse" / "kaohe.duckdb"
    floor.compute(built["landing"], MONTH, tmp_path / "floor.duckdb", tmp_path / "floor.parquet")
    pandas_metrics.compute(built["landing"], MONTH, metric_params(load_config(), MONTH)
                           ).to_parquet(tmp_path / "pandas.parquet")
    for side in ("floor", "pandas"):
        result = bench.compare(published, tmp_path / f"{side}.parquet", MONTH)
        # every column of the dictionary
        assert result["rows"] > 50 and result["columns"] == len(
            dictionary("agent_month_metrics").names), result
        assert result["equal"], (side, result)
