"""Versioned migrations (kaohe/warehouse/migrations): every schema change has its migration, a killed
migration leaves the previous version and the rerun ends where an uninterrupted one does, a
warehouse from the future is refused in one line, the copy before migrating is kept (newest 3)
and never taken without the space for it, and a column the files brought before the contract
knew it is kept, unchecked, beside the new typed one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from kaohe.models import ensure_mart
from kaohe.models.marts import MARTS
from kaohe.warehouse import Home, connect, ensure_schema, migrations, upgrade
from tests.upgrade_homes import PII_KEY, catalog, cli, columns, tables, unpack


@pytest.fixture
def v1(tmp_path) -> Path:
    """A home as the version-1 release left it (its landing beside it)."""
    return unpack("v1", tmp_path / "v1") / "home"


def code_catalog(path: Path) -> dict:
    """The tables this code creates in a new warehouse: the ingestion's and every mart."""
    con = duckdb.connect(str(path))
    try:
        ensure_schema(con)
        for table in MARTS:
            ensure_mart(con, table)
        return catalog(con)
    finally:
        con.close()


def content(path: Path) -> dict[str, tuple]:
    """Row count and an order-free hash of every table; audit.schema_migrations without its
    times and backup path (they differ between two upgrades)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        for table in tables(con, ("raw", "marts", "audit")):
            cols = ("version, name, how" if table == "audit.schema_migrations" else
                    ", ".join(f'"{c}"' for c, _ in columns(con, table)))
            out[table] = con.execute(f"select count(*), sum(hash(row({cols})::varchar)) from "
                                     f"{table}").fetchall()[0]
        return out
    finally:
        con.close()


@pytest.mark.parametrize("release", ["v1", "v2"])
def test_migrations_alone_bring_an_old_warehouse_to_the_tables_a_new_one_has(release, tmp_path):
    """The guard of every schema change: a column or table added to the contract, a mart
    dictionary or the audit schema without a migration makes this test fail."""
    home = unpack(release, tmp_path / release) / "home"
    with duckdb.connect(str(home / "work" / "kaohe.duckdb"), read_only=True) as con:
        old = catalog(con)
    upgrade(Home(home))
    with duckdb.connect(str(home / "work" / "kaohe.duckdb"), read_only=True) as con:
        migrated = catalog(con)
        assert migrations.detect_version(con) == migrations.schema_version()
    expected = code_catalog(tmp_path / "new.duckdb")
    assert sorted(migrated) == sorted(expected)
    for table in expected:
        if table.startswith("raw."):
            # columns of the lender's files the contract does not know (kept as text by the
            # ingestion, e.g. the version-1 sample's agents.wechat_id) stay as they were
            extra = set(migrated[table]) - set(expected[table])
            assert extra <= set(old.get(table, [])), table
            migrated[table] = sorted(set(migrated[table]) - extra)
    assert {t: (migrated[t], expected[t]) for t in expected if migrated[t] != expected[t]} == {}


def test_a_new_warehouse_is_created_at_the_current_version(tmp_path):
    con = duckdb.connect(str(tmp_path / "new.duckdb"))
    try:
        ensure_schema(con)
        assert con.execute("select version, how from audit.schema_migrations").fetchall() == [
            (migrations.schema_version(), "created")]
        assert migrations.pending(con) == []
    finally:
        con.close()


def test_migrate_dry_run_lists_the_pending_migrations_and_changes_nothing(v1):
    db = v1 / "work" / "kaohe.duckdb"
    before = db.read_bytes()
    res = cli("migrate", "--home", str(v1), "--dry-run")
    assert res.returncode == 0, res.stderr
    names = [m.name for m in migrations.migrations()]
    assert f"warehouse schema version 1 -> {migrations.schema_version()}" in res.stdout
    assert all(name in res.stdout for name in names)
    assert db.read_bytes() == before and not (v1 / "backups").exists()

    res = cli("migrate", "--home", str(v1))
    assert res.returncode == 0, res.stderr
    assert f"{len(names)} migration(s) applied" in res.stdout
    res = cli("migrate", "--home", str(v1), "--dry-run")
    assert res.returncode == 0
    assert res.stdout.strip() == (f"warehouse schema version {migrations.schema_version()} is "
                                  "current: nothing to do")


def test_migrate_without_a_warehouse_is_one_line_and_exit_2(tmp_path):
    res = cli("migrate", "--home", str(tmp_path / "nothing"), "--dry-run")
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and "no kaohe warehouse" in res.stderr


# A process that migrates and stops, mid-transaction, after the first mart table is rebuilt
# (dropped and renamed): it says so in a file and waits to be killed.
SLOW_MIGRATE = """
import sys, time
from pathlib import Path
import kaohe.warehouse.migrations as m
apply_table = m._apply_table
def slow(con, change):
    apply_table(con, change)
    if change.table.startswith("marts."):
        Path(sys.argv[2]).write_text("in the middle")
        time.sleep(600)
m._apply_table = slow
from pipelines.cli import main
sys.exit(main(["migrate", "--home", sys.argv[1]]))
"""


def test_a_migration_killed_in_the_middle_leaves_the_old_version_and_reruns_to_the_same(
        tmp_path):
    killed = unpack("v1", tmp_path / "killed") / "home"
    straight = unpack("v1", tmp_path / "straight") / "home"
    flag = tmp_path / "flag"
    env = {**os.environ, "KAOHE_PII_KEY": PII_KEY}
    proc = subprocess.Popen([sys.executable, "-c", SLOW_MIGRATE, str(killed), str(flag)],
                            env=env, start_new_session=True)
    deadline = time.monotonic() + 120
    while not flag.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert flag.exists(), "the migration never reached its middle"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()

    db = killed / "work" / "kaohe.duckdb"
    con = duckdb.connect(str(db), read_only=True)
    try:  # still the version-1 warehouse: no registry, no new table, no new column
        assert migrations.detect_version(con) == 1
        assert not tables(con, ("audit",)).count("audit.schema_migrations")
        assert "dpd" not in {c for (c,) in con.execute(
            "select column_name from duckdb_columns() where table_name = 'cases' and "
            "schema_name = 'raw'").fetchall()}
    finally:
        con.close()
    assert len(list((killed / "backups").glob("kaohe-1-*.duckdb"))) == 1

    for home in (killed, straight):
        res = cli("migrate", "--home", str(home))
        assert res.returncode == 0, res.stderr
    assert content(db) == content(straight / "work" / "kaohe.duckdb")


def test_a_warehouse_from_a_newer_kaohe_is_refused_in_one_line(v1, tmp_path):
    upgrade(Home(v1))
    con = duckdb.connect(str(v1 / "work" / "kaohe.duckdb"))
    con.execute("insert into audit.schema_migrations (version, name, how, applied_at) values "
                "(99, '0099_future', 'applied', current_timestamp)")
    con.close()
    landing = v1.parent / "landing"
    for args in (("migrate", "--home", str(v1)),
                 ("run", "--month", "2026-08", "--home", str(v1), "--landing", str(landing))):
        res = cli(*args)
        assert res.returncode == 2, res.stdout + res.stderr
        assert res.stderr.count("\n") == 1, res.stderr
        assert "schema version 99" in res.stderr
        assert f"version {migrations.schema_version()} this kaohe" in res.stderr
    with pytest.raises(migrations.WarehouseTooNew):
        con = connect(v1 / "work" / "kaohe.duckdb")
        try:
            ensure_schema(con)
        finally:
            con.close()


def test_the_copy_before_migrating_keeps_the_newest_three(tmp_path):
    db = tmp_path / "kaohe.duckdb"
    duckdb.connect(str(db)).close()
    backups = tmp_path / "backups"
    made = []
    for i in range(5):
        made.append(migrations.make_backup(db, backups, 1))
        os.utime(made[-1], (1_000_000 + i, 1_000_000 + i))  # distinct ages, oldest first
        made[-1] = made[-1].rename(backups / f"kaohe-1-2026120{i}T000000.duckdb")
    migrations.make_backup(db, backups, 2)
    kept = sorted(p.name for p in backups.iterdir())
    assert len(kept) == 3 and kept[-1].startswith("kaohe-2-")
    assert "kaohe-1-20261204T000000.duckdb" in kept and "kaohe-1-20261203T000000.duckdb" in kept


def test_no_copy_and_no_migration_without_the_space_for_the_copy(v1, monkeypatch):
    db = v1 / "work" / "kaohe.duckdb"
    before = db.read_bytes()
    monkeypatch.setattr(migrations.shutil, "disk_usage",
                        lambda path: type("U", (), {"free": 1024})())
    with pytest.raises(migrations.MigrationError, match="not enough space"):
        upgrade(Home(v1))
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert migrations.detect_version(con) == 1
    finally:
        con.close()
    assert not list((v1 / "backups").glob("*.duckdb"))
    assert db.read_bytes() != b"" and len(db.read_bytes()) == len(before)


def test_a_column_the_files_brought_before_the_contract_knew_it_is_kept_unchecked(v1):
    """A version-1 warehouse that received case files with a dpd column kept it as text; the
    migration never turns that text into checked values: it is kept as dpd__unchecked and the
    contract's dpd starts NULL."""
    db = v1 / "work" / "kaohe.duckdb"
    con = duckdb.connect(str(db))
    con.execute("alter table raw.cases add column dpd varchar")
    con.execute("update raw.cases set dpd = '45'")
    n = con.execute("select count(*) from raw.cases").fetchall()[0][0]
    con.close()
    upgrade(Home(v1))
    con = duckdb.connect(str(db), read_only=True)
    try:
        types = dict(con.execute("select column_name, data_type from duckdb_columns() where "
                                 "schema_name = 'raw' and table_name = 'cases'").fetchall())
        assert types["dpd"] == "BIGINT" and types["dpd__unchecked"] == "VARCHAR"
        assert con.execute("select count(*) filter (dpd is null), count(*) filter "
                           "(dpd__unchecked = '45') from raw.cases").fetchall()[0] == (n, n)
    finally:
        con.close()


def test_migration_files_are_numbered_without_gaps_and_say_what_a_lender_must_do():
    found = migrations.migrations()
    assert [m.version for m in found] == list(range(2, migrations.schema_version() + 1))
    assert all(m.title and m.lender_action and m.release for m in found)
    changelog = (Path(__file__).parents[2] / "CHANGELOG.md").read_text(encoding="utf-8")
    for m in found:
        assert f"[{m.release}]" in changelog, f"CHANGELOG.md has no release {m.release}"
        assert m.name in changelog, f"CHANGELOG.md does not name migration {m.name}"


def test_version_names_the_release_and_the_schema_it_writes():
    res = cli("--version")
    assert res.returncode == 0
    assert res.stdout.strip() == (f"kaohe {migrations.kaohe_version()} (warehouse schema "
                                  f"version {migrations.schema_version()})")
    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    assert f'version = "{migrations.kaohe_version()}"' in pyproject


def test_a_writer_opening_an_old_warehouse_copies_and_migrates_it_first(v1, monkeypatch):
    """A step launched from the Dagster UI opens the writer without kaohe run before it."""
    from kaohe.warehouse import writer

    monkeypatch.setenv("KAOHE_PII_KEY", PII_KEY)
    with writer(Home(v1)) as con:
        assert con.execute("select version, how from audit.schema_migrations order by 1"
                           ).fetchall() == [(1, "detected")] + [
            (v, "applied") for v in range(2, migrations.schema_version() + 1)]
    assert len(list((v1 / "backups").glob("kaohe-1-*.duckdb"))) == 1
