"""Ingestion of the landing folder into DuckDB: file registry, raw, staging and quarantine.

The night's ordinary files of a source (new names, plain UTF-8 CSV, one per date and sequence)
are loaded together, in one statement and one transaction (``batch``); every other file, and
any file a batch leaves out, alone, in its own transaction. Either way, per file:
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
  ``discovery`` naming and discovery (the landing folder as a boundary); ``landed`` the
               result records and the whole-file rejection; ``files`` hashing; ``sniffing``
               the bytes of a CSV (compression, encoding, header);
  ``encoding`` the encoding decided from the whole file, GB18030 decoded to UTF-8 streaming;
  ``profiles`` a source profile (a system's own export: its names, codes, times; YAML) and
  ``profile_sql`` the SQL it compiles to, over read_csv, before the contract's typing;
  ``rules``    the SQL that types and checks a row, built from the contract;
  ``reader``   the file read into DuckDB, typed and checked into the temp table ``_checked``;
  ``store``    good rows to raw, bad rows and lines to quarantine, debtor names masked;
  ``staging``  the latest-file-wins refresh of ``staging.<source>``;
  ``versions`` the delivery mistakes: versions of a name, the same content under another name,
               two files of the same date and sequence disagreeing on a key;
  ``batch``    the ordinary files of a source in one statement, file by file the same result;
and here ``Ingestor``, the single writer that runs them: one source (``ingest_source``), one file
in its transaction (``ingest_file``), the file registry and whole-file rejections.
"""

from __future__ import annotations

import logging
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb

from kaohe.ingest import evidence
from kaohe.ingest.batch import Batch
from kaohe.ingest.contract import Source
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
from kaohe.ingest.pii import mask_value
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
from kaohe.ingest.store import MIN_RECORDS_FOR_SHARE, Store
from kaohe.ingest.versions import SameRows, Version, Versions
from kaohe.warehouse import audit_tables as audit
from kaohe.warehouse import quote

# ``sha256_file`` is not re-exported: ``_try_hash`` looks it up in ``kaohe.ingest.files``, which is
# where a test patches it.
__all__ = [
    "MIN_RECORDS_FOR_SHARE", "SANE_FROM", "SANE_UNTIL", "_TEXT_PARSE", "FileRejected",
    "FileResult", "Ingestor", "LandedFile", "SourceResult", "_decodes", "check_header",
    "discover", "discover_options", "ingest_options", "normalize_header", "reference_checks",
    "row_checks", "sniff_csv", "transcode_to_utf8", "typed_expr",
]

log = logging.getLogger("kaohe")

DEFAULT_MAX_REJECTED_SHARE = 0.20
DEFAULT_WINDOW_DAYS = (45, 7)  # record dates: days before and after the file's business date


def ingest_options(cfg) -> dict:
    """The Ingestor's settings from a configuration's ``ingest`` section (its defaults when the
    configuration has none): ``max_rejected_share`` and ``window_days`` (before, after)."""
    section = getattr(cfg, "ingest", None)
    if isinstance(section, dict):
        share = section.get("max_rejected_share")
        window = section.get("record_date_window_days")
    else:
        share = getattr(section, "max_rejected_share", None)
        window = getattr(section, "record_date_window_days", None)
    if isinstance(window, dict):
        before, after = window.get("before"), window.get("after")
    else:
        before, after = getattr(window, "before", None), getattr(window, "after", None)
    return {
        "max_rejected_share": float(DEFAULT_MAX_REJECTED_SHARE if share is None else share),
        "window_days": (int(DEFAULT_WINDOW_DAYS[0] if before is None else before),
                        int(DEFAULT_WINDOW_DAYS[1] if after is None else after)),
    }


def discover_options(cfg) -> dict:
    """``discover``'s settings from a configuration: the source profiles it names
    (``ingest.profiles``, files relative to the configuration file)."""
    section = getattr(cfg, "ingest", None)
    profiles = dict(getattr(section, "profiles", None) or {})
    path = getattr(cfg, "path", None)
    return {"profiles": profiles, "base": Path(path).parent if path else None}


class Ingestor(Batch, Reader, Store, Staging, Versions):
    """Loads new landing files into one warehouse connection (the single writer).

    ``max_rejected_share``: a file of at least ``MIN_RECORDS_FOR_SHARE`` records with a larger
    share rejected is rejected whole; ``window_days``: (before, after) the file's business date,
    the dates its records may carry. Both from the configuration's ``ingest`` section
    (``Ingestor(con, landing, tmp, **ingest_options(cfg))``).

    The parts (the mixins ``Batch``, ``Reader``, ``Store``, ``Staging``, ``Versions``) share
    this state, set by one step and read by the next:
      ``con``, ``landing``, ``tmp_dir``, ``max_rejected_share``, ``window_days``: fixed;
      ``_stats``: (size, ctime) of each file as first seen by this run (here);
      ``_warnings``: the current file's or batch's warnings (here, ``Batch``);
      ``_window``: the record-date window of the current file or batch (``Reader``, ``Batch``);
      ``_checks``: the row checks of the current read (set by ``Reader``, read by ``Store`` and
      ``Batch`` for the quarantine reasons);
      ``_header_line``: the SQL that is true on a repeated header line (``Reader``; ``Batch``).
    and these temp tables of the connection: ``_in`` (the file as read), ``_checked`` (typed,
    with ``_bad``), ``_rej`` (the CSV reader's rejected lines), ``_batch`` (a batch's files),
    ``_touched_<source>`` (the staging keys the files touched, for the staging refresh).
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, landing: Path, tmp_dir: Path, *,
                 max_rejected_share: float = DEFAULT_MAX_REJECTED_SHARE,
                 window_days: tuple[int, int] = DEFAULT_WINDOW_DAYS):
        self.con = con
        self.landing = landing
        self.tmp_dir = tmp_dir
        self.max_rejected_share = max_rejected_share
        self.window_days = window_days
        self._stats: dict[str, tuple[int, int]] = {}
        self._warnings: list[str] = []

    def _stat(self, f: LandedFile) -> tuple[int, int]:
        """(size, ctime) of a file as first seen by this run (of the entry itself, not followed,
        for one that is not read)."""
        if f.rel not in self._stats:
            self._stats[f.rel] = _file_stat(f.path, follow=f.problem is None)
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
        # A file already registered with the same size and ctime is unchanged:
        # the nightly run does not re-read a month of files to learn that (like make, rsync).
        seen = {path: (size, mtime, profile) for path, size, mtime, profile in self.con.execute(
            "select path, size_bytes, modified_ns, profile from audit.file_registry "
            "where source = ? "
            "and status <> 'replaced' qualify row_number() over (partition by path "
            "order by file_id desc) = 1", [src.name if files else None]).fetchall()}
        # size and ctime are taken once, before hashing: a file rewritten while it is read
        # gets a new ctime, so the next run reads it again
        self._stats.update({f.rel: _file_stat(f.path, follow=f.problem is None)
                            for f in files})
        # ... and read by the same profile (a corrected profile reads its files again)
        unchanged = {f.rel for f in files
                     if seen.get(f.rel) == (*self._stats[f.rel], f.profile_id)}
        todo = [f for f in files if f.rel not in unchanged]
        # Hash the next files on a thread while DuckDB loads the current one (hashlib and
        # DuckDB both release the GIL). An entry that is not a file is never opened.
        # The ordinary files go in batches, one statement each (kaohe.ingest.batch); the
        # others, and any a batch leaves out, one by one in the landing's order.
        with ThreadPoolExecutor(max_workers=1) as hasher:
            hashes = {f.rel: hasher.submit(_try_hash, f.path) for f in todo if not f.problem}
            done: dict[str, FileResult] = {}
            for members in self.batches(src, todo, hashes):
                done.update(self.ingest_batch(src, members))
            for f in todo:
                if f.rel not in done:
                    h = hashes.get(f.rel)
                    done[f.rel] = self.ingest_file(src if f.fmt else None, f,
                                                   h.result() if h is not None else None)
            results = [done.get(f.rel) or FileResult(f.rel, "unchanged") for f in files]
        result.files.extend(results)
        new_ids = [r.file_id for r in results if r.status == "loaded" and r.file_id]
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

    def _register(self, f: LandedFile, size: int, sha: str | None, encoding: str | None,
                  res: FileResult, staged: bool = True) -> int:
        """A file's row in the registry (its status, counts and message from ``res``)."""
        fid = self.con.execute("select nextval('audit.file_id_seq')").fetchall()[0][0]
        self.con.execute(
            f"insert into audit.file_registry {audit.columns('file_registry')} values "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now()::timestamp, null, ?, ?, ?)",
            [fid, f.rel, f.source, f.business_date, f.seq, f.fmt, size, sha, encoding,
             res.rows_read, res.rows_loaded, res.rows_rejected, res.status, res.message or None,
             staged, self._stat(f)[1], f.profile_id],
        )
        res.file_id = fid
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
        ``unreadable_file`` like any other bad file, and the run goes on. An entry of the landing
        folder that is not a file (``f.problem``) is registered and quarantined, never opened.
        A version of a name that is rejected whole never removes the earlier version's rows.
        """
        size = self._stat(f)[0]
        versions = self._versions(f.rel)
        if f.problem is not None:
            rejection = FileRejected(*f.problem)
            log.warning("rejected %s: %s", f.rel, rejection.message)
            return self._transaction(lambda: self._reject(src, f, size, None, versions,
                                                          rejection))
        if sha is None:
            sha = _try_hash(f.path)
        if isinstance(sha, OSError):
            rejection = FileRejected("unreadable_file", f"cannot be read: {_os_error(sha)}")
            log.warning("rejected file %s: %s", f.rel, rejection.message)
            # the earlier version of an unreadable file stays: nothing was read to replace it
            if versions:
                return FileResult(f.rel, "rejected", message=f"unreadable_file: "
                                  f"{rejection.message} (the earlier version is kept)")
            return self._transaction(lambda: self._reject(src, f, size, None, versions,
                                                          rejection))
        if versions and versions[0].sha == sha and versions[0].profile == f.profile_id:
            return FileResult(f.rel, "unchanged")
        if any(v.sha == sha and v.profile == f.profile_id for v in versions):
            # an earlier version delivered again
            return self._transaction(lambda: self._restore(f, sha, versions))
        original = self._duplicate_of(src, f, sha)
        if original is not None:
            return self._transaction(lambda: self._duplicate(src, f, size, sha, versions,
                                                             original))
        self._warnings = []
        try:
            return self._transaction(lambda: self._ingest(src, f, size, sha, versions))
        except SameRows as same:  # rolled back: the records are loaded already
            original = same.original
            return self._transaction(lambda: self._duplicate(src, f, size, sha, versions,
                                                             original, rows=True))
        except FileRejected as exc:
            rejection = exc
        except Exception as exc:  # the pipeline never crashes on a user's file: it reports
            message = mask_value(f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
                                 if str(exc) else type(exc).__name__)
            log.error("could not ingest %s: %s", f.rel, message)
            log.debug("%s", mask_value("".join(traceback.format_exception(exc))))
            rejection = FileRejected("unreadable_file", f"could not be read: {message}")
        log.warning("rejected file %s: %s", f.rel, rejection.message)
        return self._transaction(lambda: self._reject(src, f, size, sha, versions, rejection))

    def _transaction(self, work):
        self.con.execute("begin transaction")
        try:
            result = work()
            self.con.execute("commit")
            return result
        except Exception:
            self.con.execute("rollback")
            raise

    def _ingest(self, src: Source | None, f: LandedFile, size: int, sha: str,
                versions: list[Version]) -> FileResult:
        replaced = self._forget_versions(src, versions)
        raw_types, encoding = self._read(src, f)
        fid = self.con.execute("select nextval('audit.file_id_seq')").fetchall()[0][0]
        self._mask_names(src, fid)
        loaded, rejected = self._store(src, f, fid, raw_types)
        warnings = self._warnings + self._conflicts(src, f, fid)
        for warning in warnings:
            log.warning("%s: %s", f.rel, warning)
        # a loaded file's message is its warnings (the registry has no other place for them)
        res = FileResult(f.rel, "loaded", loaded + rejected, loaded, rejected,
                         message="; ".join(warnings), file_id=fid, warnings=warnings,
                         replaced=replaced)
        self.con.execute(
            f"insert into audit.file_registry {audit.columns('file_registry')} values "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'loaded', ?, now()::timestamp, null, false, ?, "
            "?)",
            [fid, f.rel, src.name, f.business_date, f.seq, f.fmt, size, sha, encoding,
             res.rows_read, loaded, rejected, res.message or None, self._stat(f)[1],
             f.profile_id],
        )
        self._mark_replaced(versions, fid)
        return res

    def _reject(self, src: Source | None, f: LandedFile, size: int, sha: str | None,
                versions: list[Version], exc: FileRejected) -> FileResult:
        """The whole file goes to quarantine. A loaded earlier version of the same name stays
        (a corrected file that is itself broken must not erase the good one); earlier rejected
        versions are replaced by this one."""
        kept = [v for v in versions if v.status == "loaded"]
        message = f"{exc.code}: {exc.message}"
        if kept:
            message += (f" (the earlier version of {f.rel}, file_id {kept[0].file_id}, stays "
                        "loaded)")
        res = FileResult(f.rel, "rejected", exc.rows_read, 0, exc.rows_read, message=message)
        gone = [v for v in versions if v.status != "loaded"]
        self._forget_versions(src, gone)
        fid = self._register(f, size, sha, exc.encoding, res)
        self._quarantine_file(fid, f, exc.code, exc.message)
        self._mark_replaced(gone, fid)
        return res
