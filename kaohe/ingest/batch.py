"""Many files of a source in one statement: the night's ordinary files (plain UTF-8 CSV, new
names, one file per date and sequence) are read, typed, checked and stored together, so a
source costs a handful of statements instead of a handful per file.

The guarantees are the single file's (``Ingestor.ingest_file``), file by file: a file keeps its
own registry row, counts, quarantine rows and line numbers (``_rej.file_id`` and ``_fidx`` are
the file's position in the read; ``_checked``'s rowid numbers the records of all files in
order, and a file's line follows from its first rowid), its own date window
(``FileWindows``), and the whole batch is one transaction (a kill loses all of it or none).
A file that needs more than the ordinary goes through ``ingest_file`` after the batch, in the
order of the landing: an earlier version of its name, content already loaded, a sibling of the
same date and sequence, a byte-order mark, another encoding (but GB18030 when the file's profile
declares it or the whole file is GB18030 with nothing to warn about: such files are decoded to
UTF-8 copies and batched among themselves), a header the contract refuses, a
parquet, a source with references between its rows or with debtor names (the case master:
names are masked across tables as it loads); and, found once the batch is read, a duplicate key
within the file (an exact copy of a line is one too) or a line repeating the header (the single
file's path drops both without counting them toward the share: ``Reader._mark_copies``), a line
that is not UTF-8 (the whole file decides its encoding), more than ``max_rejected_share``
rejected. If the statement itself fails (a truncated gzip), every file of
the batch is taken alone. A file taken alone is registered after the batch, so its ``file_id``
is later than theirs (the order of file ids decides nothing between them: files of the same date
and sequence never share a batch).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

import duckdb

from kaohe.ingest.contract import Source
from kaohe.ingest.files import (
    FileRejected,
    FileResult,
    LandedFile,
    check_header,
    check_names,
    normalize_header,
    sniff,
    transcode_to_utf8,
)
from kaohe.ingest.pii import mask_value
from kaohe.ingest.profile_sql import compile_profile
from kaohe.ingest.rules import DateWindow, FileWindows
from kaohe.ingest.store import MIN_RECORDS_FOR_SHARE, Lineage
from kaohe.warehouse import audit_tables as audit
from kaohe.warehouse import quote

log = logging.getLogger("kaohe")

_UNICODE_ERRORS = "('INVALID UNICODE', 'INVALID ENCODING')"

# At most this many bytes of CSV in one batch (a gzip counted as GZIP_RATIO times its size): the
# batch's checked table is held until its transaction ends, and past a few hundred MB it spills
# to disk; batches of this size read at full speed on 2 cores and the memory stays flat when the
# centre grows (docs/performance.md, "Ingestion in batches").
BATCH_BYTES = 256 * 2**20
GZIP_RATIO = 4


@dataclass(frozen=True)
class Member:
    """A file of a batch: its hash, and the header and format its batch shares."""

    f: LandedFile
    sha: str
    header: tuple[str, ...]
    encoding: str = "utf-8"


class Batch:
    """The batch path of ``Ingestor`` (a mixin: it uses the reader, the store and the
    registry of the single-file path)."""

    con: duckdb.DuckDBPyConnection
    window_days: tuple[int, int]
    max_rejected_share: float
    _stat: Callable[[LandedFile], tuple[int, int]]
    _header_line: str

    def batches(self, src: Source, todo: list[LandedFile], hashes: dict[str, Future]
                ) -> list[list[Member]]:
        """The ordinary files of ``todo``, grouped by header and format (see the module)."""
        # the case master masks debtor names across tables as it loads, and references check rows
        # against each other: file by file. Other PII (calls.dialled_number) is hashed in the
        # read, the same in a batch as alone.
        if "debtor_name" in src.pii_columns or src.references:
            return []
        candidates = [f for f in todo if f.problem is None and f.fmt in ("csv", "csv.gz")
                      and f.business_date is not None]
        if not candidates:
            return []
        con = self.con
        known = {r[0] for r in con.execute(
            "select distinct path from audit.file_registry where source = ? "
            "and status <> 'replaced'", [src.name]).fetchall()}
        slots = {(d, s) for d, s in con.execute(
            "select distinct business_date, seq from audit.file_registry where source = ? "
            "and status = 'loaded'", [src.name]).fetchall()}
        loaded = {r[0] for r in con.execute(
            "select distinct sha256 from audit.file_registry where source = ? "
            "and status in ('loaded', 'purged') and rows_read > 0", [src.name]).fetchall()}
        per_slot = Counter((f.business_date, f.seq) for f in todo)
        groups: dict[tuple, list[Member]] = {}
        for f in candidates:
            slot = (f.business_date, f.seq)
            if f.rel in known or slot in slots or per_slot[slot] > 1:
                continue
            sha = hashes[f.rel].result()
            if not isinstance(sha, str) or sha in loaded:
                continue
            prof = f.profile
            declared = None if prof is None or prof.encoding == "auto" else prof.encoding
            try:
                sniffed = sniff(f.path, f.fmt, prof.delimiter if prof else ",", declared)
                if prof is None:
                    header = sniffed.header
                    check_header(src, header)
                else:  # a vendor's file: the profile reads it, with nothing to warn about
                    header = (sniffed.header if prof.header
                              else [normalize_header(n) for n in prof.names])
                    check_names(header)
                    if compile_profile(prof, header).warnings:
                        continue
            except FileRejected:
                continue
            # a GB18030 file goes in a batch when its profile declares it, or when the whole
            # file, analysed as it was sniffed, is GB18030 throughout with nothing to warn
            # about (a lender's GBK export in the contract's format): decoded to a copy as the
            # batch is read, as the single file's path would
            verdict = sniffed.verdict
            gbk = (prof is None and sniffed.encoding == "gb18030" and verdict is not None
                   and verdict.gb_bad == 0 and verdict.warning is None)
            other = sniffed.encoding != (declared or "utf-8") or verdict is not None
            if sniffed.bom or (other and not gbk):
                continue
            loaded.add(sha)  # the same content again in this landing: a duplicate, alone
            encoding = declared or sniffed.encoding
            key = (f.profile_id, tuple(header), f.fmt, encoding)
            groups.setdefault(key, []).append(Member(f, sha, key[1], encoding))
        return [part for members in groups.values() for part in self._by_size(members)]

    def _by_size(self, members: list[Member]) -> list[list[Member]]:
        """The members in consecutive parts of at most ``BATCH_BYTES`` (a file bigger than that
        is a part of its own)."""
        parts: list[list[Member]] = [[]]
        size = 0
        for m in members:
            n = self._stat(m.f)[0] * (GZIP_RATIO if m.f.fmt == "csv.gz" else 1)
            if parts[-1] and size + n > BATCH_BYTES:
                parts.append([])
                size = 0
            parts[-1].append(m)
            size += n
        return parts

    def ingest_batch(self, src: Source, members: list[Member]) -> dict[str, FileResult]:
        """Load the members in one transaction; the results of the files loaded (a file left
        out is for ``ingest_file``). Never raises for a problem with a file."""
        self._copies: list = []
        try:
            return self._transaction(lambda: self._load_batch(src, members))
        except Exception as exc:  # e.g. a truncated gzip: each file alone says which
            log.debug("%s: %d files read one by one: %s", src.name, len(members),
                      mask_value(str(exc).splitlines()[0][:300] if str(exc) else repr(exc)))
            return {}
        finally:
            for copy in self._copies:
                copy.unlink(missing_ok=True)

    def _load_batch(self, src: Source, members: list[Member]) -> dict[str, FileResult]:
        con = self.con
        self._warnings = []
        self._window = FileWindows(tuple(DateWindow(m.f.business_date, *self.window_days)
                                         for m in members))
        paths, header, fmt = [m.f.path for m in members], list(members[0].header), members[0].f.fmt
        prof = members[0].f.profile
        encoding = members[0].encoding  # one per batch (part of its group's key)
        if encoding != "utf-8":  # decoded to copies, removed when the batch is done
            for i, m in enumerate(members):
                paths[i] = transcode_to_utf8(m.f.path, m.f.fmt, encoding, self.tmp_dir)
                self._copies.append(paths[i])
            fmt = "csv"
        if prof is None:  # the contract's own format
            self._profile = None
            raw_types = self._read_csv(src, paths, header, fmt)
        else:  # the files of one source profile, one header
            self._profile = compile_profile(prof, header)
            raw_types = self._read_vendor_csv(self._profile, paths, fmt)
        self._materialize(src, raw_types, batch=True)
        pk = ", ".join(quote(k) for k in src.pk)
        # a row the profile drops (_skip) is read and set aside, never counted as rejected
        stats = {i: (n, bad, first, skipped) for i, n, bad, first, skipped in con.execute(
            "select _fidx, count(*), count(*) filter (_bad and _skip is null), min(rowid), "
            "count(*) filter (_skip is not null) from _checked group by _fidx").fetchall()}
        # a line repeating the header: the single file's path skips it (a filter of its own,
        # so that only the bad rows are looked at: 40 ms for 10 M rows, 3 times less than as
        # an aggregate of the query above)
        alone = {r[0] for r in con.execute(
            f"select distinct _fidx from _checked where _bad and {self._header_line}"
        ).fetchall()}
        rejected_lines = dict(con.execute(
            "select file_id, count(distinct line) from _rej group by file_id").fetchall())
        alone |= {r[0] for r in con.execute(
            f"select distinct file_id from _rej where error_type in {_UNICODE_ERRORS}"
        ).fetchall()}
        alone |= {r[0] for r in con.execute(
            f"select distinct _fidx from _checked group by _fidx, {pk} having count(*) > 1"
        ).fetchall()}
        counts = {}
        for i in range(len(members)):
            records, bad, _, skipped = stats.get(i, (0, 0, None, 0))
            n_rej = rejected_lines.get(i, 0)
            read, rejected = records - skipped + n_rej, bad + n_rej
            if read >= MIN_RECORDS_FOR_SHARE and rejected > self.max_rejected_share * read:
                alone.add(i)
            counts[i] = (read + skipped, records - bad - skipped, rejected + skipped)
        if alone:
            ids = ", ".join(str(int(i)) for i in alone)
            con.execute(f"delete from _checked where _fidx in ({ids})")
            con.execute(f"delete from _rej where file_id in ({ids})")
        kept = [i for i in range(len(members)) if i not in alone]
        if not kept:
            return {}
        fids = sorted(r[0] for r in con.execute(
            "select nextval('audit.file_id_seq') from range(?)", [len(kept)]).fetchall())
        con.execute("create or replace temp table _batch (_fidx integer, fid bigint, "
                    "rel varchar, business_date date, seq integer, off bigint)")
        con.executemany("insert into _batch values (?, ?, ?, ?, ?, ?)", [
            [i, fid, members[i].f.rel, members[i].f.business_date, members[i].f.seq,
             stats[i][2] if i in stats else 0] for i, fid in zip(kept, fids, strict=True)])
        self._mask_names(src, None)
        self._store_batch(src, raw_types)
        results = {}
        for i, fid in zip(kept, fids, strict=True):
            f, (read, loaded, rejected) = members[i].f, counts[i]
            size, ctime = self._stat(f)
            con.execute(
                f"insert into audit.file_registry {audit.columns('file_registry')} values "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'loaded', null, now()::timestamp, "
                "null, false, ?, ?)",
                [fid, f.rel, src.name, f.business_date, f.seq, f.fmt, size, members[i].sha,
                 encoding, read, loaded, rejected, ctime, f.profile_id])
            results[f.rel] = FileResult(f.rel, "loaded", read, loaded, rejected, file_id=fid)
        return results

    def _store_batch(self, src: Source, raw_types: dict[str, tuple[str, str]]) -> None:
        """``Store._store`` for the files of ``_batch``: good rows to raw with each file's
        lineage, bad rows and malformed lines to quarantine with each file's lines."""
        con = self.con
        line_from = "_checked t join _batch b on t._fidx = b._fidx"
        # off: the file's first rowid; line 1 is the header (none in a profile's headerless file)
        first = 1 if self._profile is not None and not self._profile.profile.header else 2
        line_expr = f"t.rowid - b.off + {first}"
        n_rej = con.execute("select count(*) from _rej").fetchall()[0][0]
        if n_rej:
            # per file, as in Store._store: consecutive rejected lines share a g, the last of
            # them counts them all; g moved by the file's offset into the batch's numbering
            con.execute(
                "create or replace temp table _rejmap as select r.file_id as _fidx, "
                "r.g + b.off as g, max(r.n) as n from (select file_id, "
                f"line - {first} - (row_number() over (partition by file_id order by line) - 1) "
                "as g, "
                "row_number() over (partition by file_id order by line) as n "
                "from (select distinct file_id, line from _rej)) r "
                "join _batch b on r.file_id = b._fidx group by 1, 2")
            line_from += " asof left join _rejmap m on t._fidx = m._fidx and t.rowid >= m.g"
            line_expr += " + coalesce(m.n, 0)"
        self._insert_raw(src, raw_types, line_from,
                         Lineage("b.fid", "b.rel", line_expr, "b.business_date", "b.seq"),
                         "not t._bad and t._skip is null")
        if con.execute("select count(*) from _checked where _bad or _skip is not null"
                       ).fetchall()[0][0]:
            self._quarantine_rows(src, raw_types, self._checks, line_from, line_expr,
                                  ("b.fid", "b.rel"), [])
        if n_rej:
            self._quarantine_lines(src, None, None)
