"""The gaming signals on untuned generated centres: for each seed, a small centre of three months
run by `kaohe run`; then, in a copy of its warehouse, the generator's gaming planter
(kaohe/generate/gaming.py: three agents per behaviour, and two honest look-alikes each of
debtors who hang up and of payments around the turn of the month) and the
months rebuilt; per signal, precision and recall over the planted agents and the share of honest
agent-months flagged (kaohe/generate/gaming_truth.py says how each is counted).

    uv run python benchmarks/gaming_signals.py --seeds 11 23 42 \
        --out benchmarks/results/gaming_signals.json

Exit 1 when a signal misses precision 0.8, recall 0.8 or flags 5% of honest agent-months or more.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.centre import MONTHS, build_centre  # noqa: E402
from kaohe.config import load_config  # noqa: E402
from kaohe.generate.gaming import plant_centre  # noqa: E402
from kaohe.generate.gaming_truth import evaluate  # noqa: E402
from kaohe.models.marts import build_all  # noqa: E402


def one_seed(seed: int, work: Path) -> dict:
    home = work / "home"
    manifest = build_centre(seed, work)
    db = work / "planted.duckdb"
    shutil.copyfile(home / "work" / "kaohe.duckdb", db)  # the writer's database
    con = duckdb.connect(str(db))
    truth = plant_centre(con, list(MONTHS), seed=seed)
    cfg = load_config()
    for month in MONTHS:
        build_all(con, cfg, month)
    result = evaluate(con, truth["gaming_agents"], list(MONTHS),
                      exclude=manifest.get("harassing_agents", []),
                      lookalikes=truth["lookalikes"])
    con.close()
    return {"seed": seed, "signals": result}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[11, 23, 42])
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    out = []
    for seed in args.seeds:
        with tempfile.TemporaryDirectory(prefix=f"kaohe-gaming-{seed}-") as tmp:
            out.append(one_seed(seed, Path(tmp)))
            for signal, r in out[-1]["signals"].items():
                print(seed, f"{signal:24s}", json.dumps(r), flush=True)
    if args.out:
        args.out.write_text(json.dumps(out, indent=1) + "\n")
    ok = all((r["precision"] is None or r["precision"] >= 0.8)
             and (r["recall"] is None or r["recall"] >= 0.8)
             and r["honest_flagged_share"] < 0.05
             for seed in out for r in seed["signals"].values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
