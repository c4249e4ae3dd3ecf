"""A landed file and what comes of it: its record (``LandedFile``: path, source, business date,
sequence, format, or why it is not read), the result records of a file and a source, the
whole-file rejection (``FileRejected``), and how a landed file is opened (``open_regular``: a
regular file only, never through a link, never blocking on a pipe)."""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any


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
    # the source profile that reads it (kaohe.ingest.profiles.Profile), None for a file in the
    # contract's own format
    profile: Any = None
    # ``name@hash`` of that profile (the file registry's ``profile``), None without
    profile_id: str | None = None

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


def _os_error(exc: OSError) -> str:
    """An OSError without the path (the registry names the file already)."""
    return exc.strerror or type(exc).__name__


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

