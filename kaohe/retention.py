"""Retention: ``kaohe purge --before DATE`` removes collection records older than retention.

Collection records are kept at least 2 years (730 days: the article, the collection guideline);
the configured ``retention.raw_days`` may be longer, never shorter. A purge removes the rows of
files whose business date is before DATE from raw, staging and the quarantine, marks those files
``purged`` in the registry (their sha256 stays, so a re-delivered old file is not loaded again)
and records itself in ``audit.purge_log``. Monthly marts (aggregates) are kept. The landing
folder belongs to the lender and is not touched.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from kaohe import audit, evidence
from kaohe.contract import load_contract
from kaohe.warehouse import superseded_table

log = logging.getLogger("kaohe")
LEGAL_MINIMUM_DAYS = 730


class PurgeRefused(ValueError):
    """The purge would delete records younger than the retention allows."""


@dataclass
class PurgeResult:
    before: date
    files: int
    rows: dict[str, int]


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


def purge(con: duckdb.DuckDBPyConnection, before: date, retention_days: int, today: date
          ) -> PurgeResult:
    """Remove every record of files dated before ``before``, in one transaction."""
    check_purge(before, retention_days, today)
    rows: dict[str, int] = {}
    con.execute("begin transaction")
    try:
        con.execute("create or replace temp table _purged as select file_id from "
                    "audit.file_registry where business_date < ? and status <> 'purged'",
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
    return PurgeResult(before, files, rows)
