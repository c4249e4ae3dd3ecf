"""The floor: a bare DuckDB script computing ``agent_month_metrics`` straight from the files.

    uv run python benchmarks/floor.py --landing DIR --month 2026-08 [--out FILE.parquet]

The least work that gives the same numbers as ``kaohe run``: per source, one ``read_csv`` over
all its files (every column as text, malformed lines skipped) with the contract's typing and row
rules in the same statement, latest file wins per key; then the very same
``sql/marts/agent_month_metrics.sql``, then every other mart of the month with the very same
builders (the SQL under ``sql/marts/``, the Polars scorecard), in the pipeline's order: the
floor does the same job as ``kaohe run`` minus what kaohe's guarantees cost. Nothing else: no
file registry or hashes, no lineage or line numbers, no quarantine rows, no PII hashing (PII
columns are not read at all, but for calls.dialled_number, which the contact rules count by: its
md5), no staging history, no checks, no restatement log, no reports, no publishing, no
orchestration. ``--metrics-only`` stops after ``agent_month_metrics`` (the floor of the earlier
rounds).

It uses the writer's DuckDB settings (threads, memory limit) so both sides have the same machine.
Files the pipeline rejects whole (bad name, missing column, empty, truncated) are skipped here
too; GB18030 files are decoded in Python, as DuckDB cannot here.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# PII the metrics group by (the unanswered-attempts rule counts per dialled number)
COUNTED_PII = {"dialled_number"}
sys.path.insert(0, str(ROOT))

from kaohe.config import load_config  # noqa: E402
from kaohe.ingest.contract import Source, bucket_macro, load_contract  # noqa: E402
from kaohe.ingest.ingestor import (  # noqa: E402
    _TEXT_PARSE,
    LandedFile,
    check_header,
    discover,
    row_checks,
    sniff_csv,
    transcode_to_utf8,
)
from kaohe.models import ensure_intermediate  # noqa: E402
from kaohe.models.marts import (  # noqa: E402
    MARTS,
    MONTHLY_MARTS,
    bound_params,
    dictionary,
    sql,
)
from kaohe.warehouse import connect, literal, quote  # noqa: E402


def _csv(paths: list[str], header: list[str]) -> str:
    columns = "{" + ", ".join(f"'{h}': 'VARCHAR'" for h in header) + "}"
    return (f"read_csv([{', '.join(literal(p) for p in paths)}], columns = {columns}, "
            "header = true, auto_detect = false, delim = ',', quote = '\"', escape = '\"', "
            "ignore_errors = true, filename = '_path', max_line_size = 4000000)")


def _relations(con, src: Source, files: list[LandedFile], tmp: Path
               ) -> tuple[list[str], dict[str, int]]:
    """SQL relations giving ``_r_<column>`` text columns and ``_path`` for a source's files,
    one per distinct CSV header and one per Parquet file; and each read path's delivery order."""
    wanted = [c for c in src.columns if not c.pii or c.name in COUNTED_PII]
    by_header: dict[tuple[str, ...], list[str]] = {}
    order: dict[str, int] = {}
    rels: list[str] = []
    for i, f in enumerate(files):
        if f.fmt is None:
            continue  # a badly named file
        try:
            if f.fmt == "parquet":
                names = {r[0].strip().lower(): r[0] for r in con.execute(
                    "select column_name from (describe select * from read_parquet(?))",
                    [str(f.path)]).fetchall()}
                check_header(src, list(names))
                cols = ", ".join(
                    f"cast({quote(names[c.name])} as varchar) as {quote('_r_' + c.name)}"
                    if c.name in names else f"null::varchar as {quote('_r_' + c.name)}"
                    for c in wanted)
                rels.append(f"select {cols}, {literal(str(f.path))} as _path "
                            f"from read_parquet({literal(str(f.path))})")
                order[str(f.path)] = i
                continue
            encoding, header = sniff_csv(f.path, f.fmt)
            check_header(src, header)
            path = str(f.path)
            if encoding != "utf-8":
                path = str(transcode_to_utf8(f.path, f.fmt, encoding, tmp))
            if f.fmt == "csv.gz":  # a truncated gzip is skipped whole, as kaohe rejects it
                con.execute(f"select count(*) from {_csv([path], header)}").fetchall()
        except Exception:  # noqa: BLE001 - FileRejected or a DuckDB read error: skip the file
            continue
        by_header.setdefault(tuple(header), []).append(path)
        order[path] = i
    for header, paths in by_header.items():
        cols = ", ".join(
            f"{quote(c.name)} as {quote('_r_' + c.name)}" if c.name in header
            else f"null::varchar as {quote('_r_' + c.name)}" for c in wanted)
        rels.append(f"select {cols}, _path from {_csv(paths, list(header))}")
    return rels, order


def load_source(con, src: Source, files: list[LandedFile], tmp: Path) -> None:
    """Typed, checked, latest-file-wins rows of one source into ``staging.<source>``."""
    rels, order = _relations(con, src, files, tmp)
    cols = [c for c in src.columns if not c.pii or c.name in COUNTED_PII]
    bdate = {str(f.path): f.business_date for f in files}
    con.execute("create or replace temp table _files (path varchar, ord int, bdate date)")
    if order:
        con.executemany("insert into _files values (?, ?, ?)", [
            [p, o, bdate.get(p) or files[o].business_date] for p, o in order.items()])
    raws = {c.name: quote("_r_" + c.name) for c in cols}
    typed = ", ".join(f"{_TEXT_PARSE[c.type].format(x=raws[c.name])} as {quote(c.name)}"
                      for c in cols)
    bad = " or ".join(f"coalesce({cond}, false)" for _, cond, _ in row_checks(src, raws)
                      if not any(quote(p) in cond for p in src.pii_columns)) or "false"
    snapshot = "f.bdate as snapshot_date, " if src.kind == "snapshot" else ""
    if not rels:
        rels = ["select " + ", ".join(f"null::varchar as {raws[c.name]}" for c in cols)
                + ", null::varchar as _path where false"]
    union = " union all by name ".join(f"({r})" for r in rels)
    con.execute(
        f"create or replace table staging.{src.name} as select {snapshot}"
        + ", ".join(quote(c.name) if not c.pii
                    # a number's identity is all the contact rules need: an md5, never clear
                    else f"md5(nullif(trim({raws[c.name]}), '')) as {quote(c.name)}"
                    if c.name in COUNTED_PII and c.name in raws
                    else f"null::{c.sql_type} as {quote(c.name)}"
                    for c in src.columns)
        # the file's business date: the shared rules that ask "how new is the data" read it
        + f", f.ord as _ord, f.bdate as _business_date from (select *, {typed} from ({union})) t "
        f"join _files f on f.path = t._path where not ({bad})"
    )
    for ref in src.references:  # e.g. a reversal must reverse a payment that arrived
        con.execute(
            f"delete from staging.{src.name} t where ({ref.when}) and {quote(ref.column)} is not "
            f"null and not exists (select 1 from staging.{ref.source} p where "
            f"p.{quote(ref.key)} = t.{quote(ref.column)} and ({ref.key_when}))")
    # latest file wins per key; within a file the first occurrence (insertion order = rowid)
    keys = ", ".join(quote(k) for k in src.staging_key)
    con.execute(
        f"delete from staging.{src.name} where rowid in (select rowid from ("
        f"select rowid, row_number() over (partition by {keys} order by _ord desc, rowid) as n "
        f"from staging.{src.name} semi join (select {keys} from staging.{src.name} "
        f"group by all having count(*) > 1) using ({keys})) where n > 1)")


def compute(landing: Path, month: str, db: Path, out: Path | None = None,
            every_mart: bool = True) -> dict:
    """Build the month's agent_month_metrics from the landing folder into a fresh ``db``, and
    then (``every_mart``) every other mart of the month, as the pipeline builds them."""
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="kaohe-floor-"))
    con = connect(db, temp_directory=tmp)
    try:
        con.execute("create schema if not exists staging")
        con.execute(bucket_macro())
        sources = load_contract()
        for name, files in discover(landing).items():
            load_source(con, sources[name], files, tmp)
        ensure_intermediate(con)  # the shared rules the metrics query reads (views, macros)
        loaded = time.perf_counter()
        query = sql("agent_month_metrics")
        con.execute(f"create or replace table agent_month_metrics as {query}",
                    bound_params(dictionary("agent_month_metrics"), load_config(), month))
        rows = con.execute("select count(*) from agent_month_metrics").fetchall()[0][0]
        metrics = time.perf_counter()
        if out:
            con.execute(f"copy agent_month_metrics to {literal(str(out))} (format parquet)")
        marts: dict[str, int] = {}
        if every_mart:
            # the other marts read marts.agent_month_metrics: the same rows, in the marts schema
            cfg = load_config()
            con.execute("create schema if not exists marts")
            for name in MONTHLY_MARTS:
                if name == "agent_month_metrics":
                    con.execute("create or replace table marts.agent_month_metrics as "
                                "select *, ? as config_version from agent_month_metrics",
                                [cfg.config_version])
                    continue
                marts[name] = MARTS[name].build(con, cfg, month)
        done = time.perf_counter()
        return {"seconds": done - started, "load_s": loaded - started,
                "metrics_s": metrics - loaded,
                "other_marts_s": done - metrics if every_mart else 0.0,
                "marts": marts, "rows": rows}
    finally:
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--landing", type=Path, required=True)
    ap.add_argument("--month", default="2026-08")
    ap.add_argument("--db", type=Path, help="database file (default: a temporary one)")
    ap.add_argument("--out", type=Path, help="write the metrics as Parquet here")
    ap.add_argument("--metrics-only", action="store_true",
                    help="stop after agent_month_metrics (the earlier rounds' floor)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kaohe-floor-db-"))
    try:
        res = compute(args.landing, args.month, args.db or work / "floor.duckdb", args.out,
                      every_mart=not args.metrics_only)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"floor: {res['rows']} agents in {res['seconds']:.1f} s "
          f"(load {res['load_s']:.1f} s, metrics {res['metrics_s']:.1f} s, "
          f"{len(res['marts'])} other marts {res['other_marts_s']:.1f} s)")


if __name__ == "__main__":
    main()
