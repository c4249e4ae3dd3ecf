"""The landing folder is a boundary (issue 19.9): a symbolic link that leaves it is not followed,
a named pipe never blocks the run, a folder named like a file and a dangling link are reported
(registry and quarantine rows with a clear reason), never silently ignored; the good files of
the same folder load, and rows read = loaded + rejected for every file."""

from __future__ import annotations

import builtins
import io
import os
import threading

import pytest

from kaohe.ingest.contract import load_contract
from kaohe.ingest.ingestor import Ingestor, discover

CALL = "{id},C1,A1,2026-08-03 09:00:00,35,busy,,,R1"


def calls(*ids: str) -> list[str]:
    return [CALL.format(id=i) for i in ids]


def reported(landing) -> list[tuple]:
    """(path, status, reason code, reason) of every file that did not load."""
    return landing.query(
        "select f.path, f.status, q.reason_code, q.reason from audit.file_registry f "
        "join audit.quarantine q using (file_id) where q.line is null order by f.path")


def call_ids(landing) -> set[str]:
    return {r[0] for r in landing.query("select call_id from staging.calls")}


def assert_reconciles(landing) -> None:
    assert landing.query("select path from audit.file_registry "
                         "where rows_read <> rows_loaded + rows_rejected") == []


def ingest_within(landing, seconds: float = 120) -> None:
    """Ingest on a thread: a read that blocks (a pipe opened for reading) fails the test
    instead of hanging it."""
    errors: list[BaseException] = []

    def work() -> None:
        try:
            landing.ingest()
        except BaseException as exc:  # re-raised below, in the test's thread
            errors.append(exc)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the ingestion blocked"
    if errors:
        raise errors[0]


def test_a_link_leaving_the_landing_folder_is_not_followed(landing, tmp_path):
    landing.write("calls", "calls_20260803.csv", calls("K1"))
    outside = tmp_path / "elsewhere.csv"
    outside.write_text(landing.write("calls", "x.tmp", calls("SECRET")).read_text())
    (landing.root / "calls" / "x.tmp").unlink()
    os.symlink(outside, landing.root / "calls" / "calls_20260804.csv")
    os.symlink("/proc/self/mem", landing.root / "calls" / "calls_20260805.csv")
    ingest_within(landing)
    assert call_ids(landing) == {"K1"}
    rows = reported(landing)
    assert [r[:3] for r in rows] == [
        ("calls/calls_20260804.csv", "rejected", "outside_landing"),
        ("calls/calls_20260805.csv", "rejected", "outside_landing")]
    assert rows[1][3] == ("a symbolic link to /proc/self/mem, outside the landing folder: "
                          "not followed")
    # never hashed either: the registry has no sha256 for them
    assert landing.query("select count(*) from audit.file_registry where sha256 is null") == [
        (2,)]
    assert_reconciles(landing)


def test_a_link_inside_the_landing_folder_is_followed(landing):
    target = landing.write("calls", "calls_20260803.csv", calls("K1"))
    (landing.root / "archive").mkdir()
    moved = landing.root / "archive" / "calls_20260804.csv"
    moved.write_text(target.read_text().replace("K1", "K2"))
    os.symlink(moved, landing.root / "calls" / "calls_20260804.csv")
    landing.ingest()
    assert call_ids(landing) == {"K1", "K2"}
    assert reported(landing) == []


def test_a_named_pipe_never_blocks_the_run(landing):
    landing.write("calls", "calls_20260803.csv", calls("K1"))
    os.mkfifo(landing.root / "calls" / "calls_20260804.csv")
    ingest_within(landing)
    assert reported(landing) == [("calls/calls_20260804.csv", "rejected", "not_a_file",
                                  "a named pipe (FIFO), not a file: not read")]
    assert call_ids(landing) == {"K1"}
    ingest_within(landing)  # the next run neither blocks nor reports it twice
    assert len(reported(landing)) == 1
    assert_reconciles(landing)


def test_a_pipe_swapped_in_after_the_listing_is_refused_not_opened(landing):
    path = landing.write("calls", "calls_20260804.csv", calls("K2"))
    files = discover(landing.root)["calls"]
    path.unlink()
    os.mkfifo(path)
    done = threading.Event()

    def work() -> None:
        with landing.warehouse.writer() as con:
            Ingestor(con, landing.root, landing.warehouse.paths.tmp).ingest_source(
                load_contract()["calls"], files)
        done.set()

    threading.Thread(target=work, daemon=True).start()
    assert done.wait(120), "the ingestion blocked on a pipe"
    assert landing.query("select status, message from audit.file_registry") == [
        ("rejected", "unreadable_file: cannot be read: not a regular file")]


def test_a_folder_named_like_a_file_and_a_dangling_link_are_reported(landing):
    landing.write("calls", "calls_20260803.csv", calls("K1"))
    (landing.root / "calls" / "calls_20260804.csv").mkdir()
    (landing.root / "calls" / "2026-08").mkdir()  # files delivered one level too deep
    os.symlink(landing.root / "calls" / "gone.csv", landing.root / "calls" / "calls_20260805.csv")
    landing.ingest()
    rows = reported(landing)
    assert [r[:3] for r in rows] == [
        ("calls/2026-08", "rejected", "not_a_file"),
        ("calls/calls_20260804.csv", "rejected", "not_a_file"),
        ("calls/calls_20260805.csv", "rejected", "not_a_file")]
    assert "a folder inside the source folder" in rows[0][3]
    assert "dangling" in rows[2][3]
    assert call_ids(landing) == {"K1"}
    # the business date of a well-named entry is kept: it shows on its month's pages
    assert landing.query("select path, business_date::varchar from audit.file_registry "
                         "where status = 'rejected' order by path") == [
        ("calls/2026-08", None), ("calls/calls_20260804.csv", "2026-08-04"),
        ("calls/calls_20260805.csv", "2026-08-05")]
    assert_reconciles(landing)


def test_a_source_folder_linked_outside_the_landing_folder_is_not_followed(landing, tmp_path):
    landing.write("calls", "calls_20260803.csv", calls("K1"))
    elsewhere = tmp_path / "repayments-elsewhere"
    elsewhere.mkdir()
    (elsewhere / "repayments_20260803.csv").write_text("payment_id\n")
    os.symlink(elsewhere, landing.root / "repayments")
    landing.ingest()
    assert [r[:3] for r in reported(landing)] == [
        ("repayments", "rejected", "outside_landing")]
    assert call_ids(landing) == {"K1"}


def test_a_file_replaced_by_a_link_outside_keeps_its_loaded_version(landing, tmp_path):
    path = landing.write("calls", "calls_20260803.csv", calls("K1", "K2"))
    landing.ingest()
    path.unlink()
    os.symlink("/etc/passwd", path)
    landing.ingest()
    assert call_ids(landing) == {"K1", "K2"}
    assert [r[1] for r in landing.query(
        "select path, status from audit.file_registry order by file_id")] == [
        "loaded", "rejected"]


@pytest.mark.parametrize("kind", ["fifo", "dangling", "folder"])
def test_nothing_about_the_entry_reaches_the_staging(landing, kind):
    entry = landing.root / "calls" / "calls_20260804.csv"
    entry.parent.mkdir(parents=True)
    {"fifo": lambda: os.mkfifo(entry), "dangling": lambda: os.symlink("/nonexistent", entry),
     "folder": entry.mkdir}[kind]()
    ingest_within(landing)
    assert landing.query("select count(*) from raw.calls") == [(0,)]
    assert [r[2] for r in reported(landing)] == [
        "outside_landing" if kind == "dangling" else "not_a_file"]


class Touched:
    """Every path under ``watched`` that ``os.open``, ``os.stat``, ``os.lstat`` or ``open`` is
    asked about while the spy is on (``os.path.realpath`` and ``Path.stat`` go through them;
    hashing and sniffing open through ``os.open``)."""

    def __init__(self, monkeypatch, *watched: str):
        self.watched, self.paths = watched, []
        for module, name in ((os, "open"), (os, "stat"), (os, "lstat"), (builtins, "open"),
                             (io, "open")):
            monkeypatch.setattr(module, name, self._spy(getattr(module, name)))

    def _spy(self, real):
        def spy(path, *args, **kwargs):
            if isinstance(path, (str, os.PathLike)) and str(path).startswith(self.watched):
                self.paths.append(str(path))
            return real(path, *args, **kwargs)

        return spy


def outside_csv(tmp_path, landing, name: str = "secret.csv"):
    """A calls file outside the landing folder, good enough to load (its one call: SECRET)."""
    folder = tmp_path / "outside"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(landing.write("calls", "x.tmp", calls("SECRET")).read_text())
    (landing.root / "calls" / "x.tmp").unlink()
    return path


def test_a_link_out_of_the_landing_is_refused_before_its_target_is_touched(landing, tmp_path,
                                                                          monkeypatch):
    """outside_landing is decided from the link's text, a component at a time, inside the
    landing folder: its target is never opened or hashed, nor even stat'ed (a link to
    /proc/self/environ, which holds KAOHE_PII_KEY; to a pipe outside, which would block a
    read; to a readable CSV outside, by a relative path climbing out)."""
    landing.write("calls", "calls_20260803.csv", calls("K1"))
    secret = outside_csv(tmp_path, landing)
    fifo = tmp_path / "outside" / "fifo"
    os.mkfifo(fifo)
    calls_dir = landing.root / "calls"
    os.symlink("/proc/self/environ", calls_dir / "calls_20260804.csv")
    os.symlink(fifo, calls_dir / "calls_20260805.csv")
    os.symlink("../../outside/secret.csv", calls_dir / "calls_20260806.csv")
    # out and back in again: left the folder, refused all the same
    os.symlink("../../landing/calls/calls_20260803.csv", calls_dir / "calls_20260807.csv")
    touched = Touched(monkeypatch, str(tmp_path / "outside"), "/proc")
    ingest_within(landing)
    monkeypatch.undo()
    assert touched.paths == []
    assert secret.exists() and call_ids(landing) == {"K1"}
    rows = reported(landing)
    assert [r[:3] for r in rows] == [
        (f"calls/calls_2026080{day}.csv", "rejected", "outside_landing") for day in (4, 5, 6, 7)]
    assert rows[0][3] == ("a symbolic link to /proc/self/environ, outside the landing folder: "
                          "not followed")
    assert landing.query("select count(*) from audit.file_registry where sha256 is null") == [
        (4,)]
    assert_reconciles(landing)


def test_a_file_swapped_for_a_link_after_the_listing_is_not_followed(landing, tmp_path):
    """What was listed as a regular file is opened without following a link: a link put in its
    place since (to a CSV outside, here) is refused, not hashed and not read."""
    landing.write("calls", "calls_20260803.csv", calls("K1"))
    path = landing.write("calls", "calls_20260804.csv", calls("K2"))
    files = discover(landing.root)["calls"]
    path.unlink()
    os.symlink(outside_csv(tmp_path, landing), path)
    with landing.warehouse.writer() as con:
        Ingestor(con, landing.root, landing.warehouse.paths.tmp).ingest_source(
            load_contract()["calls"], files)
    assert call_ids(landing) == {"K1"}
    assert landing.query("select path, status, sha256, message from audit.file_registry "
                         "where status = 'rejected'") == [
        ("calls/calls_20260804.csv", "rejected", None,
         "unreadable_file: cannot be read: a symbolic link since it was listed: not followed")]
    assert landing.query("select count(*) from raw.calls where call_id = 'SECRET'") == [(0,)]


def test_a_link_inside_is_read_where_it_pointed_when_listed(landing, tmp_path):
    """A link inside the landing folder is resolved once, when listed: pointed elsewhere
    afterwards, it is the file it pointed to that is read, never the new target."""
    (landing.root / "archive").mkdir(parents=True)
    moved = landing.root / "archive" / "calls_20260804.csv"
    moved.write_text(landing.write("calls", "calls_20260803.csv", calls("K2")).read_text())
    (landing.root / "calls" / "calls_20260803.csv").unlink()
    link = landing.root / "calls" / "calls_20260804.csv"
    os.symlink("../archive/calls_20260804.csv", link)
    files = discover(landing.root)["calls"]
    assert [f.path for f in files] == [moved]
    link.unlink()
    os.symlink(outside_csv(tmp_path, landing), link)
    with landing.warehouse.writer() as con:
        Ingestor(con, landing.root, landing.warehouse.paths.tmp).ingest_source(
            load_contract()["calls"], files)
    assert call_ids(landing) == {"K2"}
