"""Delivery mistakes, caught instead of silently applied: the versions of one file name, the
same content under another name, and two files of one date and sequence that disagree.

- A new version of a name replaces the rows of the earlier one, but only once it loads: a
  corrected file that is itself rejected whole leaves the earlier version loaded (both stay in
  the registry, the rejected one naming the version that stays). The earlier content delivered
  again under that name restores it (the rejected attempt is marked replaced).
- The same content (sha256) already loaded under another name of the same source is registered
  as ``duplicate`` and not loaded twice. A snapshot is the exception when its date differs: an
  unchanged roster on the next day is the next day's snapshot.
- A key delivered by two files of the same source, business date and sequence (``calls_
  20260917.csv`` and ``calls_20260917.csv.gz``) with other values is a ``conflicting_delivery``
  warning on the later file, naming both files and the keys (masked) with their lines: staging
  still takes the later arrival, but the operator is told that arrival order decided.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import duckdb

from kaohe.ingest.contract import Source
from kaohe.ingest.files import FileResult, LandedFile
from kaohe.ingest.pii import mask_value
from kaohe.warehouse import quote

log = logging.getLogger("kaohe")
SAMPLE = 5


class SameRows(Exception):  # noqa: N818 (a signal, not an error)
    """The new file holds exactly the records of a loaded file of the same date and sequence
    (the same export plain and compressed, or as CSV and parquet): a duplicate."""

    def __init__(self, original: tuple[int, str]):
        super().__init__(original[1])
        self.original = original


@dataclass(frozen=True)
class Version:
    """A registered version of a file name that is still current (not replaced)."""

    file_id: int
    sha: str | None
    status: str  # loaded | rejected | duplicate | purged
    profile: str | None = None  # the profile that read it (name@hash)


class Versions:
    """The delivery rules of ``Ingestor`` (a mixin: it uses ``self.con``)."""

    con: duckdb.DuckDBPyConnection  # and Ingestor's _stat and _register

    def _versions(self, rel: str) -> list[Version]:
        """The current versions of a name, newest first: at most a loaded one and a newer
        rejected attempt (or a duplicate, or a purged one)."""
        return [Version(*r) for r in self.con.execute(
            "select file_id, sha256, status, profile from audit.file_registry "
            "where path = ? and status <> 'replaced' order by file_id desc", [rel]).fetchall()]

    def _forget_versions(self, src: Source | None, versions: list[Version]) -> bool:
        """The rows and quarantine of earlier versions out (their keys re-resolved later);
        whether any rows of a loaded version were removed."""
        removed = False
        for v in versions:
            if src is not None and v.status == "loaded":
                keys = ", ".join(quote(k) for k in src.staging_key)
                self.con.execute(
                    f"insert into _touched_{src.name} select distinct {keys} "
                    f"from raw.{src.name} where _file_id = ?", [v.file_id])
                self.con.execute(f"delete from raw.{src.name} where _file_id = ?", [v.file_id])
                removed = True
            self.con.execute("delete from audit.quarantine where file_id = ?", [v.file_id])
        return removed

    def _mark_replaced(self, versions: list[Version], by: int) -> None:
        for v in versions:
            self.con.execute("update audit.file_registry set status = 'replaced', "
                             "replaced_by = ? where file_id = ?", [by, v.file_id])

    def _restore(self, f: LandedFile, sha: str, versions: list[Version]) -> FileResult:
        """An earlier version of the name delivered again (the good file put back after a
        broken correction): it is current again, the newer attempts are replaced by it."""
        back = next(v for v in versions if v.sha == sha)
        newer = [v for v in versions if v.file_id > back.file_id]
        self._forget_versions(None, newer)
        self._mark_replaced(newer, back.file_id)
        # its ctime now: the next run knows the file unchanged without hashing it
        self.con.execute("update audit.file_registry set modified_ns = ? where file_id = ?",
                         [self._stat(f)[1], back.file_id])
        log.warning("%s: the earlier version (file_id %d) delivered again: it stays current",
                    f.rel, back.file_id)
        return FileResult(f.rel, "unchanged", file_id=back.file_id,
                          message=f"the earlier version (file_id {back.file_id}) again")

    def _duplicate_of(self, src: Source | None, f: LandedFile, sha: str) -> tuple[int, str] | None:
        """(file_id, path) of a file of the same source already loaded with the same content
        under another name, or None."""
        if src is None:
            return None  # a badly named file is reported as such
        snapshot = src.kind == "snapshot"
        rows = self.con.execute(
            "select file_id, path from audit.file_registry where sha256 = ? and source = ? "
            "and path <> ? and status in ('loaded', 'purged') and rows_read > 0 "
            f"{'and business_date = ? ' if snapshot else ''}order by file_id limit 1",
            [sha, src.name, f.rel] + ([f.business_date] if snapshot else [])).fetchall()
        return rows[0] if rows else None

    def _duplicate(self, src: Source | None, f: LandedFile, size: int, sha: str,
                   versions: list[Version], original: tuple[int, str], rows: bool = False
                   ) -> FileResult:
        """Registered as ``duplicate``: reported, not loaded twice (an earlier version of this
        name, with other content, is replaced: this name now says the same as the original).
        ``rows``: the same records as the original (of the same date and sequence), in other
        bytes (compressed, or another format)."""
        replaced = self._forget_versions(src, versions)
        same = "records, in other bytes," if rows else "content (sha256)"
        message = (f"duplicate_file: the same {same} as {original[1]}, file_id {original[0]}: "
                   "not loaded twice")
        res = FileResult(f.rel, "duplicate", message=message, replaced=replaced)
        fid = self._register(f, size, sha, None, res)
        self._mark_replaced(versions, fid)
        log.warning("%s: %s", f.rel, message)
        return res

    def _conflicts(self, src: Source, f: LandedFile, fid: int) -> list[str]:
        """``conflicting_delivery`` warnings: keys of the new file that a loaded file of the
        same date and sequence (another name, e.g. another extension) delivers with other
        values. Only when such a file exists: no cost otherwise."""
        siblings = self.con.execute(
            "select file_id, path from audit.file_registry where source = ? and "
            "business_date = ? and seq = ? and path <> ? and status = 'loaded' "
            "order by file_id", [src.name, f.business_date, f.seq, f.rel]).fetchall()
        values = [c for c in src.column_names if c not in src.staging_key]
        if not siblings or not values:
            return []
        match = " and ".join(f"a.{quote(k)} = b.{quote(k)}" for k in src.staging_key)
        differ = " or ".join(f"a.{quote(c)} is distinct from b.{quote(c)}" for c in values)
        key = "concat_ws('|', " + ", ".join(f"a.{quote(k)}" for k in src.pk) + ")"
        out = []
        count = f"select count(*) from raw.{src.name} where _file_id = ?"
        mine = self.con.execute(count, [fid]).fetchall()[0][0]
        for sibling, path in siblings:
            matched, n, sample = self.con.execute(
                f"select count(*), count(*) filter ({differ}), list(mask_value({key}) || "
                f"' (line ' || a._line || ' / ' || b._line || ')' order by a._line) "
                f"filter ({differ})[1:{SAMPLE}] from raw.{src.name} a "
                f"join raw.{src.name} b on {match} where a._file_id = ? and b._file_id = ?",
                [fid, sibling]).fetchall()[0]
            if mine and not n and matched == mine == self.con.execute(
                    count, [sibling]).fetchall()[0][0]:
                raise SameRows((sibling, path))
            if n:
                out.append(
                    f"conflicting_delivery: {n:,} key(s) also in {path} (file_id {sibling}: the "
                    f"same date and sequence) with other values; staging takes this file, the "
                    f"later arrival: {', '.join(mask_value(s) for s in sample)}")
        return out
