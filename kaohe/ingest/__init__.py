"""Ingestion of the landing folder into DuckDB: file registry, raw, staging and quarantine.

One file at a time, each in its own transaction:
  1. registry: the same path with the same sha256 is a no-op; new content under a known name
     replaces the earlier version's rows;
  2. read with DuckDB's native readers (read_csv with every column as text and the CSV-level
     rejects stored; read_parquet), GB18030/GBK decoded to UTF-8 first, PII hashed in the read;
  3. type and check every row in one SQL pass; good rows go to ``raw.<source>`` (typed, with
     lineage), bad rows to ``audit.quarantine`` with a reason and PII-masked raw text;
Then per source, ``staging.<source>`` is refreshed for the keys those files touched: the latest
file wins (business date, then seq, then arrival); snapshots keep one row per snapshot date.
No Python loop ever touches a row.

Modules, in the order a file goes through them:
  ``files``    discovery, hashing, encoding and header of a landed file; the result records;
  ``rules``    the SQL that types and checks a row, built from the contract;
  ``reader``   the file read into DuckDB, typed and checked into the temp table ``_checked``;
  ``store``    good rows to raw, bad rows and lines to quarantine, debtor names masked;
  ``staging``  the latest-file-wins refresh of ``staging.<source>``;
and here ``Ingestor``, the single writer that runs them: one source (``ingest_source``), one file
in its transaction (``ingest_file``), the file registry and whole-file rejections.
"""

from __future__ import annotations

import logging
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb

from kaohe import audit, evidence
from kaohe.contract import Source
from kaohe.ingest.files import (
    FileRejected,
    FileResult,
    LandedFile,
    SourceResult,
    _decodes,
    _file_stat,
    _os_error,
    _try_hash,
    check_header,
    discover,
    normalize_header,
    sniff_csv,
    transcode_to_utf8,
)
from kaohe.ingest.reader import Reader
from kaohe.ingest.rules import (
    _TEXT_PARSE,
    SANE_FROM,
    SANE_UNTIL,
    reference_checks,
    row_checks,
    typed_expr,
)
from kaohe.ingest.staging import Staging
from kaohe.ingest.store import Store
from kaohe.pii import mask_value
from kaohe.warehouse import quote

# ``sha256_file`` is not re-exported: ``_try_hash`` looks it up in ``kaohe.ingest.files``, which is
# where a test patches it.
__all__ = [
    "SANE_FROM", "SANE_UNTIL", "_TEXT_PARSE", "FileRejected", "FileResult", "Ingestor",
    "LandedFile", "SourceResult", "_decodes", "check_header", "discover", "normalize_header",
    "reference_checks", "row_checks", "sniff_csv", "transcode_to_utf8", "typed_expr",
]

log = logging.getLogger("kaohe")


class Ingestor(Reader, Store, Staging):
    """Loads new landing files into one warehouse connection (the single writer)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, landing: Path, tmp_dir: Path):
        self.con = con
        self.landing = landing
        self.tmp_dir = tmp_dir
        self._stats: dict[str, tuple[int, int]] = {}

    def _stat(self, f: LandedFile) -> tuple[int, int]:
        """(size, ctime) of a file as first seen by this run."""
        if f.rel not in self._stats:
            self._stats[f.rel] = _file_stat(f.path)
        return self._stats[f.rel]


    # -- one source ----------------------------------------------------------------------------

    def ingest_source(self, src: Source, files: list[LandedFile]) -> SourceResult:
        """Ingest the new files of one source, then refresh its staging table."""
        result = SourceResult(src.name)
        keys = ", ".join(
            "snapshot_date DATE" if k == "snapshot_date" else f"{quote(k)} {src.column(k).sql_type}"
            for k in src.staging_key
        )
        self.con.execute(f"create or replace temp table _touched_{src.name} ({keys})")
        new_ids: list[int] = []
        # A file already registered with the same size and ctime is unchanged:
        # the nightly run does not re-read a month of files to learn that (like make, rsync).
        seen = {path: (size, mtime) for path, size, mtime in self.con.execute(
            "select path, size_bytes, modified_ns from audit.file_registry where source = ? "
            "and status <> 'replaced' qualify row_number() over (partition by path "
            "order by file_id desc) = 1", [src.name if files else None]).fetchall()}
        # size and ctime are taken once, before hashing: a file rewritten while it is read
        # gets a new ctime, so the next run reads it again
        self._stats.update({f.rel: _file_stat(f.path) for f in files})
        unchanged = {f.rel for f in files if seen.get(f.rel) == self._stats[f.rel]}
        todo = [f for f in files if f.rel not in unchanged]
        # Hash the next files on a thread while DuckDB loads the current one (hashlib and
        # DuckDB both release the GIL).
        with ThreadPoolExecutor(max_workers=1) as hasher:
            hashes = [hasher.submit(_try_hash, f.path) for f in todo]
            done = {f.rel: self.ingest_file(src if f.fmt else None, f, h.result())
                    for f, h in zip(todo, hashes, strict=True)}
            results = [(f, done.get(f.rel) or FileResult(f.rel, "unchanged")) for f in files]
        for f, res in results:
            result.files.append(res)
            if res.status == "loaded":
                new_ids.append(self._registered(f.rel)[0])
        # a rejected new version also counts: the old version's rows are gone, keys re-resolve
        # Files committed by an earlier run that stopped before its staging refresh (a crash, a
        # kill): their keys were lost with that run, so the source's staging is rebuilt whole.
        leftovers = self.con.execute(
            "select count(*) from audit.file_registry where source = ? and not staged "
            f"and file_id not in ({', '.join(str(i) for i in new_ids) or '-1'})",
            [src.name]).fetchall()[0][0]
        if leftovers:
            log.warning("%s: superseded versions recomputed whole after an interrupted run",
                        src.name)
        if new_ids or leftovers or any(r.replaced for r in result.files):
            self.refresh_staging(src, new_ids, whole=bool(leftovers))
            # only the new files can bring new records, unless a replaced file or an
            # interrupted run makes any record's current version change
            scope = None if leftovers or any(r.replaced for r in result.files) else new_ids
            for kind, (table, *_) in evidence.KINDS.items():
                if table == src.name:  # promises to pay and plans: tamper-evident chain
                    evidence.append(self.con, kind, scope)
        result.staging_rows = self.con.execute(
            f"select count(*) from staging.{src.name}"
        ).fetchall()[0][0]
        return result

    # -- registry ------------------------------------------------------------------------------

    def _registered(self, rel: str) -> tuple[int, str] | None:
        rows = self.con.execute(
            "select file_id, sha256 from audit.file_registry "
            "where path = ? and status <> 'replaced' order by file_id desc limit 1", [rel]
        ).fetchall()
        return rows[0] if rows else None

    def _register(self, f: LandedFile, size: int, sha: str | None, encoding: str | None,
                  res: FileResult, staged: bool = True) -> int:
        """A rejected file: nothing of it reaches staging (unless it replaced a version)."""
        fid = self.con.execute("select nextval('audit.file_id_seq')").fetchall()[0][0]
        self.con.execute(
            f"insert into audit.file_registry {audit.columns('file_registry')} values "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now()::timestamp, null, ?, ?)",
            [fid, f.rel, f.source, f.business_date, f.seq, f.fmt, size, sha, encoding,
             res.rows_read, res.rows_loaded, res.rows_rejected, res.status, res.message,
             staged, self._stat(f)[1]],
        )
        return fid

    def _quarantine_file(self, fid: int, f: LandedFile, code: str, message: str) -> None:
        self.con.execute(
            f"insert into audit.quarantine {audit.columns('quarantine')} "
            "values (?, ?, ?, null, null, ?, ?, now()::timestamp)",
            [fid, f.source, f.rel, code, message],
        )

    # -- one file ------------------------------------------------------------------------------

    def ingest_file(self, src: Source | None, f: LandedFile, sha: str | OSError | None = None
                    ) -> FileResult:
        """Ingest one file in one transaction; never raises for a problem with the file.

        ``sha`` is the file's hash, or the OSError hashing it raised: a file that cannot be
        read (I/O error, permission denied, gone since it was listed) is quarantined as
        ``unreadable_file`` like any other bad file, and the run goes on.
        """
        size = self._stat(f)[0]
        if sha is None:
            sha = _try_hash(f.path)
        if isinstance(sha, OSError):
            rejection = FileRejected("unreadable_file", f"cannot be read: {_os_error(sha)}")
            log.warning("rejected file %s: %s", f.rel, rejection.message)
            known = self._registered(f.rel)
            # the earlier version of an unreadable file stays: nothing was read to replace it
            if known:
                return FileResult(f.rel, "rejected", message=f"unreadable_file: "
                                  f"{rejection.message} (the earlier version is kept)")
            return self._transaction(lambda: self._reject(src, f, size, None, None, rejection))
        known = self._registered(f.rel)
        if known and known[1] == sha:
            return FileResult(f.rel, "unchanged")
        replaced = known[0] if known else None
        try:
            return self._transaction(lambda: self._ingest(src, f, size, sha, replaced))
        except FileRejected as exc:
            rejection = exc
        except Exception as exc:  # the pipeline never crashes on a user's file: it reports
            message = mask_value(f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
                                 if str(exc) else type(exc).__name__)
            log.error("could not ingest %s: %s", f.rel, message)
            log.debug("%s", mask_value("".join(traceback.format_exception(exc))))
            rejection = FileRejected("unreadable_file", f"could not be read: {message}")
        log.warning("rejected file %s: %s", f.rel, rejection.message)
        return self._transaction(lambda: self._reject(src, f, size, sha, replaced, rejection))

    def _transaction(self, work):
        self.con.execute("begin transaction")
        try:
            result = work()
            self.con.execute("commit")
            return result
        except Exception:
            self.con.execute("rollback")
            raise

    def _supersede(self, src: Source | None, replaced: int | None, fid: int,
                   res: FileResult) -> None:
        if replaced is None:
            return
        self.con.execute("update audit.file_registry set status = 'replaced', replaced_by = ? "
                         "where file_id = ?", [fid, replaced])
        res.replaced = True

    def _ingest(self, src: Source | None, f: LandedFile, size: int, sha: str,
                replaced: int | None) -> FileResult:
        if replaced is not None:
            self._forget_version(src, replaced)
        raw_types, encoding = self._read(src, f)
        fid = self.con.execute("select nextval('audit.file_id_seq')").fetchall()[0][0]
        self._mask_names(src, fid)
        loaded, rejected = self._store(src, f, fid, raw_types)
        res = FileResult(f.rel, "loaded", loaded + rejected, loaded, rejected)
        self.con.execute(
            f"insert into audit.file_registry {audit.columns('file_registry')} values "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'loaded', null, now()::timestamp, null, false, "
            "?)",
            [fid, f.rel, src.name, f.business_date, f.seq, f.fmt, size, sha, encoding,
             res.rows_read, loaded, rejected, self._stat(f)[1]],
        )
        self._supersede(src, replaced, fid, res)
        return res

    def _forget_version(self, src: Source | None, file_id: int) -> None:
        """A corrected file replaces the rows of its earlier version (keys re-resolved later)."""
        if src is not None:
            keys = ", ".join(quote(k) for k in src.staging_key)
            self.con.execute(
                f"insert into _touched_{src.name} select distinct {keys} "
                f"from raw.{src.name} where _file_id = ?", [file_id],
            )
            self.con.execute(f"delete from raw.{src.name} where _file_id = ?", [file_id])
        self.con.execute("delete from audit.quarantine where file_id = ?", [file_id])

    def _reject(self, src: Source | None, f: LandedFile, size: int, sha: str | None,
                replaced: int | None, exc: FileRejected) -> FileResult:
        """The whole file goes to quarantine (a new version of a name still replaces the old)."""
        if replaced is not None:
            self._forget_version(src, replaced)
        res = FileResult(f.rel, "rejected", message=f"{exc.code}: {exc.message}")
        fid = self._register(f, size, sha, exc.encoding, res, staged=replaced is None)
        self._quarantine_file(fid, f, exc.code, exc.message)
        self._supersede(src, replaced, fid, res)
        return res
