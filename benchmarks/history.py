"""Cost in the length of history: month 13 with 12 months in the warehouse against month 2 with 1.

    uv run python benchmarks/history.py --scale small [--months 13] [--repeat 3] \
        [--out benchmarks/results/history_small.json]

A landing of ``--months`` months is generated once (seed 7, from 2026-01-01) into
``benchmarks/data/history-<scale>``. The landing grows as it does at a centre: before the run of
month k, the files of month k are placed (hard links) beside the earlier months'. Months 1 to
``--months - 1`` are run once each into one home (copies are kept after month 1 and after the
second-last month); then, ``--repeat`` times and interleaved, a copy of the one-month home runs
month 2 and a copy of the long home runs the last month, each ``kaohe run`` in its own process,
timed from outside. The target (issue 34): the last month costs at most 1.1x month 2.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
START = date(2026, 1, 1)
SEED = 7


def _month(k: int) -> str:
    y, m = divmod(START.month - 1 + k, 12)
    return f"{START.year + y}-{m + 1:02d}"


def _place(path: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        dest.hardlink_to(path)
    except OSError:
        shutil.copy2(path, dest)


def grow(source: Path, landing: Path, through: str) -> None:
    """Place every file of ``source`` dated up to the month ``through`` (and the undated ones)."""
    from kaohe.ingest.ingestor import discover

    for files in discover(source).values():
        for f in files:
            if f.business_date is None or f.business_date.strftime("%Y-%m") <= through:
                dest = landing / f.rel
                if not dest.exists():
                    _place(f.path, dest)


# A month's run in its own interpreter (start-up and imports included, as a user's), with its
# per-step times as the runner reports them (pipelines.runner.RunOutcome.step_seconds)
_CHILD = ("import json, sys; from pathlib import Path; from pipelines.runner import run_month; "
          "o = run_month(sys.argv[1], Path(sys.argv[3]), Path(sys.argv[2])); "
          "print(json.dumps({'ok': o.success, 'steps': o.step_seconds}))")


def timed_run(month: str, landing: Path, home: Path) -> dict:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _CHILD, month, str(landing), str(home)],
                          capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - started
    out = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else {}
    return {"month": month, "wall_s": wall, "ok": bool(out.get("ok")),
            "steps": out.get("steps", {})}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", choices=["small", "medium"], default="small")
    ap.add_argument("--months", type=int, default=13)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--data", type=Path, default=ROOT / "benchmarks" / "data")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    from kaohe.generate import generate

    source = args.data / f"history-{args.scale}-{args.months}"
    if not source.exists():
        print(f"generating {args.months} months ({args.scale}) into {source} ...", flush=True)
        generate(source, START, args.months, SEED, args.scale, progress=None)
    work = Path(tempfile.mkdtemp(prefix="kaohe-history-"))
    try:
        landing, home = work / "landing", work / "home"
        build = []
        last = _month(args.months - 1)
        for k in range(args.months - 1):
            month = _month(k)
            grow(source, landing, month)
            r = timed_run(month, landing, home)
            print(f"  built {month}: {r['wall_s']:.1f} s", flush=True)
            if not r["ok"]:
                raise SystemExit(f"the run of {month} failed")
            build.append(r)
            if k == 0:
                shutil.copytree(home, work / "home-1", symlinks=True)
                shutil.copytree(landing, work / "landing-1", symlinks=True)
        grow(source, work / "landing-1", _month(1))
        grow(source, landing, last)
        short, long = [], []
        for i in range(args.repeat):
            for runs, base, land, month in ((short, work / "home-1", work / "landing-1",
                                             _month(1)),
                                            (long, home, landing, last)):
                trial = work / "trial"
                shutil.rmtree(trial, ignore_errors=True)
                shutil.copytree(base, trial, symlinks=True)
                r = timed_run(month, land, trial)
                if not r["ok"]:
                    raise SystemExit(f"the run of {month} failed")
                runs.append(r)
                after = "1 month" if runs is short else f"{args.months - 1} months"
                print(f"  round {i + 1}: {month} after {after}: {r['wall_s']:.1f} s", flush=True)
        med_short = statistics.median(r["wall_s"] for r in short)
        med_long = statistics.median(r["wall_s"] for r in long)
        steps = sorted(set(short[0]["steps"]) | set(long[0]["steps"]))
        per_step = {s: {"month_2": statistics.median(r["steps"].get(s, 0.0) for r in short),
                        f"month_{args.months}": statistics.median(r["steps"].get(s, 0.0)
                                                                  for r in long)}
                    for s in steps}
        res = {"scale": args.scale, "months": args.months, "repeat": args.repeat,
               "date": time.strftime("%Y-%m-%d"),
               "month_2_s": med_short, f"month_{args.months}_s": med_long,
               "ratio": med_long / med_short, "target": "<= 1.1",
               "met": med_long / med_short <= 1.1,
               "build_s": [round(r["wall_s"], 1) for r in build],
               "short": short, "long": long, "per_step": per_step}
        print(f"month 2 after 1 month: {med_short:.1f} s; month {args.months} after "
              f"{args.months - 1}: {med_long:.1f} s; ratio {res['ratio']:.2f} (target <= 1.1)")
        grew = sorted(((v[f"month_{args.months}"] - v["month_2"], s) for s, v in per_step.items()),
                      reverse=True)[:8]
        for d, s in grew:
            print(f"  {s:40s} {per_step[s]['month_2']:6.1f} s -> "
                  f"{per_step[s][f'month_{args.months}']:6.1f} s ({d:+.1f})")
        if args.out:
            args.out.write_text(json.dumps(res, indent=2, default=str) + "\n")
            print(f"wrote {args.out}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
