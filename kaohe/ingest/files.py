"""The landed files before any SQL: the hash of a landed file (``sha256_file``, and the size and
ctime that say when it must be hashed again); and, re-exported from where they live, naming and
discovery (``kaohe.ingest.discovery``), the bytes of a CSV (encoding, header) checked against the
contract (``kaohe.ingest.sniffing``), the result records of a file and a source
(``kaohe.ingest.landed``).

``_try_hash`` looks ``sha256_file`` up in this module, which is where a test patches it."""

from __future__ import annotations

import hashlib
from pathlib import Path

from kaohe.ingest.discovery import discover
from kaohe.ingest.landed import (
    FileRejected,
    FileResult,
    LandedFile,
    SourceResult,
    _os_error,
    open_regular,
)
from kaohe.ingest.sniffing import (
    SAMPLE_BYTES,
    UTF8_BOM,
    Sniffed,
    _decodes,
    analyse_encoding,
    check_header,
    check_names,
    normalize_header,
    sniff,
    sniff_csv,
    transcode_to_utf8,
)

__all__ = [
    "SAMPLE_BYTES", "UTF8_BOM", "FileRejected", "FileResult", "LandedFile", "Sniffed",
    "SourceResult", "_decodes", "_file_stat", "_os_error", "_try_hash", "analyse_encoding",
    "check_header", "check_names", "discover", "normalize_header", "open_regular",
    "sha256_file", "sniff", "sniff_csv", "transcode_to_utf8",
]


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


def _try_hash(path: Path) -> str | OSError:
    """The file's sha256, or the OSError reading it raised (unreadable files are quarantined)."""
    try:
        return sha256_file(path)
    except OSError as exc:
        return exc


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open_regular(path) as fh:
        while chunk := fh.read(8 << 20):
            digest.update(chunk)
    return digest.hexdigest()
