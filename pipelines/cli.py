"""The kaohe command line: sample data, the monthly run, checks, reports, pay, rule changes.

Exit status: 0 done; 1 the run failed (or kaohe check / audit-config found a blocking problem);
2 bad input or a refusal (a bad argument or configuration, another run on the home, a PII key
that differs from the warehouse's), always as one line on stderr naming the bad value; 3 a
blocking data-quality check failed (the month is not published).

Where things are:

- this file: the entry point (``main``, ``build_parser``: every command's arguments, in the
  order of ``kaohe --help``) and the monthly-run commands: ``generate``, ``run``, ``check``,
  ``report``, ``send-reports``;
- pipelines/cli_rules.py: the rules, compliance, HR and upkeep commands: ``purge``,
  ``migrate``, ``audit-config``, ``config-schema``, ``export-pay``, ``whatif``, ``calibrate``;
- pipelines/cli_demo.py: ``demo``;
- pipelines/cli_common.py: what they share: CliError (exit 2), the log set-up, and checking
  --home, --landing, --config, months, dates and warehouse files.

A command ``kaohe X`` is the function ``cmd_X`` (dashes as underscores).
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from datetime import date
from pathlib import Path

from kaohe.months import activity_months
from pipelines.cli_common import (
    CliError,
    create_home,
    date_type,
    get_config,
    get_home,
    get_landing,
    month_span,
    month_type,
    open_warehouse,
    positive,
    print_checks,
    setup_logging,
    write_output,
)
from pipelines.cli_demo import cmd_demo, cmd_generate
from pipelines.cli_profile import add_parser as add_profile_parser
from pipelines.cli_rules import (
    cmd_audit_config,
    cmd_calibrate,
    cmd_config_schema,
    cmd_export_pay,
    cmd_migrate,
    cmd_purge,
    cmd_whatif,
)

log = logging.getLogger("kaohe")


# ---------------------------------------------------------------------------------------------
# commands


def cmd_run(args: argparse.Namespace) -> int:
    from kaohe.ingest.pii import PiiKeyError
    from kaohe.warehouse.migrations import MigrationError
    from pipelines.runner import ConfigAuditFailed, RunLocked, run_month

    # everything the run needs is checked before anything is written (the log file included)
    home = get_home(args)
    landing = get_landing(args)
    get_config(args)
    create_home(home)
    setup_logging(home, console=False)
    try:
        outcome = run_month(args.month, home, landing, Path(args.config) if args.config else None,
                            allow_audit_errors=args.allow_audit_errors, progress=True)
    except (RunLocked, ConfigAuditFailed, PiiKeyError, MigrationError, ValueError,
            FileNotFoundError) as exc:
        raise CliError(str(exc)) from None
    blocking = _print_run_checks(outcome, args.month)
    print(f"data-quality page: {outcome.work_db.parents[1] / 'reports' / args.month}"
          "/data-quality.html")
    if blocking:
        # a blocking check fails its step, so Dagster skips everything downstream of it
        print(f"kaohe: {len(blocking)} blocking data-quality check(s) failed for {args.month}: "
              "the month was not published and its reports are not rendered",
              file=sys.stderr)
        return 3
    if not outcome.success:
        where = "; ".join(f"{step.replace('__', '.')}: {error}"
                          for step, error in outcome.failed_steps.items())
        print(f"kaohe: run {outcome.run_id} FAILED" + (f" ({where})" if where else "")
              + f"; the full detail is in {outcome.log_file or home / 'logs'} and `dagster dev`",
              file=sys.stderr)
        return 1
    print(f"run {outcome.run_id} succeeded in {outcome.seconds:.1f} s")
    print(f"published warehouse: {outcome.published}")
    print(f"reports: {outcome.work_db.parents[1] / 'reports' / args.month / 'index.html'}")
    return 0


def _print_run_checks(outcome, month: str) -> list:
    """The checks this run ran (a table whose step did not run keeps older results: not
    counted), printed as kaohe check prints them; return the blocking failures."""
    from kaohe.quality import load_suites, stored_results
    from kaohe.warehouse import connect

    if not outcome.work_db.exists():
        return []
    con = connect(outcome.work_db, read_only=True)
    try:
        stored = stored_results(con, month)
    finally:
        con.close()
    ran = {step.replace("__", ".") for step in [*outcome.step_seconds, *outcome.failed_steps]}
    results = [r for r in stored if r.suite in ran]
    blocking = print_checks(month, results)
    missing = sorted({s.name for s in load_suites()} - {r.suite for r in results})
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5
                                          else "")
        print(f"  not checked: {len(missing)} table(s) whose step did not run: {shown}")
    return blocking


def cmd_check(args: argparse.Namespace) -> int:
    from kaohe.quality import run_checks

    path = Path(args.warehouse)
    con = open_warehouse(path)
    try:
        months = activity_months(con)  # months with activity (kaohe.months.ACTIVITY)
        if args.month not in months:
            raise CliError(f"{args.month} has no data in {path} (months with data: "
                           f"{month_span(months)}): nothing to check")
        results = run_checks(con, args.month)  # with the evidence chains, as the run does
    finally:
        con.close()
    blocking = print_checks(args.month, results)
    if args.html:
        from kaohe.quality.page import render

        write_output(args.html, render(args.month, results, []), "--html")
        print(f"wrote {args.html}")
    return 1 if blocking else 0


def cmd_report(args: argparse.Namespace) -> int:
    from kaohe.reporting.reports import render_month
    from kaohe.warehouse import Home

    home = Home(get_home(args))
    cfg = get_config(args)
    if not home.published_db.exists():
        raise CliError(f"no published warehouse in {home.root}: run the month first")
    con = open_warehouse(home.published_db, "the published warehouse")
    try:
        try:
            built = sorted(r[0] for r in con.execute(
                "select distinct strftime(month, '%Y-%m') from marts.center_month_summary"
            ).fetchall())
        except Exception:  # noqa: BLE001 - no marts at all
            built = []
        if args.month not in built:
            raise CliError(f"{args.month} was never built in {home.root} (months built: "
                           f"{month_span(built)}): run it first with "
                           f"kaohe run --month {args.month}")
        result = render_month(con, home.reports, args.month, args.lang or cfg.reports.lang,
                              cfg)
    finally:
        con.close()
    print(f"rendered {result.agents} agent scorecards and {result.teams} team reports "
          f"({result.cards_per_second:,.0f} cards/s): {result.directory / 'index.html'}")
    return 0


def cmd_send_reports(args: argparse.Namespace) -> int:
    from kaohe.quality import blocking_failures, stored_results
    from kaohe.reporting.mail import DeliveryError, send_reports
    from kaohe.warehouse import Home, connect

    home = Home(get_home(args))
    cfg = get_config(args)
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
                              force=args.force, outbox=Path(args.outbox) if args.outbox else None,
                              lang=args.lang)
    except DeliveryError as exc:
        raise CliError(str(exc)) from None
    for line in result.unaddressed:
        print(f"  WARNING not sent: {line}", file=sys.stderr)
    verb = "wrote" if args.dry_run else "sent"
    print(f"{verb} {result.sent} message(s), skipped {result.skipped} already sent"
          + (f"; outbox {result.outbox}" if args.dry_run else ""))
    for recipient, files in sorted(result.attachments.items()):
        print(f"  {recipient}: {len(files)} attachment(s)")
    return 0


# ---------------------------------------------------------------------------------------------
# the parser


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's help with its default, when it has one worth showing."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if "%(default)" in text or action.required or default is None or default is False \
                or default is True or default == argparse.SUPPRESS:
            return text
        return f"{text} (default: %(default)s)"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (``kaohe: --month must look like ...``)."""

    def error(self, message: str):  # type: ignore[override]
        message = re.sub(r"^argument (-[^:/ ]+)(/[^: ]+)?: ", r"\1 ", message)
        self.exit(2, f"kaohe: {message} (see {self.prog} --help)\n")


HOME_HELP = "kaohe home directory (default: $KAOHE_HOME)"
CONFIG_HELP = "configuration file (default: config/kaohe.yaml, the shipped one)"


def _version() -> str:
    """``3.0.0 (warehouse schema version 3)``: the release and the schema version it writes."""
    from kaohe.warehouse.migrations import kaohe_version, schema_version

    return f"{kaohe_version()} (warehouse schema version {schema_version()})"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kaohe", formatter_class=_Formatter, description=(
        "Performance appraisal of debt-collection agents: ingest the lender's files, build "
        "a month, check it, render and send its reports, export its pay."),
        epilog="Exit status: 0 done; 1 failed; 2 bad input or refused (one line on stderr); "
        "3 a blocking data-quality check failed. Docs: README.md, docs/operations.md.")
    parser.add_argument("--version", action="version", version=f"kaohe {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str, func) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help[:1].upper() + help[1:] + ".",
                           formatter_class=_Formatter)
        p.set_defaults(func=func)
        return p

    g = command("generate", "write a sample landing folder following the data contract",
                cmd_generate)
    g.add_argument("--out", required=True, help="the landing folder to write")
    g.add_argument("--start", type=date_type, default=date(2026, 8, 1),
                   help="first day of the first month, YYYY-MM-DD")
    g.add_argument("--months", type=positive(int), default=3, help="how many months")
    g.add_argument("--seed", type=int, default=7, help="random seed (same seed, same files)")
    g.add_argument("--scale", choices=["small", "medium", "large"], default="small",
                   help="size of the centre")
    g.add_argument("--volume", type=positive(float), default=1.0,
                   help="multiply the centre (agents, cases, so calls) by this factor")
    g.add_argument("--profile", metavar="NAME",
                   help="then write the calls in a vendor's format (a shipped calls profile)")

    r = command("run", "ingest new files, build a month, check it and publish the warehouse",
                cmd_run)
    r.add_argument("--month", required=True, type=month_type, help="the month, YYYY-MM")
    r.add_argument("--landing", help="landing folder (default: $KAOHE_LANDING)")
    r.add_argument("--home", help=HOME_HELP)
    r.add_argument("--config", help=CONFIG_HELP)
    r.add_argument("--allow-audit-errors", action="store_true",
                   help="run even if kaohe audit-config finds errors (recorded in the warehouse)")

    c = command("check", "run every data-quality check of a month on a warehouse, read-only",
                cmd_check)
    c.add_argument("--month", required=True, type=month_type, help="the month, YYYY-MM")
    c.add_argument("--warehouse", required=True,
                   help="a kaohe DuckDB file (<home>/work/kaohe.duckdb or the published copy)")
    c.add_argument("--html", help="also write the results page to this file")

    a = command("audit-config", "check a configuration against the regulatory rule pack",
                cmd_audit_config)
    a.add_argument("--config", help=CONFIG_HELP)
    a.add_argument("--home", help="also check the rules against this home's published history "
                   "(warn when a rule gives full marks to more than 80%% of agent-months)")

    s = command("config-schema", "print or write the configuration's JSON schema (for editors)",
                cmd_config_schema)
    s.add_argument("--out", help="write it to this file (config/kaohe.schema.json) instead of "
                   "printing it")
    s.add_argument("--check", action="store_true",
                   help="exit 1 if config/kaohe.schema.json is not up to date")

    add_profile_parser(command)

    p = command("report", "render a month's HTML reports again from the published warehouse",
                cmd_report)
    p.add_argument("--month", required=True, type=month_type, help="the month, YYYY-MM")
    p.add_argument("--home", help=HOME_HELP)
    p.add_argument("--lang", choices=["zh", "en"], help="language (default: reports.lang, in "
                   "<home>/reports/MONTH/; another goes beside it, in .../MONTH/<lang>/)")
    p.add_argument("--config", help=CONFIG_HELP)

    d = command("send-reports", "e-mail each manager their team's reports, the centre its "
                "summary", cmd_send_reports)
    d.add_argument("--month", required=True, type=month_type, help="the month, YYYY-MM")
    d.add_argument("--home", help=HOME_HELP)
    d.add_argument("--config", help=CONFIG_HELP)
    d.add_argument("--dry-run", action="store_true", help="write .eml files to the outbox")
    d.add_argument("--outbox", help="outbox folder for --dry-run (default: <home>/outbox/MONTH)")
    d.add_argument("--force", action="store_true", help="send again what the log says was sent")
    d.add_argument("--lang", choices=["zh", "en"],
                   help="send the rendering in this language (default: the one in "
                        "<home>/reports/MONTH/)")

    e = command("export-pay", "write a month's pay for HR's payroll import (.xlsx or .csv)",
                cmd_export_pay)
    e.add_argument("--month", required=True, type=month_type, help="the month, YYYY-MM")
    e.add_argument("--home", help=HOME_HELP + "; its published warehouse is read")
    e.add_argument("--out", required=True,
                   help="the file to write: FILE.xlsx (Excel) or FILE.csv (UTF-8 with BOM)")
    e.add_argument("--lang", choices=["zh", "en"], default="zh",
                   help="language of the reasons (default zh)")

    w = command("whatif", "re-score a month under a proposed configuration, without changing "
                "the warehouse", cmd_whatif)
    w.add_argument("--month", required=True, type=month_type, help="the month, YYYY-MM")
    w.add_argument("--config", required=True, help="the proposed configuration file")
    w.add_argument("--home", help=HOME_HELP + "; its published warehouse is read")
    w.add_argument("--lang", choices=["zh", "en"], default="zh", help="language of the page")

    k = command("calibrate", "propose grade bands and rule floors/targets from the appraised "
                "history", cmd_calibrate)
    k.add_argument("--from", dest="first", required=True, type=month_type,
                   help="first month, YYYY-MM")
    k.add_argument("--to", dest="last", required=True, type=month_type,
                   help="last month, YYYY-MM")
    k.add_argument("--home", help=HOME_HELP + "; its published warehouse is read")
    k.add_argument("--config", help="the configuration to start from (default: "
                   "config/kaohe.yaml)")
    k.add_argument("--distribution", help="target grade shares in %% (default: "
                   "S=5,A=15,B=30,C=35,D=15)")
    k.add_argument("--out", help="write the proposed configuration here (default: print it)")

    u = command("purge", "remove collection records older than the retention period",
                cmd_purge)
    u.add_argument("--before", required=True, type=date_type,
                   help="YYYY-MM-DD: the records of files dated before it are removed")
    u.add_argument("--home", help=HOME_HELP)
    u.add_argument("--config", help=CONFIG_HELP)

    g = command("migrate", "upgrade a home's warehouse to this release's schema (kaohe run "
                "does it first; a copy is kept in <home>/backups)", cmd_migrate)
    g.add_argument("--home", help=HOME_HELP)
    g.add_argument("--dry-run", action="store_true",
                   help="list the migrations it would apply, change nothing")

    m = command("demo", "generate small sample data and build its three months", cmd_demo)
    m.add_argument("--home", default="kaohe-demo", help="the demo's kaohe home")
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already printed
        return exc.code if isinstance(exc.code, int) else 2
    if args.command in ("generate", "check", "audit-config", "report", "send-reports",
                        "export-pay", "whatif", "calibrate", "config-schema", "profile"):
        setup_logging()
    try:
        return args.func(args)
    except CliError as exc:
        print(f"kaohe: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("kaohe: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
