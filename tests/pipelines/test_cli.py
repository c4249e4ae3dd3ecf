"""The ``kaohe`` command line: bad input is one line on stderr naming the bad value and exit
status 2 (never a traceback), a blocking data-quality failure exit 3 with the failed checks
listed; --help and --version; the run's progress lines; the monthly partitions' first month;
CI refusing to run without chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from kaohe.ingest import pii
from pipelines.cli import build_parser, main
from pipelines.cli_demo import analyst_one_liner

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = ("generate", "run", "check", "audit-config", "config-schema", "report",
            "send-reports", "export-pay", "whatif", "calibrate", "purge", "demo")


def kaohe(*args: str, env: dict | None = None, timeout: int = 600
          ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT, env={**os.environ, **(env or {})})


def one_line(err: str) -> str:
    assert err.count("\n") == 1 and err.startswith("kaohe: "), err
    assert "Traceback" not in err
    return err


def refused(capsys, *args: str) -> str:
    """Run ``kaohe args`` in process: exit status 2 and one line on stderr, returned."""
    code = main(list(args))
    got = capsys.readouterr()
    assert code == 2, got.out + got.err
    return one_line(got.err)


@pytest.fixture
def no_env(monkeypatch):
    for name in ("KAOHE_HOME", "KAOHE_LANDING", "KAOHE_CONFIG", "KAOHE_PII_KEY"):
        monkeypatch.delenv(name, raising=False)


def duckdb_file(path: Path, *sql: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        for statement in sql:
            con.execute(statement)
    finally:
        con.close()
    return path


# --help and --version ---------------------------------------------------------------------------

def test_help_names_every_command_with_a_one_line_help(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert re.search(rf"^    {re.escape(name)}\s", out, re.M), name
    assert "``" not in out and "Exit status" in out
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name in COMMANDS:
        help_text = next(c.help for c in sub._choices_actions if c.dest == name)
        assert help_text and "\n" not in help_text and "`" not in help_text, name


def test_every_option_has_help_and_shows_its_default(capsys):
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name, parser in sub.choices.items():
        for action in parser._actions:
            assert action.help, f"kaohe {name} {action.option_strings}"
    assert main(["generate", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    for shown in ("(default: 2026-08-01)", "(default: 3)", "(default: 7)",
                  "(default: small)", "(default: 1.0)"):
        assert shown in out
    assert main(["report", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "(default: reports.lang" in out and "(default: $KAOHE_HOME)" in out


def test_version_comes_from_the_package_metadata(capsys):
    from importlib.metadata import version

    from kaohe.warehouse.migrations import schema_version

    assert main(["--version"]) == 0
    assert capsys.readouterr().out == (f"kaohe {version('kaohe')} (warehouse schema version "
                                       f"{schema_version()})\n")


def test_a_usage_error_is_one_line_naming_the_flag(capsys):
    err = refused(capsys, "report", "--month", "2026-07", "--lang", "fr")
    assert err.startswith("kaohe: --lang invalid choice: 'fr'")
    err = refused(capsys, "run")
    assert "the following arguments are required: --month" in err


# kaohe run: what it refuses before doing anything ------------------------------------------------

def test_run_with_a_home_that_cannot_exist(capsys, tmp_path, no_env):
    err = refused(capsys, "run", "--month", "2026-08", "--home", "/proc/x",
                  "--landing", str(tmp_path))
    assert err.startswith("kaohe: --home /proc/x does not exist and cannot be created")


def test_run_with_a_home_that_is_a_file(capsys, tmp_path, no_env):
    afile = tmp_path / "home.txt"
    afile.write_text("not a directory")
    err = refused(capsys, "run", "--month", "2026-08", "--home", str(afile),
                  "--landing", str(tmp_path))
    assert err == f"kaohe: --home {afile} is a file, not a kaohe home directory\n"


def test_run_without_a_home_exits_2_not_1(tmp_path, no_env):
    env = {k: v for k, v in os.environ.items() if k not in ("KAOHE_HOME", "KAOHE_LANDING")}
    res = subprocess.run([sys.executable, "-m", "pipelines.cli", "run", "--month", "2026-08",
                          "--landing", str(tmp_path)], capture_output=True, text=True,
                         timeout=120, cwd=ROOT, env=env)
    assert res.returncode == 2
    assert one_line(res.stderr) == "kaohe: give --home DIR or set KAOHE_HOME\n"


def test_run_names_the_environment_variable_it_read(capsys, tmp_path, monkeypatch, no_env):
    monkeypatch.setenv("KAOHE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KAOHE_LANDING", str(tmp_path / "missing"))
    err = refused(capsys, "run", "--month", "2026-08")
    assert err == f"kaohe: KAOHE_LANDING {tmp_path / 'missing'} does not exist\n"


def test_a_bad_month_is_refused_before_anything_is_written(capsys, tmp_path, no_env):
    home = tmp_path / "home"
    err = refused(capsys, "run", "--month", "2026-13", "--home", str(home),
                  "--landing", str(tmp_path))
    assert err.startswith("kaohe: --month must look like 2026-09, not '2026-13'")
    assert not home.exists()  # no home, no logs/kaohe.log


def test_a_bad_configuration_is_refused_before_the_home_is_created(capsys, tmp_path, no_env):
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nmetrics: [\n")
    err = refused(capsys, "run", "--month", "2026-08", "--home", str(tmp_path / "home"),
                  "--landing", str(tmp_path), "--config", str(broken))
    assert err.startswith(f"kaohe: {broken}: not valid YAML: line ")
    assert not (tmp_path / "home").exists()


def dev_key_warehouse(home: Path) -> None:
    """A writer database that records the development key's fingerprint."""
    duckdb_file(home / "work" / "kaohe.duckdb", "create schema audit",
                "create table audit.warehouse_meta (key varchar primary key, value varchar)",
                "insert into audit.warehouse_meta values ('pii_key_fingerprint', "
                f"'{pii.key_fingerprint(pii.DEV_KEY)}')")


def test_a_pii_key_other_than_the_warehouses_is_refused_in_one_line(tmp_path, no_env):
    home, landing = tmp_path / "home", tmp_path / "landing"
    landing.mkdir()
    dev_key_warehouse(home)
    res = kaohe("run", "--month", "2026-08", "--home", str(home), "--landing", str(landing),
                env={"KAOHE_PII_KEY": "another-key-0123456789"}, timeout=300)
    assert res.returncode == 2, res.stdout + res.stderr
    err = one_line(res.stderr)
    assert "KAOHE_PII_KEY differs from the key the warehouse" in err and str(home) in err
    assert "another-key" not in res.stdout + res.stderr  # the key itself is never shown
    short = kaohe("run", "--month", "2026-08", "--home", str(home), "--landing", str(landing),
                  env={"KAOHE_PII_KEY": "short"}, timeout=300)
    assert short.returncode == 2
    assert one_line(short.stderr) == "kaohe: KAOHE_PII_KEY must be at least 16 characters long\n"


# other commands ---------------------------------------------------------------------------------

def test_report_with_a_broken_configuration_is_one_line(capsys, tmp_path, no_env):
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nfoo: [\n")
    err = refused(capsys, "report", "--month", "2026-08", "--home", str(tmp_path),
                  "--config", str(broken))
    assert err.startswith(f"kaohe: {broken}: not valid YAML: line ")
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "config" / "kaohe.yaml").read_text(encoding="utf-8")
                   + "\nreportz: {lang: en}\n")
    err = refused(capsys, "report", "--month", "2026-08", "--home", str(tmp_path),
                  "--config", str(bad))
    assert err == f"kaohe: {bad}: reportz: unknown key\n"


def test_report_on_a_month_never_built_says_so(capsys, tmp_path, no_env):
    duckdb_file(tmp_path / "warehouse" / "kaohe.duckdb", "create schema marts",
                "create table marts.center_month_summary (month date)",
                "insert into marts.center_month_summary values (date '2026-08-01')")
    err = refused(capsys, "report", "--month", "2026-07", "--home", str(tmp_path))
    assert err == (f"kaohe: 2026-07 was never built in {tmp_path} (months built: 2026-08): "
                   "run it first with kaohe run --month 2026-07\n")


def test_report_without_a_published_warehouse(capsys, tmp_path, no_env):
    err = refused(capsys, "report", "--month", "2026-07", "--home", str(tmp_path))
    assert err == f"kaohe: no published warehouse in {tmp_path}: run the month first\n"


def test_check_on_a_file_that_is_not_a_duckdb_database(capsys, tmp_path):
    path = tmp_path / "not-a-db.duckdb"
    path.write_text("hello\n")
    err = refused(capsys, "check", "--month", "2026-08", "--warehouse", str(path))
    assert err == f"kaohe: --warehouse {path} is not a DuckDB database file\n"
    err = refused(capsys, "check", "--month", "2026-08", "--warehouse", str(tmp_path / "no.db"))
    assert err == f"kaohe: --warehouse {tmp_path / 'no.db'} does not exist\n"


def test_check_on_a_month_with_no_data_says_so(capsys, tmp_path):
    path = duckdb_file(tmp_path / "kaohe.duckdb", "create schema marts",
                       "create table marts.agent_month_metrics (month date)",
                       "insert into marts.agent_month_metrics values (date '2026-08-01')")
    err = refused(capsys, "check", "--month", "2025-01", "--warehouse", str(path))
    assert err == (f"kaohe: 2025-01 has no data in {path} (months with data: 2026-08): "
                   "nothing to check\n")
    assert "checks" not in capsys.readouterr().out


def test_check_on_a_month_with_only_old_plan_cohorts_has_no_data(capsys, tmp_path):
    """A lender's plan cohorts and credit follow-ups are dated years back (the sample's from
    2023); a month is one to check only when something happened in it (calls, repayments,
    deliveries of calls, assignments or repayments, a built month)."""
    path = duckdb_file(tmp_path / "kaohe.duckdb", "create schema audit", "create schema staging",
                       "create table audit.file_registry (business_date date, source varchar, "
                       "status varchar)",
                       "insert into audit.file_registry values (date '2024-01-31', 'plans', "
                       "'loaded'), (date '2024-01-31', 'credit_followups', 'loaded'), "
                       "(date '2026-08-31', 'calls', 'loaded')",
                       "create table staging.calls (started_at timestamp)",
                       "insert into staging.calls values (timestamp '2026-09-01 10:00:00')")
    err = refused(capsys, "check", "--month", "2024-01", "--warehouse", str(path))
    assert err == (f"kaohe: 2024-01 has no data in {path} (months with data: 2026-08, "
                   "2026-09): nothing to check\n")


def test_purge_with_an_impossible_date_names_the_flag(capsys, tmp_path):
    err = refused(capsys, "purge", "--before", "2026-13-01", "--home", str(tmp_path))
    assert err.startswith("kaohe: --before must be a date YYYY-MM-DD, not '2026-13-01'")


def test_export_pay_and_whatif_with_a_home_that_is_a_file(capsys, tmp_path):
    afile = tmp_path / "f"
    afile.write_text("x")
    for args in (["export-pay", "--month", "2026-08", "--out", str(tmp_path / "p.csv")],
                 ["whatif", "--month", "2026-08", "--config", str(afile)]):
        err = refused(capsys, *args, "--home", str(afile))
        assert err == f"kaohe: --home {afile} is a file, not a kaohe home directory\n"


def test_the_demo_suggests_a_query_that_works_without_the_duckdb_tool(tmp_path):
    published = duckdb_file(
        tmp_path / "kaohe.duckdb", "create schema marts",
        "create table marts.agent_month_scorecard (month date, team_id varchar, grade varchar)",
        "insert into marts.agent_month_scorecard values (date '2026-10-01', 'T1', 'A')")
    command = analyst_one_liner(published, "2026-10")
    assert command.startswith("uv run python -c ")
    res = subprocess.run(["bash", "-c", command.replace("uv run python", sys.executable, 1)],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "T1" in res.stdout and "agents" in res.stdout


# the run's progress -----------------------------------------------------------------------------

def event(kind: str | None, step: str | None, at: float, message: str = "", level: int = 10,
          **data) -> SimpleNamespace:
    dagster_event = None if kind is None else SimpleNamespace(
        event_type_value=kind, event_specific_data=SimpleNamespace(**data))
    return SimpleNamespace(dagster_event=dagster_event, step_key=step, timestamp=at,
                           level=level, user_message=message, message=message or kind,
                           run_id="0123456789abcdef")


def test_progress_is_a_short_line_per_step_and_the_detail_goes_to_the_log(tmp_path, capsys):
    import io

    from pipelines.progress import RunProgress

    out, err = io.StringIO(), io.StringIO()
    log = tmp_path / "logs" / "kaohe.log"
    rows = SimpleNamespace(metadata={"dagster/row_count": SimpleNamespace(value=1234)})
    error = SimpleNamespace(message="duckdb.IOException: disk full\nmore", to_string=lambda: "TB")
    with RunProgress(log, steps=4, show=True, out=out, err=err, live=False) as progress:
        for entry in [
            event("STEP_START", "staging__calls", 100.0),
            event(None, "staging__calls", 100.5, "calls_1.csv: 6 row(s) quarantined", 30),
            event(None, "staging__calls", 100.6, "calls_1.csv: 6 row(s) quarantined", 30),
            event("ASSET_MATERIALIZATION", "staging__calls", 101.0, materialization=rows),
            event("STEP_SUCCESS", "staging__calls", 103.5),
            event("STEP_START", "marts__agent_month_metrics", 104.0),
            event("STEP_FAILURE", "marts__agent_month_metrics", 104.25, error=error),
        ]:
            progress(entry)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["staging.calls", "1,234", "rows", "3.5", "s"]
    assert lines[1].split()[:4] == ["marts.agent_month_metrics", "FAILED", "0.2", "s"]
    assert "duckdb.IOException: disk full" in lines[1] and "more" not in lines[1]
    assert lines[2] == "  2 of 4 steps not run: they depend on a step that failed"
    assert all(len(line) < 140 for line in lines)
    assert err.getvalue() == "  warning: calls_1.csv: 6 row(s) quarantined\n"  # once
    assert progress.failed == {"marts__agent_month_metrics": "duckdb.IOException: disk full"}
    text = log.read_text()
    assert "staging__calls STEP_SUCCESS" in text and "TB" in text and "quarantined" in text


def test_a_warning_outside_any_step_never_breaks_a_step_line(tmp_path):
    import io

    from pipelines.progress import RunProgress

    out = io.StringIO()
    with RunProgress(tmp_path / "kaohe.log", steps=2, show=True, out=out, err=out,
                     live=False) as progress:
        for entry in [
            event("STEP_START", "staging__cases", 1.0),
            event(None, None, 1.5, "cases_1.csv: 1 row(s) quarantined", 30),
            event("STEP_SUCCESS", "staging__cases", 3.0),
            event("STEP_START", "staging__calls", 3.5),
            event("STEP_SUCCESS", "staging__calls", 4.0),
        ]:
            progress(entry)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["staging.cases", "2.0", "s"]
    assert lines[1] == "  warning: cases_1.csv: 1 row(s) quarantined"
    assert lines[2].split() == ["staging.calls", "0.5", "s"] and len(lines) == 3


def test_without_progress_the_run_prints_nothing_but_still_logs(tmp_path):
    import io

    from pipelines.progress import RunProgress

    out, err = io.StringIO(), io.StringIO()
    with RunProgress(tmp_path / "kaohe.log", steps=1, show=False, out=out, err=err) as progress:
        progress(event("STEP_START", "staging__calls", 1.0))
        progress(event(None, "staging__calls", 1.1, "careful", 30))
        progress(event("STEP_SUCCESS", "staging__calls", 2.0))
    assert out.getvalue() == err.getvalue() == ""
    assert "careful" in (tmp_path / "kaohe.log").read_text()


# a real run: its check count equals kaohe check's; a blocking failure is exit 3 -----------------

ASSIGNMENT = "{id},C1,{agent},{at},,30,1000.00"


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    from tests.conftest import HEADERS

    root = tmp_path_factory.mktemp("cli")
    landing, home = root / "landing", root / "home"
    (landing / "assignments").mkdir(parents=True)
    (landing / "calls").mkdir()

    def write(name: str, rows: list[str]) -> None:
        source = name.split("_")[0]
        (landing / source / name).write_text("\n".join([HEADERS[source], *rows]) + "\n")

    write("assignments_20260801.csv", [ASSIGNMENT.format(id="S1", agent="A1",
                                                         at="2026-08-01 09:00:00")])
    write("calls_20260803.csv", ["K1,C1,A1,2026-08-03 09:00:00,0,no_answer,,,"])
    env = {"KAOHE_PII_KEY": ""}
    args = ("run", "--month", "2026-08", "--landing", str(landing), "--home", str(home))
    first = kaohe(*args, env=env)
    check = kaohe("check", "--month", "2026-08", "--warehouse", str(home / "work" / "kaohe.duckdb"))
    # a second assignment of the case overlapping the first: a blocking check fails
    write("assignments_20260802.csv", [ASSIGNMENT.format(id="S2", agent="A2",
                                                         at="2026-08-02 09:00:00")])
    published = home / "warehouse" / "kaohe.duckdb"
    stamp = published.stat().st_mtime_ns if published.exists() else None
    second = kaohe(*args, env=env)
    return {"home": home, "first": first, "check": check, "second": second,
            "published_before": stamp,
            "published_after": published.stat().st_mtime_ns if published.exists() else None}


def checks_line(out: str) -> str:
    return next(line for line in out.splitlines() if line.startswith("data quality 2026-08:"))


def test_a_run_shows_one_short_line_per_step_and_no_dagster_detail(runs):
    first = runs["first"]
    assert first.returncode == 0, first.stdout + first.stderr[-3000:]
    assert re.search(r"^  staging\.calls +1 row +\d+\.\d s$", first.stdout, re.M), first.stdout
    assert re.search(r"^  marts\.agent_month_metrics +1 row +\d+\.\d s$", first.stdout, re.M)
    assert re.search(r"^  warehouse\.published +\d+\.\d s$", first.stdout, re.M)
    assert "dagster - " not in first.stdout + first.stderr
    assert "STEP_SUCCESS" not in first.stdout + first.stderr
    steps = first.stdout.split("data quality 2026-08:")[0].splitlines()
    assert len(steps) > 30 and max(len(line) for line in steps) < 100
    assert "warning: KAOHE_PII_KEY is not set" in first.stderr
    log = (runs["home"] / "logs" / "kaohe.log").read_text(encoding="utf-8")
    assert "staging__calls STEP_SUCCESS" in log and "PIPELINE_SUCCESS" in log


def test_the_run_counts_the_checks_kaohe_check_counts(runs):
    assert runs["check"].returncode == 0, runs["check"].stdout + runs["check"].stderr
    ran = checks_line(runs["first"].stdout)
    assert ran == checks_line(runs["check"].stdout), (runs["first"].stdout, runs["check"].stdout)
    assert int(ran.split()[3]) > 100


def test_a_blocking_failure_exits_3_listing_the_failed_checks_without_a_trace(runs):
    second = runs["second"]
    assert second.returncode == 3, second.stdout + second.stderr[-3000:]
    blocking = [line for line in second.stdout.splitlines() if line.lstrip().startswith(
        "BLOCKING")]
    assert len(blocking) == 1 and "staging.assignments" in blocking[0]
    assert "no_overlapping_assignments" in blocking[0] and "C1: S2" in blocking[0]
    assert re.search(r"^  staging\.assignments +FAILED +\d+\.\d s  blocking check failed$",
                     second.stdout, re.M), second.stdout
    assert "not checked:" in second.stdout  # the tables downstream were not checked this time
    assert "steps not run" in second.stdout
    assert "Traceback" not in second.stdout + second.stderr
    assert second.stderr.strip().splitlines()[-1].startswith(
        "kaohe: 1 blocking data-quality check(s) failed for 2026-08: the month was not "
        "published")
    # the analysts keep the first run's copy; the data-quality page says why (it lets a long
    # check name wrap at its underscores)
    assert runs["published_before"] is not None
    assert runs["published_after"] == runs["published_before"]
    page = (runs["home"] / "reports" / "2026-08" / "data-quality.html").read_text(
        encoding="utf-8").replace("<wbr>", "")
    assert "no_overlapping_assignments" in page and "本月报表不予生成" in page


# the monthly partitions' first month ------------------------------------------------------------

def test_the_partitions_start_at_the_configured_or_the_first_month_with_data(tmp_path):
    from assets.metrics import DEFAULT_FIRST_MONTH, first_month

    assert first_month({"KAOHE_FIRST_MONTH": "2026-03"}) == "2026-03"
    with pytest.raises(ValueError, match="KAOHE_FIRST_MONTH must look like 2025-01"):
        first_month({"KAOHE_FIRST_MONTH": "March"})
    assert first_month({}) == DEFAULT_FIRST_MONTH == "2025-01"
    assert first_month({"KAOHE_HOME": str(tmp_path)}) == DEFAULT_FIRST_MONTH  # nothing built
    duckdb_file(tmp_path / "warehouse" / "kaohe.duckdb", "create schema marts",
                "create schema audit",
                "create table marts.agent_month_metrics (month date)",
                "insert into marts.agent_month_metrics values (date '2026-09-01')",
                "create table audit.file_registry (business_date date, source varchar, "
                "status varchar)",
                # a month has data when something happened in it: a plan cohort dated three
                # years back, or a rejected file, makes no month one
                "insert into audit.file_registry values (date '2026-08-31', 'calls', 'loaded'), "
                "(date '2023-08-31', 'plans', 'loaded'), (date '2026-07-01', 'calls', "
                "'rejected'), (null, 'calls', 'loaded')")
    assert first_month({"KAOHE_HOME": str(tmp_path)}) == "2026-08"
    assert first_month({"KAOHE_HOME": str(tmp_path), "KAOHE_FIRST_MONTH": "2026-10"}) == \
        "2026-10"


def test_the_definitions_load_with_the_configured_first_month(tmp_path):
    code = ("from assets.metrics import monthly; "
            "print(monthly.start.date(), monthly.get_partition_keys()[0])")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=120,
                         env={**os.environ, "KAOHE_FIRST_MONTH": "2026-06"})
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.split() == [str(date(2026, 6, 1)), "2026-06-01"]


# CI ---------------------------------------------------------------------------------------------

def test_make_test_says_first_how_to_get_chromium_when_it_is_missing(tmp_path):
    """`make test` without chromium: its first line says the browser tests will be skipped and
    how to install it (nothing installed silently)."""
    make = shutil.which("make")
    assert make, "make is needed to run the suite as the README says"
    empty = tmp_path / "bin"
    empty.mkdir()
    res = subprocess.run([make, "-s", "browser-hint"], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PATH": str(empty)}, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "chromium is not installed" in res.stdout
    assert "apt-get install -y chromium" in res.stdout
    assert "SKIPPED" in res.stdout
    with_it = subprocess.run([make, "-s", "browser-hint"], capture_output=True, text=True,
                             cwd=ROOT, timeout=60)
    assert (with_it.stdout == "") == (shutil.which("chromium") is not None)


def fake_bin(tmp_path: Path, uid: int, apt_get_fails: bool) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("dirname", "tail"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    (bin_dir / "id").write_text(f"#!/bin/sh\necho {uid}\n")
    if apt_get_fails:
        (bin_dir / "apt-get").write_text("#!/bin/sh\necho 'E: unable to locate' >&2\nexit 100\n")
    for f in bin_dir.iterdir():
        if not f.is_symlink():
            f.chmod(0o755)
    return bin_dir


@pytest.mark.parametrize(("uid", "apt_get_fails", "said"), [
    (1000, False, "no chromium on PATH, and it cannot be installed here"),
    (0, True, "chromium could not be installed"),
], ids=["not-root", "apt-get-fails"])
def test_ci_fails_loudly_without_chromium(tmp_path, uid, apt_get_fails, said):
    bin_dir = fake_bin(tmp_path, uid, apt_get_fails)
    res = subprocess.run(["/bin/bash", str(ROOT / ".ci" / "run")], capture_output=True,
                         text=True, timeout=60, env={"PATH": str(bin_dir), "HOME": str(tmp_path)})
    assert res.returncode == 1, res.stdout + res.stderr
    assert "ci: FAILED: " in res.stderr and said in res.stderr
    assert "skipped" not in res.stdout + res.stderr
