"""Versioned migrations of the writer's database: a warehouse built by any earlier release keeps
working after an upgrade.

A migration is a file ``kaohe/warehouse/migrations/NNNN_<slug>.yaml``: the number is the schema
version it brings a warehouse to (from NNNN - 1), its ``tables`` say what it creates and adds,
frozen as they were at that release (never read from today's contract or dictionaries, which move
on), ``sql`` holds statements the tables cannot say (renames, conversions), and ``lender_action``
what a lender must do (the CHANGELOG repeats it). Views and macros are code, not data: every run
recreates them from ``sql/`` after the migrations, so a migration only changes tables.

The rules (docs/operations.md, "Upgrading"):
- ``audit.schema_migrations`` records every version reached, how (``created`` for a new warehouse,
  ``detected`` for a warehouse built before this table existed, ``applied``), when, in how many
  seconds and by which kaohe; the schema version is its highest ``version``.
- A warehouse from before the table is recognised by its tables: version 1 (the version-1
  release: no ``raw.qa_reviews``), version 2 (the release of contract version 2).
- Each migration runs in one transaction together with its row of ``audit.schema_migrations``:
  a failed or killed migration leaves the warehouse at the previous version and the next run
  applies it again.
- A new column is NULL in the rows already there (never a guessed value). A column the lender's
  files brought before the contract knew it (kept as text by the ingestion) is kept as
  ``<name>__unchecked`` and the typed column starts NULL: its values were never checked.
- Mart tables keep the dictionary's column order (they are rebuilt, rows and comments kept);
  raw and audit tables get new columns at the end (their order means nothing; millions of rows).
- A warehouse newer than this code is refused (``WarehouseTooNew``), one line naming both.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import duckdb
import yaml

from kaohe.sqltext import literal, quote
from kaohe.warehouse import audit_tables as audit

HERE = Path(__file__).parent
FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.yaml$")
BACKUPS_KEPT = 3
# beyond the database's own size: room for the copy's metadata and the migration's WAL
BACKUP_MARGIN_BYTES = 64 * 1024 * 1024
ORDERED_SCHEMAS = ("marts",)  # tables whose column order analysts see (select *)


class MigrationError(Exception):
    """The warehouse cannot be brought to this code's schema; the message says what to do."""


class WarehouseTooNew(MigrationError):
    """The warehouse was written by a newer kaohe."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    after: str | None = None  # for an ordered (mart) table: the column it follows


@dataclass(frozen=True)
class TableChange:
    table: str  # schema.name
    create: tuple[Column, ...] = ()
    add: tuple[Column, ...] = ()


@dataclass(frozen=True)
class Migration:
    version: int
    slug: str
    title: str
    release: str
    lender_action: str
    tables: tuple[TableChange, ...] = ()
    sql: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.version:04d}_{self.slug}"


def _columns(rows: list, with_after: bool) -> tuple[Column, ...]:
    out = []
    for row in rows:
        name, typ, *rest = row
        out.append(Column(str(name), str(typ), str(rest[0]) if with_after and rest else None))
    return tuple(out)


def load(path: Path) -> Migration:
    m = FILE_NAME.match(path.name)
    if not m:
        raise MigrationError(f"{path}: a migration is named NNNN_<slug>.yaml")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    unknown = set(data) - {"version", "title", "release", "lender_action", "tables", "sql"}
    if unknown or data.get("version") != int(m.group(1)):
        raise MigrationError(f"{path}: unknown keys {sorted(unknown)} or a version other than "
                             f"the file's number")
    tables = tuple(
        TableChange(table, _columns(spec.get("create", []), False),
                    _columns(spec.get("add", []), True))
        for table, spec in (data.get("tables") or {}).items())
    return Migration(data["version"], m.group(2), data["title"], str(data["release"]),
                     data["lender_action"].strip(), tables, tuple(data.get("sql") or ()))


def migrations() -> list[Migration]:
    """Every migration, in order; their numbers run 2, 3, ... without a gap."""
    return list(_migrations())


@cache
def _migrations() -> tuple[Migration, ...]:
    """The files, read once per process (every writer open asks for the schema version)."""
    found = sorted((load(p) for p in HERE.glob("*.yaml")), key=lambda m: m.version)
    for expected, m in enumerate(found, start=2):
        if m.version != expected:
            raise MigrationError(f"migration {m.name}: expected number {expected:04d}")
    return tuple(found)


def schema_version() -> int:
    """The schema version this code writes: the number of its last migration."""
    return migrations()[-1].version


def kaohe_version() -> str:
    try:
        return version("kaohe")
    except PackageNotFoundError:
        return "unknown"


# ---------------------------------------------------------------------------------------------
# reading a warehouse


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(con.execute(
        "select count(*) from duckdb_tables() where database_name = current_database() "
        "and schema_name = ? and table_name = ?", [schema, table]).fetchall()[0][0])


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    schema, name = table.split(".")
    return [(c, t) for c, t in con.execute(
        "select column_name, data_type from duckdb_columns() where database_name = "
        "current_database() and schema_name = ? and table_name = ? order by column_index",
        [schema, name]).fetchall()]


def detect_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The schema version of the open warehouse; None for a new (empty) one."""
    if _has_table(con, "audit", "schema_migrations"):
        found = con.execute("select max(version) from audit.schema_migrations").fetchall()[0][0]
        if found is not None:
            return int(found)
    if not _has_table(con, "audit", "warehouse_meta"):
        return None
    # built before audit.schema_migrations: recognised by what the release created
    return 2 if _has_table(con, "raw", "qa_reviews") else 1


def pending(con: duckdb.DuckDBPyConnection) -> list[Migration]:
    """The migrations the open warehouse needs, in order (refuses a warehouse from the future)."""
    current = detect_version(con)
    if current is None:
        return []
    latest = schema_version()
    if current > latest:
        raise WarehouseTooNew(
            f"the warehouse is at schema version {current}, newer than the version {latest} "
            f"this kaohe {kaohe_version()} writes: upgrade kaohe, or restore a backup made "
            "before the upgrade (docs/operations.md, Upgrading)")
    return [m for m in migrations() if m.version > current]


# ---------------------------------------------------------------------------------------------
# applying


def _qt(table: str) -> str:
    return ".".join(quote(p) for p in table.split("."))


def _record(con: duckdb.DuckDBPyConnection, version_: int, name: str, how: str, seconds: float,
            backup: str | None) -> None:
    con.execute(f"insert into audit.schema_migrations {audit.columns('schema_migrations')} "
                "values (?, ?, ?, current_timestamp, ?, ?, ?)",
                [version_, name, how, seconds, kaohe_version(), backup])


def _ensure_registry(con: duckdb.DuckDBPyConnection, detected: int) -> None:
    """Create audit.schema_migrations in a warehouse from before it, with the detected version."""
    if _has_table(con, "audit", "schema_migrations"):
        return
    con.execute(audit.table_ddl("schema_migrations"))
    _record(con, detected, "detected: built before audit.schema_migrations", "detected", 0.0,
            None)


def stamp_created(con: duckdb.DuckDBPyConnection) -> None:
    """A new warehouse is created at the current version: nothing to migrate."""
    if not con.execute("select count(*) from audit.schema_migrations").fetchall()[0][0]:
        last = migrations()[-1]
        _record(con, last.version, f"created at {last.name}", "created", 0.0, None)


def _add_column(con: duckdb.DuckDBPyConnection, table: str, col: Column,
                have: dict[str, str]) -> None:
    if col.name in have:
        if have[col.name] == col.type:
            return  # an earlier, interrupted attempt or a hand repair added it
        # the lender's files carried it before the contract did: kept as text, never checked
        con.execute(f"alter table {_qt(table)} rename column {quote(col.name)} to "
                    f"{quote(col.name + '__unchecked')}")
    con.execute(f"alter table {_qt(table)} add column {quote(col.name)} {col.type}")


def _rebuild_in_order(con: duckdb.DuckDBPyConnection, table: str,
                      want: list[tuple[str, str]]) -> None:
    """Rebuild a table with ``want``'s columns in that order, every row and comment kept."""
    schema, name = table.split(".")
    have = dict(table_columns(con, table))
    comments = con.execute(
        "select column_name, comment from duckdb_columns() where database_name = "
        "current_database() and schema_name = ? and table_name = ? and comment is not null",
        [schema, name]).fetchall()
    table_comment = con.execute(
        "select comment from duckdb_tables() where database_name = current_database() and "
        "schema_name = ? and table_name = ?", [schema, name]).fetchall()[0][0]
    tmp = f"{name}__migrating"
    cols = ", ".join(f"{quote(c)} {t}" for c, t in want)
    select = ", ".join(quote(c) if c in have else f"null::{t} as {quote(c)}" for c, t in want)
    con.execute(f"create table {quote(schema)}.{quote(tmp)} ({cols})")
    con.execute(f"insert into {quote(schema)}.{quote(tmp)} select {select} from {_qt(table)}")
    con.execute(f"drop table {_qt(table)}")
    con.execute(f"alter table {quote(schema)}.{quote(tmp)} rename to {quote(name)}")
    if table_comment:
        con.execute(f"comment on table {_qt(table)} is {literal(table_comment)}")
    for column, text in comments:
        if column in dict(want):
            con.execute(f"comment on column {_qt(table)}.{quote(column)} is "
                        f"{literal(text)}")


def _apply_table(con: duckdb.DuckDBPyConnection, change: TableChange) -> None:
    schema, name = change.table.split(".")
    con.execute(f"create schema if not exists {quote(schema)}")
    exists = _has_table(con, schema, name)
    if change.create and not exists:
        cols = ", ".join(f"{quote(c.name)} {c.type}" for c in change.create)
        con.execute(f"create table {_qt(change.table)} ({cols})")
        return
    if not exists or not change.add:
        return  # a table the warehouse never built: the code creates it when it needs it
    have = dict(table_columns(con, change.table))
    if schema not in ORDERED_SCHEMAS:
        for col in change.add:
            _add_column(con, change.table, col, have)
        return
    want = table_columns(con, change.table)
    for col in change.add:
        if any(c == col.name for c, _ in want):
            continue
        at = next((i + 1 for i, (c, _) in enumerate(want) if c == col.after), len(want))
        want.insert(at, (col.name, col.type))
    if [c for c, _ in want] != list(have):
        _rebuild_in_order(con, change.table, want)


def apply(con: duckdb.DuckDBPyConnection, migration: Migration, backup: str | None = None,
          on_change: Callable[[TableChange], None] | None = None) -> float:
    """Apply one migration and record it, in one transaction; returns its seconds."""
    started = time.perf_counter()
    con.execute("begin transaction")
    try:
        _ensure_registry(con, migration.version - 1)
        for change in migration.tables:
            _apply_table(con, change)
            if on_change is not None:
                on_change(change)
        for statement in migration.sql:
            con.execute(statement)
        seconds = time.perf_counter() - started
        _record(con, migration.version, migration.name, "applied", seconds, backup)
        con.execute("commit")
    except BaseException:
        try:
            con.execute("rollback")
        except duckdb.Error:
            pass
        raise
    return seconds


# ---------------------------------------------------------------------------------------------
# upgrading a home: the copy first, then every pending migration


@dataclass
class Upgrade:
    """What ``upgrade`` did (or, for a dry run, would do)."""

    from_version: int | None
    to_version: int
    planned: list[Migration] = field(default_factory=list)
    applied: list[tuple[Migration, float]] = field(default_factory=list)
    backup: Path | None = None

    def lines(self, dry_run: bool = False) -> list[str]:
        if self.from_version is None:
            return [f"new warehouse: it will be created at schema version {self.to_version}"]
        if not self.planned:
            return [f"warehouse schema version {self.from_version} is current: nothing to do"]
        if dry_run:
            return [f"warehouse schema version {self.from_version} -> {self.to_version}: "
                    f"{len(self.planned)} migration(s) to apply, after a copy in backups/"] + [
                f"  {m.name}: {m.title}" for m in self.planned]
        out = [f"warehouse schema version {self.from_version} -> {self.to_version}: "
               f"{len(self.applied)} migration(s) applied; copy before: {self.backup}"]
        out += [f"  {m.name}: {m.title} ({s:.2f} s)" for m, s in self.applied]
        return out


def backup_path(backups: Path, from_version: int) -> Path:
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    return backups / f"kaohe-{from_version}-{stamp}.duckdb"


def make_backup(work_db: Path, backups: Path, from_version: int) -> Path:
    """Copy the (checkpointed, closed) database into ``backups``; keep the newest few.

    The space is checked first, the copy is written under a temporary name and renamed, so a
    killed copy never looks like a backup."""
    backups.mkdir(parents=True, exist_ok=True)
    size = work_db.stat().st_size
    free = shutil.disk_usage(backups).free
    if free < size + BACKUP_MARGIN_BYTES:
        raise MigrationError(
            f"not enough space in {backups} for the copy taken before migrating: "
            f"{size / 2**20:.0f} MiB needed (+{BACKUP_MARGIN_BYTES // 2**20} MiB), "
            f"{free / 2**20:.0f} MiB free; free some space and run again (the warehouse is "
            "unchanged)")
    target = backup_path(backups, from_version)
    partial = target.with_suffix(".partial")
    shutil.copyfile(work_db, partial)
    partial.replace(target)
    for old in sorted(backups.glob("kaohe-*.duckdb"), key=lambda p: p.stat().st_mtime,
                      reverse=True)[BACKUPS_KEPT:]:
        old.unlink()
    for stale in backups.glob("*.partial"):
        stale.unlink()
    return target


def upgrade(work_db: Path, backups: Path,
            connect: Callable[[Path, bool], duckdb.DuckDBPyConnection],
            dry_run: bool = False) -> Upgrade:
    """Bring the database at ``work_db`` to this code's schema version.

    ``connect(path, read_only)`` opens it with the project's settings. The caller holds the
    home's run lock (one writer). A dry run opens read-only and changes nothing.
    """
    latest = schema_version()
    if not work_db.exists():
        return Upgrade(None, latest)
    con = connect(work_db, dry_run)
    try:
        current = detect_version(con)
        todo = pending(con)
        result = Upgrade(current, latest, todo)
        if dry_run or not todo:
            return result
        con.execute("checkpoint")  # everything in the file itself, nothing in the WAL
    finally:
        con.close()
    assert current is not None
    result.backup = make_backup(work_db, backups, current)
    con = connect(work_db, False)
    try:
        for migration in todo:
            result.applied.append((migration, apply(con, migration, str(result.backup))))
        con.execute("checkpoint")
    finally:
        con.close()
    return result
