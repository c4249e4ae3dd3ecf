"""Retention: ``kaohe purge --before DATE`` removes collection records older than retention.

Collection records are kept at least 2 years (730 days: the article, the collection guideline);
the configured ``retention.raw_days`` may be longer, never shorter. A purge removes the rows of
files older than DATE from raw, staging and the quarantine, marks those files ``purged`` in the
registry (their sha256 stays, so a re-delivered old file is not loaded again) and records itself
in ``audit.purge_log``. Monthly marts (aggregates) are kept. The landing folder belongs to the
lender and is not touched.

A file's age is what its records say, not only its name: a file is purged when its business
date is before DATE **and** so is every date its records carry (any date or timestamp column of
the contract; a QA flag's, its call's start). A file named ``calls_20200105_07.csv`` holding
September 2026 calls is kept by a purge before 2024 and named in the result and the log.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date, timedelta

import duckdb

from kaohe.ingest import evidence
from kaohe.ingest.contract import Source, load_contract
from kaohe.warehouse import audit_tables as audit
from kaohe.warehouse import quote, superseded_table

log = logging.getLogger("kaohe")
LEGAL_MINIMUM_DAYS = 730


class PurgeRefused(ValueError):
    """The purge would delete records younger than the retention allows."""


@dataclass
class PurgeResult:
    before: date
    files: int
    rows: dict[str, int]
    # (path, business date, newest record date) of files named before DATE but kept: their
    # records are younger
    kept: list[tuple[str, date, date]] = field(default_factory=list)


def check_purge(before: date, retention_days: int, today: date) -> None:
    if retention_days < LEGAL_MINIMUM_DAYS:
        raise PurgeRefused(
            f"retention.raw_days is {retention_days}: collection records must be kept at least "
            f"{LEGAL_MINIMUM_DAYS} days (2 years); no purge with this configuration")
    limit = today - timedelta(days=retention_days)
    if before > limit:
        raise PurgeRefused(
            f"--before {before} would delete records younger than {retention_days} days "
            f"(the earliest allowed is {limit})")


def _newest_dates(src: Source) -> str | None:
    """SQL: (file_id, the newest date its rows in raw carry) of the files in ``_named_old``, or
    None for a source whose records carry no date (its files are dated by their name)."""
    dates = [f"max({quote(c)})::date" for c in src.date_columns]
    if src.kind == "snapshot":
        dates.append("max(snapshot_date)")
    if dates:
        newest = dates[0] if len(dates) == 1 else f"greatest({', '.join(dates)})"
        return (f"select _file_id, {newest} from raw.{src.name} "
                "where _file_id in (select file_id from _named_old) group by all")
    if "call_id" in src.column_names:  # QA flags: their call's start
        return (f"select r._file_id, max(c.started_at)::date from raw.{src.name} r "
                "join raw.calls c using (call_id) where r._file_id in "
                "(select file_id from _named_old) group by all")
    return None


def purge(con: duckdb.DuckDBPyConnection, before: date, retention_days: int, today: date
          ) -> PurgeResult:
    """Remove every record of files older than ``before`` (by name and by their records'
    dates), in one transaction."""
    check_purge(before, retention_days, today)
    rows: dict[str, int] = {}
    con.execute("begin transaction")
    try:
        con.execute("create or replace temp table _named_old as select file_id, source, path, "
                    "business_date from audit.file_registry where business_date < ? and "
                    "status <> 'purged'", [before])
        con.execute("create or replace temp table _newest (file_id bigint, newest date)")
        for src in load_contract().values():
            sql = _newest_dates(src)
            if sql and con.execute("select count(*) from _named_old where source = ?",
                                   [src.name]).fetchall()[0][0]:
                con.execute(f"insert into _newest {sql}")
        kept = con.execute(
            "select o.path, o.business_date, n.newest from _named_old o join _newest n "
            "using (file_id) where n.newest >= ? order by o.path", [before]).fetchall()
        con.execute("create or replace temp table _purged as select file_id from _named_old "
                    "where file_id not in (select file_id from _newest where newest >= ?)",
                    [before])
        files = con.execute("select count(*) from _purged").fetchall()[0][0]
        for src in load_contract().values():
            name = src.name
            # staging is a view over raw: count its rows first, then delete the one copy
            rows[f"staging.{name}"] = con.execute(
                f"select count(*) from staging.{name} where _file_id in "
                "(select file_id from _purged)").fetchall()[0][0]
            rows[f"raw.{name}"] = con.execute(
                f"delete from raw.{name} where _file_id in (select file_id from _purged)"
            ).fetchall()[0][0]
            con.execute(f"delete from {superseded_table(src)} where _file_id in "
                        "(select file_id from _purged)")
        rows["audit.quarantine"] = con.execute(
            "delete from audit.quarantine where file_id in (select file_id from _purged)"
        ).fetchall()[0][0]
        for kind in evidence.KINDS:  # purged promises and plans get their removal link
            evidence.append(con, kind)
        con.execute("update audit.file_registry set status = 'purged', message = "
                    "'purged: older than the retention' where file_id in "
                    "(select file_id from _purged)")
        con.execute(f"insert into audit.purge_log {audit.columns('purge_log')} "
                    "values (now()::timestamp, ?, ?, ?, ?)",
                    [before, retention_days, files, json.dumps(rows, sort_keys=True)])
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    log.info("purged %d file(s) dated before %s: %s rows", files, before, sum(rows.values()))
    for path, named, newest in kept:
        log.warning("kept %s: named %s but holds records up to %s (younger than %s)", path,
                    named, newest, before)
    return PurgeResult(before, files, rows, kept)
