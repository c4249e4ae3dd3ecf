"""Contact windows, judged on the next month (docs/contact-windows.md, "Does it work?"): for each
seed, two small centres of three months from 2026-08 (benchmarks/centre.py, every month run by
`kaohe run`), one whose debtor segments answer by the generator's hourly curves and one with a
flat curve (every hour alike: the null), then from each published warehouse:

  - recovery: for each month, segment and kind of day, whether marts.contact_windows' best window
    (window_rank 1) is the curve's best hour, or among its best three (the manifest's
    contact_curves);
  - the evaluation (kaohe.models.window_eval), for each pair of months (M, M+1): the uplift in
    right-party contacts of M+1's attempts placed in the top-k windows of M's estimate over the
    agents' own hour mix, compared within agent, segment and kind of day, with a 95% bootstrap
    interval over agents; adjusted (expected contacts: the attempt's order in the debtor's day
    and bucket) and raw (attempts); for k = 1 and 3, for the estimate, for the raw rates of M
    (rpc_rate, neither adjusted nor shrunk) and, on the curved centre, for the curve itself (the
    oracle: what a perfect estimate would give).

    uv run python benchmarks/contact_windows_eval.py --seeds 11 23 42 --work /tmp/windows \
        --out benchmarks/results/contact_windows_eval.json
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.centre import MONTHS, build_centre, run_seeds  # noqa: E402
from kaohe.config import load_config  # noqa: E402
from kaohe.models.window_eval import (  # noqa: E402
    curve_top_windows,
    evaluate,
    top_windows,
    window_counts,
)

KS = (1, 3)


def raw_top_windows(con: duckdb.DuckDBPyConnection, month: str, k: int) -> pl.DataFrame:
    """The k windows of each segment and day kind with the best raw rate of the month."""
    return con.sql(
        "select segment, day_kind, hour from marts.contact_windows where month = $m "
        "and attempts > 0 qualify row_number() over (partition by segment, day_kind order by "
        "rpc_rate desc, hour) <= $k", params={"m": f"{month}-01", "k": k}).pl()


def recovery(con: duckdb.DuckDBPyConnection, manifest: dict) -> dict:
    """Per month: the segments x day kinds whose estimated best window is the curve's best hour,
    and those whose estimated best is among the curve's best three."""
    hours = manifest["contact_curve_hours"]
    best3 = curve_top_windows(manifest["contact_curves"], hours, 3)
    out = {}
    for month in MONTHS:
        est = con.sql("select segment, day_kind, hour from marts.contact_windows where "
                      "month = $m and window_rank = 1 and segment <> 'unknown'",
                      params={"m": f"{month}-01"}).pl()
        truth = pl.DataFrame([{"segment": s, "day_kind": dk, "true_hour": v["hour"]}
                              for s, kinds in manifest["contact_best_windows"].items()
                              for dk, v in kinds.items()])
        joined = est.join(truth, on=["segment", "day_kind"])
        in3 = est.join(best3, on=["segment", "day_kind", "hour"]).height
        out[month] = {
            "windows": joined.height,
            "best_hour": int((joined["hour"] == joined["true_hour"]).sum()),
            "best_hour_weekday": int(joined.filter((pl.col("day_kind") == "weekday")
                                                   & (pl.col("hour") == pl.col("true_hour")))
                                     .height),
            "among_true_best_3": in3,
        }
    return out


def one_centre(seed: int, work: Path, curves: str) -> dict:
    manifest = build_centre(seed, work, reuse=True, contact_curves=curves)
    cfg = load_config()
    con = duckdb.connect(str(work / "home" / "warehouse" / "kaohe.duckdb"), read_only=True)
    try:
        out: dict = {"curves": curves}
        if curves != "flat":
            out["recovery"] = recovery(con, manifest)
        pairs = {}
        for month, nxt in zip(MONTHS, MONTHS[1:], strict=False):
            counts = window_counts(con, cfg, nxt)
            res = {}
            for k in KS:
                res[f"estimate_top{k}"] = evaluate(counts, top_windows(con, month, k))
                res[f"raw_rates_top{k}"] = evaluate(counts, raw_top_windows(con, month, k))
                if curves != "flat":
                    res[f"oracle_top{k}"] = evaluate(counts, curve_top_windows(
                        manifest["contact_curves"], manifest["contact_curve_hours"], k))
            pairs[f"{month}->{nxt}"] = res
        out["next_month"] = pairs
        return out
    finally:
        con.close()


def one_seed(seed: int, work: Path) -> dict:
    return {"seed": seed, "centres": [one_centre(seed, work / curves, curves)
                                      for curves in ("industry", "flat")]}


if __name__ == "__main__":
    run_seeds(one_seed, __doc__.splitlines()[0], "windows")
