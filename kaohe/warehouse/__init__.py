"""Where the warehouse lives, how it is opened, its audit tables, and publishing the analyst copy.

Layout under the kaohe home (``--home`` or KAOHE_HOME):
  work/kaohe.duckdb       the writer's database (raw, staging, marts, audit); only kaohe opens it
  warehouse/kaohe.duckdb  the published analyst copy, replaced atomically after each run
  backups/                copies of the writer's database taken before a migration (newest 3)
  dagster/                the Dagster instance (runs, event logs), shared with ``dagster dev``
  reports/YYYY-MM/        rendered reports
  logs/                   run logs
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from kaohe.ingest import pii
from kaohe.ingest.contract import CONTRACT_FILE, Source, bucket_macro, load_contract
from kaohe.sqltext import literal, quote  # noqa: F401 - imported from here by the marts' code
from kaohe.warehouse import audit_tables as audit
from kaohe.warehouse import migrations
from kaohe.warehouse.audit_tables import ensure_audit

log = logging.getLogger("kaohe")

DEFAULT_MEMORY_LIMIT = "2GB"

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


@dataclass(frozen=True)
class Home:
    root: Path

    @property
    def work_db(self) -> Path:
        return self.root / "work" / "kaohe.duckdb"

    @property
    def published_db(self) -> Path:
        return self.root / "warehouse" / "kaohe.duckdb"

    @property
    def backups(self) -> Path:
        return self.root / "backups"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def tmp(self) -> Path:
        return self.root / "work" / "tmp"

    def create(self) -> Home:
        for p in (self.work_db.parent, self.published_db.parent, self.dagster_home, self.reports,
                  self.logs, self.tmp):
            p.mkdir(parents=True, exist_ok=True)
        return self


def connect(path: Path | str, read_only: bool = False, threads: int | None = None,
            memory_limit: str | None = None, temp_directory: Path | None = None
            ) -> duckdb.DuckDBPyConnection:
    """Open DuckDB with the project's settings (KAOHE_DUCKDB_THREADS / _MEMORY_LIMIT override)."""
    config: dict[str, str | bool | int] = {}
    threads = threads or int(os.environ.get("KAOHE_DUCKDB_THREADS", "0") or 0) or None
    # The writer stays well inside a 4 GiB machine budget by default and spills beyond it.
    memory_limit = memory_limit or os.environ.get("KAOHE_DUCKDB_MEMORY_LIMIT") or (
        None if read_only else DEFAULT_MEMORY_LIMIT)
    if threads:
        config["threads"] = threads
    if memory_limit:
        config["memory_limit"] = memory_limit
    if temp_directory and not read_only:
        config["temp_directory"] = str(temp_directory)
    con = duckdb.connect(str(path), read_only=read_only, config=config)
    con.execute("set enable_progress_bar = false")
    return con


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


def upgrade(home: Home, dry_run: bool = False) -> migrations.Upgrade:
    """Bring the home's writer database to this code's schema version, after a copy of it in
    ``<home>/backups`` (kaohe/warehouse/migrations). The caller holds the home's run lock, or is the
    writer of a step (which holds the database)."""
    return migrations.upgrade(home.work_db, home.backups,
                              lambda path, read_only: connect(path, read_only=read_only,
                                                              temp_directory=None),
                              dry_run=dry_run)


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


@dataclass
class _SharedWriter:
    """The writer connection a run executed in this process shares between its steps."""

    con: duckdb.DuckDBPyConnection | None = None  # opened by the first step that asks
    depth: int = 0  # writer() blocks using it now (a step's helpers may open it again)


# work database path -> the shared writer of the run executing in this process (run_writer)
_SHARED: dict[Path, _SharedWriter] = {}


@contextmanager
def run_writer(home: Home) -> Iterator[None]:
    """One writer connection for every step of a run executed in this process (``kaohe run``:
    Dagster's in-process executor runs the steps one after the other in this thread).

    Opening the work database, checking its schema and PII key and closing it again cost
    ~50 ms a step and dropped DuckDB's cache of the tables the next step reads; a run has ~90
    such blocks. The first ``writer(home)`` inside the block opens the connection as before (in
    the first step: a busy database or a wrong PII key fails that step with its message, and the
    development-key warning is that step's), the later ones reuse it, and at the end of each
    outermost use a transaction a failed step left open is rolled back and the step's temp
    tables and views are dropped, as closing the connection did. Steps of a run launched from
    the Dagster UI run in processes of their own and open their own writer, as before.
    """
    key = home.work_db.resolve()
    if key in _SHARED:  # already inside one
        yield
        return
    _SHARED[key] = _SharedWriter()
    try:
        yield
    finally:
        con = _SHARED.pop(key).con
        if con is not None:
            con.close()


@contextmanager
def writer(home: Home) -> Iterator[duckdb.DuckDBPyConnection]:
    """The single writer connection of a home: schema ensured, PII macros installed, and the
    PII key checked against the one the warehouse was built with (once per connection: inside
    ``run_writer`` the run's shared connection)."""
    shared = _SHARED.get(home.work_db.resolve())
    if shared is not None:
        if shared.con is None:
            shared.con = _open_writer(home)
        shared.depth += 1
        try:
            yield shared.con
        finally:
            shared.depth -= 1
            if shared.depth == 0:  # the step is done with it
                _end_open_transaction(shared.con)
                _drop_temp_relations(shared.con)
        return
    con = _open_writer(home)
    try:
        yield con
    finally:
        con.close()


def _open_writer(home: Home) -> duckdb.DuckDBPyConnection:
    """Open the work database (migrated first if a release before this one built it), install
    the PII macros, ensure the schema, check the PII key."""
    con = connect(home.work_db, temp_directory=home.tmp)
    try:
        if migrations.pending(con):  # built by an earlier release: copy, then migrate
            con.close()
            upgrade(home)
            con = connect(home.work_db, temp_directory=home.tmp)
        key, _ = pii.pii_key()
        pii.install_macros(con, key)
        ensure_schema(con)
        fingerprint = pii.key_fingerprint(key)
        stored = meta_get(con, "pii_key_fingerprint")
        if stored is None:
            meta_set(con, "pii_key_fingerprint", fingerprint)
        elif stored != fingerprint:
            raise pii.PiiKeyError(
                f"{pii.KEY_ENV} differs from the key this warehouse was built with: "
                "debtors would no longer join across files. Use the original key, or "
                "rebuild the warehouse from the landing folder with a new home."
            )
    except BaseException:
        con.close()
        raise
    return con


def _drop_temp_relations(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the temp tables and views a step made (a day's checked rows, the keys a source's
    files touched...): with a connection of its own each step started without them, and they
    would hold memory for the rest of the run. Temp macros (the PII ones) stay."""
    for name, kind in con.execute(
            "select table_name, 'table' from duckdb_tables() where temporary union all "
            "select view_name, 'view' from duckdb_views() where temporary and not internal"
    ).fetchall():
        con.execute(f"drop {kind} if exists temp.main.{quote(name)}")


def _end_open_transaction(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back a transaction left open (by a step that failed inside one); none is the rule."""
    try:
        con.execute("rollback")
    except duckdb.Error:
        pass  # no transaction was open
