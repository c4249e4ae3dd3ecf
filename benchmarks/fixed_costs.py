"""What a run costs whatever the data: start-up, Dagster, the checks and the publish.

    uv run python benchmarks/fixed_costs.py --out benchmarks/results/fixed_costs.json
    uv run python benchmarks/fixed_costs.py --repeat 3 --checkout /tmp/before   # compare

Three cases, each ``kaohe run`` in its own process, timed from outside (wall seconds):
  import    ``python -c "import pipelines.cli, pipelines.definitions, great_expectations"``:
            the interpreter and the libraries a run loads before its first step;
  tiny      a fresh home, a landing of two one-row files: every step runs, on next to no data;
  rerun     the same month again on a built small month with nothing new (the nightly run on a
            night without files).
Cases of every checkout are interleaved (a, b, a, b...) and repeated: the median and the spread
(min-max) are reported, because figures on a shared 2-core machine move by 10-20% between runs.
``--checkout`` adds another working tree of kaohe (its own .venv) to compare with this one.
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
MONTH = "2026-08"
TINY = {
    "assignments": ("assignments_20260801.csv", "S1,C1,A1,2026-08-01 09:00:00,,30,1000.00"),
    "calls": ("calls_20260803.csv", "K1,C1,A1,2026-08-03 09:00:00,0,no_answer,,,"),
}


def tiny_landing(folder: Path) -> Path:
    from kaohe.ingest.contract import load_contract

    contract = load_contract()
    for source, (name, row) in TINY.items():
        (folder / source).mkdir(parents=True, exist_ok=True)
        header = ",".join(contract[source].column_names)
        (folder / source / name).write_text(f"{header}\n{row}\n", encoding="utf-8")
    return folder


def small_landing(folder: Path) -> Path:
    from kaohe.generate import generate

    if not (folder / "_manifest.json").exists():
        generate(folder, date(2026, 8, 1), 1, 7, "small", progress=None)
    return folder


def timed(cmd: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=1800)
    seconds = time.perf_counter() - started
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed in {cwd}:\n{res.stderr[-2000:]}")
    return seconds


def run_cmd(tree: Path, landing: Path, home: Path) -> list[str]:
    return [str(tree / ".venv" / "bin" / "python"), "-m", "pipelines.cli", "run", "--month",
            MONTH, "--landing", str(landing), "--home", str(home)]


def measure(tree: Path, work: Path, tiny: Path, small: Path) -> dict[str, float]:
    python = str(tree / ".venv" / "bin" / "python")
    out = {"import": timed([python, "-c", "import pipelines.cli, pipelines.definitions, "
                            "great_expectations"], tree)}
    home = work / "tiny-home"
    shutil.rmtree(home, ignore_errors=True)
    out["tiny"] = timed(run_cmd(tree, tiny, home), tree)
    built = work / "small-home"
    if not built.exists():
        timed(run_cmd(tree, small, built), tree)  # built once per checkout, not timed
    out["rerun"] = timed(run_cmd(tree, small, built), tree)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--checkout", type=Path, action="append", default=[],
                    help="another kaohe working tree (with its .venv) to measure alike")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    trees = [ROOT, *[p.resolve() for p in args.checkout]]
    with tempfile.TemporaryDirectory(prefix="kaohe-fixed-") as tmp:
        tmp_path = Path(tmp)
        tiny = tiny_landing(tmp_path / "tiny")
        small = small_landing(ROOT / "benchmarks" / "data" / "landing-small")
        samples: dict[str, dict[str, list[float]]] = {str(t): {} for t in trees}
        for i in range(args.repeat):
            for t in trees:  # interleaved: a slow minute of the machine hits every side
                got = measure(t, tmp_path / f"work-{trees.index(t)}", tiny, small)
                for case, s in got.items():
                    samples[str(t)].setdefault(case, []).append(s)
                print(f"round {i + 1} {t}: " + ", ".join(f"{k} {v:.1f} s"
                                                       for k, v in got.items()), flush=True)
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "repeat": args.repeat,
        "trees": {t: {case: {"median_s": round(statistics.median(v), 2),
                             "min_s": round(min(v), 2), "max_s": round(max(v), 2)}
                      for case, v in cases.items()} for t, cases in samples.items()},
    }
    for t, cases in result["trees"].items():
        print(t)
        for case, f in cases.items():
            print(f"  {case:<7} median {f['median_s']:6.1f} s  ({f['min_s']:.1f}-{f['max_s']:.1f})")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
