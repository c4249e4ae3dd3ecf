"""A check's result (``CheckResult``), and the results stored per month in
``audit.check_results`` (the latest run of a suite wins)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date

import duckdb

from kaohe.warehouse import audit_tables as audit


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
