"""The SQL plumbing the gaming planters share (``kaohe.generate.gaming_plants``): seeded
pseudo-random numbers, inserts that copy a template row's lineage, unique ids, and the held-case
and payment-holder relations."""

from __future__ import annotations

import re

import duckdb

NEVER = "timestamp '9999-12-31'"

# a uniform number in [0, 1) from a text key: the same key, the same number, on every run
SEED_MACRO = ("create or replace temp macro _gaming_u(k) as "
          "((md5_number(k) % 1000000007)::double / 1000000007)")


def run(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None
         ) -> duckdb.DuckDBPyConnection:
    """Execute with the named parameters the statement uses (DuckDB refuses extra ones)."""
    names = set(re.findall(r"\$([a-z_]+)", sql))
    return con.execute(sql, {k: v for k, v in (params or {}).items() if k in names})


def columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in con.execute(
        "select column_name from duckdb_columns() where database_name = current_database() "
        "and schema_name = 'raw' and table_name = ? order by column_index", [table]).fetchall()]


def insert(con: duckdb.DuckDBPyConnection, table: str, source_sql: str,
            overrides: dict[str, str], params: dict) -> int:
    """Insert into raw.<table> every row of ``source_sql`` (which has the table's columns, and
    maybe more), the columns in ``overrides`` replaced by their expression; returns the count."""
    cols = columns(con, table)
    select = ", ".join(f"{overrides[c]} as \"{c}\"" if c in overrides else f"s.\"{c}\""
                       for c in cols)
    before = con.execute(f"select count(*) from raw.{table}").fetchall()[0][0]
    run(con, f"insert into raw.{table} by name select {select} from ({source_sql}) s", params)
    return con.execute(f"select count(*) from raw.{table}").fetchall()[0][0] - before


def count(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> int:
    return run(con, sql, params).fetchall()[0][0]


def unique_ids(con: duckdb.DuckDBPyConnection, table: str, key: str) -> None:
    dup = con.execute(f"select {key}, count(*) from staging.{table} group by all "
                      "having count(*) > 1 limit 1").fetchall()
    if dup:
        raise ValueError(f"planting made a duplicate {table}.{key}: {dup[0][0]} (planted twice "
                         "with the same seed?)")


# the agent's holdings overlapping the month (an open one is held until 9999-12-31)
HELD = f"""
held as (
    select assignment_id, case_id, agent_id, assigned_at, amount_due, dpd_at_assignment,
           coalesce(released_at, {NEVER}) as held_until
    from staging.assignments
    where agent_id = $agent and assigned_at < $end::timestamp
        and coalesce(released_at, {NEVER}) > $start::timestamp
)"""

# the agent's calls of the month on their held cases, numbered in a seeded order (ti of tn):
# the templates new calls are copied from (after HELD)
CALL_TEMPLATES = """
own as (
    select c.*, h.assigned_at as h_from, h.held_until as h_until
    from staging.calls c
    join held h on h.case_id = c.case_id and c.started_at >= h.assigned_at
        and c.started_at < h.held_until
    where c.agent_id = $agent and c.started_at >= $start::timestamp
        and c.started_at < $end::timestamp
    qualify row_number() over (partition by c.call_id order by h.assigned_at desc) = 1
),
tmpl as (
    select *, row_number() over (order by _gaming_u($key || call_id)) - 1 as ti,
           count(*) over () as tn
    from own
)"""

# who held each payment of the month's case when it was made (intermediate.event_holders'
# rule: the latest assigned_at, then the highest assignment_id)
PAY_HOLDER = f"""
pay_holder as (
    select r.payment_id, r.case_id, r.paid_at, r.amount, a.assignment_id, a.agent_id,
           a.assigned_at, coalesce(a.released_at, {NEVER}) as held_until, a.amount_due,
           a.dpd_at_assignment
    from staging.repayments r
    join staging.assignments a
        on a.case_id = r.case_id and a.assigned_at <= r.paid_at
        and r.paid_at < coalesce(a.released_at, {NEVER})
    where r.payment_type = 'payment' and r.paid_at >= $start::timestamp
        and r.paid_at < $end::timestamp
    qualify row_number() over (partition by r.payment_id
                               order by a.assigned_at desc, a.assignment_id desc) = 1
)"""


# --- the behaviours: each plants for one agent, returns {table: {operation: rows}} ----------


def uniform(con: duckdb.DuckDBPyConnection, key: str) -> float:
    """A number in [0, 1) from a text key (SEED_MACRO must have run on ``con``)."""
    return con.execute("select _gaming_u(?)", [key]).fetchall()[0][0]
