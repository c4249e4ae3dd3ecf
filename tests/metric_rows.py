"""Hand-written staging rows for the mart tests, and reading a built month back.

``insert(con, "calls", [call("K1", "A", "C1", "2026-08-03 10:00:00"), ...])`` writes rows straight
into ``staging.<table>``: columns a row leaves out are NULL, lineage columns get test defaults.
Values are given as Python values or strings and cast by DuckDB to the contract's types.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from kaohe.config import load_config
from kaohe.models import ensure_intermediate
from kaohe.models.marts import build_month
from kaohe.warehouse import ensure_schema, quote

TABLE = "agent_month_metrics"
CFG = load_config()


_TEMPLATE: list[Path] = []  # an empty warehouse, built once per test process


def warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    """A fresh warehouse with every staging table, empty, and the intermediate models (a copy of
    one built once per process: building it costs ~0.4 s, a copy milliseconds); a warehouse
    that exists already is opened, its schema ensured."""
    if path.exists():
        con = duckdb.connect(str(path))
        ensure_schema(con)
        ensure_intermediate(con)
        return con
    if not _TEMPLATE or not _TEMPLATE[0].exists():
        template = Path(tempfile.mkdtemp(prefix="kaohe-empty-warehouse-")) / "empty.duckdb"
        con = duckdb.connect(str(template))
        ensure_schema(con)
        ensure_intermediate(con)
        con.close()  # checkpointed: the file alone is the whole database
        atexit.register(shutil.rmtree, template.parent, True)
        _TEMPLATE[:] = [template]
    shutil.copyfile(_TEMPLATE[0], path)
    return duckdb.connect(str(path))


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` into ``staging.<table>`` by name, in one statement (into raw, whose
    rows the staging view shows: no test row is superseded)."""
    if not rows:
        return
    types = dict(con.execute(
        "select column_name, data_type from duckdb_columns() where database_name = "
        "current_database() and schema_name = 'staging' and table_name = ? "
        "order by column_index", [table],
    ).fetchall())
    assert types, f"no table staging.{table}"
    full = []
    for i, row in enumerate(rows, start=2):
        unknown = set(row) - set(types)
        assert not unknown, f"staging.{table} has no column {sorted(unknown)}"
        full.append({"_file_id": 0, "_file": f"test/{table}.csv", "_line": i, "_seq": 0, **row})
    names = [n for n in types if any(n in r for r in full)]
    frame = pl.DataFrame(
        {n: [_text(r.get(n)) for r in full] for n in names},
        schema={n: pl.Utf8 for n in names},
    )
    select = ", ".join(f"cast({quote(n)} as {types[n]}) as {quote(n)}" for n in names)
    con.register("_metric_rows", frame)
    try:
        con.execute(f"insert into raw.{table} by name select {select} from _metric_rows")
    finally:
        con.unregister("_metric_rows")


def build(con: duckdb.DuckDBPyConnection, month: str = "2026-08", cfg=None
          ) -> dict[str, dict[str, Any]]:
    """Build ``month`` of the mart and return its rows by agent_id."""
    build_month(con, TABLE, cfg or CFG, month)
    return month_rows(con, month)


def month_rows(con: duckdb.DuckDBPyConnection, month: str = "2026-08"
               ) -> dict[str, dict[str, Any]]:
    cur = con.execute(
        f"select * exclude (config_version) from marts.{TABLE} where month = ? order by agent_id",
        [date.fromisoformat(f"{month}-01")],
    )
    names = [d[0] for d in cur.description]
    data = cur.fetchall()
    rows = [dict(zip(names, r, strict=True)) for r in data]
    by_agent = {r["agent_id"]: r for r in rows}
    assert len(by_agent) == len(rows), "more than one row for an agent in a month"
    return by_agent


# row makers: the columns each rule needs, sensible defaults for the rest ----------------------

def agent(agent_id: str, snapshot_date: str, team_id: str = "T1", level: str = "L1",
          status: str = "active") -> dict[str, Any]:
    return dict(snapshot_date=snapshot_date, agent_id=agent_id, team_id=team_id, level=level,
                employment_type="in_house", status=status)


def case(case_id: str, debtor_id: str, snapshot_date: str = "2026-08-01",
         hardship_flag: bool = False) -> dict[str, Any]:
    return dict(snapshot_date=snapshot_date, case_id=case_id, debtor_id=debtor_id,
                hardship_flag=hardship_flag)


def assignment(assignment_id: str, case_id: str, agent_id: str, assigned_at: str,
               released_at: str | None = None, dpd: int = 10, amount_due: str = "1000.00"
               ) -> dict[str, Any]:
    return dict(assignment_id=assignment_id, case_id=case_id, agent_id=agent_id,
                assigned_at=assigned_at, released_at=released_at, dpd_at_assignment=dpd,
                amount_due=amount_due)


def payment(payment_id: str, case_id: str, paid_at: str, amount: str) -> dict[str, Any]:
    return dict(payment_id=payment_id, case_id=case_id, paid_at=paid_at, amount=amount,
                payment_type="payment")


def reversal(payment_id: str, of: str, case_id: str, paid_at: str, amount: str
             ) -> dict[str, Any]:
    return dict(payment_id=payment_id, case_id=case_id, paid_at=paid_at, amount=amount,
                payment_type="reversal", reversal_of=of)


def call(call_id: str, agent_id: str, case_id: str, started_at: str, outcome: str = "no_answer",
         duration_s: int = 0, ptp_amount: str | None = None, ptp_due_date: str | None = None,
         dialled_number: str | None = None) -> dict[str, Any]:
    return dict(call_id=call_id, agent_id=agent_id, case_id=case_id, started_at=started_at,
                outcome=outcome, duration_s=duration_s, ptp_amount=ptp_amount,
                ptp_due_date=ptp_due_date, dialled_number=dialled_number)


def complaint(complaint_id: str, received_at: str, case_id: str | None = None,
              agent_id: str | None = None, category: str = "harassment",
              substantiated: bool | None = None) -> dict[str, Any]:
    return dict(complaint_id=complaint_id, case_id=case_id, agent_id=agent_id,
                received_at=received_at, category=category, substantiated=substantiated)


def violation(violation_id: str, agent_id: str, occurred_on: str, violation_type: str = "other",
              severity: str = "minor", confirmed: bool | None = True) -> dict[str, Any]:
    return dict(violation_id=violation_id, agent_id=agent_id, occurred_on=occurred_on,
                violation_type=violation_type, severity=severity, confirmed=confirmed)


def training(enrolment_id: str, agent_id: str, course_type: str, due_date: str | None = None,
             completed_on: str | None = None, passed: bool | None = None,
             score: str | None = None) -> dict[str, Any]:
    return dict(enrolment_id=enrolment_id, agent_id=agent_id, course_type=course_type,
                due_date=due_date, completed_on=completed_on, passed=passed, score=score)
