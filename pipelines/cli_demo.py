"""The sample data commands: ``kaohe demo`` (generate a small sample centre and build its three
months, then say where the warehouse, the reports and the Dagster UI are) and ``kaohe generate``
(a landing folder, in the contract's format or with the calls in a vendor's)."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from pipelines.cli_common import CliError, create_home, print_checks, setup_logging


def cmd_demo(args: argparse.Namespace) -> int:
    from kaohe.generate import generate
    from kaohe.quality import stored_results
    from kaohe.warehouse import connect
    from pipelines.runner import run_month

    home = create_home(Path(args.home)).resolve()
    landing = home / "landing"
    setup_logging(home, console=False)
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
        print_checks(month, stored_results(con, month))
    finally:
        con.close()
    print(f"  landing folder      {landing}")
    print(f"  analyst warehouse   {outcome.published}")
    print(f"    {analyst_one_liner(outcome.published, month)}")
    print(f"    or any DuckDB 1.4+: duckdb -readonly {outcome.published}  (pip install duckdb-cli)")
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


def cmd_generate(args: argparse.Namespace) -> int:
    from kaohe.generate import generate
    from kaohe.generate.vendors import PROFILES, render_calls

    if args.profile not in (None, *PROFILES):
        raise CliError(f"--profile {args.profile!r}: not one of {', '.join(PROFILES)}")
    manifest = generate(Path(args.out), args.start, args.months, args.seed,
                        args.scale, volume=args.volume)
    total = sum(manifest["rows"].values())
    print(f"wrote {sum(manifest['files'].values())} files, {total:,} rows to {args.out}")
    if args.profile:
        done = render_calls(Path(args.out), args.profile)
        print(f"calls written as {args.profile}: {done['records']:,} records (_manifest.json)")
    return 0
