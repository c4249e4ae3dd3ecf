"""The writer database's schema: the schemas, the raw and superseded tables and the staging
views made from the data contract, the comments, the audit tables (kaohe/warehouse/audit_tables.py),
the fingerprint of it all and the warehouse's metadata. ``ensure_schema`` creates what is missing
in a new or current database; an older one is migrated first (kaohe/warehouse/migrations)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from kaohe.ingest.contract import CONTRACT_FILE, Source, bucket_macro, load_contract
from kaohe.sqltext import literal, quote
from kaohe.warehouse import audit_tables as audit
from kaohe.warehouse import migrations
from kaohe.warehouse.audit_tables import ensure_audit

# Schemas an analyst may see in the published copy. raw (lineage-level detail) and the
# quarantine's raw text stay in the writer's database only.
PUBLISHED_SCHEMAS = ("staging", "marts", "audit")
UNPUBLISHED_COLUMNS = {("audit", "quarantine"): {"raw_text"}}
LINEAGE_COLUMNS = {
    "_file_id": ("BIGINT", "audit.file_registry.file_id of the file this row came from"),
    "_file": ("VARCHAR", "path of the source file, relative to the landing folder"),
    "_line": ("BIGINT", "record number in the source file (header = 1)"),
    "_business_date": ("DATE", "business date from the file name"),
    "_seq": ("INTEGER", "sequence from the file name (0 when absent)"),
}


SCHEMAS_DDL = """
create schema if not exists raw;
create schema if not exists staging;
create schema if not exists marts;
"""


def _comment(con: duckdb.DuckDBPyConnection, target: str, text: str, kind: str = "") -> None:
    kind = kind or ("table" if target.count(".") == 1 else "column")
    con.execute(f"comment on {kind} {target} is {literal(text)}")


def source_columns_ddl(src: Source) -> list[str]:
    cols = [f"{quote(c.name)} {c.sql_type}" for c in src.columns]
    if src.kind == "snapshot":
        cols.insert(0, "snapshot_date DATE")
    return cols


def schema_fingerprint() -> str:
    """Changes whenever the contract, this module, the audit schema or the migrations change (the
    schema version number is kaohe.warehouse.migrations.schema_version())."""
    digest = hashlib.sha256(CONTRACT_FILE.read_bytes())
    digest.update(Path(__file__).read_bytes())
    digest.update(Path(audit.__file__).read_bytes())
    digest.update(str(migrations.schema_version()).encode())
    return digest.hexdigest()[:16]


class MigrationNeeded(migrations.MigrationError):
    """The open database is at an older schema version: kaohe run or kaohe migrate upgrades it."""


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every schema and table the ingestion needs (idempotent, quick when up to date).

    The database must be new or at this code's schema version: an older one is upgraded by
    ``upgrade(home)`` first (``kaohe run`` and every writer do it), a newer one is refused."""
    fingerprint = schema_fingerprint()
    exists = con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'audit' "
        "and table_name = 'warehouse_meta' and database_name = current_database()"
    ).fetchall()[0][0]
    if exists and meta_get(con, "schema_fingerprint") == fingerprint:
        return
    found = migrations.detect_version(con)
    if found is not None and migrations.pending(con):  # refuses one from the future
        raise MigrationNeeded(
            f"the warehouse is at schema version {found}, this kaohe writes version "
            f"{migrations.schema_version()}: run `kaohe migrate --home DIR` (kaohe run does it)")
    con.execute(SCHEMAS_DDL)
    ensure_audit(con)  # every audit table, in one place (kaohe/warehouse/audit_tables.py)
    # the bucket of an assignment: a macro made from the contract's buckets, used by every
    # query that needs it, here and in the analyst copy
    con.execute(bucket_macro())
    lineage = [f"{name} {typ}" for name, (typ, _) in LINEAGE_COLUMNS.items()]
    for src in load_contract().values():
        cols = source_columns_ddl(src)
        con.execute(f"create table if not exists raw.{src.name} ({', '.join(cols + lineage)})")
        keys = [c for c in cols if c.split(" ", 1)[0].strip('"') in src.staging_key]
        con.execute(f"create table if not exists {superseded_table(src)} "
                    f"({', '.join(keys)}, _file_id BIGINT)")
        if con.execute(
            "select count(*) from duckdb_tables() where database_name = current_database() "
            "and schema_name = 'staging' and table_name = ?", [src.name]).fetchall()[0][0]:
            # A warehouse from before staging became a view: staging is re-derived from raw
            # (the next run recomputes every source's superseded versions).
            con.execute(f"drop table staging.{src.name}")
            con.execute("update audit.file_registry set staged = false where source = ?",
                        [src.name])
        con.execute(f"create or replace view staging.{src.name} as {staging_select(src)}")
        _comment(con, f"staging.{src.name}", f"{src.description}; {_delivery(src)}")
        for col in src.columns:
            note = f"{col.type}" + (" (primary key)" if col.pk else "")
            if col.pii:
                note = "HMAC-SHA256 of the debtor's value under KAOHE_PII_KEY (never clear text)"
            elif col.enum:
                note += ": one of " + ", ".join(col.enum)
            _comment(con, f"staging.{src.name}.{quote(col.name)}", note)
        if src.kind == "snapshot":
            _comment(con, f"staging.{src.name}.snapshot_date", "business date of the snapshot file")
        for name, (_, text) in LINEAGE_COLUMNS.items():
            _comment(con, f"staging.{src.name}.{name}", text)
    if found is None:
        migrations.stamp_created(con)
    meta_set(con, "schema_fingerprint", fingerprint)


def superseded_table(src: Source) -> str:
    return f"raw.{src.name}__superseded"


def staging_select(src: Source) -> str:
    """``staging.<source>``: the rows of raw that no later file superseded.

    One physical copy of every row: raw holds every accepted row of every file, and
    ``raw.<source>__superseded`` the (key, file) of the versions a later file replaced, a small
    table maintained by the ingestion. The view costs an anti join against that small table.
    """
    cols = (["snapshot_date"] if src.kind == "snapshot" else []) + [
        quote(c) for c in src.column_names] + list(LINEAGE_COLUMNS)
    match = " and ".join(f"s.{quote(k)} = r.{quote(k)}" for k in src.staging_key)
    return (f"select {', '.join('r.' + c for c in cols)} from raw.{src.name} r "
            f"anti join {superseded_table(src)} s on {match} and s._file_id = r._file_id")


def _delivery(src: Source) -> str:
    key = ", ".join(src.pk)
    if src.kind == "snapshot":
        return f"one row per snapshot_date and {key} (history kept; latest file wins per date)"
    return f"one row per {key}: the latest file wins (business date, then seq, then arrival)"


def meta_get(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    rows = con.execute("select value from audit.warehouse_meta where key = ?", [key]).fetchall()
    return rows[0][0] if rows else None


def meta_set(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute('insert or replace into audit.warehouse_meta ("key", "value") values (?, ?)',
                [key, value])
