"""A generated centre built as a lender would build it, for the benchmarks that judge the
appraisal on untuned seeds (conduct_seeds.py, gaming_signals.py, pay_and_calibrate_seeds.py):
a small centre of three months from 2026-08, each month run by `kaohe run`."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kaohe.generate import generate  # noqa: E402

MONTHS = ("2026-08", "2026-09", "2026-10")
# The generator's scale (`--scale` of run_seeds): small (60 agents, 100 cases each) by default;
# medium (300 agents, about 330 cases each: a real agent's book) for the figures that depend on
# how much evidence a month gives about an agent.
SCALE = "small"


def build_centre(seed: int, work: Path, months: tuple[str, ...] = MONTHS,
                 reuse: bool = False, scale: str | None = None,
                 contact_curves: str = "industry") -> dict:
    """Generate ``work/landing`` and run every month into ``work/home``; the generator's
    manifest. Exits with the run's error when a month fails. ``reuse``: a centre already built
    there (its last month published, at the same scale and curves) is taken as it is.
    ``scale``: default SCALE. ``contact_curves``: the generator's (``industry`` or ``flat``)."""
    scale = scale or SCALE
    landing, home = work / "landing", work / "home"
    done = work / "built.json"
    if reuse and done.exists():
        built = json.loads(done.read_text())
        if (built.get("scale", "small") == scale
                and built.get("contact_curves", "industry") == contact_curves):
            return json.loads((landing / "_manifest.json").read_text(encoding="utf-8"))
    manifest = generate(landing, date(2026, 8, 1), len(months), seed, scale, progress=None,
                        contact_curves=contact_curves)
    for month in months:
        res = subprocess.run([sys.executable, "-m", "pipelines.cli", "run", "--month", month,
                              "--landing", str(landing), "--home", str(home)],
                             capture_output=True, text=True, env=os.environ.copy())
        if res.returncode:
            sys.exit(f"seed {seed} {month}: kaohe run failed\n{res.stderr[-3000:]}")
    done.write_text(json.dumps({"seed": seed, "months": list(months), "scale": scale,
                                "contact_curves": contact_curves}), encoding="utf-8")
    return manifest


def run_seeds(one_seed: Callable[[int, Path], dict], description: str, prefix: str) -> list[dict]:
    """The command line the seed benchmarks share: --seeds, --work (each seed's centre kept and
    reused in WORK/<seed>; default a temporary folder), --out (the JSON written); each seed's
    result printed as it comes."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--seeds", type=int, nargs="+", default=[11, 23, 42])
    ap.add_argument("--work", type=Path, help="keep each seed's centre in WORK/<seed> (and "
                    "reuse one already built there); default: a temporary folder")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--scale", choices=("small", "medium"), default="small")
    args = ap.parse_args()
    global SCALE
    SCALE = args.scale
    out = []
    for seed in args.seeds:
        if args.work:
            out.append(one_seed(seed, args.work / str(seed)))
        else:
            with tempfile.TemporaryDirectory(prefix=f"{prefix}-{seed}-") as tmp:
                out.append(one_seed(seed, Path(tmp)))
        print(json.dumps(out[-1]), flush=True)
    if args.out:
        args.out.write_text(json.dumps(out, indent=1) + "\n")
    return out
