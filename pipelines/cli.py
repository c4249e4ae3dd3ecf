"""The kaohe command line: sample data, the monthly run, checks, reports, pay, rule changes.

Exit status: 0 done; 1 the run failed (or kaohe check / audit-config found a blocking problem);
2 bad input or a refusal (a bad argument or configuration, another run on the home, a PII key
that differs from the warehouse's), always as one line on stderr naming the bad value; 3 a
blocking data-quality check failed (the month is not published).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from datetime import date, datetime
from pathlib import Path

log = logging.getLogger("kaohe")


class CliError(Exception):
    """Bad input or a refusal: printed as ``kaohe: <message>`` (one line), exit status 2."""


def _setup_logging(home: Path | None = None, console: bool = True) -> None:
    """kaohe's own log: to <home>/logs/kaohe.log and, outside a Dagster run, to the terminal
    (inside a run the run's progress shows kaohe's warnings). Other libraries stay at WARNING."""
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


# ---------------------------------------------------------------------------------------------
# checking what was given


def _env_path(value: str | None, env: str, flag: str) -> tuple[Path, str]:
    """The path given by ``flag`` or else the environment variable; and which one it was."""
    if value:
        return Path(value).expanduser(), flag
    value = os.environ.get(env)
    if not value:
        raise CliError(f"give {flag} DIR or set {env}")
    return Path(value).expanduser(), env


def _home(args: argparse.Namespace) -> Path:
    """The kaohe home of --home / KAOHE_HOME: given, and not a file (it may not exist yet)."""
    path, where = _env_path(args.home, "KAOHE_HOME", "--home")
    if path.exists() and not path.is_dir():
        raise CliError(f"{where} {path} is a file, not a kaohe home directory")
    return path


def _create_home(path: Path, where: str = "--home") -> Path:
    from kaohe.warehouse import Home

    try:
        Home(path.resolve()).create()
    except OSError as exc:
        raise CliError(f"{where} {path} does not exist and cannot be created: "
                       f"{exc.strerror or exc}") from None
    return path


def _landing(args: argparse.Namespace) -> Path:
    path, where = _env_path(args.landing, "KAOHE_LANDING", "--landing")
    if not path.is_dir():
        raise CliError(f"{where} {path} " + ("is a file, not a landing folder" if path.exists()
                                             else "does not exist"))
    return path


def _config(args: argparse.Namespace):
    """The configuration of --config (the shipped one without it); a bad one is a CliError."""
    from kaohe.config import ConfigError, load_config

    try:
        return load_config(args.config)
    except ConfigError as exc:
        raise CliError(str(exc)) from None


def _month_type(value: str) -> str:
    from kaohe.months import MONTH

    if not MONTH.match(value):
        raise argparse.ArgumentTypeError(f"must look like 2026-09, not {value!r}")
    return value


def _date_type(value: str) -> date:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise argparse.ArgumentTypeError(f"must be a date YYYY-MM-DD, not {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"must be a date YYYY-MM-DD, not {value!r} ({exc})"
                                         ) from None


def _positive(kind: type):
    def check(value: str):
        try:
            number = kind(value)
        except ValueError:
            number = None
        if number is None or number <= 0:
            raise argparse.ArgumentTypeError(f"must be a positive number, not {value!r}")
        return number
    check.__name__ = f"positive {kind.__name__}"
    return check


def _open_warehouse(path: Path, flag: str = "--warehouse"):
    """A DuckDB file opened read-only, or a one-line CliError saying what it is instead."""
    import duckdb

    from kaohe.warehouse import connect

    if not path.exists():
        raise CliError(f"{flag} {path} does not exist")
    if path.is_dir():
        raise CliError(f"{flag} {path} is a directory, not a DuckDB file")
    try:
        return connect(path, read_only=True)
    except duckdb.Error as exc:
        text = str(exc)
        if "not a valid DuckDB database" in text or "database file" in text:
            raise CliError(f"{flag} {path} is not a DuckDB database file") from None
        raise CliError(f"{flag} {path} cannot be opened: {text.splitlines()[0]}") from None


def _months_with_data(con) -> list[str]:
    """Months the warehouse has data for: built months (marts) and files' business dates."""
    queries = [
        "select distinct strftime(month, '%Y-%m') from marts.agent_month_metrics",
        "select distinct strftime(business_date, '%Y-%m') from audit.file_registry "
        "where status <> 'rejected'",
        "select distinct strftime(started_at, '%Y-%m') from staging.calls",
    ]
    found: set[str] = set()
    for sql in queries:
        try:
            found |= {r[0] for r in con.execute(sql).fetchall() if r[0]}
        except Exception:  # noqa: BLE001 - a table the warehouse does not have
            continue
    return sorted(found)


def _span(months: list[str]) -> str:
    if not months:
        return "none"
    return ", ".join(months) if len(months) <= 4 else f"{months[0]} .. {months[-1]}"


# ---------------------------------------------------------------------------------------------
# commands


def cmd_generate(args: argparse.Namespace) -> int:
    from kaohe.generate import generate

    manifest = generate(Path(args.out), args.start, args.months, args.seed,
                        args.scale, volume=args.volume)
    total = sum(manifest["rows"].values())
    print(f"wrote {sum(manifest['files'].values())} files, {total:,} rows to {args.out}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from kaohe.pii import PiiKeyError
    from pipelines.runner import ConfigAuditFailed, RunLocked, run_month

    # everything the run needs is checked before anything is written (the log file included)
    home = _home(args)
    landing = _landing(args)
    _config(args)
    _create_home(home)
    _setup_logging(home, console=False)
    try:
        outcome = run_month(args.month, home, landing, Path(args.config) if args.config else None,
                            allow_audit_errors=args.allow_audit_errors, progress=True)
    except (RunLocked, ConfigAuditFailed, PiiKeyError, ValueError, FileNotFoundError) as exc:
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
    blocking = _print_checks(month, results)
    missing = sorted({s.name for s in load_suites()} - {r.suite for r in results})
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5
                                          else "")
        print(f"  not checked: {len(missing)} table(s) whose step did not run: {shown}")
    return blocking


def _print_checks(month: str, results: list) -> list:
    """Print a table of the month's check results; return the blocking failures."""
    from kaohe.quality import blocking_failures

    failed = [r for r in results if not r.passed]
    print(f"data quality {month}: {len(results)} checks, "
          f"{sum(r.severity == 'blocking' for r in failed)} blocking failed, "
          f"{sum(r.severity == 'warning' for r in failed)} warnings")
    for r in sorted(failed, key=lambda r: (r.severity != "blocking", r.suite, r.check)):
        print(f"  {r.severity.upper():<8} {r.suite:<32} {r.check:<48} {r.unexpected:>8}  "
              f"{', '.join(r.sample)[:60]}")
    return blocking_failures(results)


def cmd_check(args: argparse.Namespace) -> int:
    from kaohe.quality import run_checks

    path = Path(args.warehouse)
    con = _open_warehouse(path)
    try:
        months = _months_with_data(con)
        if args.month not in months:
            raise CliError(f"{args.month} has no data in {path} (months with data: "
                           f"{_span(months)}): nothing to check")
        results = run_checks(con, args.month)  # with the evidence chains, as the run does
    finally:
        con.close()
    blocking = _print_checks(args.month, results)
    if args.html:
        from kaohe.quality_page import render

        Path(args.html).write_text(render(args.month, results, []), encoding="utf-8")
        print(f"wrote {args.html}")
    return 1 if blocking else 0


def cmd_demo(args: argparse.Namespace) -> int:
    from kaohe.generate import generate
    from kaohe.quality import stored_results
    from kaohe.warehouse import connect
    from pipelines.runner import run_month

    home = _create_home(Path(args.home)).resolve()
    landing = home / "landing"
    _setup_logging(home, console=False)
    start = date(2026, 8, 1)
    if not (landing / "_manifest.json").exists():
        print(f"generating sample data (small, 3 months from {start}) into {landing}")
        generate(landing, start, 3, 7, "small")
    # every month of the sample in order, so pay pools and promotion streaks have history
    for month in ("2026-08", "2026-09", "2026-10"):
        print(f"kaohe demo: building {month}")
        outcome = run_month(month, home, landing, progress=True)
        if not outcome.success:
            print(f"kaohe demo: the run of {month} failed ({outcome.run_id}); see {home}/logs",
                  file=sys.stderr)
            return 1
        print(f"kaohe demo: month {month} built in {outcome.seconds:.1f} s")
    print()
    con = connect(outcome.work_db, read_only=True)
    try:
        _print_checks(month, stored_results(con, month))
    finally:
        con.close()
    print(f"  landing folder      {landing}")
    print(f"  analyst warehouse   {outcome.published}")
    print(f"    {analyst_one_liner(outcome.published, month)}")
    print(f"  writer warehouse    {home / 'work' / 'kaohe.duckdb'}")
    print(f"  data quality        {home / 'reports' / month / 'data-quality.html'}")
    print(f"  reports (index)     {home / 'reports' / month / 'index.html'}")
    print(f"  Dagster UI          DAGSTER_HOME={home / 'dagster'} KAOHE_HOME={home} "
          f"KAOHE_LANDING={landing} uv run dagster dev -w workspace.yaml")
    return 0


def analyst_one_liner(published: Path, month: str) -> str:
    """A command that queries the analysts' copy with what kaohe installs (the duckdb Python
    package; the duckdb command-line tool is not part of it)."""
    query = ("select team_id, grade, count(*) agents from marts.agent_month_scorecard "
             f"where month = date '{month}-01' group by all order by all")
    return (f"uv run python -c \"import duckdb; duckdb.connect('{published}', read_only=True)"
            f".sql(\\\"{query}\\\").show()\"")


def cmd_report(args: argparse.Namespace) -> int:
    from kaohe.reports import render_month
    from kaohe.warehouse import Home

    home = Home(_home(args))
    cfg = _config(args)
    if not home.published_db.exists():
        raise CliError(f"no published warehouse in {home.root}: run the month first")
    con = _open_warehouse(home.published_db, "the published warehouse")
    try:
        try:
            built = sorted(r[0] for r in con.execute(
                "select distinct strftime(month, '%Y-%m') from marts.center_month_summary"
            ).fetchall())
        except Exception:  # noqa: BLE001 - no marts at all
            built = []
        if args.month not in built:
            raise CliError(f"{args.month} was never built in {home.root} (months built: "
                           f"{_span(built)}): run it first with kaohe run --month {args.month}")
        result = render_month(con, home.reports, args.month, args.lang, cfg)
    finally:
        con.close()
    print(f"rendered {result.agents} agent scorecards and {result.teams} team reports "
          f"({result.cards_per_second:,.0f} cards/s): {result.directory / 'index.html'}")
    return 0


def cmd_send_reports(args: argparse.Namespace) -> int:
    from kaohe.delivery import DeliveryError, send_reports
    from kaohe.quality import blocking_failures, stored_results
    from kaohe.warehouse import Home, connect

    home = Home(_home(args))
    cfg = _config(args)
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
        raise CliError(str(exc)) from None
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

    from kaohe.retention import PurgeRefused, purge
    from kaohe.warehouse import Home
    from pipelines.resources import Warehouse
    from pipelines.runner import RunLocked, run_lock

    home = _home(args)
    if not Home(home).work_db.exists():
        raise CliError(f"no warehouse in {home}: nothing to purge")
    cfg = _config(args)
    _setup_logging(home)
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
    from kaohe.audit_config import audit, errors

    cfg = _config(args)
    findings = audit(cfg)
    if args.home:  # with the centre's history: rules that give almost everyone full marks
        from kaohe.audit_config import history_findings
        from kaohe.warehouse import Home

        published = Home(_home(args)).published_db
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
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def cmd_export_pay(args: argparse.Namespace) -> int:
    from kaohe.payroll import PayrollError, export_pay
    from kaohe.warehouse import Home

    home = Home(_home(args))
    try:
        written = export_pay(home.published_db, args.month, Path(args.out))
    except PayrollError as exc:
        raise CliError(str(exc)) from None
    export = written.export
    print(f"wrote {len(export.rows)} pay rows of {args.month} "
          f"(config {', '.join(export.config_versions)}) to {written.path}")
    print("  totals: " + ", ".join(f"{name} {export.totals[name]:,.2f}" for name in
                                   ("base_salary", "variable_earned", "paid_now", "deferred",
                                    "forfeited", "ytd_deferred_pool")))
    return 0


def cmd_whatif(args: argparse.Namespace) -> int:
    from kaohe import whatif
    from kaohe.warehouse import Home

    home = Home(_home(args))
    cfg = _config(args)
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
    print(f"  variable pay {pay[0]:,.2f} -> {pay[1]:,.2f}; {result.changed.height} agent(s) "
          f"change; {len(result.findings)} audit finding(s)")
    print(f"  {result.html}\n  {result.csv}")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from kaohe.calibrate import CalibrationError, calibrate, parse_distribution
    from kaohe.warehouse import Home

    home = Home(_home(args))
    cfg = _config(args)
    try:
        result = calibrate(home.published_db, args.first, args.last, cfg,
                           parse_distribution(args.distribution))
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
    print("  bands: " + ", ".join(f"{g} {b:g}" for g, b in
                                  result.config.scorecard.grades.items()))
    if args.out:
        Path(args.out).write_text(result.config_text, encoding="utf-8")
        print(f"wrote {args.out}: try it with kaohe whatif --config {args.out}")
    else:
        print(result.config_text)
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
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kaohe")
    except PackageNotFoundError:
        return "unknown"


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
    g.add_argument("--start", type=_date_type, default=date(2026, 8, 1),
                   help="first day of the first month, YYYY-MM-DD")
    g.add_argument("--months", type=_positive(int), default=3, help="how many months")
    g.add_argument("--seed", type=int, default=7, help="random seed (same seed, same files)")
    g.add_argument("--scale", choices=["small", "medium", "large"], default="small",
                   help="size of the centre")
    g.add_argument("--volume", type=_positive(float), default=1.0,
                   help="multiply the centre (agents, cases, so calls) by this factor")

    r = command("run", "ingest new files, build a month, check it and publish the warehouse",
                cmd_run)
    r.add_argument("--month", required=True, type=_month_type, help="the month, YYYY-MM")
    r.add_argument("--landing", help="landing folder (default: $KAOHE_LANDING)")
    r.add_argument("--home", help=HOME_HELP)
    r.add_argument("--config", help=CONFIG_HELP)
    r.add_argument("--allow-audit-errors", action="store_true",
                   help="run even if kaohe audit-config finds errors (recorded in the warehouse)")

    c = command("check", "run every data-quality check of a month on a warehouse, read-only",
                cmd_check)
    c.add_argument("--month", required=True, type=_month_type, help="the month, YYYY-MM")
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

    p = command("report", "render a month's HTML reports again from the published warehouse",
                cmd_report)
    p.add_argument("--month", required=True, type=_month_type, help="the month, YYYY-MM")
    p.add_argument("--home", help=HOME_HELP)
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="language of the reports")
    p.add_argument("--config", help=CONFIG_HELP)

    d = command("send-reports", "e-mail each manager their team's reports, the centre its "
                "summary", cmd_send_reports)
    d.add_argument("--month", required=True, type=_month_type, help="the month, YYYY-MM")
    d.add_argument("--home", help=HOME_HELP)
    d.add_argument("--config", help=CONFIG_HELP)
    d.add_argument("--dry-run", action="store_true", help="write .eml files to the outbox")
    d.add_argument("--outbox", help="outbox folder for --dry-run (default: <home>/outbox/MONTH)")
    d.add_argument("--force", action="store_true", help="send again what the log says was sent")

    e = command("export-pay", "write a month's pay for HR's payroll import (.xlsx or .csv)",
                cmd_export_pay)
    e.add_argument("--month", required=True, type=_month_type, help="the month, YYYY-MM")
    e.add_argument("--home", help=HOME_HELP + "; its published warehouse is read")
    e.add_argument("--out", required=True,
                   help="the file to write: FILE.xlsx (Excel) or FILE.csv (UTF-8 with BOM)")

    w = command("whatif", "re-score a month under a proposed configuration, without changing "
                "the warehouse", cmd_whatif)
    w.add_argument("--month", required=True, type=_month_type, help="the month, YYYY-MM")
    w.add_argument("--config", required=True, help="the proposed configuration file")
    w.add_argument("--home", help=HOME_HELP + "; its published warehouse is read")
    w.add_argument("--lang", choices=["zh", "en"], default="zh", help="language of the page")

    k = command("calibrate", "propose grade bands and rule floors/targets from the appraised "
                "history", cmd_calibrate)
    k.add_argument("--from", dest="first", required=True, type=_month_type,
                   help="first month, YYYY-MM")
    k.add_argument("--to", dest="last", required=True, type=_month_type,
                   help="last month, YYYY-MM")
    k.add_argument("--home", help=HOME_HELP + "; its published warehouse is read")
    k.add_argument("--config", help="the configuration to start from (default: "
                   "config/kaohe.yaml)")
    k.add_argument("--distribution", help="target grade shares in %% (default: "
                   "S=5,A=15,B=30,C=35,D=15)")
    k.add_argument("--out", help="write the proposed configuration here (default: print it)")

    u = command("purge", "remove collection records older than the retention period",
                cmd_purge)
    u.add_argument("--before", required=True, type=_date_type,
                   help="YYYY-MM-DD: the records of files dated before it are removed")
    u.add_argument("--home", help=HOME_HELP)
    u.add_argument("--config", help=CONFIG_HELP)

    m = command("demo", "generate small sample data and build its three months", cmd_demo)
    m.add_argument("--home", default="kaohe-demo", help="the demo's kaohe home")
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already printed
        return exc.code if isinstance(exc.code, int) else 2
    if args.command in ("generate", "check", "audit-config", "report", "send-reports",
                        "export-pay", "whatif", "calibrate", "config-schema"):
        _setup_logging()
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
