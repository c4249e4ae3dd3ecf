"""Homes built by earlier kaohe releases (tests/fixtures/warehouses/<release>.tar.xz, made by
tests/fixtures/warehouses/build.sh with the release's own code): their landing (August's files),
the files of the next month (later/) and the writer's database the release left after running
August. Shared by test_migrations.py and test_upgrade_v1.py / test_upgrade_v2.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import duckdb
import pytest

from kaohe.warehouse import migrations

FIXTURES = Path(__file__).parent / "fixtures" / "warehouses"
PII_KEY = "kaohe-upgrade-fixture-key"  # the key the fixtures were built with
OLD_MONTH, NEXT_MONTH = "2026-08", "2026-09"
RELEASE_VERSION = {"v1": 1, "v2": 2}  # the schema version each release wrote


def unpack(release: str, root: Path) -> Path:
    """``root/landing`` (August), ``root/later`` (September), ``root/home/work/kaohe.duckdb``."""
    root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(FIXTURES / f"{release}.tar.xz") as tar:
        tar.extractall(root, filter="data")
    (root / "home").mkdir()
    (root / "work").rename(root / "home" / "work")
    return root


def deliver_later(root: Path) -> None:
    """The next month's files arrive in the landing folder."""
    shutil.copytree(root / "later", root / "landing", dirs_exist_ok=True)


def cli(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """The kaohe command, with the PII key the fixtures were built with."""
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "KAOHE_PII_KEY": PII_KEY})


def run_month(root: Path, month: str, home: Path | None = None) -> subprocess.CompletedProcess:
    home = home or root / "home"
    res = cli("run", "--month", month, "--landing", str(root / "landing"), "--home", str(home))
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    return res


def start_month(landing: Path, month: str, home: Path) -> subprocess.Popen:
    """``kaohe run`` in the background (a home of its own; its output in ``home``.log)."""
    log = home.with_suffix(".log").open("w")
    return subprocess.Popen([sys.executable, "-m", "pipelines.cli", "run", "--month", month,
                             "--landing", str(landing), "--home", str(home)],
                            stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "KAOHE_PII_KEY": PII_KEY})


def connect(path: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(path), read_only=True)


def tables(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...]) -> list[str]:
    return [f"{s}.{t}" for s, t in con.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = "
        f"current_database() and schema_name in ({', '.join('?' * len(schemas))}) order by all",
        list(schemas)).fetchall()]


def columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    schema, name = table.split(".")
    return [tuple(r) for r in con.execute(
        "select column_name, data_type from duckdb_columns() where database_name = "
        "current_database() and schema_name = ? and table_name = ? order by column_index",
        [schema, name]).fetchall()]


def catalog(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    """Every table of raw, marts and audit with its columns and types: in order for the marts
    (analysts see it), as a set elsewhere (raw and audit columns are added at the end)."""
    out: dict[str, object] = {}
    for table in tables(con, ("raw", "marts", "audit")):
        cols = columns(con, table)
        out[table] = cols if table.startswith("marts.") else sorted(cols)
    return out


def row_hashes(con: duckdb.DuckDBPyConnection, table: str, cols: list[str],
               where: str = "true") -> tuple[int, int]:
    """Row count and an order-free hash of the rows, on ``cols`` only."""
    select = ", ".join(f'"{c}"' for c in cols)
    return tuple(con.execute(
        f"select count(*), coalesce(sum(hash(row({select})::varchar)), 0) from {table} "
        f"where {where}").fetchall()[0])


def month_cells(con: duckdb.DuckDBPyConnection, month: str) -> dict[str, tuple]:
    """Every mart's rows of ``month`` and the file registry's and quarantine's rows of the files
    known now, each hashed on the columns it has in this warehouse (an old warehouse's cells are
    compared on the columns its release wrote): table -> (columns, filter, hash)."""
    last_file = con.execute("select coalesce(max(file_id), 0) from audit.file_registry"
                            ).fetchall()[0][0]
    out = {}
    for table in tables(con, ("marts", "audit")):
        names = [c for c, _ in columns(con, table)]
        if table.startswith("marts.") and "month" in names:
            where = f"month = date '{month}-01'"
        elif table in ("audit.file_registry", "audit.quarantine"):
            where = f"file_id <= {last_file}"  # later files add rows; these stay as they were
        else:
            continue
        out[table] = (names, where, row_hashes(con, table, names, where))
    return out


def changed_cells(con: duckdb.DuckDBPyConnection, before: dict[str, tuple]) -> dict[str, tuple]:
    """``before``'s tables hashed again on the same columns and rows: what differs, by table."""
    changed = {}
    for table, (names, where, hashed) in before.items():
        now = row_hashes(con, table, names, where)
        if now != hashed:
            changed[table] = (hashed, now)
    return changed


def published_month(path: Path, month: str) -> dict[str, tuple]:
    """The published copy's staging tables (file ids are surrogates: left out) and every mart's
    rows of ``month``, hashed."""
    con = connect(path)
    try:
        out = {}
        for table in tables(con, ("staging", "marts")):
            names = [c for c, _ in columns(con, table) if c != "_file_id"]
            where = (f"month = date '{month}-01'" if table.startswith("marts.")
                     and "month" in names else "true")
            out[table] = row_hashes(con, table, names, where)
        return out
    finally:
        con.close()


# ---------------------------------------------------------------------------------------------
# The upgrade of a home built by an earlier release, run as a lender would: the next month first,
# then the old month again. test_upgrade_v1.py and test_upgrade_v2.py set RELEASE and import
# these (one file each, so the two releases run on both test workers).


@pytest.fixture(scope="module")
def upgraded(request, tmp_path_factory) -> dict:
    release = request.module.RELEASE
    root = unpack(release, tmp_path_factory.mktemp(f"upgrade-{release}"))
    work = root / "home" / "work" / "kaohe.duckdb"
    con = connect(work)
    try:
        before = month_cells(con, OLD_MONTH)
    finally:
        con.close()
    deliver_later(root)
    # the same files, built from scratch by this release, for the old month: the reference of
    # the last test, built meanwhile (Dagster's runs wait on their event log as much as on CPU)
    fresh = root / "fresh"
    fresh_run = start_month(root / "landing", OLD_MONTH, fresh)
    next_run = run_month(root, NEXT_MONTH)  # migrates first
    con = connect(work)
    try:
        after_next = changed_cells(con, before)
        history = con.execute("select version, name, how, backup from audit.schema_migrations "
                              "order by version").fetchall()
        marts_next = con.execute("select count(*) from marts.agent_month_metrics where month = "
                                 f"date '{NEXT_MONTH}-01'").fetchall()[0][0]
    finally:
        con.close()
    rerun = run_month(root, OLD_MONTH)
    assert fresh_run.wait(timeout=900) == 0, fresh.with_suffix(".log").read_text()[-3000:]
    return {"root": root, "release": release, "next_run": next_run, "rerun": rerun,
            "after_next": after_next, "history": history, "marts_next": marts_next,
            "before": before, "fresh": fresh}


def test_the_next_month_runs_after_the_migrations_and_a_copy(upgraded):
    out = upgraded["next_run"].stdout
    old = RELEASE_VERSION[upgraded["release"]]
    latest = migrations.schema_version()
    assert f"warehouse schema version {old} -> {latest}" in out, out[:2000]
    assert upgraded["marts_next"] > 0
    history = upgraded["history"]
    assert [(v, how) for v, _, how, _ in history] == [
        (old, "detected"), *[(v, "applied") for v in range(old + 1, latest + 1)]]
    backups = sorted((upgraded["root"] / "home" / "backups").glob("kaohe-*.duckdb"))
    assert [b.name.split("-")[1] for b in backups] == [str(old)]
    assert history[-1][3] == str(backups[0])
    con = connect(backups[0])  # the copy is the warehouse as the release left it
    try:
        assert month_cells(con, OLD_MONTH) == upgraded["before"]
    finally:
        con.close()


def test_the_old_months_cells_registry_and_quarantine_are_unchanged(upgraded):
    assert "marts.agent_month_metrics" in upgraded["before"]
    assert "audit.quarantine" in upgraded["before"]
    assert upgraded["after_next"] == {}


def test_the_old_month_run_again_gives_the_tables_a_new_home_gives(upgraded):
    assert "warehouse schema version" not in upgraded["rerun"].stdout  # nothing left to migrate
    root = upgraded["root"]
    old = published_month(root / "home" / "warehouse" / "kaohe.duckdb", OLD_MONTH)
    new = published_month(upgraded["fresh"] / "warehouse" / "kaohe.duckdb", OLD_MONTH)
    assert set(old) == set(new)
    assert {t: (old[t], new[t]) for t in old if old[t] != new[t]} == {}
