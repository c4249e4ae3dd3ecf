"""Data-quality gates: the suites in ``expectations/`` run against one month of the warehouse.

Each suite file is a Great Expectations suite (``name``, ``expectations`` with ``type``,
``kwargs``, ``meta``), plus kaohe's ``meta.kaohe``: the engine and the month's batch.
A staging suite names its source (``meta.kaohe.contract``): its column-level expectations (not
null, unique key, value sets, ranges; blocking) and its references (every agent, case or call an
id names exists in its master; warnings listing the unknown keys) are generated from
``kaohe/ingest/contract.yaml`` when the suites are loaded, so they cannot drift from the contract;
the file keeps only what the contract cannot say (cross-table and business rules).
``python -m kaohe.quality --write-generated`` writes each complete suite, as it runs, to
``expectations/generated/`` for reading.
- engine ``gx``: small tables (the marts) are validated by Great Expectations on a pandas slice of
  the month (GX 1.x has no DuckDB engine; the slice is a few thousand rows).
- engine ``sql``: big detail tables (tens of millions of calls) are checked in DuckDB: kaohe
  compiles the same expectation types to SQL, so the month never leaves the database.
``unexpected_rows_query`` expectations (GX's UnexpectedRowsExpectation vocabulary: a query over
``{batch}`` returning the offending rows, first column = key) always run in DuckDB.
Severity is ``meta.severity``: ``blocking`` stops the month's reports, ``warning`` is shown on
their data-quality panel. Great Expectations is imported only when a gx suite runs.

The suites themselves (reading the files, the expectations generated from the contract) are
kaohe/quality/suites.py; their SQL form kaohe/quality/sql.py; the results and their storage
kaohe/quality/results.py; this module runs the suites of a table or a month.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

import duckdb

from kaohe.ingest import evidence
from kaohe.quality.results import (  # noqa: F401 - read through this module
    CheckResult,
    as_rows,
    blocking_failures,
    store_results,
    stored_results,
)
from kaohe.quality.sql import ROW_LEVEL, _params, _run_sql, _run_sql_fused
from kaohe.quality.suites import (  # noqa: F401 - the suites' names, read through this module
    GENERATED_DIR,
    SAMPLE,
    SUITES_DIR,
    Suite,
    check_name,
    contract_expectations,
    generated_suites,
    load_suites,
    reference_expectations,
    referenced_tables,
    suites_for,
    write_generated,
)


def _run_gx(con: duckdb.DuckDBPyConnection, suite: Suite, exps: list[dict], month: str
            ) -> list[CheckResult]:
    """Validate the month's slice of a small table with Great Expectations (pandas)."""
    if not exps:
        return []
    started = time.perf_counter()
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    frame = con.execute(
        f"select * from ({suite.batch})", _params(suite.batch, month)
    ).df()
    # GX sets up its own INFO logging on import; its chatter is not the run's business
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("great_expectations"):
            logging.getLogger(name).setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    # GX's progress bars would flood the run log
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_definition = (
        context.data_sources.add_pandas("kaohe")
        .add_dataframe_asset(suite.name)
        .add_batch_definition_whole_dataframe(month)
    )
    gx_suite = gx.ExpectationSuite(name=suite.name)
    for exp in exps:
        gx_suite.add_expectation_configuration(ExpectationConfiguration(
            type=exp["type"], kwargs=exp["kwargs"], meta=exp.get("meta", {})))
    result = batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(
        gx_suite, result_format="SUMMARY")
    elapsed = (time.perf_counter() - started) / len(exps)
    out = []
    for r in result.results:
        cfg = r.expectation_config
        exp = {"type": cfg.type, "kwargs": dict(cfg.kwargs), "meta": dict(cfg.meta or {})}
        unexpected = int(r.result.get("unexpected_count") or 0) if r.result else 0
        sample = [str(v) for v in (r.result or {}).get("partial_unexpected_list", [])[:SAMPLE]]
        if r.exception_info and r.exception_info.get("raised_exception"):
            sample = [str(r.exception_info.get("exception_message"))[:200]]
        out.append(CheckResult(
            suite=suite.name, check=check_name(exp), severity=exp["meta"]["severity"],
            passed=bool(r.success), unexpected=unexpected if not r.success else 0,
            sample=sample, description=exp["meta"].get("description", ""), engine="gx",
            seconds=elapsed,
        ))
    return out


def run_suite(con: duckdb.DuckDBPyConnection, suite: Suite, month: str) -> list[CheckResult]:
    schema, table = suite.name.split(".")
    exists = con.execute(  # staging's tables are views in the writer's database
        "select count(*) from (select schema_name, table_name from duckdb_tables() union all "
        "select schema_name, view_name from duckdb_views()) where schema_name = ? and "
        "table_name = ?", [schema, table]).fetchall()[0][0]
    if not exists:  # a warehouse without the table cannot pass its checks
        return [CheckResult(suite.name, "table_exists", "blocking", False, 1, [suite.name],
                            "the table is missing: build the month first")]
    gx_exps = [e for e in suite.expectations
               if suite.engine == "gx" and e["type"] != "unexpected_rows_query"]
    sql_exps = [e for e in suite.expectations if e not in gx_exps]
    fused = [e for e in sql_exps if e["type"] in ROW_LEVEL]
    results = _run_gx(con, suite, gx_exps, month)
    results += _run_sql_fused(con, suite, fused, month)
    results += [_run_sql(con, suite, e, month) for e in sql_exps if e not in fused]
    order = {check_name(e): i for i, e in enumerate(suite.expectations)}
    return sorted(results, key=lambda r: order.get(r.check, len(order)))


def chain_results(con: duckdb.DuckDBPyConnection, table: str) -> list[CheckResult]:
    """The tamper-evidence chains kept over ``table`` (promises to pay over staging.calls, plans
    over staging.plans), verified, as blocking results: ``kaohe check`` and the table's
    ``quality_gate`` asset check both run them through here."""
    out = []
    for kind in evidence.kinds_of(table):
        started = time.perf_counter()
        status = evidence.verify(con, kind)
        where = [] if status.intact else [
            f"batch {status.broken_batch}" + (f" record {status.broken_key}"
                                              if status.broken_key else "")]
        out.append(CheckResult(
            suite=table, check=f"{kind}_chain_intact", severity="blocking",
            passed=status.intact, unexpected=0 if status.intact else 1, sample=where,
            description=status.reason or f"{status.records} records in {status.batches} "
            "batches, hash chain intact", engine="sql", seconds=time.perf_counter() - started))
    return out


def run_table(con: duckdb.DuckDBPyConnection, table: str, month: str) -> list[CheckResult]:
    """Every check of one table for the month: its suites, then the evidence chains over it."""
    return [r for s in suites_for(table) for r in run_suite(con, s, month)] + chain_results(
        con, table)


def run_checks(con: duckdb.DuckDBPyConnection, month: str,
               tables: list[str] | None = None) -> list[CheckResult]:
    """Every check (or those of ``tables``) for one month."""
    names = dict.fromkeys(s.name for s in load_suites())
    return [r for t in names if tables is None or t in tables for r in run_table(con, t, month)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kaohe.quality", description=(
        "Write each suite with contract-generated expectations, complete as it runs, to "
        "expectations/generated/ (for reading; the run generates them itself)."))
    parser.add_argument("--write-generated", action="store_true", required=True)
    parser.parse_args(argv)
    for path in write_generated():
        print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
