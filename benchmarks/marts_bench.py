"""Mart-build benchmark: kaohe's build of a month next to the same SQL run bare in DuckDB.

    uv run python benchmarks/marts_bench.py --home DIR --month 2026-08

DIR is a kaohe home whose warehouse holds the ingested month (``ingest_bench.py --keep DIR``).
Each side runs in its own process on its own copy of the warehouse:
  bare   each sql/marts/*.sql, parameters bound, ``create table as`` in a plain connection;
  kaohe  ``kaohe.models.marts.build_all``: the same SQL plus delete-month / insert in a transaction,
         comments and config_version;
then the data-quality checks of the month (``kaohe.quality.run_checks``) are timed on the result.
Prints seconds and peak RSS of each, and the ratio kaohe / bare (target <= 1.2).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def child(mode: str, db: Path, month: str) -> dict:
    from kaohe.config import load_config
    from kaohe.models.marts import (
        MONTHLY_MARTS,
        bound_params,
        build_all,
        dictionary,
        sql,
    )
    from kaohe.warehouse import connect

    cfg = load_config()
    con = connect(db)  # the writer's settings (threads, 2 GB memory limit), both sides
    con.execute("select count(*) from staging.calls").fetchall()  # same warm start for both
    out: dict = {}
    started = time.perf_counter()
    if mode == "bare":
        for table in MONTHLY_MARTS:
            query = sql(table)
            con.execute(f"create or replace table marts.{table} as {query}",
                        bound_params(dictionary(table), cfg, month))
    else:
        out["rows"] = build_all(con, cfg, month)
    out["seconds"] = time.perf_counter() - started
    if mode == "kaohe":
        from kaohe.quality import run_checks

        t = time.perf_counter()
        results = run_checks(con, month)
        out["checks_seconds"] = time.perf_counter() - t
        out["checks"] = len(results)
        out["checks_failed"] = sum(not r.passed for r in results)
    con.close()
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--month", default="2026-08")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--child")
    ap.add_argument("--db", type=Path)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.db, args.month)))
        return
    source = args.home / "work" / "kaohe.duckdb"
    work = Path(tempfile.mkdtemp(prefix="kaohe-marts-bench-"))
    results = {}
    try:
        for mode in ("bare", "kaohe"):
            db = work / f"{mode}.duckdb"
            shutil.copy(source, db)
            proc = subprocess.run([sys.executable, __file__, "--child", mode, "--db", str(db),
                                   "--month", args.month, "--home", str(args.home)],
                                  check=True, capture_output=True, text=True)
            results[mode] = json.loads(proc.stdout.strip().splitlines()[-1])
            db.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    bare, kaohe = results["bare"], results["kaohe"]
    ratio = kaohe["seconds"] / bare["seconds"]
    print(f"{'':8}{'seconds':>10}{'peak RSS MB':>14}")
    for name, r in results.items():
        print(f"{name:8}{r['seconds']:10.1f}{r['peak_rss_mb']:14,.0f}")
    print(f"kaohe / bare: {ratio:.2f} (target <= 1.2); rows {kaohe['rows']}")
    print(f"data-quality checks: {kaohe['checks']} in {kaohe['checks_seconds']:.1f} s "
          f"({kaohe['checks_failed']} failed)")
    if args.json:
        args.json.write_text(json.dumps({"month": args.month, **results, "ratio": ratio},
                                        indent=2))


if __name__ == "__main__":
    main()
