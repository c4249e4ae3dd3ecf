"""``kaohe profile check``: a source profile tried on a vendor's export before it meets a run.

The first rows of the file (``--rows``, default 200) are copied into a scratch folder and read by
the real ingestion into an in-memory DuckDB (no warehouse is opened or written): what a run would
load (the contract's columns, PII already hashed), what it would quarantine and why, the vendor's
columns the profile does not read, and the codes its value maps do not know. ``kaohe profile
schema`` writes the JSON schema editors use to check a profile as it is typed.

Exit status: 0 every row read maps (rows the profile drops by its rules are fine), 1 some rows or
the whole file would be quarantined, 2 the profile itself cannot be used (one line).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from pipelines.cli_common import CliError


def _head(path: Path, dest: Path, rows: int) -> None:
    """The first ``rows`` records (+ header) of a file, bytes as they are (gzip read through)."""
    import gzip

    opener = gzip.open if path.name.endswith(".gz") else open
    out_name = dest / (path.name[:-3] if path.name.endswith(".gz") else path.name)
    with opener(path, "rb") as src, open(out_name, "wb") as out:
        for i, line in enumerate(src):
            if i > rows:
                break
            out.write(line)


def check(profile_ref: str, export: Path, rows: int = 200) -> tuple[int, dict]:
    """(exit status, what was found) of a profile on the first ``rows`` records of ``export``."""
    import duckdb

    from kaohe.ingest.files import LandedFile
    from kaohe.ingest.ingestor import Ingestor
    from kaohe.ingest.pii import install_macros, pii_key
    from kaohe.ingest.profiles import ProfileError, fingerprint, load_profile, match_file
    from kaohe.warehouse.schema import ensure_schema

    try:
        profile = load_profile(profile_ref)
    except ProfileError as exc:
        raise CliError(str(exc)) from None
    if not export.is_file():
        raise CliError(f"{export}: no such file")
    src = profile.contract
    named = match_file(profile, export.name)
    notes = []
    if named is None:
        notes.append(f"the file name does not follow the profile's pattern {profile.files!r}: "
                     "a run would reject it as bad_file_name (checked here without its date)")
    scratch = Path(tempfile.mkdtemp(prefix="kaohe-profile-"))
    try:
        folder = scratch / "landing" / src.name
        folder.mkdir(parents=True)
        _head(export, folder, rows)
        copy = next(folder.iterdir())
        day, seq, _ = named if named else (None, 0, "csv")
        f = LandedFile(copy, f"{src.name}/{copy.name}", src.name, day, seq, "csv",
                       None, profile, fingerprint(profile))
        con = duckdb.connect()
        install_macros(con, pii_key()[0])
        ensure_schema(con)
        ing = Ingestor(con, scratch / "landing", scratch / "tmp")
        res = ing.ingest_file(src, f)
        comp = ing._profile
        found: dict = {
            "profile": f"{profile.profile} ({src.name})", "file": str(export),
            "status": res.status, "message": res.message, "notes": notes + res.warnings,
            "read": res.rows_read, "loaded": res.rows_loaded, "rejected": res.rows_rejected,
            "unmapped_columns": comp.unmapped if comp is not None else [],
            "not_mapped": comp.not_mapped if comp is not None else [],
            "columns": list(src.column_names),
        }
        cols = ", ".join(f'"{c}"' for c in src.column_names)
        found["sample"] = con.execute(
            f"select {cols} from raw.{src.name} order by _line limit 10").fetchall()
        found["quarantined"] = con.execute(
            "select line, reason_code, reason from audit.quarantine "
            "where reason_code <> 'dropped_by_profile' order by line limit 20").fetchall()
        found["reasons"] = con.execute(
            "select reason_code, count(*) from audit.quarantine group by 1 order by 2 desc"
        ).fetchall()
        found["unknown_codes"] = con.execute(
            "select regexp_extract(reason, '^unknown_enum: ([a-z_]+) .*?: ''([^'']*)'' is not a "
            "code', ['column', 'code']) as c, count(*) from audit.quarantine where "
            "reason like 'unknown_enum: % is not a code%' group by 1 order by 2 desc, 1"
        ).fetchall()
        con.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    bad = res.status != "loaded" or any(code != "dropped_by_profile"
                                        for code, _ in found["reasons"])
    return (1 if bad else 0), found


def show(found: dict) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    con = Console(highlight=False)
    # one line whatever the path's length (a wrapped line cannot be searched for)
    con.print(f"[bold]{found['profile']}[/bold] on {escape(found['file'])}: "
              f"{found['read']:,} record(s) read, {found['loaded']:,} would load, "
              f"{found['rejected']:,} would be set aside", soft_wrap=True)
    if found["status"] != "loaded":
        con.print(f"[red]the whole file would be quarantined: {escape(found['message'])}[/red]")
    for note in found["notes"]:
        con.print(f"[yellow]note:[/yellow] {escape(note)}")
    if found["sample"]:
        # one line per contract column, the first records side by side
        t = Table(title="mapped records, as a run loads them (PII hashed)", title_justify="left")
        t.add_column("column")
        rows = found["sample"][:4]
        for i in range(len(rows)):
            t.add_column(f"#{i + 1}", overflow="fold")
        for j, c in enumerate(found["columns"]):
            t.add_row(c, *[escape("" if r[j] is None else str(r[j])[:24]) for r in rows])
        con.print(t)
    if found["unmapped_columns"]:
        con.print("vendor columns the profile does not read (not stored): "
                  + escape(", ".join(found["unmapped_columns"])))
    if found["not_mapped"]:
        con.print("contract columns the profile leaves out (NULL): "
                  + escape(", ".join(found["not_mapped"])))
    if found["unknown_codes"]:
        con.print("codes the value maps do not know: " + escape(", ".join(
            f"{c['column']} {c['code']!r} ×{n}" for c, n in found["unknown_codes"])))
    if found["reasons"]:
        con.print("set aside, by reason: " + ", ".join(f"{code} {n:,}"
                                                       for code, n in found["reasons"]))
    if found["quarantined"]:
        t = Table(title="would be quarantined (first 20)", title_justify="left")
        t.add_column("line", justify="right")
        t.add_column("reason", overflow="fold")
        for line, _, reason in found["quarantined"]:
            t.add_row(str(line), escape(reason))
        con.print(t)


def cmd_profile(args: argparse.Namespace) -> int:
    if args.profile_command == "schema":
        from kaohe.ingest.profiles import SCHEMA_FILE, schema_text

        out = Path(args.out) if args.out else SCHEMA_FILE
        text = schema_text()
        if args.check:
            if not out.exists() or out.read_text(encoding="utf-8") != text:
                raise CliError(f"{out} is stale: uv run kaohe profile schema")
            return 0
        out.write_text(text, encoding="utf-8")
        print(f"wrote {out}")
        return 0
    status, found = check(args.profile, Path(args.file), args.rows)
    show(found)
    return status


def add_parser(command) -> None:
    """``kaohe profile check|schema`` (``command`` is build_parser's subcommand factory)."""
    p = command("profile", "source profiles: try one on a vendor's export; its JSON schema",
                cmd_profile)
    sub = p.add_subparsers(dest="profile_command", required=True, metavar="{check,schema}",
                           help="check: try a profile on an export; schema: its JSON schema")
    c = sub.add_parser("check", help="read the first rows of an export through a profile and "
                       "show what a run would load and quarantine (no warehouse touched); "
                       "exit 0 all rows map, 1 some would be quarantined, 2 a broken profile")
    c.add_argument("--profile", required=True,
                   help="a profile file, or a shipped profile's name (profiles/*.yaml)")
    c.add_argument("--file", required=True, help="the vendor's export to try")
    c.add_argument("--rows", type=int, default=200, help="records read (default 200)")
    s = sub.add_parser("schema", help="write profiles/profile.schema.json (for editors)")
    s.add_argument("--out", help="another file to write it to")
    s.add_argument("--check", action="store_true", help="exit 2 if it is not up to date")
