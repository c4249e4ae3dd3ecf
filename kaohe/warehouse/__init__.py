"""Where the warehouse lives and how it is opened: the home's layout, the one writer and its lock,
the upgrade before it writes (the schema itself: kaohe/warehouse/schema.py).

Layout under the kaohe home (``--home`` or KAOHE_HOME):
  work/kaohe.duckdb       the writer's database (raw, staging, marts, audit); only kaohe opens it
  warehouse/kaohe.duckdb  the published analyst copy, replaced atomically after each run
  backups/                copies of the writer's database taken before a migration (newest 3)
  dagster/                the Dagster instance (runs, event logs), shared with ``dagster dev``
  reports/YYYY-MM/        rendered reports
  logs/                   run logs
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from kaohe.ingest import pii
from kaohe.sqltext import literal, quote  # noqa: F401 - imported from here by the marts' code
from kaohe.warehouse import migrations
from kaohe.warehouse.schema import (  # noqa: F401 - the schema's names, read through here
    LINEAGE_COLUMNS,
    PUBLISHED_SCHEMAS,
    SCHEMAS_DDL,
    UNPUBLISHED_COLUMNS,
    MigrationNeeded,
    _comment,
    ensure_schema,
    meta_get,
    meta_set,
    schema_fingerprint,
    source_columns_ddl,
    staging_select,
    superseded_table,
)

log = logging.getLogger("kaohe")

DEFAULT_MEMORY_LIMIT = "2GB"

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


def upgrade(home: Home, dry_run: bool = False) -> migrations.Upgrade:
    """Bring the home's writer database to this code's schema version, after a copy of it in
    ``<home>/backups`` (kaohe/warehouse/migrations). The caller holds the home's run lock, or is the
    writer of a step (which holds the database)."""
    return migrations.upgrade(home.work_db, home.backups,
                              lambda path, read_only: connect(path, read_only=read_only,
                                                              temp_directory=None),
                              dry_run=dry_run)


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
