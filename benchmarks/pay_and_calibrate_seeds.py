"""Pay for the days worked and a safe calibration, on untuned generated centres (issue 30's "done
when"): for each seed, a small centre of three months run by `kaohe run` (benchmarks/centre.py),
then from its published warehouse and the generator's manifest:
  - days worked: agent-months appraised (graded, not NA; a veto is never hidden, so VETO is
    not counted) although the agent worked (first day to last call, for
    an agent the roster shows as left by the month's end) fewer than appraisal.min_active_days
    (must be 0);
  - base pay: rows whose base_paid differs from round(base_salary x active_days / days in the
    month, 2), and the month's totals both ways (must be equal);
  - the HR export of each month (`kaohe export-pay --lang zh`), opened again with openpyxl: rows
    whose reason is not Chinese, and the agents listed in the sheet "not paid 未发放";
  - `kaohe calibrate` over the three months, then `kaohe whatif` of each month under its
    proposal: planted harassers paid (must be 0), compliance rules looser than before (must be
    none), lines of the configuration file that differ (only changed values; same line count).

    uv run python benchmarks/pay_and_calibrate_seeds.py --seeds 11 23 42 \
        --out benchmarks/results/pay_and_calibrate_seeds.json
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import duckdb
import openpyxl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.centre import MONTHS, build_centre, run_seeds  # noqa: E402
from kaohe.config import DEFAULT_CONFIG, load_config  # noqa: E402
from kaohe.scoring import whatif  # noqa: E402
from kaohe.scoring.conduct_guard import loosened  # noqa: E402

CHINESE = re.compile(r"[\u4e00-\u9fff]")


def kaohe(*args: str) -> subprocess.CompletedProcess:
    res = subprocess.run([sys.executable, "-m", "pipelines.cli", *args], capture_output=True,
                         text=True)
    if res.returncode:
        sys.exit(f"kaohe {' '.join(args)} failed:\n{res.stderr[-3000:]}")
    return res


def days_and_pay(published: Path, min_days: int) -> dict:
    con = duckdb.connect(str(published), read_only=True)
    try:
        short = con.execute("""
            with last_call as (
                select s.agent_id, s.month, s.grade, max(c.started_at)::date as last_day
                from marts.agent_month_scorecard s
                join staging.calls c on c.agent_id = s.agent_id
                    and c.started_at >= s.month and c.started_at < s.month + interval 1 month
                where exists (select 1 from staging.agents l where l.agent_id = s.agent_id
                              and l.status = 'left'
                              and l.snapshot_date < s.month + interval 1 month)
                group by all),
            worked as (
                select l.*, date_diff('day', greatest(a.hire_date, l.month), l.last_day) + 1
                    as days_by_last_call
                from last_call l
                join (select agent_id, min(hire_date) as hire_date from staging.agents
                      group by all) a using (agent_id))
            select count(*) filter (where grade not in ('NA', 'VETO')
                                    and days_by_last_call < ?),
                   count(*) filter (where days_by_last_call < ?)
            from worked""", [min_days, min_days]).fetchall()[0]
        pay = con.execute("""
            select count(*) filter (where base_paid <> round(base_salary * active_days
                                    / day(last_day(month)), 2)),
                   count(*), sum(base_paid),
                   sum(round(base_salary * active_days / day(last_day(month)), 2)),
                   count(*) filter (where active_days = 0)
            from marts.agent_month_pay""").fetchall()[0]
    finally:
        con.close()
    return {"leaver_months_under_min_days": short[1], "appraised_under_min_days": short[0],
            "pay_rows": pay[1], "base_paid_mismatches": pay[0],
            "base_paid_total": float(pay[2]), "base_by_days_total": float(pay[3]),
            "pay_rows_without_an_active_day": pay[4]}


def export(home: Path, work: Path) -> dict:
    not_chinese, not_paid, rows = 0, 0, 0
    for month in MONTHS:
        out = work / f"pay-{month}.xlsx"
        kaohe("export-pay", "--month", month, "--home", str(home), "--out", str(out),
              "--lang", "zh")
        wb = openpyxl.load_workbook(out, read_only=True)
        sheet = wb["pay 薪酬"]
        header = [c.value for c in next(sheet.iter_rows(max_row=1))]
        at = next(i for i, h in enumerate(header) if h and "原因" in str(h))
        for row in sheet.iter_rows(min_row=2, values_only=True):
            rows += 1
            if row[at] and not CHINESE.search(str(row[at])):
                not_chinese += 1
        not_paid += max(0, wb["not paid 未发放"].max_row - 1)
        wb.close()
    return {"export_rows": rows, "export_reasons_not_chinese": not_chinese,
            "export_not_paid_listed": not_paid}


def calibration(home: Path, work: Path, harassers: list[str]) -> dict:
    out = work / "calibrated.yaml"
    kaohe("calibrate", "--from", MONTHS[0], "--to", MONTHS[-1], "--home", str(home), "--out",
          str(out))
    proposal, base = load_config(out), load_config(None)
    paid = 0
    grade_changes = 0
    for month in MONTHS:
        rows = whatif.run(home / "warehouse" / "kaohe.duckdb", month, proposal).rows
        paid += rows.filter(rows["agent_id"].is_in(harassers)
                            & (rows["variable_pay_after"].fill_null(0) > 0)).height
        grade_changes += rows.filter(rows["grade_before"] != rows["grade_after"]).height
    original = DEFAULT_CONFIG.read_text(encoding="utf-8").splitlines()
    written = out.read_text(encoding="utf-8").splitlines()
    return {"harasser_months_paid_under_proposal": paid,
            "compliance_loosened": loosened(base, proposal),
            "config_lines": len(original), "proposal_lines": len(written),
            "lines_changed": sum(a != b for a, b in zip(original, written, strict=False)),
            "grade_changes_under_proposal": grade_changes}


def one_seed(seed: int, work: Path) -> dict:
    manifest = build_centre(seed, work, reuse=True)
    home = work / "home"
    cfg = load_config(None)
    out = {"seed": seed, "harassers": len(manifest["harassing_agents"])}
    out |= days_and_pay(home / "warehouse" / "kaohe.duckdb", cfg.appraisal.min_active_days)
    out |= export(home, work)
    out |= calibration(home, work, manifest["harassing_agents"])
    return out


def main() -> int:
    out = run_seeds(one_seed, __doc__.split("\n")[0], "kaohe-pay")
    ok = all(r["appraised_under_min_days"] == 0 and r["base_paid_mismatches"] == 0
             and r["export_reasons_not_chinese"] == 0
             and r["harasser_months_paid_under_proposal"] == 0 and not r["compliance_loosened"]
             and r["proposal_lines"] == r["config_lines"] for r in out)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
