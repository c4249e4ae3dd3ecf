"""The bytes of a landed CSV before DuckDB reads it: compression, encoding and header, the
header checked against the contract (``sniff``, ``check_header``), the encoding of the whole
file (``analyse_encoding``) and its GB18030/GBK -> UTF-8 copy (``transcode_to_utf8``)."""

from __future__ import annotations

import csv
import gzip
import os
import unicodedata
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kaohe.ingest import encoding as enc
from kaohe.ingest.contract import Source
from kaohe.ingest.landed import FileRejected, _os_error, open_regular
from kaohe.warehouse import LINEAGE_COLUMNS

SAMPLE_BYTES = 1 << 20
UTF8_BOM = b"\xef\xbb\xbf"


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


def sniff(path: Path, fmt: str, delimiter: str = ",", encoding: str | None = None) -> Sniffed:
    """The header and encoding of a CSV file; raises FileRejected when it cannot be read.
    ``encoding``: the encoding the sender declares (a source profile's ``encoding``): taken as
    it is, the file is not analysed."""
    forced = encoding
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
    elif forced is not None:
        encoding = forced
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
        header = [normalize_header(h) for h in next(csv.reader([text], delimiter=delimiter),
                                                     [])]
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


def check_names(header: list[str]) -> None:
    """Every column named, once (a contract file's header, or a vendor's under a profile)."""
    if any(h == "" for h in header):
        raise FileRejected("missing_column", "the header has an empty column name")
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise FileRejected("missing_column", f"duplicate column(s) in header: {', '.join(dupes)}")


def check_header(src: Source, header: list[str]) -> None:
    check_names(header)
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
