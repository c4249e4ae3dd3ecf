"""Data-quality gates: the suites in ``expectations/`` run against one month of the warehouse.

Each suite file is a Great Expectations suite (``name``, ``expectations`` with ``type``,
``kwargs``, ``meta``), plus kaohe's ``meta.kaohe``: the engine and the month's batch.
A staging suite names its source (``meta.kaohe.contract``): its column-level expectations (not
null, unique key, value sets, ranges; blocking) and its references (every agent, case or call an
id names exists in its master; warnings listing the unknown keys) are generated from
``kaohe/contract.yaml`` when the suites are loaded, so they cannot drift from the contract; the
file keeps only what the contract cannot say (cross-table and business rules).
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
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import date
from functools import cache
from pathlib import Path

import duckdb

from kaohe import audit, evidence
from kaohe.contract import Source, load_contract
from kaohe.months import month_bounds
from kaohe.warehouse import quote

SUITES_DIR = Path(__file__).resolve().parents[1] / "expectations"
GENERATED_DIR = SUITES_DIR / "generated"
SAMPLE = 5


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


@dataclass(frozen=True)
class Suite:
    name: str
    engine: str
    batch: str
    expectations: tuple[dict, ...]
    path: Path


def contract_expectations(src: Source) -> list[dict]:
    """The column-level expectations the contract implies for ``staging.<source>``, all blocking:
    every non-nullable column not null, the key unique, every enum as a value set, every
    min / max / gt as a range (gt: ``strict_min``, the value must be greater)."""
    out = []

    def add(kind: str, kwargs: dict, description: str, where: str) -> None:
        out.append({"type": f"expect_{kind}", "kwargs": kwargs, "meta": {
            "severity": "blocking", "description": description,
            "contract": f"sources.{src.name}.{where}"}})

    for c in src.columns:
        if not c.nullable:
            add("column_values_to_not_be_null", {"column": c.name}, f"{c.name} is required",
                f"columns.{c.name}")
    if len(src.pk) == 1:
        add("column_values_to_be_unique", {"column": src.pk[0]}, "primary key unique",
            f"columns.{src.pk[0]}")
    else:
        add("compound_columns_to_be_unique", {"column_list": list(src.pk)},
            "primary key unique", "pk")
    for c in src.columns:
        if c.enum:
            add("column_values_to_be_in_set", {"column": c.name, "value_set": list(c.enum)},
                f"{c.name} within the contract's values", f"columns.{c.name}")
        if c.gt is not None and c.min is not None:
            raise ValueError(f"contract: sources.{src.name}.columns.{c.name}: give min or gt, "
                             "not both")
        if c.min is not None or c.max is not None or c.gt is not None:
            kwargs: dict = {"column": c.name}
            if c.gt is not None:
                kwargs |= {"min_value": c.gt, "strict_min": True}
            elif c.min is not None:
                kwargs["min_value"] = c.min
            if c.max is not None:
                kwargs["max_value"] = c.max
            add("column_values_to_be_between", kwargs, f"{c.name} within its range",
                f"columns.{c.name}")
    return out


def reference_expectations(src: Source, batch: str) -> list[dict]:
    """Warnings, one per identifier column naming a record of another source: every
    ``agent_id`` names an agent of the roster, every ``case_id`` a case of the case master,
    every ``call_id`` a call (a master is a source whose key is that one column). The query
    returns the distinct unknown keys: the result's sample lists them. A batch defined through
    the master itself (qa_flags of the month's calls) cannot hold an orphan: the rows delivered
    in the month's files are checked instead."""
    masters = {s.pk[0]: s.name for s in load_contract().values() if len(s.pk) == 1}
    out = []
    for c in src.columns:
        master = masters.get(c.name)
        if not c.id or master is None or master == src.name:
            continue
        col = quote(c.name)
        rows = "{batch}" if f"staging.{master}" not in batch else (
            f"(select * from staging.{src.name} where _business_date >= $month_start "
            "and _business_date < $month_end)")
        out.append({"type": "unexpected_rows_query", "kwargs": {
            "name": f"{c.name}_known",
            "unexpected_rows_query": f"select distinct x.{col} from {rows} x where x.{col} is "
            f"not null and not exists (select 1 from staging.{master} m where m.{col} = "
            f"x.{col}) order by 1"}, "meta": {
            "severity": "warning",
            "description": f"every {c.name} names a record of staging.{master} (unexpected: "
            f"how many {c.name}s are unknown; the sample names them)",
            "contract": f"sources.{src.name}.columns.{c.name}"}})
    return out


def _read_suite(path: Path) -> dict:
    """A suite file with the contract's expectations of its source put in, as it runs."""
    data = json.loads(path.read_text(encoding="utf-8"))
    meta = data.get("meta", {}).get("kaohe", {})
    if meta.get("engine") not in ("gx", "sql"):
        raise ValueError(f"{path}: meta.kaohe.engine must be gx or sql")
    if "batch" not in meta:
        raise ValueError(f"{path}: meta.kaohe.batch (the month's rows) is missing")
    for i, exp in enumerate(data["expectations"]):
        if exp.get("meta", {}).get("severity") not in ("blocking", "warning"):
            raise ValueError(f"{path}: expectations[{i}].meta.severity must be blocking or "
                             "warning")
    source = meta.get("contract")
    if source is None:
        return data
    if data["name"] != f"staging.{source}" or source not in load_contract():
        raise ValueError(f"{path}: meta.kaohe.contract must be the source of staging.<source>")
    generated = contract_expectations(load_contract()[source]) + reference_expectations(
        load_contract()[source], meta["batch"])
    names = {check_name(e) for e in generated}
    for exp in data["expectations"]:
        if check_name(exp) in names:
            raise ValueError(f"{path}: {check_name(exp)} is generated from kaohe/contract.yaml "
                             f"(sources.{source}): change the contract, not the suite")
    return {**data, "expectations": generated + data["expectations"]}


@cache
def load_suites(directory: Path = SUITES_DIR) -> tuple[Suite, ...]:
    suites = []
    for path in sorted(directory.glob("*.json")):
        data = _read_suite(path)
        meta = data["meta"]["kaohe"]
        suites.append(Suite(data["name"], meta["engine"], meta["batch"],
                            tuple(data["expectations"]), path))
    return tuple(suites)


def generated_suites(directory: Path = SUITES_DIR) -> dict[str, str]:
    """File name -> text of each suite with generated expectations, complete as it runs, for
    ``expectations/generated/`` (for reading: the run generates them again when it loads)."""
    out = {}
    for path in sorted(directory.glob("*.json")):
        data = _read_suite(path)
        meta = dict(data["meta"]["kaohe"])
        source = meta.pop("contract", None)
        if source is None:
            continue
        meta["generated"] = (
            "GENERATED for reading, do not edit: the suite as it runs, i.e. the column-level "
            f"expectations generated from kaohe/contract.yaml (sources.{source}), then those of "
            f"expectations/{path.name}. Edit those, then run "
            "`uv run python -m kaohe.quality --write-generated`.")
        suite = {"name": data["name"], "meta": {**data["meta"], "kaohe": meta},
                 "expectations": data["expectations"]}
        out[path.name] = json.dumps(suite, indent=2, ensure_ascii=False) + "\n"
    return out


def write_generated(directory: Path = GENERATED_DIR) -> list[Path]:
    directory.mkdir(exist_ok=True)
    written = []
    suites = generated_suites()
    for stale in directory.glob("*.json"):
        if stale.name not in suites:
            stale.unlink()
    for name, text in suites.items():
        (directory / name).write_text(text, encoding="utf-8")
        written.append(directory / name)
    return written


def suites_for(table: str) -> list[Suite]:
    return [s for s in load_suites() if s.name == table]


def referenced_tables(table: str) -> set[str]:
    """Other staging tables the suites of ``table`` read (their asset must run first)."""
    text = json.dumps([s.expectations for s in suites_for(table)] + [s.batch for s in
                                                                     suites_for(table)])
    return set(re.findall(r"staging\.(\w+)", text)) - {table.removeprefix("staging.")}


def check_name(exp: dict) -> str:
    kw = exp.get("kwargs", {})
    if exp["type"] == "unexpected_rows_query":
        return kw.get("name") or kw.get("description", "query")[:60]
    target = kw.get("column") or "+".join(kw.get("column_list", [])) or ""
    return f"{exp['type'].removeprefix('expect_')}({target})"


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
