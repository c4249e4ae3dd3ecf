"""The suites' expectations in DuckDB: the Great Expectations types kaohe compiles to SQL
(row-level conditions, uniqueness, ``unexpected_rows_query``), run over the month's batch, the
row-level ones of a suite fused into one scan."""

from __future__ import annotations

import time

import duckdb

from kaohe.months import month_bounds
from kaohe.quality.results import CheckResult
from kaohe.quality.suites import SAMPLE, Suite, check_name
from kaohe.warehouse import quote


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
