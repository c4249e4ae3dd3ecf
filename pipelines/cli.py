"""The ``kaohe`` command line: generate, run, demo."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import date, datetime
from pathlib import Path

log = logging.getLogger("kaohe")


def _setup_logging(home: Path | None = None, console: bool = True) -> None:
    """kaohe's own log: to <home>/logs/kaohe.log and, outside a Dagster run, to the terminal
    (inside a run Dagster shows kaohe's warnings itself). Other libraries stay at WARNING."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s",
                        force=True)
    logger = logging.getLogger("kaohe")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.handlers.clear()
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    if console:
        logger.addHandler(logging.StreamHandler(sys.stderr))
    if home is not None:
        (home / "logs").mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(home / "logs" / "kaohe.log", encoding="utf-8")
        handler.setFormatter(fmt)
        logger.addHandler(handler)


def _env_path(value: str | None, env: str, flag: str) -> Path:
    value = value or os.environ.get(env)
    if not value:
        raise SystemExit(f"kaohe: give {flag} or set {env}")
    return Path(value)


def cmd_generate(args: argparse.Namespace) -> int:
    from kaohe.generate import generate

    manifest = generate(Path(args.out), date.fromisoformat(args.start), args.months, args.seed,
                        args.scale, volume=args.volume)
    total = sum(manifest["rows"].values())
    print(f"wrote {sum(manifest['files'].values())} files, {total:,} rows to {args.out}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from kaohe.config import ConfigError
    from pipelines.runner import ConfigAuditFailed, RunLocked, run_month

    home = _env_path(args.home, "KAOHE_HOME", "--home")
    landing = _env_path(args.landing, "KAOHE_LANDING", "--landing")
    _setup_logging(home, console=False)
    try:
        outcome = run_month(args.month, home, landing, Path(args.config) if args.config else None,
                            allow_audit_errors=args.allow_audit_errors)
    except (RunLocked, ConfigError, ConfigAuditFailed, ValueError, FileNotFoundError) as exc:
        print(f"kaohe: {exc}", file=sys.stderr)
        return 2
    for step, seconds in outcome.step_seconds.items():
        print(f"  {step:<40} {seconds:8.2f} s")
    blocking = _print_checks(outcome.work_db, args.month) if outcome.work_db.exists() else []
    print(f"data-quality page: {outcome.work_db.parents[1] / 'reports' / args.month}"
          "/data-quality.html")
    if blocking:
        # a blocking check fails its step, so Dagster skips everything downstream of it
        print(f"kaohe: {len(blocking)} blocking data-quality check(s) failed for {args.month}: "
              "the month was not published and its reports are not rendered",
              file=sys.stderr)
        return 3
    if not outcome.success:
        print(f"kaohe: run {outcome.run_id} FAILED; see `dagster dev` or {home}/logs",
              file=sys.stderr)
        return 1
    print(f"run {outcome.run_id} succeeded in {outcome.seconds:.1f} s")
    print(f"published warehouse: {outcome.published}")
    print(f"reports: {outcome.work_db.parents[1] / 'reports' / args.month / 'index.html'}")
    return 0


def _print_checks(db: Path, month: str, results=None) -> list:
    """Print a table of the month's check results; return the blocking failures."""
    from kaohe.quality import blocking_failures, stored_results
    from kaohe.warehouse import connect

    if results is None:
        con = connect(db, read_only=True)
        try:
            results = stored_results(con, month)
        finally:
            con.close()
    failed = [r for r in results if not r.passed]
    print(f"data quality {month}: {len(results)} checks, "
          f"{sum(r.severity == 'blocking' for r in failed)} blocking failed, "
          f"{sum(r.severity == 'warning' for r in failed)} warnings")
    for r in sorted(failed, key=lambda r: (r.severity != "blocking", r.suite, r.check)):
        print(f"  {r.severity.upper():<8} {r.suite:<32} {r.check:<48} {r.unexpected:>8}  "
              f"{', '.join(r.sample)[:60]}")
    return blocking_failures(results)


def cmd_check(args: argparse.Namespace) -> int:
    from kaohe.months import MONTH
    from kaohe.quality import run_checks
    from kaohe.warehouse import connect

    if not MONTH.match(args.month):
        print(f"kaohe: --month must look like 2026-09, not {args.month!r}", file=sys.stderr)
        return 2
    path = Path(args.warehouse)
    if not path.exists():
        print(f"kaohe: no warehouse at {path}", file=sys.stderr)
        return 2
    con = connect(path, read_only=True)
    try:
        results = run_checks(con, args.month)  # with the evidence chains, as the run does
    finally:
        con.close()
    blocking = _print_checks(path, args.month, results)
    if args.html:
        from kaohe.quality_page import render

        Path(args.html).write_text(render(args.month, results, []), encoding="utf-8")
        print(f"wrote {args.html}")
    return 1 if blocking else 0


def cmd_demo(args: argparse.Namespace) -> int:
    from kaohe.generate import generate
    from pipelines.runner import run_month

    home = Path(args.home).resolve()
    landing = home / "landing"
    _setup_logging(home, console=False)
    start = date(2026, 8, 1)
    if not (landing / "_manifest.json").exists():
        print(f"generating sample data (small, 3 months from {start}) into {landing}")
        generate(landing, start, 3, 7, "small")
    # every month of the sample in order, so pay pools and promotion streaks have history
    for month in ("2026-08", "2026-09", "2026-10"):
        outcome = run_month(month, home, landing)
        if not outcome.success:
            print(f"kaohe demo: the run of {month} failed ({outcome.run_id}); see {home}/logs",
                  file=sys.stderr)
            return 1
        print(f"kaohe demo: month {month} built in {outcome.seconds:.1f} s")
    print()
    _print_checks(outcome.work_db, month)
    print(f"  landing folder      {landing}")
    print(f"  analyst warehouse   {outcome.published}")
    print(f"    duckdb -readonly {outcome.published}")
    print(f"  writer warehouse    {home / 'work' / 'kaohe.duckdb'}")
    print(f"  data quality        {home / 'reports' / month / 'data-quality.html'}")
    print(f"  reports (index)     {home / 'reports' / month / 'index.html'}")
    print(f"  Dagster UI          DAGSTER_HOME={home / 'dagster'} KAOHE_HOME={home} "
          f"KAOHE_LANDING={landing} uv run dagster dev -w workspace.yaml")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from kaohe.config import load_config
    from kaohe.reports import render_month
    from kaohe.warehouse import Home, connect

    home = Home(_env_path(args.home, "KAOHE_HOME", "--home"))
    if not home.published_db.exists():
        print(f"kaohe: no published warehouse in {home.root}: run the month first",
              file=sys.stderr)
        return 2
    cfg = load_config(args.config)
    con = connect(home.published_db, read_only=True)
    try:
        result = render_month(con, home.reports, args.month, args.lang, cfg)
    finally:
        con.close()
    print(f"rendered {result.agents} agent scorecards and {result.teams} team reports "
          f"({result.cards_per_second:,.0f} cards/s): {result.directory / 'index.html'}")
    return 0


def cmd_send_reports(args: argparse.Namespace) -> int:
    from kaohe.config import ConfigError, load_config
    from kaohe.delivery import DeliveryError, send_reports
    from kaohe.quality import blocking_failures, stored_results
    from kaohe.warehouse import Home, connect

    home = Home(_env_path(args.home, "KAOHE_HOME", "--home"))
    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(f"kaohe: {exc}", file=sys.stderr)
        return 2
    if home.work_db.exists():
        con = connect(home.work_db, read_only=True)
        try:
            blocking = blocking_failures(stored_results(con, args.month))
        finally:
            con.close()
        if blocking and not args.force:
            print(f"kaohe: {len(blocking)} blocking data-quality check(s) failed for "
                  f"{args.month}: nothing is sent (see data-quality.html)", file=sys.stderr)
            return 3
    try:
        result = send_reports(home.root, args.month, cfg, dry_run=args.dry_run,
                              force=args.force, outbox=Path(args.outbox) if args.outbox else None)
    except DeliveryError as exc:
        print(f"kaohe: {exc}", file=sys.stderr)
        return 2
    for line in result.unaddressed:
        print(f"  WARNING not sent: {line}", file=sys.stderr)
    verb = "wrote" if args.dry_run else "sent"
    print(f"{verb} {result.sent} message(s), skipped {result.skipped} already sent"
          + (f"; outbox {result.outbox}" if args.dry_run else ""))
    for recipient, files in sorted(result.attachments.items()):
        print(f"  {recipient}: {len(files)} attachment(s)")
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    from kaohe.config import ConfigError, load_config
    from kaohe.retention import PurgeRefused, purge
    from pipelines.resources import Warehouse
    from pipelines.runner import RunLocked, run_lock

    home = _env_path(args.home, "KAOHE_HOME", "--home")
    _setup_logging(home)
    try:
        cfg = load_config(args.config)
        before = date.fromisoformat(args.before)
        today = datetime.now(ZoneInfo(cfg.timezone)).date()
        from kaohe.warehouse import Home

        with run_lock(Home(home)), Warehouse(home=str(home), landing=str(home)).writer() as con:
            result = purge(con, before, cfg.retention_days, today)
    except (ConfigError, PurgeRefused, RunLocked, ValueError) as exc:
        print(f"kaohe: {exc}", file=sys.stderr)
        return 2
    print(f"purged {result.files} file(s) dated before {result.before}: "
          f"{sum(result.rows.values()):,} rows (logged in audit.purge_log)")
    return 0


def cmd_audit_config(args: argparse.Namespace) -> int:
    from kaohe.audit_config import audit, errors
    from kaohe.config import ConfigError, load_config

    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(f"kaohe: {exc}", file=sys.stderr)
        return 2
    findings = audit(cfg)
    if args.home:  # with the centre's history: rules that give almost everyone full marks
        from kaohe.audit_config import history_findings
        from kaohe.warehouse import Home

        published = Home(Path(args.home)).published_db
        if not published.exists():
            print(f"kaohe: no published warehouse in {args.home}", file=sys.stderr)
            return 2
        findings += history_findings(published, cfg)
    print(f"audit of {cfg.path} (version {cfg.config_version}): "
          f"{len(errors(findings))} error(s), "
          f"{len(findings) - len(errors(findings))} warning(s)")
    for f in sorted(findings, key=lambda f: f.severity):
        print(f"  {f.severity.upper():<8} [{f.rule}] {f.message}: {f.detail}")
        print(f"           rule from: {f.source}")
    return 1 if errors(findings) else 0


def cmd_export_pay(args: argparse.Namespace) -> int:
    from kaohe.payroll import PayrollError, export_pay
    from kaohe.warehouse import Home

    home = Home(_env_path(args.home, "KAOHE_HOME", "--home"))
    try:
        written = export_pay(home.published_db, args.month, Path(args.out))
    except PayrollError as exc:
        print(f"kaohe: {exc}", file=sys.stderr)
        return 2
    export = written.export
    print(f"wrote {len(export.rows)} pay rows of {args.month} "
          f"(config {', '.join(export.config_versions)}) to {written.path}")
    print("  totals: " + ", ".join(f"{name} {export.totals[name]:,.2f}" for name in
                                   ("base_salary", "variable_earned", "paid_now", "deferred",
                                    "forfeited", "ytd_deferred_pool")))
    return 0


def cmd_whatif(args: argparse.Namespace) -> int:
    from kaohe import whatif
    from kaohe.config import ConfigError, load_config
    from kaohe.months import MONTH
    from kaohe.warehouse import Home

    if not MONTH.match(args.month):
        print(f"kaohe: --month must look like 2026-09, not {args.month!r}", file=sys.stderr)
        return 2
    home = Home(_env_path(args.home, "KAOHE_HOME", "--home"))
    try:
        cfg = load_config(args.config)
        result = whatif.run(home.published_db, args.month, cfg, home.reports, args.lang)
    except (ConfigError, whatif.WhatIfError) as exc:
        print(f"kaohe: {exc}", file=sys.stderr)
        return 2
    rows = result.rows
    before = dict(whatif.distribution(rows, "grade_before"))
    after = dict(whatif.distribution(rows, "grade_after"))
    print(f"{args.month} under {cfg.config_version} ({result.seconds:.1f} s"
          f"{', metrics rebuilt' if result.rebuilt_metrics else ''}):")
    for grade in sorted(set(before) | set(after), key="S A B C D VETO NA".split().index):
        print(f"  {grade:>4}  {before.get(grade, 0):5d} -> {after.get(grade, 0):5d}")
    pay = [rows[c].fill_null(0).sum() for c in ("variable_pay_before", "variable_pay_after")]
    print(f"  variable pay {pay[0]:,.2f} -> {pay[1]:,.2f}; {result.changed.height} agent(s) "
          f"change; {len(result.findings)} audit finding(s)")
    print(f"  {result.html}\n  {result.csv}")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from kaohe.calibrate import CalibrationError, calibrate, parse_distribution
    from kaohe.config import ConfigError, load_config
    from kaohe.months import MONTH
    from kaohe.warehouse import Home

    for flag, value in (("--from", args.first), ("--to", args.last)):
        if not MONTH.match(value):
            print(f"kaohe: {flag} must look like 2026-09, not {value!r}", file=sys.stderr)
            return 2
    home = Home(_env_path(args.home, "KAOHE_HOME", "--home"))
    try:
        result = calibrate(home.published_db, args.first, args.last, load_config(args.config),
                           parse_distribution(args.distribution))
    except (CalibrationError, ConfigError) as exc:
        print(f"kaohe: {exc}", file=sys.stderr)
        return 2
    n = result.agent_months
    print(f"calibrated on {n} appraised agent-months of {args.first}..{args.last}")
    print("  grade   before   after")
    for grade in ("S", "A", "B", "C", "D"):
        print(f"  {grade:>5}  {100 * result.before[grade] / n:5.1f}%  "
              f"{100 * result.after[grade] / n:5.1f}%")
    for dim, metric, f0, f1, t0, t1 in result.rules:
        print(f"  {dim}.{metric}: floor {f0:g} -> {f1:g}, target {t0:g} -> {t1:g}")
    print("  bands: " + ", ".join(f"{g} {b:g}" for g, b in
                                  result.config.scorecard.grades.items()))
    if args.out:
        Path(args.out).write_text(result.config_text, encoding="utf-8")
        print(f"wrote {args.out}: try it with kaohe whatif --config {args.out}")
    else:
        print(result.config_text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kaohe", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="write a sample landing folder following the contract")
    g.add_argument("--out", required=True)
    g.add_argument("--start", default="2026-08-01")
    g.add_argument("--months", type=int, default=3)
    g.add_argument("--seed", type=int, default=7)
    g.add_argument("--scale", choices=["small", "medium", "large"], default="small")
    g.add_argument("--volume", type=float, default=1.0,
                   help="multiply the centre (agents, cases, so calls) by this factor")
    g.set_defaults(func=cmd_generate)

    r = sub.add_parser("run", help="ingest new files, build a month, publish the warehouse")
    r.add_argument("--month", required=True, help="YYYY-MM")
    r.add_argument("--landing", help="landing folder (or KAOHE_LANDING)")
    r.add_argument("--home", help="kaohe home (or KAOHE_HOME)")
    r.add_argument("--config", help="configuration file (default: config/kaohe.yaml)")
    r.add_argument("--allow-audit-errors", action="store_true",
                   help="run even if kaohe audit-config finds errors (recorded in the warehouse)")
    r.set_defaults(func=cmd_run)

    c = sub.add_parser("check", help="run every data-quality check of a month, read-only")
    c.add_argument("--month", required=True, help="YYYY-MM")
    c.add_argument("--warehouse", required=True, help="a kaohe DuckDB file (opened read-only)")
    c.add_argument("--html", help="also write the results page to this file")
    c.set_defaults(func=cmd_check)

    a = sub.add_parser("audit-config",
                       help="check the configuration against the regulatory rule pack")
    a.add_argument("--config", help="configuration file (default: config/kaohe.yaml)")
    a.add_argument("--home", help="also check the rules against this home's published history "
                   "(warn when a rule gives full marks to more than 80%% of agent-months)")
    a.set_defaults(func=cmd_audit_config)

    p = sub.add_parser("report", help="render a month's HTML reports from the published copy")
    p.add_argument("--month", required=True, help="YYYY-MM")
    p.add_argument("--home", help="kaohe home (or KAOHE_HOME)")
    p.add_argument("--lang", choices=["zh", "en"], default="zh")
    p.add_argument("--config", help="configuration file (default: config/kaohe.yaml)")
    p.set_defaults(func=cmd_report)

    s = sub.add_parser("send-reports",
                       help="e-mail each manager their team's reports, the centre its summary")
    s.add_argument("--month", required=True, help="YYYY-MM")
    s.add_argument("--home", help="kaohe home (or KAOHE_HOME)")
    s.add_argument("--config", help="configuration file (default: config/kaohe.yaml)")
    s.add_argument("--dry-run", action="store_true", help="write .eml files to the outbox")
    s.add_argument("--outbox", help="outbox folder for --dry-run (default <home>/outbox/MONTH)")
    s.add_argument("--force", action="store_true", help="send again what the log says was sent")
    s.set_defaults(func=cmd_send_reports)

    e = sub.add_parser("export-pay",
                       help="write a month's pay for HR's payroll import (.xlsx or .csv)")
    e.add_argument("--month", required=True, help="YYYY-MM")
    e.add_argument("--home", help="kaohe home (or KAOHE_HOME): reads its published warehouse")
    e.add_argument("--out", required=True,
                   help="the file to write: FILE.xlsx (Excel) or FILE.csv (UTF-8 with BOM)")
    e.set_defaults(func=cmd_export_pay)

    w = sub.add_parser("whatif", help="re-score a month under a proposed configuration, "
                       "without changing the warehouse")
    w.add_argument("--month", required=True, help="YYYY-MM")
    w.add_argument("--config", required=True, help="the proposed configuration file")
    w.add_argument("--home", help="kaohe home (or KAOHE_HOME): reads its published warehouse")
    w.add_argument("--lang", choices=["zh", "en"], default="zh", help="language of the page")
    w.set_defaults(func=cmd_whatif)

    k = sub.add_parser("calibrate", help="propose grade bands and rule floors/targets from "
                       "the appraised history")
    k.add_argument("--from", dest="first", required=True, help="first month, YYYY-MM")
    k.add_argument("--to", dest="last", required=True, help="last month, YYYY-MM")
    k.add_argument("--home", help="kaohe home (or KAOHE_HOME): reads its published warehouse")
    k.add_argument("--config", help="the configuration to start from (default: "
                   "config/kaohe.yaml)")
    k.add_argument("--distribution", help="target grade shares in %% (default "
                   "S=5,A=15,B=30,C=35,D=15)")
    k.add_argument("--out", help="write the proposed configuration here (default: print it)")
    k.set_defaults(func=cmd_calibrate)

    g2 = sub.add_parser("purge", help="remove collection records older than the retention")
    g2.add_argument("--before", required=True, help="YYYY-MM-DD: files dated before it go")
    g2.add_argument("--home", help="kaohe home (or KAOHE_HOME)")
    g2.add_argument("--config", help="configuration file (default: config/kaohe.yaml)")
    g2.set_defaults(func=cmd_purge)

    d = sub.add_parser("demo", help="generate small sample data and run the last full month")
    d.add_argument("--home", default="kaohe-demo")
    d.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in ("generate", "check", "audit-config", "report", "send-reports",
                        "export-pay", "whatif", "calibrate"):
        _setup_logging()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
