"""Publishing: the analysts' copy ``<home>/warehouse/kaohe.duckdb``, replaced atomically.

The copy holds staging (as tables), the marts, the audit tables (without the quarantine's raw
text), the intermediate models (views and table macros over the copy's own tables) and the
analysts' views of the marts schema (``marts.agents_current``..., views over the copy's marts);
never the raw layer. Nothing is published while a PII column holds a clear value (kaohe.ingest.pii).
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import duckdb

from kaohe.config.operations import DEFAULT_STORAGE_VERSION
from kaohe.ingest.contract import Source, bucket_macro, load_contract
from kaohe.ingest.pii import assert_pseudonymised
from kaohe.models import ensure_analyst_views, ensure_intermediate
from kaohe.warehouse import (
    PUBLISHED_SCHEMAS,
    UNPUBLISHED_COLUMNS,
    Home,
    _comment,
    literal,
    quote,
    schema_fingerprint,
)

log = logging.getLogger("kaohe")


def publish(con: duckdb.DuckDBPyConnection, home: Home, full: bool = False,
            storage_version: str = DEFAULT_STORAGE_VERSION) -> dict[str, int]:
    """Write the analyst copy next to its final place, then atomically replace it.

    Analysts holding a read-only connection to the old file keep reading it until they reconnect;
    a crash before the rename leaves the previous copy untouched.

    Incremental when it can be (the nightly run): the new copy starts as a file copy of the
    previous one, staging tables receive only the rows of files loaded since (and lose the rows
    those supersede), the evidence chain its new batches, and the small marts and audit tables
    are rewritten. A full copy is made when there is no previous copy, the schema changed, a
    purge ran (purged rows must not survive in the file), a file was replaced since, or
    ``full``; a staging table whose row count then disagrees is copied whole.

    The copy is written in the DuckDB storage format ``storage_version`` (configuration
    ``publish.storage_version``; default v1.4.0, which DuckDB 1.4 LTS, the CLI from PyPI and the
    drivers analysts' tools bundle can open), whatever format the writer's database has; a
    previous copy in another format is not reused.
    """
    assert_pseudonymised(con)  # nothing is published while a PII column holds a clear value
    target = home.published_db
    for stale in target.parent.glob(f".{target.name}.*.tmp*"):  # left by a killed run
        stale.unlink(missing_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    last_file = con.execute("select coalesce(max(file_id), 0) from audit.file_registry"
                            ).fetchall()[0][0]
    since = _incremental_base(con, target, storage_version) if not full else None
    if since is not None:
        shutil.copyfile(target, tmp)  # keeps its format: reopened by DuckDB, never upgraded
        con.execute(f"attach {literal(str(tmp))} as pub")
    else:
        con.execute(f"attach {literal(str(tmp))} as pub "
                    f"(storage_version {literal(storage_version)})")
    counts: dict[str, int] = {}
    try:
        schemas = ", ".join(literal(s) for s in PUBLISHED_SCHEMAS)
        tables = con.execute(  # staging's views are published as tables; the analysts' views
            # of the marts schema are views again in the copy (below)
            "select schema_name, table_name, comment from duckdb_tables() "
            f"where database_name = current_database() and schema_name in ({schemas}) "
            "union all select schema_name, view_name, comment from duckdb_views() "
            f"where database_name = current_database() and schema_name in ({schemas}) "
            "and schema_name <> 'marts' and not internal order by all"
        ).fetchall()
        for schema in PUBLISHED_SCHEMAS:
            con.execute(f"create schema if not exists pub.{schema}")
        con.execute(bucket_macro("pub.main."))
        sources = load_contract()
        for schema, table, comment in tables:
            hidden = UNPUBLISHED_COLUMNS.get((schema, table), set())
            cols = [
                (name, ccomment)
                for name, ccomment in con.execute(
                    "select column_name, comment from duckdb_columns() where database_name = "
                    "current_database() and schema_name = ? and table_name = ? "
                    "order by column_index", [schema, table],
                ).fetchall()
                if name not in hidden
            ]
            select = ", ".join(quote(c) for c, _ in cols)
            name = f"{schema}.{quote(table)}"
            if since is not None and _append(con, name, select, sources.get(table)
                                             if schema == "staging" else None, since):
                pass  # brought up to date in place; its comments are already there
            else:
                con.execute(f"create or replace table pub.{name} as select {select} from {name}")
                if comment:
                    _comment(con, f"pub.{name}", comment, "table")
                for col, ccomment in cols:
                    if ccomment:
                        _comment(con, f"pub.{name}.{quote(col)}", ccomment, "column")
            counts[f"{schema}.{table}"] = con.execute(
                f"select count(*) from pub.{name}").fetchall()[0][0]
        # (the copy's table has no primary key: create table as select copies none)
        con.execute("delete from pub.audit.warehouse_meta where key like 'published_%'")
        con.execute("insert into pub.audit.warehouse_meta values "
                    "('published_file_id', ?), ('published_mode', ?), "
                    "('published_storage_version', ?)",
                    [str(last_file), "full" if since is None else "incremental",
                     storage_version])
    finally:
        con.execute("detach pub")
    # the shared rules, as views and table macros over the copy's own tables, and the analysts'
    # views over its marts
    copy = duckdb.connect(str(tmp))
    try:
        ensure_intermediate(copy, remember=False)
        ensure_analyst_views(copy)
    finally:
        copy.close()
    os.replace(tmp, target)
    return counts


def _incremental_base(con: duckdb.DuckDBPyConnection, target: Path, storage_version: str
                      ) -> int | None:
    """The last file id the published copy holds, if it can be brought up to date in place."""
    if not target.exists():
        return None
    try:
        con.execute(f"attach {literal(str(target))} as prev (read_only)")
    except duckdb.Error:
        return None  # unreadable: write a new copy
    work = con.execute("select current_database()").fetchall()[0][0]
    try:
        meta = dict(con.execute("select key, value from prev.audit.warehouse_meta").fetchall())
        # a purge or a re-masking of free text changed rows the previous copy holds
        purges = [[con.execute(f"select count(*) from {quote(db)}.audit.{log_table}"
                               ).fetchall()[0][0]
                   if con.execute("select count(*) from duckdb_tables() where database_name = ? "
                                  "and schema_name = 'audit' and table_name = ?",
                                  [db, log_table]).fetchall()[0][0] else 0
                   for log_table in ("purge_log", "pii_masking_log")] for db in ("prev", work)]
    except duckdb.Error:
        return None
    finally:
        con.execute("detach prev")
    since = meta.get("published_file_id")
    if (since is None or meta.get("schema_fingerprint") != schema_fingerprint()
            or meta.get("published_storage_version") != storage_version
            or purges[0] != purges[1]):
        return None
    replaced = con.execute("select count(*) from audit.file_registry where replaced_by > ?",
                           [int(since)]).fetchall()[0][0]
    return None if replaced else int(since)


def _append(con: duckdb.DuckDBPyConnection, name: str, select: str, src: Source | None,
            since: int) -> bool:
    """Bring ``pub.<name>`` up to date with the files after ``since``; False: copy it whole."""
    schema, table = name.split(".", 1)
    if not con.execute("select count(*) from duckdb_tables() where database_name = 'pub' and "
                       "schema_name = ? and table_name = ?",
                       [schema, table.strip('"')]).fetchall()[0][0]:
        return False
    if name == 'audit."evidence_chain"':  # append-only by batch
        con.execute(f"insert into pub.{name} select {select} from {name} e where batch > "
                    f"(select coalesce(max(batch), 0) from pub.{name} p where p.kind = e.kind)")
    elif src is not None:
        keys = " and ".join(f"p.{quote(k)} = n.{quote(k)}" for k in src.staging_key)
        con.execute(f"create or replace temp table _new_rows as select {select} from {name} "
                    "where _file_id > ?", [since])
        # versions superseded by the new files' rows, then the new rows
        con.execute(f"delete from pub.{name} p using _new_rows n where {keys}")
        con.execute(f"insert into pub.{name} select * from _new_rows")
        con.execute("drop table _new_rows")
    else:
        return False
    mine, theirs = (con.execute(f"select count(*) from {db}{name}").fetchall()[0][0]
                    for db in ("", "pub."))
    if mine != theirs:
        log.warning("publish: %s differs from the previous copy: copied whole", name)
        return False
    return True
