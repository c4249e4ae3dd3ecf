"""kaohe on DuckDB 2.0 (what uv.lock pins) against DuckDB's long-term-support line (1.4), on the
same landing: one `kaohe run` each on a fresh home, interleaved, with the step times of the
run's own progress lines. The 1.4 side runs the same checkout with `uv run --with duckdb==1.4.*`.

    uv run python benchmarks/duckdb_lines.py --landing benchmarks/data/large --month 2026-08 \
        --rounds 1 --out benchmarks/results/duckdb_lines.json

Also times GB18030 decoding both ways on a generated complaints-like file: kaohe's Python
decoder (DuckDB 2.0 has no encodings extension) against DuckDB 1.4's native reader from the
`duckdb-ext-encodings` wheel (--gb18030-rows; 0 skips it). docs/architecture.md has the figures
and the decision.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]
STEP = re.compile(r"^\s+(\S+)\s+(?:([\d,]+) rows\s+)?([\d.]+) s$")
SIDES = {"2.0": [], "1.4": ["--with", "duckdb==1.4.*"]}


def run_side(side: str, landing: Path, month: str, home: Path) -> dict:
    shutil.rmtree(home, ignore_errors=True)
    cmd = ["uv", "run", *SIDES[side], "kaohe", "run", "--month", month, "--landing",
           str(landing), "--home", str(home)]
    started = time.perf_counter()
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    steps = {}
    for line in res.stdout.splitlines():
        m = STEP.match(line)
        if m:
            steps[m.group(1)] = float(m.group(3))
    version = subprocess.run(["uv", "run", *SIDES[side], "python", "-c",
                              "import duckdb; print(duckdb.__version__)"], cwd=ROOT,
                             capture_output=True, text=True).stdout.strip()
    return {"side": side, "duckdb": version, "returncode": res.returncode, "seconds": seconds,
            "ingest": round(sum(v for k, v in steps.items() if k.startswith("staging.")), 1),
            "marts": round(sum(v for k, v in steps.items() if k.startswith("marts.")), 1),
            "publish": steps.get("warehouse.published"), "steps": steps,
            "tail": res.stderr[-500:] if res.returncode else ""}


GB18030_SCRIPT = r"""
import sys, time, duckdb
from pathlib import Path
path = sys.argv[1]
if sys.argv[2] == "native":
    import glob, duckdb_ext, os
    ext = glob.glob(os.path.join(os.path.dirname(duckdb_ext.__path__[0]), "duckdb_ext",
                                 "extensions", "*", "*", "encodings.duckdb_extension"))[0]
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")
    con.execute(f"load '{ext}'")
    t = time.perf_counter()
    n = con.sql(f"select count(*) from read_csv('{path}', encoding = 'gb18030', header = true, "
                "all_varchar = true)").fetchall()[0][0]
else:
    # what kaohe does on DuckDB 2.0: decide the encoding from the whole file, transcode it
    from kaohe.ingest.encoding import analyse, transcode
    con = duckdb.connect()
    t = time.perf_counter()
    with open(path, "rb") as fh:
        verdict = analyse(fh)
    with open(path, "rb") as fh:
        transcode(fh, Path(path + ".utf8"), "gb18030")
    n = con.sql(f"select count(*) from read_csv('{path}.utf8', header = true, "
                "all_varchar = true)").fetchall()[0][0]
print(n, time.perf_counter() - t)
"""


def gb18030(rows: int, work: Path) -> dict:
    """Decode a GB18030 file of ``rows`` complaint-like lines: Python vs the native reader."""
    path = work / "complaints.csv"
    line = "C{0},A0001,2026-08-03 10:00:00,催收人员态度恶劣，多次来电骚扰，要求处理{0}\n"
    with path.open("wb") as fh:
        fh.write("complaint_id,agent_id,received_at,description\n".encode("gb18030"))
        for start in range(0, rows, 100_000):
            fh.write("".join(line.format(i) for i in range(start, min(rows, start + 100_000))
                             ).encode("gb18030"))
    out = {"rows": rows, "bytes": path.stat().st_size}
    py = subprocess.run(["uv", "run", "python", "-c", GB18030_SCRIPT, str(path), "python"],
                        cwd=ROOT, capture_output=True, text=True)
    out["python_2.0"] = py.stdout.strip() or py.stderr[-300:]
    native = subprocess.run(["uv", "run", "--with", "duckdb-ext-encodings==1.4.4.*", "--with",
                             "duckdb==1.4.4", "python", "-c", GB18030_SCRIPT, str(path),
                             "native"], cwd=ROOT, capture_output=True, text=True)
    out["native_1.4"] = native.stdout.strip() or native.stderr[-300:]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--landing", type=Path, required=True)
    ap.add_argument("--month", required=True)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--gb18030-rows", type=int, default=1_000_000)
    ap.add_argument("--work", type=Path, default=None, help="homes go here (default: a temp dir)")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="kaohe-duckdb-lines-"))
    results = {"runs": [], "gb18030": None}
    for r in range(args.rounds):
        for side in (("2.0", "1.4") if r % 2 == 0 else ("1.4", "2.0")):
            res = run_side(side, args.landing, args.month, work / f"home-{side}")
            print(json.dumps({k: v for k, v in res.items() if k != "steps"}), flush=True)
            results["runs"].append(res)
    if args.gb18030_rows:
        results["gb18030"] = gb18030(args.gb18030_rows, work)
        print(json.dumps(results["gb18030"]), flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
