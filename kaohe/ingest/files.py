"""The landed files before any SQL: naming and discovery, hashing, and the bytes of a CSV
(encoding, header) checked against the contract; the result records of a file and a source."""

from __future__ import annotations

import csv
import gzip
import hashlib
import logging
import os
import unicodedata
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from kaohe.contract import FILE_NAME, Source, load_contract
from kaohe.warehouse import LINEAGE_COLUMNS

log = logging.getLogger("kaohe")

SAMPLE_BYTES = 1 << 20
UTF8_BOM = b"\xef\xbb\xbf"


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
# Reading the bytes: compression, encoding and header (before DuckDB reads the file)


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
