"""The landed files before any SQL: naming and discovery, hashing, and the bytes of a CSV
(encoding, header) checked against the contract; the result records of a file and a source."""

from __future__ import annotations

import csv
import errno
import gzip
import hashlib
import logging
import os
import stat
import unicodedata
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from kaohe.ingest import encoding as enc
from kaohe.ingest.contract import FILE_NAME, Source, load_contract
from kaohe.warehouse import LINEAGE_COLUMNS

log = logging.getLogger("kaohe")

SAMPLE_BYTES = 1 << 20
UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class LandedFile:
    # what is read: the entry itself, or, for a symbolic link inside the landing folder, the
    # file it points to as resolved when listed (the link is never followed again); for an entry
    # with a ``problem``, the entry (never read)
    path: Path
    rel: str
    source: str | None
    business_date: date | None
    seq: int
    fmt: str | None
    # (reason code, message) of an entry of the landing folder that is not a file to read: a
    # link leaving the folder, a pipe, a folder, a dangling link (registered, never opened)
    problem: tuple[str, str] | None = None

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
    file_id: int | None = None
    warnings: list[str] = field(default_factory=list)


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

    def __init__(self, code: str, message: str, encoding: str | None = None,
                 rows_read: int = 0):
        super().__init__(message)
        self.code = code
        self.message = message
        self.encoding = encoding
        # records read before the file was rejected whole (too_many_rejected): all rejected
        self.rows_read = rows_read


def discover(landing: Path) -> dict[str, list[LandedFile]]:
    """Files under ``<landing>/<source>/``, per known source, in delivery order.

    A file whose name breaks the naming rule comes with ``fmt = None`` (it is quarantined as
    ``bad_file_name``); folders that are not a contract source are ignored with a warning. The
    landing folder is a boundary: an entry that is not a regular file inside it (a symbolic link
    leaving it, a pipe, a socket or device, a folder inside a source folder, a dangling link)
    comes with its ``problem`` and is reported, never opened or followed. Where a link points
    is found before anything of its target is touched, without touching anything outside the
    folder (``_resolve_inside``).
    """
    sources = load_contract()
    found: dict[str, list[LandedFile]] = {name: [] for name in sources}
    if not landing.is_dir():
        raise FileNotFoundError(f"landing folder {landing} does not exist")
    root = _Root(os.path.realpath(landing), os.path.abspath(landing))
    for folder in sorted(landing.iterdir()):
        if folder.name.startswith((".", "_")):
            continue
        if folder.name not in sources:
            log.warning("ignoring %s: not a source folder of the data contract", folder)
            continue
        problem, _ = _entry_problem(folder, root, (folder.name,), folder=True)
        if problem:
            found[folder.name].append(_landed(folder, landing, folder.name, problem))
            continue
        for path in sorted(folder.iterdir()):
            if path.name.startswith("."):
                continue  # editors' and copy tools' temporary files
            problem, real = _entry_problem(path, root, (folder.name, path.name))
            found[folder.name].append(_landed(path, landing, folder.name, problem, real))
    for files in found.values():
        files.sort(key=lambda f: f.order)
    return found


def _landed(path: Path, landing: Path, source: str, problem: tuple[str, str] | None,
            real: Path | None = None) -> LandedFile:
    """``real``: what a link inside the landing folder points to (read instead of the link)."""
    rel = path.relative_to(landing).as_posix()
    read = real if real is not None and problem is None else path
    m = FILE_NAME.match(path.name)
    try:
        bdate = datetime.strptime(m["date"], "%Y%m%d").date() if m else None
    except ValueError:
        bdate = None
    if not m or m["source"] != source or bdate is None:
        return LandedFile(read, rel, source, None, 0, None, problem)  # bad_file_name
    return LandedFile(read, rel, source, bdate, int(m["seq"] or 0), m["ext"], problem)


def _link_text(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "?"


_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


@dataclass(frozen=True)
class _Root:
    """The landing folder: its real path, and the path it was given as (a link's absolute
    target may name it either way)."""

    real: str
    given: str


_MAX_LINKS = 40  # links followed in resolving one path, as the kernel allows


def _resolve_inside(root: _Root, rel: tuple[str, ...]) -> str | None:
    """The real path of the entry ``rel`` of the landing folder, resolved a component at a time,
    or None as soon as the resolution leaves the folder (a link to an absolute path elsewhere,
    ``..`` above it), even when it would come back. Only ``lstat`` and ``readlink`` of entries
    inside the folder: nothing outside it is stat'ed, read or opened, unlike
    ``os.path.realpath``, which stats every component of a link's target wherever it is (a
    link to ``/proc/self/environ`` would be looked at). OSError: a component missing, not a
    folder, or too many links (a dangling link)."""
    done, todo, links = root.real, list(rel), 0
    while todo:
        name = todo.pop(0)
        if name in ("", "."):
            continue
        if name == "..":
            if done == root.real:
                return None
            done = os.path.dirname(done)
            continue
        path = os.path.join(done, name)
        if not stat.S_ISLNK(os.lstat(path).st_mode):
            done = path
            continue
        links += 1
        if links > _MAX_LINKS:
            raise OSError(errno.ELOOP, os.strerror(errno.ELOOP))
        target = os.readlink(path)
        if os.path.isabs(target):
            parts = [p for p in target.split("/") if p not in ("", ".")]
            for base in (root.real, root.given):
                prefix = [p for p in base.split("/") if p]
                if parts[:len(prefix)] == prefix:
                    done, todo = root.real, parts[len(prefix):] + todo
                    break
            else:
                return None
        else:
            todo = target.split("/") + todo
    return done


def _entry_problem(path: Path, root: _Root, rel: tuple[str, ...], folder: bool = False
                   ) -> tuple[tuple[str, str] | None, Path | None]:
    """(why the entry ``rel`` of the landing folder is not read, or None for a regular file, a
    folder for ``folder``, inside it; for a link inside it, what it points to). Only stat calls
    on the entry and, for a link, on what it resolves to inside the folder: a pipe is never
    opened, a link never followed out, its target outside never even stat'ed."""
    try:
        st = path.lstat()
    except OSError:
        return None, None  # gone since it was listed: its read fails and says so
    link, real = "", None
    if stat.S_ISLNK(st.st_mode):
        try:
            resolved = _resolve_inside(root, rel)
            if resolved is not None:
                st = os.stat(resolved, follow_symlinks=False)  # resolved: no link left
        except OSError as exc:
            return ("not_a_file", "a symbolic link whose target cannot be reached "
                    f"({_os_error(exc)}): a dangling link"), None
        if resolved is None:
            return ("outside_landing", f"a symbolic link to {_link_text(path)}, outside the "
                    "landing folder: not followed"), None
        link, real = "a symbolic link to ", Path(resolved)
    if folder:
        if stat.S_ISDIR(st.st_mode):
            return None, real
        return ("not_a_file", f"the source folder is {link}not a folder: nothing in it is "
                "read"), None
    if stat.S_ISREG(st.st_mode):
        return None, real
    if stat.S_ISDIR(st.st_mode):
        return ("not_a_file", f"{link}a folder inside the source folder: files in it are not "
                "read (deliver them directly under the source folder)"), None
    kind = next((name for test, name in _KINDS if test(st.st_mode)), "not a regular file")
    return ("not_a_file", f"{link}{kind}, not a file: not read"), None


def _file_stat(path: Path, follow: bool = True) -> tuple[int, int]:
    """(size, ctime in ns): ctime changes on any write or metadata change and cannot be set
    back by copy tools (``cp -p``, ``rsync -t``), unlike the modification time. A file that
    cannot even be stat'ed (removed since it was listed) is (0, 0): its read fails next and it
    is quarantined as unreadable. ``follow``: False for an entry that is not read (a link is
    not followed)."""
    try:
        st = path.stat() if follow else path.lstat()
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


def open_regular(path: Path):
    """Open a landed file for reading, refusing anything but a regular file: opened without
    blocking (a pipe swapped in after the listing would hang a plain open), then checked; and
    without following a link (``LandedFile.path`` is resolved when listed: a link there now was
    swapped in since, and could point anywhere)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OSError(errno.ELOOP, "a symbolic link since it was listed: not followed"
                          ) from None
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(0, "not a regular file")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open_regular(path) as fh:
        while chunk := fh.read(8 << 20):
            digest.update(chunk)
    return digest.hexdigest()



# ---------------------------------------------------------------------------------------------
# Reading the bytes: compression, encoding and header (before DuckDB reads the file)


@contextmanager
def _open_binary(path: Path, fmt: str) -> Iterator:
    with open_regular(path) as raw:
        if fmt == "csv.gz":
            with gzip.GzipFile(fileobj=raw, mode="rb") as fh:
                yield fh
        else:
            yield raw


def _decodes(sample: bytes, encoding: str, complete: bool) -> bool:
    try:
        sample.decode(encoding)
        return True
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the end of the sample is not an error.
        return not complete and exc.start >= len(sample) - 4


@dataclass
class Sniffed:
    """What the first bytes of a CSV say: its header, and its encoding (``verdict``: decided
    from the whole file; None while the first megabyte is clean UTF-8, which DuckDB checks for
    the rest; ``bom``: UTF-8 for sure)."""

    encoding: str
    header: list[str]
    verdict: enc.EncodingVerdict | None = None
    bom: bool = False


def sniff(path: Path, fmt: str) -> Sniffed:
    """The header and encoding of a CSV file; raises FileRejected when it cannot be read."""
    try:
        with _open_binary(path, fmt) as fh:
            sample = fh.read(SAMPLE_BYTES)
            complete = len(sample) < SAMPLE_BYTES or not fh.read(1)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise FileRejected("truncated_file", f"cannot decompress: {exc}") from None
    except OSError as exc:
        raise FileRejected("unreadable_file", f"cannot be read: {_os_error(exc)}") from None
    if not sample.strip(b"\r\n\t \x00" + UTF8_BOM):
        raise FileRejected("empty_file", "empty file: no header row")
    bom = sample.startswith(UTF8_BOM)
    verdict = None
    if bom:
        encoding, sample = "utf-8", sample[len(UTF8_BOM):]
    elif _decodes(sample, "utf-8", complete):
        encoding = "utf-8"  # so far: DuckDB's reader checks the rest
    else:
        verdict = analyse_encoding(path, fmt)
        encoding = verdict.encoding
    first = sample.split(b"\n", 1)[0].split(b"\r", 1)[0]  # LF, CRLF or CR line endings
    try:
        text = first.decode(encoding).lstrip("\ufeff")
    except UnicodeDecodeError:
        if complete or len(first) < len(sample) - 4:
            raise FileRejected("encoding_error", "the header (line 1) is neither UTF-8 nor "
                               "GB18030/GBK: the file cannot be read") from None
        text = first.decode(encoding, errors="replace")  # a header longer than the sample
    try:
        header = [normalize_header(h) for h in next(csv.reader([text]), [])]
    except csv.Error as exc:  # e.g. a column name longer than the csv module's field limit
        raise FileRejected("missing_column", f"unreadable header: {exc}") from None
    return Sniffed(encoding, header, verdict, bom)


def sniff_csv(path: Path, fmt: str) -> tuple[str, list[str]]:
    """(encoding, header) of a CSV file (``sniff`` without the verdict)."""
    sniffed = sniff(path, fmt)
    return sniffed.encoding, sniffed.header


def analyse_encoding(path: Path, fmt: str) -> enc.EncodingVerdict:
    """The encoding of the whole file (kaohe.ingest.encoding), streaming."""
    try:
        with _open_binary(path, fmt) as fh:
            return enc.analyse(fh)
    except (enc.EncodingFault, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise FileRejected("truncated_file" if fmt == "csv.gz" else "unreadable_file",
                           f"cannot be read to the end: {exc}") from None


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
    """GB18030/GBK → UTF-8 copy for DuckDB (its ``encodings`` extension cannot be installed),
    streaming; a line that does not decode keeps its bytes and fails in DuckDB's reader."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    out = tmp_dir / f"{os.getpid()}-{path.name}.utf8.csv"
    try:
        with _open_binary(path, fmt) as fh:
            enc.transcode(fh, out, encoding)
    except (enc.EncodingFault, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        out.unlink(missing_ok=True)
        raise FileRejected("truncated_file" if fmt == "csv.gz" else "unreadable_file",
                           f"cannot be read to the end: {exc}") from None
    return out
