"""Ingestion benchmark: kaohe's ingestion of a landing month next to a bare DuckDB read.

    uv run python benchmarks/ingest_bench.py --scale large [--landing DIR] [--json FILE]

Generates the landing folder if missing (1 month at the scale), then, in the same run and each in
its own process (so each has its own peak RSS):
  bare   one ``create table as select * from read_csv(...)`` / ``read_parquet`` per source, over
         the same files, into a fresh DuckDB file: the floor (no checks, no lineage, no staging);
  kaohe  the Ingestor over the same folder into a fresh home: registry, sha256, checks,
         quarantine, PII hashing, raw and staging.
Prints rows/s, MB/s, seconds and peak RSS for both, and the throughput ratio kaohe / bare.
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
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def landing_size(landing: Path) -> tuple[int, int]:
    files = [p for p in landing.rglob("*") if p.is_file() and not p.name.startswith("_")]
    return len(files), sum(p.stat().st_size for p in files)


def run_bare(landing: Path, db: Path) -> dict:
    import duckdb

    from kaohe.ingest.contract import load_contract

    con = duckdb.connect(str(db))
    con.execute("set enable_progress_bar = false")
    rows = 0
    started = time.perf_counter()
    for name in load_contract():
        folder = landing / name
        csvs = sorted(str(p) for p in folder.glob(f"{name}_*.csv*"))
        parquets = sorted(str(p) for p in folder.glob(f"{name}_*.parquet"))
        if csvs:
            # The floor: DuckDB's own reader with its defaults, errors skipped. GB18030 files
            # cannot be read by it at all (no encodings extension here), so they are left out.
            readable = [p for p in csvs if _utf8(Path(p))]
            if not readable:
                continue
            con.execute(f"create table {name}_csv as select * from read_csv(?, union_by_name = "
                        "true, ignore_errors = true, all_varchar = false)", [readable])
            rows += con.execute(f"select count(*) from {name}_csv").fetchall()[0][0]
        if parquets:
            con.execute(f"create table {name}_pq as select * from read_parquet(?, "
                        "union_by_name = true)", [parquets])
            rows += con.execute(f"select count(*) from {name}_pq").fetchall()[0][0]
    con.execute("checkpoint")
    con.close()
    return {"seconds": time.perf_counter() - started, "rows": rows}


def _utf8(path: Path) -> bool:
    import gzip

    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        sample = fh.read(1 << 16)
    try:
        sample.decode("utf-8")
        return True
    except UnicodeDecodeError as exc:
        return exc.start >= len(sample) - 4


def run_kaohe(landing: Path, home: Path) -> dict:
    from assets.resources import Warehouse
    from kaohe.ingest.contract import load_contract
    from kaohe.ingest.ingestor import Ingestor, discover

    warehouse = Warehouse(home=str(home), landing=str(landing))
    started = time.perf_counter()
    per_source = {}
    rows = rejected = 0
    with warehouse.writer() as con:
        ingestor = Ingestor(con, landing, warehouse.paths.tmp)
        for name, files in discover(landing).items():
            t = time.perf_counter()
            res = ingestor.ingest_source(load_contract()[name], files)
            per_source[name] = round(time.perf_counter() - t, 2)
            rows += res.rows_read
            rejected += res.rows_rejected
        con.execute("checkpoint")
    return {"seconds": time.perf_counter() - started, "rows": rows, "rows_rejected": rejected,
            "per_source_s": per_source}


def child(mode: str, landing: Path, target: Path) -> None:
    out = run_bare(landing, target) if mode == "bare" else run_kaohe(landing, target)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def measure(mode: str, landing: Path, work: Path) -> dict:
    target = work / ("bare.duckdb" if mode == "bare" else "home")
    proc = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--landing", str(landing),
         "--target", str(target)],
        check=True, capture_output=True, text=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", default="large", choices=["small", "medium", "large"])
    ap.add_argument("--landing", type=Path)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--keep", type=Path, help="keep kaohe's home here (for the marts benchmark)")
    ap.add_argument("--child")
    ap.add_argument("--target", type=Path)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.landing, args.target)
        return
    landing = args.landing or ROOT / "benchmarks" / "out" / f"landing-{args.scale}"
    if not (landing / "_manifest.json").exists():
        from kaohe.generate import generate

        print(f"generating one {args.scale} month into {landing} ...", flush=True)
        generate(landing, date(2026, 8, 1), 1, 7, args.scale)
    n_files, n_bytes = landing_size(landing)
    mb = n_bytes / 1e6
    print(f"landing {landing}: {n_files} files, {mb:,.0f} MB", flush=True)
    work = Path(tempfile.mkdtemp(prefix="kaohe-bench-"))
    try:
        bare = measure("bare", landing, work)
        kaohe = measure("kaohe", landing, work)
        if args.keep:
            shutil.rmtree(args.keep, ignore_errors=True)
            shutil.move(str(work / "home"), str(args.keep))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ratio = (kaohe["rows"] / kaohe["seconds"]) / (bare["rows"] / bare["seconds"])
    print(f"{'':8}{'seconds':>10}{'rows':>14}{'rows/s':>14}{'MB/s':>10}{'peak RSS MB':>14}")
    for name, r in (("bare", bare), ("kaohe", kaohe)):
        print(f"{name:8}{r['seconds']:10.1f}{r['rows']:14,}{r['rows'] / r['seconds']:14,.0f}"
              f"{mb / r['seconds']:10.1f}{r['peak_rss_mb']:14,.0f}")
    print(f"throughput kaohe / bare: {ratio:.2f} (target >= 0.70); "
          f"kaohe peak RSS {kaohe['peak_rss_mb']:,.0f} MB (target < 4096)")
    print("kaohe per source (s):", kaohe["per_source_s"])
    if args.json:
        args.json.write_text(json.dumps({"scale": args.scale, "files": n_files, "mb": mb,
                                         "bare": bare, "kaohe": kaohe, "ratio": ratio}, indent=2))


if __name__ == "__main__":
    main()
