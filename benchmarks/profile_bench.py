"""What reading through a source profile costs: a month of calls ingested in the contract's own
format and in each shipped vendor format (docs/profiles.md, issue "source profiles").

    uv run python benchmarks/profile_bench.py --scale medium [--runs 3] [--json FILE]

Generates one month (September 2026, seed 11) if missing under benchmarks/data/profiles-<scale>/
and renders its calls in each vendor's format (``kaohe.generate.vendors.render_calls``). Each run
ingests ``calls`` alone (registry, hashing, reading, typing, checks, quarantine, PII hashing, raw
and staging) into a fresh home, the variants interleaved, ``--runs`` times; reports the median
seconds, rows loaded and the ratio to the contract's format.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROFILES = ("asterisk_cdr", "freeswitch_cdr_csv", "cn_cloud_callcenter")
# the Chinese cloud export is GBK: decoding it to UTF-8 (in Python: DuckDB 2.0 has no encodings
# extension) is timed apart, as what GBK costs whatever reads it
GBK_PROFILE = "cn_cloud_callcenter"


def prepare(data: Path, scale: str) -> dict[str, Path]:
    """{variant: landing} with only the calls folder (and the manifest) in each."""
    from kaohe.generate import generate
    from kaohe.generate.vendors import render_calls
    from kaohe.ingest.profiles import PROFILES_DIR

    full = data / "generated"
    if not (full / "_manifest.json").exists():
        shutil.rmtree(full, ignore_errors=True)
        generate(full, date(2026, 9, 1), 1, 11, scale, progress=None)
    out = {}
    for variant in ("contract", *PROFILES):
        landing = data / variant
        if not (landing / ".done").exists():
            shutil.rmtree(landing, ignore_errors=True)
            shutil.copytree(full / "calls", landing / "calls")
            shutil.copy(full / "_manifest.json", landing / "_manifest.json")
            if variant != "contract":
                render_calls(landing, variant)
            (landing / ".done").touch()
        if variant in PROFILES:  # the profile as shipped today, whatever rendered the data
            shutil.copy(PROFILES_DIR / f"{variant}.yaml", landing / "calls" / "profile.yaml")
        out[variant] = landing
    return out


def gbk_decode_seconds(landing: Path) -> float:
    """Median of 3 of decoding every GBK file of ``landing``'s calls to UTF-8 copies."""
    from kaohe.ingest.files import transcode_to_utf8

    runs = []
    for _ in range(3):
        tmp = Path(tempfile.mkdtemp(prefix="kaohe-gbk-"))
        started = time.perf_counter()
        for path in sorted((landing / "calls").glob("*.csv*")):
            transcode_to_utf8(path, "csv.gz" if path.name.endswith(".gz") else "csv",
                              "gb18030", tmp).unlink()
        runs.append(time.perf_counter() - started)
        shutil.rmtree(tmp, ignore_errors=True)
    return statistics.median(runs)


def bare_once(landing: Path) -> float:
    """Seconds of the floor: DuckDB's read_csv of the same files, every column as text, into a
    table (no checks, no mapping; GBK decoded first, as it must be)."""
    import duckdb

    from kaohe.ingest.files import transcode_to_utf8

    tmp = Path(tempfile.mkdtemp(prefix="kaohe-bare-"))
    try:
        started = time.perf_counter()
        files = sorted(p for p in (landing / "calls").glob("*.csv*"))
        if landing.name == GBK_PROFILE:
            files = [transcode_to_utf8(p, "csv", "gb18030", tmp) for p in files]
        header = landing.name in ("contract", GBK_PROFILE)
        con = duckdb.connect(str(tmp / "bare.duckdb"))
        con.execute("create table t as select * from read_csv(?, all_varchar = true, header = "
                    f"{str(header).lower()}, union_by_name = true, ignore_errors = true)",
                    [[str(p) for p in files]])
        con.close()
        return time.perf_counter() - started
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def ingest_once(landing: Path) -> tuple[float, int, int]:
    """(seconds, rows read, rows loaded) of ingesting the calls of ``landing`` into a new home."""
    from assets.resources import Warehouse
    from kaohe.ingest.contract import load_contract
    from kaohe.ingest.ingestor import Ingestor, discover

    home = Path(tempfile.mkdtemp(prefix="kaohe-pbench-"))
    try:
        wh = Warehouse(home=str(home), landing=str(landing))
        with wh.writer() as con:
            started = time.perf_counter()
            files = discover(landing)["calls"]
            res = Ingestor(con, landing, wh.paths.tmp).ingest_source(
                load_contract()["calls"], files)
            seconds = time.perf_counter() - started
        return seconds, res.rows_read, res.rows_loaded
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="medium", choices=["small", "medium", "large"])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", help="write the figures here "
                    "(default benchmarks/results/profiles_<scale>.json)")
    args = ap.parse_args()
    landings = prepare(ROOT / "benchmarks" / "data" / f"profiles-{args.scale}", args.scale)
    times: dict[str, list[float]] = {v: [] for v in landings}
    bare: dict[str, list[float]] = {v: [] for v in landings}
    rows: dict[str, tuple[int, int]] = {}
    for run in range(args.runs):
        for variant, landing in landings.items():
            seconds, read, loaded = ingest_once(landing)
            times[variant].append(seconds)
            bare[variant].append(bare_once(landing))
            rows[variant] = (read, loaded)
            print(f"run {run + 1}: {variant:22s} {seconds:7.2f} s (bare read "
                  f"{bare[variant][-1]:.2f} s)  {read:,} read, {loaded:,} loaded", flush=True)
    base = statistics.median(times["contract"])
    decode = gbk_decode_seconds(landings[GBK_PROFILE])
    result = {
        "scale": args.scale, "runs": args.runs, "month": "2026-09", "seed": 11,
        "variants": {
            v: {"median_s": round(statistics.median(t), 3), "runs_s": [round(x, 3) for x in t],
                "rows_read": rows[v][0], "rows_loaded": rows[v][1],
                "ratio_to_contract": round(statistics.median(t) / base, 3),
                "bare_read_median_s": round(statistics.median(bare[v]), 3),
                "bare_read_runs_s": [round(x, 3) for x in bare[v]],
                # what kaohe adds to reading these files at all, against the contract's files
                "over_bare_s": round(statistics.median(t) - statistics.median(bare[v]), 3)}
            for v, t in times.items()},
        "gbk_decode_s": round(decode, 3),
        f"{GBK_PROFILE}_ratio_without_gbk_decode": round(
            (statistics.median(times[GBK_PROFILE]) - decode) / base, 3),
    }
    out = Path(args.json) if args.json else (
        ROOT / "benchmarks" / "results" / f"profiles_{args.scale}.json")
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    for v, r in result["variants"].items():
        print(f"{v:22s} median {r['median_s']:7.2f} s  x{r['ratio_to_contract']:.2f}  bare "
              f"{r['bare_read_median_s']:.2f} s  kaohe over bare {r['over_bare_s']:.2f} s")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
