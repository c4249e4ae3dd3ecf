"""A generated centre built as a lender would build it, for the benchmarks that judge the
appraisal on untuned seeds (conduct_seeds.py, gaming_signals.py, pay_and_calibrate_seeds.py):
a small centre of three months from 2026-08, each month run by `kaohe run`."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kaohe.generate import generate  # noqa: E402

MONTHS = ("2026-08", "2026-09", "2026-10")


def build_centre(seed: int, work: Path, months: tuple[str, ...] = MONTHS) -> dict:
    """Generate ``work/landing`` and run every month into ``work/home``; the generator's
    manifest. Exits with the run's error when a month fails."""
    landing, home = work / "landing", work / "home"
    manifest = generate(landing, date(2026, 8, 1), len(months), seed, "small", progress=None)
    for month in months:
        res = subprocess.run([sys.executable, "-m", "pipelines.cli", "run", "--month", month,
                              "--landing", str(landing), "--home", str(home)],
                             capture_output=True, text=True, env=os.environ.copy())
        if res.returncode:
            sys.exit(f"seed {seed} {month}: kaohe run failed\n{res.stderr[-3000:]}")
    return manifest
