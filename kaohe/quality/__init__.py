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
kaohe/quality/suites.py; this module compiles and runs them and stores the results.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import date

import duckdb

from kaohe.ingest import evidence
from kaohe.months import month_bounds
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
from kaohe.warehouse import audit_tables as audit
from kaohe.warehouse import quote


@dataclass
class CheckResult:
    suite: str  # the checked table, e.g. staging.calls
    check: str  # a readable name of the expectation
    severity: str  # blocking | warning
    passed: bool
    unexpected: int = 0
    sample: list[str] = field(default_factory=list)
    description: str = ""
    engine: str = "sql"
    seconds: float = 0.0


def _params(batch_sql: str, month: str) -> dict:
    start, end, quarter = month_bounds(month)
    params = {"month_start": start, "month_end": end, "quarter_start": quarter}
    return {k: v for k, v in params.items() if f"${k}" in batch_sql}


def _compile(exp: dict) -> str:
    """SQL returning the offending keys of one expectation over ``{batch}``."""
    kw = exp.get("kwargs", {})
    t = exp["type"]
    col = quote(kw["column"]) if "column" in kw else None
    if t == "unexpected_rows_query":
        return kw["unexpected_rows_query"]
    if t in ROW_LEVEL:
        shown = "'(row)'" if t == "expect_column_values_to_not_be_null" else f"{col}::varchar"
        return f"select {shown} from {{batch}} where {_row_condition(exp)}"
    if t == "expect_column_values_to_be_unique":
        return f"select {col}::varchar from {{batch}} where {col} is not null " \
               f"group by {col} having count(*) > 1"
    if t == "expect_compound_columns_to_be_unique":
        cols = ", ".join(quote(c) for c in kw["column_list"])
        return f"select concat_ws('|', {cols}) from {{batch}} group by {cols} having count(*) > 1"
    raise ValueError(f"expectation type {t} has no SQL form in kaohe.quality")


# Row-level expectations: a condition on one row, true when the row is unexpected.
ROW_LEVEL = {"expect_column_values_to_not_be_null", "expect_column_values_to_be_in_set",
             "expect_column_values_to_be_between"}


def _row_condition(exp: dict) -> str:
    """SQL true when a row breaks a row-level expectation (NULL counts as not broken)."""
    kw, t = exp["kwargs"], exp["type"]
    col = quote(kw["column"])
    if t == "expect_column_values_to_not_be_null":
        return f"{col} is null"
    if t == "expect_column_values_to_be_in_set":
        values = ", ".join("'" + str(v).replace("'", "''") + "'" for v in kw["value_set"])
        return f"{col} is not null and {col}::varchar not in ({values})"
    conds = []  # expect_column_values_to_be_between (strict_min / strict_max: the bound excluded)
    if kw.get("min_value") is not None:
        conds.append(f"{col} {'<=' if kw.get('strict_min') else '<'} {kw['min_value']}")
    if kw.get("max_value") is not None:
        conds.append(f"{col} {'>=' if kw.get('strict_max') else '>'} {kw['max_value']}")
    return " or ".join(conds)


def _run_sql_fused(con: duckdb.DuckDBPyConnection, suite: Suite, exps: list[dict], month: str
                   ) -> list[CheckResult]:
    """Every row-level expectation of a suite in one scan of its batch (a month of calls is
    read once, not once per column); a failing one is then re-run alone for its sample."""
    if not exps:
        return []
    started = time.perf_counter()
    counts = ", ".join(f"count_if({_row_condition(e)})" for e in exps)
    query = f"select {counts} from ({suite.batch})"
    found = con.execute(query, _params(query, month)).fetchall()[0]
    each = (time.perf_counter() - started) / len(exps)
    out = []
    for exp, n in zip(exps, found, strict=True):
        if n:
            out.append(_run_sql(con, suite, exp, month))
            continue
        out.append(CheckResult(
            suite=suite.name, check=check_name(exp), severity=exp["meta"]["severity"],
            passed=True, unexpected=0, sample=[],
            description=exp["meta"].get("description", ""), engine="sql", seconds=each,
        ))
    return out


def _run_sql(con: duckdb.DuckDBPyConnection, suite: Suite, exp: dict, month: str) -> CheckResult:
    started = time.perf_counter()
    query = _compile(exp).replace("{batch}", f"({suite.batch})")
    params = _params(query, month)
    # count, then sample: a window count over a failing check would hold every offending row
    n = con.execute(f"select count(*) from ({query}) q", params).fetchall()[0][0]
    rows = con.execute(f"select 0, k::varchar from ({query}) q(k) limit {SAMPLE}", params
                       ).fetchall() if n else []
    return CheckResult(
        suite=suite.name, check=check_name(exp), severity=exp["meta"]["severity"],
        passed=n == 0, unexpected=n, sample=[str(r[1]) for r in rows],
        description=exp["meta"].get("description", exp.get("kwargs", {}).get("description", "")),
        engine="sql", seconds=time.perf_counter() - started,
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


def blocking_failures(results: list[CheckResult]) -> list[CheckResult]:
    return [r for r in results if not r.passed and r.severity == "blocking"]


def as_rows(results: list[CheckResult], month: str) -> list[dict]:
    start = date.fromisoformat(f"{month}-01")
    return [{"month": start, **asdict(r), "sample": ", ".join(r.sample)} for r in results]


def store_results(con: duckdb.DuckDBPyConnection, results: list[CheckResult], month: str) -> None:
    """Replace the stored results of these suites for the month (latest run wins)."""
    if not results:
        return
    start = date.fromisoformat(f"{month}-01")
    suites = sorted({r.suite for r in results})
    con.execute("begin transaction")
    try:
        con.execute("delete from audit.check_results where month = ? and list_contains(?, suite)",
                    [start, suites])
        con.executemany(
            f"insert into audit.check_results {audit.columns('check_results')} "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "now()::timestamp)",
            [[start, r.suite, r.check, r.severity, r.passed, r.unexpected, ", ".join(r.sample),
              r.description, r.engine, r.seconds] for r in results],
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


def stored_results(con: duckdb.DuckDBPyConnection, month: str) -> list[CheckResult]:
    exists = con.execute("select count(*) from duckdb_tables() where schema_name = 'audit' "
                         "and table_name = 'check_results'").fetchall()[0][0]
    if not exists:  # a run that stopped before any check
        return []
    rows = con.execute(
        'select suite, "check", severity, passed, unexpected, sample, description, engine, '
        "seconds from audit.check_results where month = ? order by suite, \"check\"",
        [date.fromisoformat(f"{month}-01")],
    ).fetchall()
    return [CheckResult(s, c, sev, p, u, [x for x in (sample or "").split(", ") if x], d, e, sec)
            for s, c, sev, p, u, sample, d, e, sec in rows]


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
