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
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import logging
import os
import traceback
import unicodedata
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb

from kaohe import audit, evidence, pii
from kaohe.contract import FILE_NAME, SAFE_ID_PATTERN, Column, Source, load_contract
from kaohe.pii import mask_value
from kaohe.warehouse import LINEAGE_COLUMNS, literal, quote, superseded_table

log = logging.getLogger("kaohe")

SAMPLE_BYTES = 1 << 20
UTF8_BOM = b"\xef\xbb\xbf"
# Timestamps and dates outside this window are absurd for a collection record.
SANE_FROM, SANE_UNTIL = "2000-01-01", "2100-01-01"


@dataclass(frozen=True)
class LandedFile:
    path: Path
    rel: str
    source: str | None
    business_date: date | None
    seq: int
    fmt: str | None

    @property
    def order(self) -> tuple:
        return (self.business_date or date.min, self.seq, self.rel)


@dataclass
class FileResult:
    rel: str
    status: str  # loaded | rejected | unchanged
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    message: str = ""
    replaced: bool = False


@dataclass
class SourceResult:
    source: str
    files: list[FileResult] = field(default_factory=list)
    staging_rows: int = 0

    def count(self, status: str) -> int:
        return sum(f.status == status for f in self.files)

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files)


class FileRejected(Exception):
    """The whole file is quarantined (missing column, bad encoding, unreadable...)."""

    def __init__(self, code: str, message: str, encoding: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.encoding = encoding


def discover(landing: Path) -> dict[str, list[LandedFile]]:
    """Files under ``<landing>/<source>/``, per known source, in delivery order.

    A file whose name breaks the naming rule comes with ``fmt = None`` (it is quarantined as
    ``bad_file_name``); folders that are not a contract source are ignored with a warning.
    """
    sources = load_contract()
    found: dict[str, list[LandedFile]] = {name: [] for name in sources}
    if not landing.is_dir():
        raise FileNotFoundError(f"landing folder {landing} does not exist")
    for folder in sorted(p for p in landing.iterdir() if p.is_dir()):
        if folder.name.startswith((".", "_")):
            continue
        if folder.name not in sources:
            log.warning("ignoring folder %s: not a source of the data contract", folder)
            continue
        for path in sorted(p for p in folder.iterdir() if p.is_file()):
            if path.name.startswith("."):
                continue  # editors' and copy tools' temporary files
            rel = path.relative_to(landing).as_posix()
            m = FILE_NAME.match(path.name)
            bad = LandedFile(path, rel, folder.name, None, 0, None)
            if not m or m["source"] != folder.name:
                found[folder.name].append(bad)
                continue
            try:
                bdate = datetime.strptime(m["date"], "%Y%m%d").date()
            except ValueError:
                found[folder.name].append(bad)
                continue
            found[folder.name].append(
                LandedFile(path, rel, folder.name, bdate, int(m["seq"] or 0), m["ext"])
            )
    for files in found.values():
        files.sort(key=lambda f: f.order)
    return found


def _file_stat(path: Path) -> tuple[int, int]:
    """(size, ctime in ns): ctime changes on any write or metadata change and cannot be set
    back by copy tools (``cp -p``, ``rsync -t``), unlike the modification time. A file that
    cannot even be stat'ed (removed since it was listed) is (0, 0): its read fails next and it
    is quarantined as unreadable."""
    try:
        st = path.stat()
    except OSError:
        return 0, 0
    return st.st_size, st.st_ctime_ns


def _os_error(exc: OSError) -> str:
    """An OSError without the path (the registry names the file already)."""
    return exc.strerror or type(exc).__name__


def _try_hash(path: Path) -> str | OSError:
    """The file's sha256, or the OSError reading it raised (unreadable files are quarantined)."""
    try:
        return sha256_file(path)
    except OSError as exc:
        return exc


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(8 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# Reading


def _open_binary(path: Path, fmt: str):
    return gzip.open(path, "rb") if fmt == "csv.gz" else path.open("rb")


def _decodes(sample: bytes, encoding: str, complete: bool) -> bool:
    try:
        sample.decode(encoding)
        return True
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the end of the sample is not an error.
        return not complete and exc.start >= len(sample) - 4


def sniff_csv(path: Path, fmt: str) -> tuple[str, list[str]]:
    """Return (encoding, header) of a CSV file; raises FileRejected when it cannot be read."""
    try:
        with _open_binary(path, fmt) as fh:
            sample = fh.read(SAMPLE_BYTES)
            complete = len(sample) < SAMPLE_BYTES or not fh.read(1)
    except (EOFError, OSError, zlib.error) as exc:
        raise FileRejected("truncated_file", f"cannot decompress: {exc}") from None
    if not sample.strip(b"\r\n\t \x00" + UTF8_BOM):
        raise FileRejected("empty_file", "empty file: no header row")
    if sample.startswith(UTF8_BOM):
        encoding, sample = "utf-8", sample[len(UTF8_BOM):]
    elif _decodes(sample, "utf-8", complete):
        encoding = "utf-8"
    elif _decodes(sample, "gb18030", complete):
        encoding = "gb18030"
    else:
        raise FileRejected("encoding_error", "neither UTF-8 nor GB18030/GBK")
    first = sample.split(b"\n", 1)[0].split(b"\r", 1)[0]  # LF, CRLF or CR line endings
    text = first.decode(encoding, errors="replace").lstrip("\ufeff")
    try:
        header = [normalize_header(h) for h in next(csv.reader([text]), [])]
    except csv.Error as exc:  # e.g. a column name longer than the csv module's field limit
        raise FileRejected("missing_column", f"unreadable header: {exc}") from None
    return encoding, header


_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))


def normalize_header(name: str) -> str:
    """The contract name a header cell stands for, CSV and parquet alike: Unicode NFKC
    (full-width letters), invisible characters removed, surrounding spaces stripped, lower case
    (``Debtor_Name``, ``DEBTOR_NAME `` and ``ｄｅｂｔｏｒ_name`` are all ``debtor_name``)."""
    return unicodedata.normalize("NFKC", name).translate(_INVISIBLE).strip().lower()


def check_header(src: Source, header: list[str]) -> None:
    if any(h == "" for h in header):
        raise FileRejected("missing_column", "the header has an empty column name")
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise FileRejected("missing_column", f"duplicate column(s) in header: {', '.join(dupes)}")
    reserved = sorted(set(header) & (set(LINEAGE_COLUMNS) | (
        {"snapshot_date"} if src.kind == "snapshot" else set())))
    if reserved:  # an extra column is kept in raw, next to the lineage columns of the same name
        raise FileRejected("missing_column",
                           f"reserved column name(s) in header: {', '.join(reserved)}")
    missing = [c for c in src.required_columns if c not in header]
    if missing:
        raise FileRejected(
            "missing_column", f"missing required column(s): {', '.join(missing)}"
        )


def transcode_to_utf8(path: Path, fmt: str, encoding: str, tmp_dir: Path) -> Path:
    """GB18030/GBK → UTF-8 copy for DuckDB (its ``encodings`` extension cannot be installed)."""
    with _open_binary(path, fmt) as fh:
        data = fh.read()
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise FileRejected("encoding_error", f"invalid {encoding} at byte {exc.start}") from None
    tmp_dir.mkdir(parents=True, exist_ok=True)
    out = tmp_dir / f"{os.getpid()}-{path.name}.utf8.csv"
    out.write_text(text, encoding="utf-8")
    return out


# ---------------------------------------------------------------------------------------------
# Typing and checking: SQL built from the contract (identifiers from the contract or quoted).

_TEXT_PARSE = {
    "str": "nullif({x}, '')",  # not trimmed: a value arrives as it was sent
    "int": "case when regexp_full_match({x}, ' *[+-]?[0-9]{{1,18}} *') "
    "then try_cast({x} as bigint) end",
    "dec": "case when regexp_full_match({x}, ' *[+-]?[0-9]{{1,16}}([.][0-9]{{0,2}})? *') "
    "then try_cast({x} as decimal(18,2)) end",
    "float": "try_cast({x} as double)",
    "ts": "try_strptime({x}, '%Y-%m-%d %H:%M:%S')",
    "date": "try_strptime({x}, '%Y-%m-%d')::date",
    "bool": "case lower(trim({x})) when 'true' then true when '1' then true "
    "when 'false' then false when '0' then false end",
}
_TYPE_HINT = {
    "str": "text",
    "int": "a whole number",
    "dec": "a decimal with at most 2 places",
    "float": "a number",
    "ts": "a timestamp YYYY-MM-DD HH:MM:SS",
    "date": "a date YYYY-MM-DD",
    "bool": "true/false/1/0",
}


def typed_expr(col: Column, raw: str | None, raw_type: str) -> str:
    """SQL giving the typed value of ``col`` from raw column ``raw`` (NULL when it is bad)."""
    if raw is None:
        return f"null::{col.sql_type}"
    if raw_type == "VARCHAR":
        expr = _TEXT_PARSE[col.type].format(x=raw)
    elif col.type == "str":
        expr = f"nullif(trim(cast({raw} as varchar)), '')"
    else:
        return f"try_cast({raw} as {col.sql_type})"
    return f"mask_pii_text({expr})" if col.text else expr


def _value(raw: str) -> str:
    """A bad value quoted in a reason: cut, and masked (a phone in a swapped column...)."""
    return f"mask_value(left(cast({raw} as varchar), 60))"


def row_checks(src: Source, raws: dict[str, str]) -> list[tuple[str, str, str]]:
    """(reason_code, SQL condition true when bad, SQL message) for each row-level rule."""
    checks: list[tuple[str, str, str]] = []
    for col in src.columns:
        c = quote(col.name)
        raw = raws.get(col.name)
        shown = "" if col.pii or col.text else f" || ' ' || coalesce({_value(raw)}, '')"
        if not col.nullable:
            checks.append(("missing_value", f"{c} is null and {raw or 'null'} is null",
                           f"'{col.name} is required'"))
        if raw is not None and col.type != "str":
            checks.append(
                ("bad_type", f"{c} is null and nullif(cast({raw} as varchar), '') is not null",
                 f"'{col.name} is not {_TYPE_HINT[col.type]}:'{shown}"),
            )
        if col.id:
            checks.append(("bad_id", f"not regexp_full_match({c}, '{SAFE_ID_PATTERN}')",
                           f"'{col.name} must be a plain identifier (ASCII letters, digits, "
                           f"_ . -, at most 64 characters):'{shown}"))
        if col.enum:
            values = ", ".join("'" + v + "'" for v in col.enum)
            checks.append(("unknown_enum", f"{c} not in ({values})",
                           f"'{col.name} must be one of {'/'.join(col.enum)}:'{shown}"))
        bounds = []
        if col.min is not None:
            bounds.append(f"{c} < {col.min}")
        if col.max is not None:
            bounds.append(f"{c} > {col.max}")
        if col.gt is not None:
            bounds.append(f"{c} <= {col.gt}")
        if col.type in ("ts", "date"):
            bounds.append(f"({c} < DATE '{SANE_FROM}' or {c} >= DATE '{SANE_UNTIL}')")
        if bounds:
            rng = " and ".join(
                filter(None, [
                    f">= {col.min}" if col.min is not None else "",
                    f"<= {col.max}" if col.max is not None else "",
                    f"> {col.gt}" if col.gt is not None else "",
                    f"in [{SANE_FROM}, {SANE_UNTIL})" if col.type in ("ts", "date") else "",
                ])
            )
            checks.append(("out_of_range", " or ".join(bounds),
                           f"'{col.name} must be {rng}:'{shown}"))
    for rule in src.rules:
        checks.append((rule.code, f"({rule.when})", "'" + rule.message.replace("'", "''") + "'"))
    return checks


def reference_checks(src: Source) -> list[tuple[str, str, str]]:
    checks = []
    for ref in src.references:
        c, k = quote(ref.column), quote(ref.key)
        cond = (
            f"({ref.when}) and {c} is not null and not exists ("
            f"select 1 from raw.{ref.source} r where r.{k} = t.{c} and ({ref.key_when}) "
            f"union all select 1 from _typed p where p.{k} = t.{c} and ({ref.key_when}) "
            "and not p._row_bad)"
        )
        checks.append((ref.code, cond, f"'{ref.message}: ' || mask_value({c})"))
    return checks


# ---------------------------------------------------------------------------------------------


class Ingestor:
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

    def _mask_names(self, src: Source, fid: int) -> None:
        """The debtor's name in free text: in the new file's text before it is stored (the
        clear name never reaches the database file), and, for a case master, in the text already
        loaded about the cases whose (case, name) this file brings for the first time (in the
        same transaction as the file's rows)."""
        text = next((t for t in pii.text_sources() if t[0] == src.name), None)
        if text is not None:
            pii.mask_debtor_names(self.con, "_checked", ("_rec",), text[2])
        if src.name != "cases":
            return
        new_names = ("r.case_id in (select case_id from (select case_id, debtor_name from "
                     "_checked where not _bad and not _dup except select case_id, debtor_name "
                     "from raw.cases))")
        for text_source, pk, columns in pii.text_sources():
            n = pii.mask_debtor_names(
                self.con, f"raw.{text_source}", (*pk, "_file_id"), columns, new_names,
                names="(select case_id, debtor_name from _checked where not _bad and not _dup)")
            if n:  # rows already published change: the next publish copies them whole
                self.con.execute(f"insert into audit.pii_masking_log "
                                 f"{audit.columns('pii_masking_log')} values "
                                 "(now()::timestamp, ?, ?, ?)", [text_source, n, fid])

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

    def _read(self, src: Source | None, f: LandedFile) -> tuple[dict[str, tuple[str, str]], str]:
        """Read, type and check the file into the temp table _checked; FileRejected if it can't."""
        if src is None:
            raise FileRejected(
                "bad_file_name",
                f"file name does not follow <source>_<YYYYMMDD>[_<seq>].csv|csv.gz|parquet "
                f"with <source> = {f.source}",
            )
        transcoded = None
        encoding = "parquet"
        try:
            if f.fmt == "parquet":
                raw_types = self._read_parquet(src, f)
                self._materialize(src, raw_types)
                return raw_types, encoding
            encoding, header = sniff_csv(f.path, f.fmt or "csv")
            check_header(src, header)
            path, fmt = f.path, f.fmt
            if encoding != "utf-8":
                path = transcoded = transcode_to_utf8(f.path, f.fmt or "csv", encoding,
                                                      self.tmp_dir)
                fmt = "csv"
            raw_types = self._read_csv(src, path, header, fmt)
            self._materialize(src, raw_types)
            if encoding == "utf-8" and self._has_unicode_rejects():
                # UTF-8 at the top but GBK further down: the whole file may be GB18030.
                try:
                    transcoded = transcode_to_utf8(f.path, f.fmt or "csv", "gb18030",
                                                   self.tmp_dir)
                except FileRejected:
                    return raw_types, encoding  # bad lines are quarantined one by one
                encoding = "gb18030"
                raw_types = self._read_csv(src, transcoded, header, "csv")
                self._materialize(src, raw_types)
            return raw_types, encoding
        except FileRejected as exc:
            exc.encoding = None if encoding == "parquet" else encoding
            raise
        except duckdb.Error as exc:
            msg = mask_value(str(exc).splitlines()[0][:300])
            code = "truncated_file" if f.fmt == "csv.gz" else "unreadable_file"
            raise FileRejected(code, msg) from None
        finally:
            if transcoded is not None:
                transcoded.unlink(missing_ok=True)

    def _read_csv(self, src: Source, path: Path, header: list[str], fmt: str | None
                  ) -> dict[str, tuple[str, str]]:
        con = self.con
        con.execute("drop table if exists _rej; drop table if exists _rej_scan")
        columns = "{" + ", ".join(
            "'" + h.replace("'", "''") + "': 'VARCHAR'" for h in header
        ) + "}"
        aliases = {h: f"_r{i}" for i, h in enumerate(header)}
        select = ", ".join(self._read_select(src, h, quote(h), aliases[h]) for h in header)
        # A view: the file is read once, by the statement that types and checks it.
        con.execute(
            f"create or replace temp view _in as select {select} from read_csv("
            f"{literal(str(path))}, columns = {columns}, header = true, auto_detect = false, "
            " delim = ',', quote = '\"', escape = '\"', "
            "store_rejects = true, rejects_table = '_rej', rejects_scan = '_rej_scan', "
            f"max_line_size = 4000000, compression = '{'gzip' if fmt == 'csv.gz' else 'none'}')"
        )
        return {h: (aliases[h], "VARCHAR") for h in header}

    def _read_select(self, src: Source, name: str, ident: str, alias: str) -> str:
        """The reader's select of one file column: ``name`` is its normalised header, the
        contract column at that position; ``ident`` how the file itself spells it. A PII column
        is hashed in the read, whatever its type, so its clear value is never stored."""
        if name in src.pii_columns:
            return f"pii_hmac(nullif(trim(cast({ident} as varchar)), '')) as {alias}"
        return f"{ident} as {alias}"

    def _has_unicode_rejects(self) -> bool:
        return bool(self.con.execute(
            "select count(*) from _rej where error_type in ('INVALID UNICODE', 'INVALID ENCODING')"
        ).fetchall()[0][0])

    def _read_parquet(self, src: Source, f: LandedFile) -> dict[str, tuple[str, str]]:
        con = self.con
        con.execute("drop table if exists _rej; drop table if exists _rej_scan")
        con.execute("create temp table _rej (line bigint, error_type varchar, csv_line varchar, "
                    "error_message varchar)")
        described = con.execute(
            "select column_name, column_type from (describe select * from read_parquet(?))",
            [str(f.path)],
        ).fetchall()
        header = [normalize_header(name) for name, _ in described]
        check_header(src, header)
        aliases = {h: f"_r{i}" for i, h in enumerate(header)}
        select = ", ".join(
            self._read_select(src, h, quote(orig), aliases[h])
            for (orig, _), h in zip(described, header, strict=True)
        )
        con.execute(
            f"create or replace temp view _in as select {select} "
            f"from read_parquet({literal(str(f.path))})"
        )
        return {h: (aliases[h], "VARCHAR" if h in src.pii_columns else typ)
                for (_, typ), h in zip(described, header, strict=True)}

    def _materialize(self, src: Source, raw_types: dict[str, tuple[str, str]],
                     keep_raw: bool = False) -> None:
        """One pass over the file: read, type and check every row into _checked.

        The record as it arrived (the raw text of the contract's columns) is kept for the bad
        rows only, which the quarantine shows: keeping it for every row would more than double
        the table. Extra columns are always kept (raw stores them). A file with a duplicate key
        is read again keeping every record (``keep_raw``): a duplicate is only known after.
        """
        con = self.con
        raws = {name: alias for name, (alias, _) in raw_types.items()}
        typed = ", ".join(
            f"{typed_expr(c, raws.get(c.name), raw_types.get(c.name, ('', 'VARCHAR'))[1])}"
            f" as {quote(c.name)}"
            if not c.pii or c.name not in raws else f"{raws[c.name]} as {quote(c.name)}"
            for c in src.columns
        )
        raw_cols = ", ".join(alias for alias, _ in raw_types.values())
        typed_rows = f"(select {raw_cols}, {typed} from _in)"
        if src.references:
            # a reference may point at another row of the same file, if that row is good
            # itself: type and row-check the file first
            row_bad = " or ".join(f"coalesce({cond}, false)" for _, cond, _ in
                                  row_checks(src, raws))
            con.execute(f"create or replace temp table _typed as select t.*, ({row_bad}) "
                        f"as _row_bad from {typed_rows} t")
            typed_rows = "(select * exclude (_row_bad) from _typed)"
        checks = row_checks(src, raws) + reference_checks(src)
        pk = ", ".join(quote(k) for k in src.pk)
        bad_any = " or ".join(f"coalesce({cond}, false)" for _, cond, _ in checks)
        # One pass: read, type, check (in parallel), then number the records in file order:
        # row_number() over () streams on one thread, so it comes last.
        aliases = [alias for alias, _ in raw_types.values()]
        raw_text = ", ".join(
            f"c.{alias}" if keep_raw or name not in src.column_names
            else f"case when c._bad then c.{alias} end as {alias}"
            for name, (alias, _) in raw_types.items())
        con.execute(
            "create or replace temp table _checked as select row_number() over () as _rec, "
            f"{raw_text}, c.* exclude ({', '.join(aliases)}) "
            f"from (select t.*, ({bad_any}) as _bad, false as _dup from {typed_rows} t) c"
        )
        dupes = con.execute(
            f"select count(*) from (select 1 from _checked group by {pk} having count(*) > 1)"
        ).fetchall()[0][0]
        if dupes and not keep_raw:
            self._materialize(src, raw_types, keep_raw=True)
            return
        if dupes:  # rare: the later occurrences of a key within the file are rejected
            con.execute(
                "create or replace temp table _checked as select * replace ("
                f"row_number() over (partition by {pk} order by _rec) > 1 as _dup) from _checked"
            )

    def _store(self, src: Source, f: LandedFile, fid: int,
               raw_types: dict[str, tuple[str, str]]) -> tuple[int, int]:
        """Good rows of _checked → raw.<source>; bad rows and malformed lines → quarantine."""
        con = self.con
        raws = {name: alias for name, (alias, _) in raw_types.items()}
        checks = row_checks(src, raws) + reference_checks(src)
        # Record numbers: DuckDB counts records (header = 1) and skips the rejected ones.
        n_rej = con.execute("select count(distinct line) from _rej").fetchall()[0][0]
        if n_rej:
            con.execute(
                # consecutive rejected lines share a g: the last of them counts them all
                "create or replace temp table _rejmap as select g, max(n) as n from ("
                "select line - 2 - (row_number() over (order by line) - 1) as g, "
                "row_number() over (order by line) as n from (select distinct line from _rej)) "
                "group by g"
            )
            line_from = "_checked t asof left join _rejmap m on t._rec > m.g"
            line_expr = "t._rec + 1 + coalesce(m.n, 0)"
        else:
            line_from = "_checked t"
            line_expr = "t._rec" if f.fmt == "parquet" else "t._rec + 1"

        # Good rows → raw, with their extra columns (schema drift is kept, as text).
        extras = [h for h in raw_types if h not in src.column_names]
        existing = {
            r[0] for r in con.execute(
                "select column_name from duckdb_columns() where schema_name = 'raw' "
                "and table_name = ?", [src.name],
            ).fetchall()
        } if extras else set()
        for h in extras:
            if h not in existing:
                con.execute(f"alter table raw.{src.name} add column {quote(h)} varchar")
        cols = [quote(c) for c in src.column_names]
        values = [f"t.{c}" for c in cols]
        if src.kind == "snapshot":
            cols.insert(0, "snapshot_date")
            values.insert(0, "?::date")
        cols += [quote(h) for h in extras]
        # an extra column is unknown free text: PII patterns are masked like a text column
        values += [f"mask_pii_text(cast(t.{raws[h]} as varchar))" for h in extras]
        cols += ["_file_id", "_file", "_line", "_business_date", "_seq"]
        values += ["?", "?", line_expr, "?::date", "?"]
        params = ([f.business_date] if src.kind == "snapshot" else []) + [
            fid, f.rel, f.business_date, f.seq]
        loaded = con.execute(
            f"insert into raw.{src.name} ({', '.join(cols)}) select {', '.join(values)} "
            f"from {line_from} where not t._bad and not t._dup", params,
        ).fetchall()[0][0]
        bad_rows = con.execute("select count(*) from _checked").fetchall()[0][0] - loaded
        if bad_rows:
            self._quarantine_rows(src, f, fid, raw_types, checks, line_from, line_expr)
        if n_rej:
            self._quarantine_lines(src, f, fid)
        return loaded, bad_rows + n_rej

    def _quarantine_rows(self, src: Source, f: LandedFile, fid: int,
                         raw_types: dict[str, tuple[str, str]], checks: list, line_from: str,
                         line_expr: str) -> None:
        con = self.con

        # Bad rows → quarantine, with every reason and the record rebuilt with PII masked.
        reasons = [
            f"case when coalesce({cond}, false) then {{'code': '{code}', 'msg': {msg}}} end"
            for code, cond, msg in checks
        ] + [
            "case when t._dup then {'code': 'duplicate_key', 'msg': "
            "'duplicate key within the file: ' || mask_value(concat_ws(', ', "
            + ", ".join("t." + quote(k) for k in src.pk) + "))} end"
        ]
        header_fields = []
        # a source with PII (the case master): any field may hold it when columns are swapped,
        # so every field is masked like a quoted value (long numbers, Chinese characters)
        field_mask = "mask_value" if src.pii_columns else ""
        for name, (alias, _) in raw_types.items():
            if name in src.pii_columns:
                header_fields.append("'***'")
            else:
                header_fields.append(f"csv_field({field_mask}(cast(t.{alias} as varchar)))")
        con.execute(
            "create or replace temp macro csv_field(v) as case when v is null then '' "
            "when contains(v, ',') or contains(v, '\"') or contains(v, chr(10)) "
            "then '\"' || replace(v, '\"', '\"\"') || '\"' else v end"
        )
        con.execute(
            f"insert into audit.quarantine {audit.columns('quarantine')} "
            "select ?, ?, ?, line, mask_pii_text(raw_text), problems[1].code, "
            "array_to_string(list_transform(problems, lambda p: p.code || ': ' || p.msg), '; '), "
            "now()::timestamp from ("
            f"select {line_expr} as line, concat_ws(',', {', '.join(header_fields)}) as raw_text, "
            f"list_filter([{', '.join(reasons)}], lambda p: p is not null) as problems "
            f"from {line_from} where t._bad or t._dup)",
            [fid, src.name, f.rel],
        )

    def _quarantine_lines(self, src: Source, f: LandedFile, fid: int) -> None:
        """Lines the CSV reader could not split into the header's fields (DuckDB's rejects)."""
        con = self.con
        mask = "mask_pii_text(csv_line)"
        if src.pii_columns:
            # A malformed line cannot be split into fields: mask every CJK run and long number.
            mask = (f"regexp_replace(regexp_replace({mask}, '[\\x{{3400}}-\\x{{9FFF}}]+', '***', "
                    "'g'), '[0-9]{7,}', '***', 'g')")
        con.execute(
            f"insert into audit.quarantine {audit.columns('quarantine')} "
            "select ?, ?, ?, line, any_value(" + mask + "), "
            "case when bool_or(error_type in ('INVALID UNICODE', 'INVALID ENCODING')) "
            "then 'encoding_error' else 'malformed_row' end, "
            "string_agg(distinct error_type || ': ' || mask_value(coalesce(error_message, '')), "
            "'; '), "
            "now()::timestamp from _rej group by line order by line",
            [fid, src.name, f.rel],
        )

    # -- staging -------------------------------------------------------------------------------

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

    def refresh_staging(self, src: Source, new_file_ids: list[int], whole: bool = False) -> None:
        """Latest file wins per staging key, recomputed only for the keys new files touched.

        ``staging.<source>`` is a view: raw minus the versions listed in
        ``raw.<source>__superseded``. Most keys arrive once and need nothing; only keys with more
        than one version in raw (re-deliveries) are ranked: business date, then seq, then
        arrival, and all but the first are listed as superseded. ``whole`` recomputes every key
        (after an interrupted run, whose touched keys were lost with it).
        """
        con = self.con
        key_cols = [quote(k) for k in src.staging_key]
        keys = ", ".join(key_cols)
        ids = ", ".join(str(int(i)) for i in new_file_ids) or "null"
        match = " and ".join(f"a.{k} = b.{k}" for k in key_cols)
        superseded = superseded_table(src)
        con.execute("begin transaction")
        try:
            first = not con.execute(
                "select count(*) from audit.file_registry where source = ? and staged",
                [src.name]).fetchall()[0][0]
            if whole or first:  # every key: no need to collect the touched ones
                con.execute(f"delete from {superseded}")
                scope = ""
            else:
                con.execute(f"insert into _touched_{src.name} select {keys} "
                            f"from raw.{src.name} where _file_id in ({ids})")
                con.execute(f"delete from {superseded} a using "
                            f"(select distinct {keys} from _touched_{src.name}) b where {match}")
                scope = f"semi join _touched_{src.name} b on {match} "
            con.execute(
                f"create or replace temp table _versions as select {keys} from raw.{src.name} a "
                f"{scope}group by all having count(*) > 1"
            )
            con.execute(
                f"insert into {superseded} select {keys}, _file_id from raw.{src.name} a "
                f"semi join _versions b on {match} "
                f"qualify row_number() over (partition by {keys} "
                "order by _business_date desc, _seq desc, _file_id desc) > 1"
            )
            con.execute(f"delete from _touched_{src.name}")
            con.execute("update audit.file_registry set staged = true where source = ? "
                        "and not staged", [src.name])
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
