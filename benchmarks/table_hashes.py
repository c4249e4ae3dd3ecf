"""Row hashes of every published table after running generated months: the proof that a
refactoring changed no number.

    uv run python benchmarks/table_hashes.py --out before.json            # on the old commit
    uv run python benchmarks/table_hashes.py --out after.json             # on the new one
    uv run python benchmarks/table_hashes.py --compare before.json after.json
    uv run python benchmarks/table_hashes.py --keep before/       # the published copies too
    uv run python benchmarks/table_hashes.py --compare-columns before/ after/

``--compare-columns`` proves a change that adds columns on purpose: each table of each month is
hashed again on the columns both sides have, and the added or removed columns are listed.

Each table's hash is the md5 of its rows' md5s in sorted order, so row order does not matter;
columns that record when or how long something ran (ingestion and check times, file ctimes)
are left out, as they differ between any two runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

import duckdb

VOLATILE = {"ingested_at", "checked_at", "seconds", "masked_at", "overridden_at", "modified_ns",
            "restated_at", "rendered_at", "generated_at", "purged_at", "chained_at", "taken_at"}
# Labels of a version rather than data: the configuration's hash changes with any edit of the
# file (a comment included), the schema version with any edit of kaohe/warehouse/__init__.py.
LABELS = {"config_version"}
SKIP_ROWS = {"audit.warehouse_meta": "key <> 'schema_fingerprint'"}


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    return [c for (c,) in con.execute(
        "select column_name from duckdb_columns() where schema_name = ? and table_name = ? "
        "order by column_index", [schema, table]).fetchall() if c not in VOLATILE | LABELS]


def _tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    return con.sql("select schema_name, table_name from duckdb_tables() "
                   "where schema_name <> 'main' order by all").fetchall()


def _digest(con: duckdb.DuckDBPyConnection, schema: str, table: str,
            cols: list[str]) -> tuple[int, str]:
    where = SKIP_ROWS.get(f"{schema}.{table}", "true")
    row = "row(" + ", ".join(f'"{c}"' for c in cols) + ")::varchar"
    return con.sql(
        f"select count(*), md5(coalesce(string_agg(h, '' order by h), '')) from "
        f'(select md5({row}) as h from "{schema}"."{table}" where {where})').fetchall()[0]


def table_hashes(db: Path) -> dict[str, dict]:
    con = duckdb.connect(str(db), read_only=True)
    out = {}
    for schema, table in _tables(con):
        cols = _columns(con, schema, table)
        n, digest = _digest(con, schema, table, cols)
        out[f"{schema}.{table}"] = {"rows": n, "md5": digest, "columns": cols}
    con.close()
    return out


def compare_columns(before_dir: Path, after_dir: Path) -> int:
    """Each table hashed again on the columns both sides have; added columns listed."""
    bad = 0
    months = sorted(p.name for p in before_dir.glob("*.duckdb"))
    theirs = sorted(p.name for p in after_dir.glob("*.duckdb"))
    if not months or months != theirs:
        print(f"nothing to compare: {before_dir} has {months or 'no month'}, "
              f"{after_dir} has {theirs or 'no month'}")
        return 1
    for b_db in sorted(before_dir.glob("*.duckdb")):
        month = b_db.stem
        b = duckdb.connect(str(b_db), read_only=True)
        a = duckdb.connect(str(after_dir / b_db.name), read_only=True)
        b_tables, a_tables = set(_tables(b)), set(_tables(a))
        for only in sorted(b_tables ^ a_tables):
            print(f"{month} {'.'.join(only)}: only {'before' if only in b_tables else 'after'}")
            bad += only in b_tables
        for schema, table in sorted(b_tables & a_tables):
            bc, ac = _columns(b, schema, table), _columns(a, schema, table)
            common = [c for c in bc if c in ac]
            if _digest(b, schema, table, common) != _digest(a, schema, table, common):
                print(f"{month} {schema}.{table}: the common columns differ")
                bad += 1
            added, removed = [c for c in ac if c not in bc], [c for c in bc if c not in ac]
            if added or removed:
                print(f"{month} {schema}.{table}: same on {len(common)} columns; "
                      f"added {added or '-'}, removed {removed or '-'}")
        b.close()
        a.close()
    print("identical on the common columns" if not bad else f"{bad} table(s) differ")
    return 1 if bad else 0


def run(months: int, seed: int, scale: str, work: Path, keep: Path | None = None) -> dict:
    from kaohe.generate import generate

    landing, home = work / "landing", work / "home"
    generate(landing, date(2026, 8, 1), months, seed, scale, progress=None)
    result = {}
    for m in range(months):
        month = f"2026-{8 + m:02d}"
        proc = subprocess.run([sys.executable, "-m", "pipelines.cli", "run", "--month", month,
                               "--landing", str(landing), "--home", str(home)],
                              capture_output=True, text=True, env=os.environ.copy())
        if proc.returncode != 0:
            sys.exit(f"kaohe run --month {month} failed:\n{proc.stderr[-3000:]}")
        result[month] = table_hashes(home / "warehouse" / "kaohe.duckdb")
        if keep:
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(home / "warehouse" / "kaohe.duckdb", keep / f"{month}.duckdb")
    return result


def compare(before: dict, after: dict) -> int:
    bad = 0
    for month in sorted(set(before) | set(after)):
        b, a = before.get(month, {}), after.get(month, {})
        for table in sorted(set(b) | set(a)):
            if table not in a or table not in b:
                print(f"{month} {table}: only in {'before' if table in b else 'after'}")
                bad += table in b  # a new table is not a change of an old one
            elif b[table]["md5"] != a[table]["md5"]:
                same = "same" if b[table]["columns"] == a[table]["columns"] else "differ"
                print(f"{month} {table}: rows {b[table]['rows']} -> {a[table]['rows']}, "
                      f"columns {same}")
                bad += 1
    print("identical" if not bad else f"{bad} table(s) differ")
    return 1 if bad else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    parser.add_argument("--keep", type=Path, help="keep each month's published copy here")
    parser.add_argument("--compare-columns", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    parser.add_argument("--months", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scale", default="small")
    args = parser.parse_args()
    if args.compare:
        return compare(*(json.loads(p.read_text()) for p in args.compare))
    if args.compare_columns:
        return compare_columns(*args.compare_columns)
    with tempfile.TemporaryDirectory(prefix="kaohe-hashes-") as tmp:
        result = run(args.months, args.seed, args.scale, Path(tmp), args.keep)
    text = json.dumps(result, indent=1, sort_keys=True)
    if args.out:
        args.out.write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
