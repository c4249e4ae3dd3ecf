"""What every kaohe command shares: the one-line refusal (CliError), the log set-up, and the
checking of what was given (--home, --landing, --config, months, dates, positive numbers, a
warehouse file opened read-only and the months it has data for).

The commands themselves are in pipelines/cli.py (the monthly run) and pipelines/cli_rules.py
(rules, compliance and HR); heavy modules (duckdb, kaohe.*) are imported inside the functions
that need them, so that ``kaohe --help`` starts fast.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from datetime import date
from pathlib import Path


class CliError(Exception):
    """Bad input or a refusal: printed as ``kaohe: <message>`` (one line), exit status 2."""


def setup_logging(home: Path | None = None, console: bool = True) -> None:
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


def get_home(args: argparse.Namespace) -> Path:
    """The kaohe home of --home / KAOHE_HOME: given, and not a file (it may not exist yet)."""
    path, where = _env_path(args.home, "KAOHE_HOME", "--home")
    if path.exists() and not path.is_dir():
        raise CliError(f"{where} {path} is a file, not a kaohe home directory")
    return path


def create_home(path: Path, where: str = "--home") -> Path:
    from kaohe.warehouse import Home

    try:
        Home(path.resolve()).create()
    except OSError as exc:
        raise CliError(f"{where} {path} does not exist and cannot be created: "
                       f"{exc.strerror or exc}") from None
    return path


def get_landing(args: argparse.Namespace) -> Path:
    path, where = _env_path(args.landing, "KAOHE_LANDING", "--landing")
    if not path.is_dir():
        raise CliError(f"{where} {path} " + ("is a file, not a landing folder" if path.exists()
                                             else "does not exist"))
    return path


def get_config(args: argparse.Namespace):
    """The configuration of --config (the shipped one without it); a bad one is a CliError."""
    from kaohe.config import ConfigError, load_config

    try:
        return load_config(args.config)
    except ConfigError as exc:
        raise CliError(str(exc)) from None


def month_type(value: str) -> str:
    from kaohe.months import MONTH

    if not MONTH.match(value):
        raise argparse.ArgumentTypeError(f"must look like 2026-09, not {value!r}")
    return value


def date_type(value: str) -> date:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise argparse.ArgumentTypeError(f"must be a date YYYY-MM-DD, not {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"must be a date YYYY-MM-DD, not {value!r} ({exc})"
                                         ) from None


def positive(kind: type):
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


def open_warehouse(path: Path, flag: str = "--warehouse"):
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


def write_output(path: str, text: str, flag: str) -> Path:
    """Write ``text`` to the file a user named with ``flag``; one line (CliError) when it cannot
    be: an empty name, a folder, a folder that does not exist, no permission."""
    if not path or not path.strip():
        raise CliError(f"{flag} needs a file name")
    out = Path(path)
    if out.is_dir():
        raise CliError(f"{flag} {path} is a folder: give a file name")
    if not out.parent.is_dir():
        raise CliError(f"{flag} {path}: the folder {out.parent} does not exist")
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"{flag} {path} cannot be written: {exc.strerror or exc}") from None
    return out


def month_span(months: list[str]) -> str:
    if not months:
        return "none"
    return ", ".join(months) if len(months) <= 4 else f"{months[0]} .. {months[-1]}"


def print_checks(month: str, results: list) -> list:
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
