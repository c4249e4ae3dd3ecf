"""The conduct rules on untuned generated centres: for each seed, a small centre of three months
run by `kaohe run`, then from the published warehouse and the generator's manifest:
  - planted harassers (manifest harassing_agents): appraised months, and months paid any
    variable pay (must be 0);
  - ordinary agents: agent-months with a high conduct alert (must be under 2%), agent-months with
    any contact-rule breach, agent-months gated;
  - the version-1 reading for comparison: ordinary agent-months with own over-cap calls (every
    dial counted against 3 a day).

    uv run python benchmarks/conduct_seeds.py --seeds 11 23 42 \
        --out benchmarks/results/conduct_seeds.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.centre import build_centre  # noqa: E402


def one_seed(seed: int, work: Path) -> dict:
    landing, home = work / "landing", work / "home"
    build_centre(seed, work)
    harassers = json.loads((landing / "_manifest.json").read_text())["harassing_agents"]
    con = duckdb.connect(str(home / "warehouse" / "kaohe.duckdb"), read_only=True)
    q = lambda sql: con.execute(sql, [harassers]).fetchall()[0]  # noqa: E731
    h_months, h_paid = q(
        "select count(*), count(*) filter (where p.variable_earned > 0) "
        "from marts.agent_month_scorecard s left join marts.agent_month_pay p "
        "using (agent_id, month) where list_contains(?, s.agent_id) "
        "and s.not_appraised_code is null")
    o_months, o_high, o_breach, o_gated, o_v1 = q(
        "select count(*), count(*) filter (where h.agent_id is not null), "
        "count(*) filter (where m.contact_rule_breaches > 0), "
        "count(*) filter (where s.conduct_gate_code is not null), "
        "count(*) filter (where m.own_over_cap_calls > 0) "
        "from marts.agent_month_metrics m "
        "left join marts.agent_month_scorecard s using (agent_id, month) "
        "left join (select distinct agent_id, month from marts.conduct_alerts "
        "           where severity = 'high') h using (agent_id, month) "
        "where not list_contains(?, m.agent_id) and m.call_attempts > 0")
    con.close()
    return {"seed": seed, "harassers": len(harassers), "harasser_months": h_months,
            "harasser_months_paid": h_paid, "ordinary_agent_months": o_months,
            "ordinary_high_alert_months": o_high,
            "ordinary_high_alert_share": round(o_high / o_months, 4),
            "ordinary_months_with_a_breach": o_breach, "ordinary_months_gated": o_gated,
            "ordinary_months_over_the_v1_cap": o_v1}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[11, 23, 42])
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    out = []
    for seed in args.seeds:
        with tempfile.TemporaryDirectory(prefix=f"kaohe-conduct-{seed}-") as tmp:
            out.append(one_seed(seed, Path(tmp)))
            print(json.dumps(out[-1]), flush=True)
    if args.out:
        args.out.write_text(json.dumps(out, indent=1) + "\n")
    ok = all(r["harasser_months_paid"] == 0 and r["ordinary_high_alert_share"] < 0.02
             for r in out)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
