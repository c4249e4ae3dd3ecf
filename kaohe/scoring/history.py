"""The published history, read by the rule tools: a scratch database over the published copy,
and the scoring frames of the appraised agent-months of some months.

``kaohe whatif`` re-scores a month in a scratch database; ``kaohe calibrate`` fits rules and
bands on the scoring frames; ``kaohe audit-config --home`` checks rules against them. All three
read this module, and it reads none of them (it sits below them: scorecard, marts' shared rules,
months, the warehouse's macros).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from kaohe.config import Config
from kaohe.ingest.contract import bucket_macro
from kaohe.models import ensure_intermediate
from kaohe.months import month_bounds
from kaohe.scoring.scorecard import scoring_inputs
from kaohe.warehouse import literal


class NoHistoryError(RuntimeError):
    """The published warehouse has no appraised agent-month in the months asked for."""


def scratch(published: Path, month: str | None, rebuilt: tuple[str, ...] = ()
            ) -> tuple[duckdb.DuckDBPyConnection, dict]:
    """An in-memory database reading the published copy (and the warehouse meta); with a
    ``month``, the marts named in ``rebuilt`` are local copies without that month, to be
    rebuilt."""
    con = duckdb.connect()
    con.execute(f"attach {literal(str(published))} as pub (read_only)")
    tables = con.execute("select schema_name, table_name from duckdb_tables() "
                         "where database_name = 'pub' and schema_name in ('staging', 'marts', "
                         "'audit')").fetchall()
    for schema in ("staging", "marts", "audit"):
        con.execute(f"create schema {schema}")
    start = month_bounds(month)[0] if month else None
    for schema, table in tables:
        if schema == "audit" and table == "warehouse_meta":  # the builders write to it
            con.execute('create table audit.warehouse_meta ("key" varchar primary key, '
                        '"value" varchar)')
            con.execute('insert into audit.warehouse_meta ("key", "value") '
                        'select "key", "value" from pub.audit.warehouse_meta')
        elif month and schema == "marts" and table in rebuilt:
            # a local copy of the other months; the month itself is rebuilt
            con.execute(f"create table marts.{table} as select * from pub.marts.{table} "
                        f"where month <> ?", [start])
        else:
            con.execute(f"create view {schema}.{table} as select * from pub.{schema}.{table}")
    con.execute(bucket_macro())
    ensure_intermediate(con)
    meta = dict(con.execute("select key, value from pub.audit.warehouse_meta").fetchall())
    return con, meta


def scoring_history(published: Path, months: list[str], cfg: Config) -> pl.DataFrame:
    """The scoring frames of the appraised agent-months (grade not NA, not VETO) of ``months``:
    the scorecard's own inputs."""
    frames = []
    con, _ = scratch(published, None)
    try:
        for month in months:
            start = month_bounds(month)[0]
            kept = con.execute(
                "select agent_id from marts.agent_month_scorecard where month = ? and "
                "grade not in ('NA', 'VETO')", [start]).fetchall()
            if not kept:
                continue
            frame = scoring_inputs(con, cfg, month)
            frames.append(frame.filter(pl.col("agent_id").is_in([k for (k,) in kept])))
    finally:
        con.close()
    if not frames:
        raise NoHistoryError("no appraised agent-month in the published warehouse for "
                             f"{months[0]}..{months[-1]}: run those months first")
    return pl.concat(frames, how="diagonal_relaxed")
