"""Crash safety: a run killed with SIGKILL at any point leaves the published warehouse as it was
(or, past the final swap, as the finished run made it), and the next run completes with tables
identical to an uninterrupted run. Quick by default (2 kill points, spread over the whole run and
shifted at random within their halves); KAOHE_KILL_POINTS=N for more.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from kaohe.generate import generate

MONTH = "2026-08"
KILL_POINTS = int(os.environ.get("KAOHE_KILL_POINTS", "2"))


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipelines.cli", *args]


def run(landing: Path, home: Path) -> float:
    started = time.perf_counter()
    res = subprocess.run(cli("run", "--month", MONTH, "--landing", str(landing), "--home",
                             str(home)), capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-1500:] + res.stderr[-3000:]
    return time.perf_counter() - started


def content(home: Path) -> dict[str, tuple]:
    """Row count and an order-free hash of every analyst table (file ids are surrogates)."""
    path = home / "warehouse" / "kaohe.duckdb"
    if not path.exists():
        return {}
    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        for schema, table in con.sql("select schema_name, table_name from duckdb_tables() "
                                     "where schema_name in ('staging', 'marts')").fetchall():
            cols = [c for (c,) in con.execute(
                "select column_name from duckdb_columns() where schema_name = ? and "
                "table_name = ? and column_name <> '_file_id'", [schema, table]).fetchall()]
            select = ", ".join(f'"{c}"' for c in cols)
            out[f"{schema}.{table}"] = con.sql(
                f"select count(*), sum(hash(row({select})::varchar)) from {schema}.{table}"
            ).fetchall()[0]
        return out
    finally:
        con.close()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("crash")
    landing = root / "landing"
    generate(landing, date(2026, 8, 1), 1, 5, "small", progress=None)
    # the late delivery a second run ingests: August's last repayments, held back at first
    late = sorted((landing / "repayments").glob("repayments_202608[23]*.parquet"))
    held = root / "held"
    held.mkdir()
    for f in late:
        shutil.move(str(f), held / f.name)
    base = root / "base"
    run(landing, base)
    for f in late:
        shutil.move(str(held / f.name), landing / "repayments" / f.name)
    reference = root / "reference"
    shutil.copytree(base, reference)
    seconds = run(landing, reference)
    return {"root": root, "landing": landing, "base": base, "before": content(base),
            "after": content(reference), "seconds": seconds}


def test_the_late_delivery_changes_the_month(setup):
    assert setup["before"] and setup["before"] != setup["after"]


@pytest.mark.parametrize("point", range(KILL_POINTS))
def test_a_run_killed_at_any_point_resumes_to_the_same_tables(setup, point):
    home = setup["root"] / f"killed-{point}"
    shutil.copytree(setup["base"], home)
    # kill points spread over the whole run: ingest, marts, checks, reports, publish
    delay = setup["seconds"] * (0.1 + 0.85 * (point + random.Random(point).random()) /
                                KILL_POINTS)
    proc = subprocess.Popen(cli("run", "--month", MONTH, "--landing", str(setup["landing"]),
                                "--home", str(home)), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(delay)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # the analysts' copy is the old one or, past the final swap, the new one: never a mix
    assert content(home) in (setup["before"], setup["after"]), f"killed after {delay:.1f} s"
    run(setup["landing"], home)
    assert content(home) == setup["after"], f"killed after {delay:.1f} s"
