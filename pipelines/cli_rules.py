"""The kaohe commands about the rules, compliance, HR and upkeep: ``purge`` (retention),
``migrate`` (the warehouse to this release's schema),
``audit-config`` and ``config-schema`` (the configuration against the regulatory rule pack; its
JSON schema), ``export-pay`` (pay for HR's payroll import), ``whatif`` (a month re-scored under a
proposed configuration) and ``calibrate`` (grade bands and rule floors/targets from the history).

Their arguments are declared with every other command's in pipelines/cli.py (build_parser).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from pipelines.cli_common import CliError, get_config, get_home, setup_logging, write_output


def cmd_purge(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    from assets.resources import Warehouse
    from kaohe.warehouse import Home
    from kaohe.warehouse.retention import PurgeRefused, purge
    from pipelines.runner import RunLocked, run_lock

    home = get_home(args)
    if not Home(home).work_db.exists():
        raise CliError(f"no warehouse in {home}: nothing to purge")
    cfg = get_config(args)
    setup_logging(home)
    today = datetime.now(ZoneInfo(cfg.timezone)).date()
    try:
        with run_lock(Home(home)), Warehouse(home=str(home), landing=str(home)).writer() as con:
            result = purge(con, args.before, cfg.retention_days, today)
    except (PurgeRefused, RunLocked) as exc:
        raise CliError(str(exc)) from None
    print(f"purged {result.files} file(s) dated before {result.before}: "
          f"{sum(result.rows.values()):,} rows (logged in audit.purge_log)")
    return 0


def cmd_audit_config(args: argparse.Namespace) -> int:
    from kaohe.scoring.rule_audit import audit, errors

    cfg = get_config(args)
    findings = audit(cfg)
    if args.home:  # with the centre's history: rules that give almost everyone full marks
        from kaohe.scoring.rule_audit import history_findings
        from kaohe.warehouse import Home

        published = Home(get_home(args)).published_db
        if not published.exists():
            raise CliError(f"no published warehouse in {args.home}")
        findings += history_findings(published, cfg)
    print(f"audit of {cfg.path} (version {cfg.config_version}): "
          f"{len(errors(findings))} error(s), "
          f"{len(findings) - len(errors(findings))} warning(s)")
    for f in sorted(findings, key=lambda f: f.severity):
        print(f"  {f.severity.upper():<8} [{f.rule}] {f.message}: {f.detail}")
        print(f"           rule from: {f.source}")
    return 1 if errors(findings) else 0


def cmd_config_schema(args: argparse.Namespace) -> int:
    from kaohe.config import SCHEMA_FILE, json_schema_text

    text = json_schema_text()
    if args.check:
        current = SCHEMA_FILE.read_text(encoding="utf-8") if SCHEMA_FILE.exists() else ""
        if current != text:
            print(f"kaohe: {SCHEMA_FILE} is out of date: run kaohe config-schema --out "
                  f"{SCHEMA_FILE}", file=sys.stderr)
            return 1
        print(f"{SCHEMA_FILE} is up to date")
        return 0
    if args.out:
        write_output(args.out, text, "--out")
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def cmd_export_pay(args: argparse.Namespace) -> int:
    from kaohe.scoring.payroll import PayrollError, export_pay
    from kaohe.warehouse import Home

    home = Home(get_home(args))
    try:
        written = export_pay(home.published_db, args.month, Path(args.out), args.lang)
    except PayrollError as exc:
        raise CliError(str(exc)) from None
    export = written.export
    print(f"wrote {len(export.rows)} pay rows of {args.month} "
          f"(config {', '.join(export.config_versions)}) to {written.path}")
    print("  totals: " + ", ".join(f"{name} {export.totals[name]:,.2f}" for name in
                                   ("base_salary", "base_paid", "variable_earned", "paid_now",
                                    "deferred", "forfeited", "ytd_deferred_pool")))
    if export.not_paid:
        print(f"  not paid (no active day in {args.month}, listed apart"
              f"{' in the sheet not paid' if written.path.suffix.lower() == '.xlsx' else ''}): "
              + ", ".join(r[0] for r in export.not_paid))
    return 0


def cmd_whatif(args: argparse.Namespace) -> int:
    from kaohe.scoring import whatif
    from kaohe.warehouse import Home

    home = Home(get_home(args))
    cfg = get_config(args)
    try:
        result = whatif.run(home.published_db, args.month, cfg, home.reports, args.lang)
    except whatif.WhatIfError as exc:
        raise CliError(str(exc)) from None
    rows = result.rows
    before = dict(whatif.distribution(rows, "grade_before"))
    after = dict(whatif.distribution(rows, "grade_after"))
    print(f"{args.month} under {cfg.config_version} ({result.seconds:.1f} s"
          f"{', metrics rebuilt' if result.rebuilt_metrics else ''}):")
    for grade in sorted(set(before) | set(after), key="S A B C D VETO NA".split().index):
        print(f"  {grade:>4}  {before.get(grade, 0):5d} -> {after.get(grade, 0):5d}")
    pay = [rows[c].fill_null(0).sum() for c in ("variable_pay_before", "variable_pay_after")]
    print(f"  variable pay {pay[0]:,.2f} -> {pay[1]:,.2f} ({pay[1] - pay[0]:+,.2f}); "
          f"{result.grade_changes} agent(s) change grade, {result.changed.height} change "
          f"score or pay; {len(result.findings)} audit finding(s)")
    teams = result.teams
    moved = teams.filter(teams["grade_before"].ne_missing(teams["grade_after"]))
    print(f"  team managers: {moved.height} of {teams.height} team grade(s) change"
          + "".join(f"; {r['team_id']} {r['grade_before']} -> {r['grade_after']}"
                    for r in moved.head(6).to_dicts()))
    print(f"  {result.html}\n  {result.csv}\n  {result.teams_csv}")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from kaohe.scoring.calibrate import CalibrationError, calibrate, parse_distribution
    from kaohe.warehouse import Home

    home = Home(get_home(args))
    cfg = get_config(args)
    out = Path(args.out) if args.out else None
    if out is not None and not out.parent.is_dir():
        raise CliError(f"--out {out}: the folder {out.parent} does not exist")
    try:
        result = calibrate(home.published_db, args.first, args.last, cfg,
                           parse_distribution(args.distribution),
                           reports_dir=home.reports, lang=cfg.reports.lang)
    except CalibrationError as exc:
        raise CliError(str(exc)) from None
    n = result.agent_months
    print(f"calibrated on {n} appraised agent-months of {args.first}..{args.last}")
    print("  grade   before   after")
    for grade in ("S", "A", "B", "C", "D"):
        print(f"  {grade:>5}  {100 * result.before[grade] / n:5.1f}%  "
              f"{100 * result.after[grade] / n:5.1f}%")
    for dim, metric, f0, f1, t0, t1 in result.rules:
        print(f"  {dim}.{metric}: floor {f0:g} -> {f1:g}, target {t0:g} -> {t1:g}")
    for measure, f0, f1, t0, t1 in result.team_rules:
        print(f"  team_scorecard.{measure}: floor {f0:g} -> {f1:g}, target {t0:g} -> {t1:g}")
    print("  bands: " + ", ".join(f"{g} {b:g}" for g, b in
                                  result.config.scorecard.grades.items()))
    print("\nthe change to " + str(cfg.path) + ":\n" + result.diff)
    print(result.summary)
    if result.checked and result.checked[-1].html:
        print(f"what-if of {result.checked[-1].month}: {result.checked[-1].html}")
    if out is not None:
        write_output(str(out), result.config_text, "--out")
        write_output(str(out.with_suffix(".summary.txt")), result.summary + "\n", "--out")
        print(f"wrote {out} (and {out.with_suffix('.summary.txt').name}): review it with "
              f"kaohe whatif --config {out}")
    else:
        print("\n" + result.config_text)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from kaohe.warehouse import Home
    from kaohe.warehouse.migrations import MigrationError
    from pipelines.runner import RunLocked, migrate_home, run_lock

    home = get_home(args)
    if not (home / "work" / "kaohe.duckdb").is_file():
        raise CliError(f"{home} holds no kaohe warehouse (no work/kaohe.duckdb): nothing to "
                       "migrate; kaohe run creates one at the current schema version")
    try:
        with run_lock(Home(home.resolve())):
            lines = migrate_home(Home(home.resolve()), dry_run=args.dry_run)
    except (RunLocked, MigrationError) as exc:
        raise CliError(str(exc)) from None
    print("\n".join(lines))
    return 0
