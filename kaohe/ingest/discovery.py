"""Naming and discovery of the landed files: the files under ``<landing>/<source>/`` in
delivery order, their business date, sequence and format read from the name, and the landing
folder as a boundary (an entry that is not a regular file inside it is reported, never opened or
followed; a link is resolved inside the folder without touching anything outside it)."""

from __future__ import annotations

import errno
import logging
import os
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from kaohe.ingest.contract import FILE_NAME, load_contract
from kaohe.ingest.landed import LandedFile, _os_error
from kaohe.ingest.profiles import (
    FOLDER_PROFILE,
    Profile,
    ProfileError,
    fingerprint,
    load_profile,
    match_file,
    resolve,
)

log = logging.getLogger("kaohe")


def discover(landing: Path, profiles: dict[str, Path | str] | None = None,
             base: Path | None = None) -> dict[str, list[LandedFile]]:
    """Files under ``<landing>/<source>/``, per known source, in delivery order.

    A source folder read through a source profile (``kaohe.ingest.profiles``): the folder's own
    ``profile.yaml``, else ``profiles[source]`` (the configuration's ``ingest.profiles``: a
    shipped profile's name or a file, relative to ``base``). Its files are named by the
    profile's pattern; a profile that cannot be used leaves every file of its folder with the
    ``bad_profile`` problem (quarantined whole, read again once the profile is corrected).

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
        profile, broken = _profile_of(folder, root, (profiles or {}).get(folder.name), base)
        for path in sorted(folder.iterdir()):
            if path.name.startswith(".") or path.name == FOLDER_PROFILE:
                continue  # editors' and copy tools' temporary files; the folder's profile
            problem, real = _entry_problem(path, root, (folder.name, path.name))
            if profile is not None or broken is not None:
                found[folder.name].append(_profiled(path, landing, folder.name,
                                                    problem or broken, real, profile))
            else:
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


def _profile_of(folder: Path, root: _Root, configured: Path | str | None, base: Path | None
                ) -> tuple[Profile | None, tuple[str, str] | None]:
    """(the profile that reads the folder's files, or the problem that it cannot be used)."""
    beside = folder / FOLDER_PROFILE
    try:
        if beside.exists() or beside.is_symlink():
            problem, real = _entry_problem(beside, root, (folder.name, FOLDER_PROFILE))
            if problem:
                return None, ("bad_profile", f"{folder.name}/{FOLDER_PROFILE}: {problem[1]}")
            return load_profile(real or beside), None
        if configured is None:
            return None, None
        return load_profile(resolve(configured, base)), None
    except ProfileError as exc:
        log.error("source profile for %s cannot be used: %s", folder.name, exc)
        return None, ("bad_profile", f"the source profile cannot be used: {exc}")


def _profiled(path: Path, landing: Path, source: str, problem: tuple[str, str] | None,
              real: Path | None, profile: Profile | None) -> LandedFile:
    """A file of a folder read through ``profile``: named by the profile's pattern."""
    rel = path.relative_to(landing).as_posix()
    read = real if real is not None and problem is None else path
    if profile is not None and profile.source != source:
        problem = problem or ("bad_profile", f"the profile {profile.profile} is for "
                              f"{profile.source}, not {source}")
    named = match_file(profile, path.name) if profile is not None else None
    if named is None:
        if problem is None and profile is not None:
            problem = ("bad_file_name", f"file name does not follow the profile "
                       f"{profile.profile}'s pattern {profile.files!r}")
        return LandedFile(read, rel, source, None, 0, None, problem, profile,
                          fingerprint(profile) if profile is not None else None)
    day, seq, fmt = named
    return LandedFile(read, rel, source, day, seq, fmt, problem, profile, fingerprint(profile))


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
