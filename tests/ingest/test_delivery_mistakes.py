"""Delivery mistakes are caught, not silently applied (issue 19.7): a broken correction keeps
the good version, two files of one date and sequence that disagree are flagged, the same content
under a second name is not loaded twice, a mostly-bad file is rejected whole with one reason, and
records dated far from their file's date are quarantined. Every test also checks that nothing
good was lost: rows read = loaded + rejected for every file."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from kaohe.ingest.contract import load_contract
from kaohe.ingest.ingestor import Ingestor, discover, ingest_options
from kaohe.quality import run_checks

CALL = "{id},C1,A1,{day} 09:00:00,35,busy,,,R1"
NO_START = "call_id,case_id,agent_id,duration_s,outcome,ptp_amount,ptp_due_date,recording_id"


def calls(*ids: str, day: str = "2026-09-17") -> list[str]:
    return [CALL.format(id=i, day=day) for i in ids]


def call_ids(landing) -> set[str]:
    return {r[0] for r in landing.query("select call_id from staging.calls")}


def registry(landing) -> list[tuple]:
    return landing.query("select path, status, rows_read, rows_loaded, rows_rejected, message "
                         "from audit.file_registry order by file_id")


def assert_reconciles(landing) -> None:
    """Rows read = loaded + rejected per file; the quarantine holds each rejected row once; raw
    holds each loaded row of every current version."""
    for path, status, read, loaded, rejected, _ in registry(landing):
        assert read == loaded + rejected, path
        if status == "loaded":
            rows = landing.query("select count(*) from raw.calls where _file = ?", [path])
            quarantined = landing.query("select count(*) from audit.quarantine where file = ? "
                                        "and line is not null", [path])
            assert (rows[0][0], quarantined[0][0]) == (loaded, rejected), path


def ingest(landing, **options) -> dict:
    with landing.warehouse.writer() as con:
        ingestor = Ingestor(con, landing.root, landing.warehouse.paths.tmp, **options)
        return {name: ingestor.ingest_source(load_contract()[name], files)
                for name, files in discover(landing.root).items() if files}


def warnings(landing, month: str = "2026-09") -> list[str]:
    with landing.warehouse.writer() as con:
        [result] = [r for r in run_checks(con, month, ["audit.file_registry"])
                    if r.check == "file_warnings"]
    assert result.severity == "warning"
    return result.sample


# --- (a) a broken correction does not erase the good version ---------------------------------

def test_a_rejected_redelivery_keeps_the_earlier_version(landing):
    landing.write("calls", "calls_20260917.csv", calls("K1", "K2", "K3"))
    landing.ingest()
    # the "corrected" file under the same name lacks a required column: rejected whole
    landing.write("calls", "calls_20260917.csv", ["K1,C1,A1,35,busy,,,R1"], header=NO_START)
    result = landing.ingest()["calls"]
    assert result.count("rejected") == 1
    assert call_ids(landing) == {"K1", "K2", "K3"}  # the good rows are still there
    [(_, s1, *_), (_, s2, _, _, _, message)] = registry(landing)
    assert (s1, s2) == ("loaded", "rejected")
    assert message.startswith("missing_column: missing required column(s): started_at")
    assert "file_id 1, stays loaded" in message
    assert landing.ingest()["calls"].count("unchanged") == 1  # the broken file again: no-op
    # a real correction replaces both
    landing.write("calls", "calls_20260917.csv", calls("K1", "K4"))
    landing.ingest()
    assert call_ids(landing) == {"K1", "K4"}
    assert [r[1] for r in registry(landing)] == ["replaced", "replaced", "loaded"]
    assert landing.query("select count(*) from audit.quarantine") == [(0,)]
    assert_reconciles(landing)


def test_the_good_version_put_back_after_a_broken_one_is_current_again(landing):
    good = landing.write("calls", "calls_20260917.csv", calls("K1", "K2")).read_bytes()
    landing.ingest()
    landing.write("calls", "calls_20260917.csv", ["K1,C1,A1,35,busy,,,R1"], header=NO_START)
    landing.ingest()
    (landing.root / "calls" / "calls_20260917.csv").write_bytes(good)
    assert landing.ingest()["calls"].count("unchanged") == 1
    assert call_ids(landing) == {"K1", "K2"}
    assert [r[1] for r in registry(landing)] == ["loaded", "replaced"]
    assert landing.query("select count(*) from audit.quarantine") == [(0,)]
    assert landing.ingest()["calls"].count("unchanged") == 1


def test_a_redelivery_too_broken_to_load_keeps_the_earlier_version(landing):
    landing.write("calls", "calls_20260917.csv", calls(*[f"K{i}" for i in range(150)]))
    landing.ingest()
    bad = calls(*[f"K{i}" for i in range(150)], day="2099-01-01")  # every date far off
    landing.write("calls", "calls_20260917.csv", bad)
    landing.ingest()
    assert len(call_ids(landing)) == 150
    assert [r[1:5] for r in registry(landing)] == [("loaded", 150, 150, 0),
                                                    ("rejected", 150, 0, 150)]
    assert_reconciles(landing)


# --- (b) two files of one date and sequence that disagree ------------------------------------

def test_the_same_key_with_other_values_in_two_files_of_one_date_is_flagged(landing):
    landing.write("calls", "calls_20260917.csv", calls("K1", "K2", "K3"))
    other = calls("K2", "K3", "K9")
    other[0] = other[0].replace(",35,", ",99,")  # K2 lasted 99 seconds in this export
    landing.write("calls", "calls_20260917.csv.gz", other)
    landing.ingest()
    [(_, s1, *_), (_, s2, read, loaded, rejected, message)] = registry(landing)
    assert (s1, s2, read, loaded, rejected) == ("loaded", "loaded", 3, 3, 0)
    assert message == ("conflicting_delivery: 1 key(s) also in calls/calls_20260917.csv "
                       "(file_id 1: the same date and sequence) with other values; staging "
                       "takes this file, the later arrival: K2 (line 2 / 3)")
    assert call_ids(landing) == {"K1", "K2", "K3", "K9"}
    assert landing.query("select duration_s from staging.calls where call_id = 'K2'") == [(99,)]
    assert warnings(landing) == [f"calls/calls_20260917.csv.gz: {message}"]
    assert_reconciles(landing)


def test_the_same_records_plain_and_compressed_are_a_duplicate(landing):
    landing.write("calls", "calls_20260917.csv", calls("K1", "K2"))
    landing.write("calls", "calls_20260917.csv.gz", calls("K1", "K2"))
    result = landing.ingest()["calls"]
    assert (result.count("loaded"), result.count("duplicate")) == (1, 1)
    [_, (path, status, read, loaded, rejected, message)] = registry(landing)
    assert (path, status, read, loaded, rejected) == (
        "calls/calls_20260917.csv.gz", "duplicate", 0, 0, 0)
    assert message.startswith("duplicate_file: the same records, in other bytes, as "
                              "calls/calls_20260917.csv")
    assert landing.query("select count(*) from raw.calls") == [(2,)]


# --- (c) the same content under a second name -------------------------------------------------

def test_the_same_content_under_another_name_is_reported_not_loaded_twice(landing):
    first = landing.write("calls", "calls_20260917.csv", calls("K1", "K2") + ["bad"])
    (landing.root / "calls" / "calls_20260918.csv").write_bytes(first.read_bytes())
    results = landing.ingest()["calls"]
    assert [f.status for f in results.files] == ["loaded", "duplicate"]
    assert landing.query("select count(*) from raw.calls") == [(2,)]
    assert landing.query("select count(*) from audit.quarantine") == [(1,)]  # once
    [_, (_, _, _, _, _, message)] = registry(landing)
    assert message == ("duplicate_file: the same content (sha256) as calls/calls_20260917.csv, "
                       "file_id 1: not loaded twice")
    assert warnings(landing) == [f"calls/calls_20260918.csv: {message}"]
    assert landing.ingest()["calls"].count("unchanged") == 2  # and not again next time
    assert_reconciles(landing)


def test_an_unchanged_roster_on_the_next_day_is_the_next_days_snapshot(landing):
    agent = "A1,王芳,T01,催收一组,m@x.cn,深圳,L1,2025-01-01,in_house,,3000.00,active,a@x.cn"
    first = landing.write("agents", "agents_20260901.csv", [agent])
    (landing.root / "agents" / "agents_20260902.csv").write_bytes(first.read_bytes())
    landing.ingest()
    assert landing.query("select snapshot_date::varchar from staging.agents order by 1") == [
        ("2026-09-01",), ("2026-09-02",)]


# --- (d) a file mostly wrong is rejected whole, with one reason -------------------------------

def test_a_file_over_the_rejected_share_is_rejected_whole_with_one_reason(landing):
    rows = calls(*[f"K{i}" for i in range(150)])
    rows += [f"B{i},C1,A1,2026-09-17 25:00:00,35,busy,,,R1" for i in range(50)]  # 25% bad
    landing.write("calls", "calls_20260917.csv", rows)
    landing.write("calls", "calls_20260918.csv", calls("OK", day="2026-09-18"))
    landing.ingest()
    # (the file rejected whole is registered after the day it does not stop: read alone, after
    # the batch of the source's ordinary files)
    [(path, status, read, loaded, rejected, message)] = [
        r for r in registry(landing) if r[0] == "calls/calls_20260917.csv"]
    assert (status, read, loaded, rejected) == ("rejected", 200, 0, 200)
    assert message.startswith("too_many_rejected: 50 of its 200 records (25.0%) break the "
                              "contract, more than ingest.max_rejected_share (20%)")
    assert "bad_type (started_at) 50" in message
    assert landing.query("select file, line, reason_code from audit.quarantine") == [
        (path, None, "too_many_rejected")]
    assert call_ids(landing) == {"OK"}
    assert_reconciles(landing)


def test_a_file_under_the_share_loads_its_good_rows(landing):
    rows = calls(*[f"K{i}" for i in range(180)])
    rows += [f"B{i},C1,A1,2026-09-17 25:00:00,35,busy,,,R1" for i in range(20)]  # 10% bad
    landing.write("calls", "calls_20260917.csv", rows)
    landing.ingest()
    assert [r[1:5] for r in registry(landing)] == [("loaded", 200, 180, 20)]
    assert landing.query("select count(*) from audit.quarantine") == [(20,)]
    assert_reconciles(landing)


def test_the_share_is_configurable_and_small_files_are_never_rejected_for_it(landing):
    rows = calls(*[f"K{i}" for i in range(150)])
    rows += [f"B{i},C1,A1,2026-09-17 25:00:00,35,busy,,,R1" for i in range(50)]
    landing.write("calls", "calls_20260917.csv", rows)
    landing.write("calls", "calls_20260918.csv",  # 1 bad of 3: too few records to judge
                  calls("S1", "S2", day="2026-09-18") + ["B9,C1,A1,x,35,busy,,,R1"])
    class Cfg:
        ingest = {"max_rejected_share": 0.5}

    ingest(landing, **ingest_options(Cfg()))
    assert [r[1:5] for r in registry(landing)] == [("loaded", 200, 150, 50),
                                                    ("loaded", 3, 2, 1)]
    assert_reconciles(landing)


@pytest.mark.parametrize(("cfg", "expected"), [
    (None, {"max_rejected_share": 0.2, "window_days": (45, 7)}),
    ({"max_rejected_share": 0.05, "record_date_window_days": {"before": 10}},
     {"max_rejected_share": 0.05, "window_days": (10, 7)}),
])
def test_ingest_options_read_the_configuration_defensively(cfg, expected):
    class Cfg:  # a configuration without, or with, an ingest section
        ingest = cfg

    assert ingest_options(Cfg()) == expected
    assert ingest_options(object()) == {"max_rejected_share": 0.2, "window_days": (45, 7)}


def test_the_configuration_file_reaches_the_ingestor():
    from kaohe.config import load_config

    options = ingest_options(load_config())
    assert options["max_rejected_share"] == pytest.approx(0.2)
    assert options["window_days"] == (45, 7)


# --- (e) records dated far from their file's date ---------------------------------------------

def test_a_call_of_2099_in_a_file_of_2026_is_quarantined(landing):
    landing.write("calls", "calls_20260915.csv",
                  calls("K1", "K2", day="2026-09-15") + calls("K3", day="2099-01-01")
                  + calls("K4", day="2026-09-22")  # 7 days after: inside the window
                  + calls("K5", day="2026-09-23")  # 8 days after
                  + calls("K6", day="2026-07-31")  # 46 days before: calls come once
                  + calls("K7", day="2026-08-01"))  # 45 days before: inside
    landing.ingest()
    got = landing.query("select line, reason_code, reason from audit.quarantine order by line")
    assert [r[:2] for r in got] == [(4, "out_of_window"), (6, "out_of_window"),
                                    (7, "out_of_window")]
    assert got[0][2] == ("out_of_window: started_at 2099-01-01 09:00:00 is after its file's "
                         "date: the window of the file's date 2026-09-15 is 2026-08-01 to "
                         "2026-09-22")
    assert call_ids(landing) == {"K1", "K2", "K4", "K7"}
    assert_reconciles(landing)


def test_calls_of_2026_in_a_file_named_2020_are_rejected_with_the_reason(landing):
    landing.write("calls", "calls_20200105_07.csv",
                  calls(*[f"K{i}" for i in range(120)], day="2026-09-15"))
    landing.ingest()
    [(_, status, read, loaded, rejected, message)] = registry(landing)
    assert (status, read, loaded, rejected) == ("rejected", 120, 0, 120)
    assert "out_of_window (started_at) 120" in message


def test_records_that_change_later_are_only_checked_for_the_future(landing):
    """An assignment re-delivered on release carries its old assigned_at: not quarantined."""
    old = (date(2026, 9, 15) - timedelta(days=120)).isoformat()
    landing.write("assignments", "assignments_20260915.csv", [
        f"S1,C1,A1,{old} 09:00:00,2026-09-15 02:00:00,30,100.00",
        "S2,C1,A1,2026-09-15 09:00:00,2099-09-15 02:00:00,30,100.00"])
    landing.ingest()
    assert landing.query("select line, reason_code from audit.quarantine") == [
        (3, "out_of_window")]
    assert landing.query("select assignment_id from staging.assignments") == [("S1",)]


def test_the_window_is_configurable(landing):
    landing.write("calls", "calls_20260915.csv", calls("K1", day="2026-05-01"))
    ingest(landing, window_days=(200, 7))
    assert call_ids(landing) == {"K1"}


# --- (f) two exports concatenated into one file -----------------------------------------------

def concatenated(landing, name: str, *exports: list[str], bom: bool = False) -> bytes:
    """The bytes of ``exports`` written each as a file of its own, then concatenated, as `cat`
    does (a gzip of several members for ``.gz``): the header comes again in the middle."""
    parts = [landing.write("calls", name, rows, bom=bom).read_bytes() for rows in exports]
    data = b"".join(parts)
    (landing.root / "calls" / name).write_bytes(data)
    return data


def ingest_spying_batches(landing, monkeypatch, *, batches: bool) -> list[tuple]:
    """Ingest, with the batch path (``batches``) or every file alone; (source, files in a
    batch, files it loaded) of each batch."""
    from kaohe.ingest.batch import Batch

    used: list[tuple] = []
    original = Batch.ingest_batch

    def spy(self, src, members):
        out = original(self, src, members)
        used.append((src.name, len(members), len(out)))
        return out

    with monkeypatch.context() as m:
        m.setattr(Batch, "ingest_batch", spy)
        if not batches:
            m.setattr(Batch, "batches", lambda self, src, todo, hashes: [])
        landing.ingest()
    return used


@pytest.mark.parametrize("variant", ["batch", "alone", "bom", "gzip"])
def test_a_file_holding_an_export_twice_loads_it_once_and_says_so(landing, monkeypatch,
                                                                 variant):
    """repeated_header and duplicate_row: the header line repeated is skipped, a line that
    repeats an earlier one exactly is dropped, each quarantined with its reason and neither
    counted toward ingest.max_rejected_share; the file loads, with a warning. The same in a
    batch of ordinary files (the file leaves the batch for the single file's path) and alone."""
    rows = calls(*[f"K{i:02d}" for i in range(50)])
    name = "calls_20260917.csv" + (".gz" if variant == "gzip" else "")
    concatenated(landing, name, rows, rows, bom=variant == "bom")
    landing.write("calls", "calls_20260916.csv", calls("D16", day="2026-09-16"))
    landing.write("calls", "calls_20260918.csv", calls("D18", day="2026-09-18"))
    used = ingest_spying_batches(landing, monkeypatch, batches=variant != "alone")
    if variant == "batch":
        assert used == [("calls", 3, 2)]  # the other two days load in the batch
    elif variant == "gzip":
        assert used == [("calls", 2, 2), ("calls", 1, 0)]  # a batch per format
    elif variant == "bom":
        assert used == [("calls", 2, 2)]  # a byte-order mark: never in a batch
    else:
        assert used == []
    got = {r[0]: r[1:] for r in registry(landing)}
    read, loaded, rejected, message = got[f"calls/{name}"][1:]
    assert got[f"calls/{name}"][0] == "loaded"
    assert (read, loaded, rejected) == (101, 50, 51)  # read = loaded + rejected
    assert call_ids(landing) == {f"K{i:02d}" for i in range(50)} | {"D16", "D18"}
    assert landing.query("select min(_line), max(_line) from staging.calls "
                         "where call_id like 'K%'") == [(2, 51)]  # the first copy
    quarantined = landing.query("select line, reason_code, reason from audit.quarantine "
                                "where file = ? order by line", [f"calls/{name}"])
    assert [r[:2] for r in quarantined] == [(52, "repeated_header")] + [
        (line, "duplicate_row") for line in range(53, 103)]
    assert quarantined[0][2] == ("repeated_header: the header line again (files "
                                 "concatenated?): skipped, not a record")
    assert quarantined[1][2] == ("duplicate_row: an exact copy of an earlier line of the file "
                                 "(key K00): dropped, the earlier line stands for it")
    assert message == (
        "repeated_header: 1 line (52) is the header line again: not loaded, not counted toward "
        "ingest.max_rejected_share (in the quarantine); duplicate_row: 50 lines (53, 54, 55, "
        "...) are each the exact copy of an earlier line (that one loads): not loaded, not "
        "counted toward ingest.max_rejected_share (in the quarantine)")
    assert warnings(landing) == [f"calls/{name}: {message}"]  # on the data-quality page
    assert_reconciles(landing)


@pytest.mark.parametrize("batches", [True, False])
def test_two_different_exports_concatenated_lose_only_the_second_header(landing, monkeypatch,
                                                                        batches):
    """repeated_header without any copy: two days' exports in one file (no duplicate key, so
    only the header sends the file out of its batch)."""
    concatenated(landing, "calls_20260917.csv", calls(*[f"A{i}" for i in range(60)]),
                 calls(*[f"B{i}" for i in range(60)]))
    landing.write("calls", "calls_20260918.csv", calls("D18", day="2026-09-18"))
    used = ingest_spying_batches(landing, monkeypatch, batches=batches)
    assert used == ([("calls", 2, 1)] if batches else [])
    [row] = [r for r in registry(landing) if r[0] == "calls/calls_20260917.csv"]
    assert row[1:5] == ("loaded", 121, 120, 1)
    assert landing.query("select line, reason_code from audit.quarantine") == [
        (62, "repeated_header")]
    assert landing.query("select _line from staging.calls where call_id = 'B0'") == [(63,)]
    assert len(call_ids(landing)) == 121
    assert_reconciles(landing)


def test_a_file_held_twice_is_still_judged_on_its_real_rejects(landing):
    """The copies do not count toward the share, in either direction: 30 bad records of 130
    (23%) reject the file whole, however many times it holds them."""
    rows = calls(*[f"K{i}" for i in range(100)])
    rows += [f"B{i},C1,A1,2026-09-17 25:00:00,35,busy,,,R1" for i in range(30)]
    concatenated(landing, "calls_20260917.csv", rows, rows)
    landing.ingest()
    [(_, status, read, loaded, rejected, message)] = registry(landing)
    assert (status, read, loaded, rejected) == ("rejected", 261, 0, 261)
    assert message.startswith(
        "too_many_rejected: 30 of its 130 records (23.1%) break the contract (not counting "
        "131 line(s) it holds twice), more than ingest.max_rejected_share (20%)")
    assert "bad_type (started_at) 30" in message
    assert call_ids(landing) == set()


def test_the_same_key_with_other_values_is_still_a_duplicate_key(landing):
    """Only an exact copy is dropped as a duplicate_row: the key again with another value is
    the duplicate_key it always was (the first one loads), and counts toward the share."""
    again = calls("K1")[0].replace(",35,", ",36,")
    landing.write("calls", "calls_20260917.csv", calls("K1", "K2") + [again] + calls("K2"))
    landing.ingest()
    assert landing.query("select line, reason_code from audit.quarantine order by line") == [
        (4, "duplicate_key"), (5, "duplicate_row")]
    assert landing.query("select duration_s from staging.calls where call_id = 'K1'") == [(35,)]
    assert_reconciles(landing)


@pytest.mark.parametrize("source", sorted(load_contract()))
def test_a_repeated_header_is_recognised_in_every_source(landing, source):
    """A header line is a bad row in every source (each has a typed column), so looking at the
    bad rows finds it: repeated_header, whatever the source (the case master's PII columns are
    hashed in the read and not compared)."""
    from tests.conftest import HEADERS

    landing.write(source, f"{source}_20260917.csv", [HEADERS[source].upper()])
    landing.ingest()
    assert landing.query("select line, reason_code from audit.quarantine") == [
        (2, "repeated_header")]
    assert landing.query("select rows_read, rows_loaded, rows_rejected from "
                         "audit.file_registry") == [(1, 0, 1)]


# --- (b, again) the same date and sequence whatever the extension, in one run or two ----------

def write_as(landing, name: str, rows: list[str]) -> None:
    """``rows`` of calls in a file ``name``: CSV, gzip or parquet by its extension."""
    if not name.endswith(".parquet"):
        landing.write("calls", name, rows)
        return
    import duckdb

    text = landing.write("calls", "x.tmp", rows)
    duckdb.sql(f"copy (select * from read_csv('{text}', all_varchar = true)) "
               f"to '{landing.root / 'calls' / name}' (format parquet)")
    text.unlink()


@pytest.mark.parametrize(("first", "second", "runs"), [
    ("calls_20260917.csv", "calls_20260917.csv.gz", 2),
    ("calls_20260917.csv.gz", "calls_20260917.csv", 2),  # the compressed one first
    ("calls_20260917.csv", "calls_20260917.parquet", 1),
    ("calls_20260917.parquet", "calls_20260917.csv.gz", 2),
    ("calls_20260917.csv", "calls_20260917_00.csv", 1),  # sequence 00 is no sequence
])
def test_the_same_keys_with_other_values_under_another_extension_are_flagged(
        landing, first, second, runs):
    """conflicting_delivery: two files of the same source, date and sequence, whatever their
    extensions and whichever arrives first, in one run or two (the first one loaded in a batch
    with another day's file): staging takes the later arrival, and says so."""
    write_as(landing, first, calls("K1", "K2"))
    landing.write("calls", "calls_20260916.csv", calls("D16", day="2026-09-16"))
    if runs == 2:
        landing.ingest()
    other = calls("K1", "K2")
    other[1] = other[1].replace(",35,", ",99,")
    write_as(landing, second, other)
    landing.ingest()
    got = {r[0]: r[1:] for r in registry(landing)}
    assert got[f"calls/{first}"][0] == got[f"calls/{second}"][0] == "loaded"
    first_id = landing.query("select file_id from audit.file_registry where path = ?",
                             [f"calls/{first}"])[0][0]
    message = got[f"calls/{second}"][4]
    lines = [2 if name.endswith(".parquet") else 3 for name in (second, first)]  # no header
    assert message == (f"conflicting_delivery: 1 key(s) also in calls/{first} (file_id "
                       f"{first_id}: the same date and sequence) with other values; staging "
                       f"takes this file, the later arrival: K2 (line {lines[0]} / {lines[1]})")
    assert landing.query("select duration_s from staging.calls where call_id = 'K2'") == [(99,)]
    assert warnings(landing) == [f"calls/{second}: {message}"]
    assert_reconciles(landing)
