"""Many files of a source in one statement (kaohe.ingest.batch) give exactly what reading them one
by one gives: the same raw rows with the same lineage (file, line), the same quarantine rows with
the same lines and reasons, the same registry counts. Each test ingests the same landing twice,
batched and one by one, and compares every table; and checks the batch was really used."""

from __future__ import annotations

import gzip
import os
import re
import shutil
from pathlib import Path

import pytest

from kaohe.ingest.batch import Batch
from tests.conftest import Landing

CALL = "{id},C1,A1,{day} 09:00:00,35,busy,,,R1"

# compared without what only says when or in which order a row was written
TIMES = {"ingested_at", "quarantined_at", "registered_at", "chained_at", "at", "modified_ns",
         "applied_at"}
IDS = {"file_id", "_file_id", "replaced_by"}


def calls(*ids: str, day: str) -> list[str]:
    return [CALL.format(id=i, day=day) for i in ids]


def snapshot(landing: Landing) -> dict[str, list[tuple]]:
    """Every raw, staging and audit table, rows sorted, ids and times left out (a file id
    quoted in a message too: a file read alone is registered after the batch)."""
    out = {}
    with landing.warehouse.writer() as con:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() where schema_name in "
            "('raw', 'audit') union all select schema_name, view_name from duckdb_views() "
            "where schema_name = 'staging'").fetchall()
        for schema, table in tables:
            cols = [c for c, in con.execute(
                "select column_name from duckdb_columns() where schema_name = ? and "
                "table_name = ?", [schema, table]).fetchall() if c not in TIMES | IDS]
            if cols:
                sel = ", ".join(f'"{c}"' for c in cols)
                out[f"{schema}.{table}"] = sorted(
                    (tuple(_same(v) if isinstance(v, str) else v for v in row)
                     for row in con.execute(f"select {sel} from {schema}.{table}").fetchall()),
                    key=repr)
    return out


def _same(text: str) -> str:
    """A message without what differs between the two landings: file ids, the folder."""
    return re.sub(r"/[ab]/landing/", "/landing/", re.sub(r"file_id \d+", "file_id N", text))


def both_ways(tmp_path: Path, build, monkeypatch) -> tuple[Landing, dict, dict]:
    """The landing ``build`` writes, ingested batched and one by one: (batched landing, its
    tables, the one-by-one tables)."""
    batched = Landing(tmp_path / "a" / "landing", tmp_path / "a" / "home")
    build(batched)
    single = Landing(tmp_path / "b" / "landing", tmp_path / "b" / "home")
    shutil.copytree(batched.root, single.root)
    used = []
    original = Batch.ingest_batch

    def spy(self, src, members):
        out = original(self, src, members)
        used.append((src.name, len(members), len(out)))
        return out

    with monkeypatch.context() as m:
        m.setattr(Batch, "ingest_batch", spy)
        batched.ingest()
    with monkeypatch.context() as m:
        m.setattr(Batch, "batches", lambda self, src, todo, hashes: [])
        single.ingest()
    batched.used = used
    return batched, snapshot(batched), snapshot(single)


def test_lines_and_reasons_per_file_as_if_read_alone(tmp_path, monkeypatch):
    def build(landing):
        # three days: bad rows, malformed lines (one, then two in a row) at different places,
        # an extra column, a record outside its own file's window
        landing.write("calls", "calls_20260915.csv",
                      calls("A1", "A2", day="2026-09-15") + ["A3,C1,too,few"]
                      + calls("A4", day="2026-09-15"))
        landing.write("calls", "calls_20260916.csv",
                      ["B0,C1,A1,2026-09-16 25:00:00,35,busy,,,R1"]
                      + calls("B1", day="2026-09-16") + [CALL.format(id="B2", day="2026-09-16") + ",more", "x,y"]
                      + calls("B3", "B4", day="2026-09-16")
                      + calls("B5", day="2026-10-30"))  # after the window of the 16th
        landing.write("calls", "calls_20260917.csv",
                      calls("C1", "C2", day="2026-09-17")
                      + calls("C3", day="2026-10-01"))  # 14 days after the 17th: out of window
        # free text (a phone number to mask) and a bad category, two files of a text source
        landing.write("complaints", "complaints_20260915.csv", [
            "CP1,C1,A1,2026-09-15 10:00:00,hotline,harassment,2,true,called 13812345678 twice,",
            "CP2,C1,A1,2026-09-15 11:00:00,app,rude,1,false,,"])
        landing.write("complaints", "complaints_20260916.csv", [
            "CP3,C1,A1,2026-09-16 10:00:00,app,other,1,false,shouted,"])

    landing, batched, single = both_ways(tmp_path, build, monkeypatch)
    assert ("calls", 3, 3) in landing.used  # the three days in one statement
    assert ("complaints", 2, 2) in landing.used
    assert batched == single
    lines = landing.query("select file, line, reason_code from audit.quarantine order by all")
    assert ("calls/calls_20260915.csv", 4, "malformed_row") in lines
    assert ("calls/calls_20260916.csv", 2, "bad_type") in lines
    assert ("calls/calls_20260916.csv", 4, "malformed_row") in lines
    assert ("calls/calls_20260916.csv", 5, "malformed_row") in lines
    assert ("calls/calls_20260916.csv", 8, "out_of_window") in lines
    assert ("calls/calls_20260917.csv", 4, "out_of_window") in lines
    assert ("complaints/complaints_20260915.csv", 3, "unknown_enum") in lines
    [text] = landing.query("select description from raw.complaints where complaint_id = 'CP1'")
    assert "13812345678" not in text[0]
    good = dict(landing.query("select call_id, _line from raw.calls"))
    assert (good["A4"], good["B1"], good["B3"], good["C2"]) == (5, 3, 6, 3)


def test_a_lenders_gbk_exports_in_the_contracts_format_are_batched_like_utf8(tmp_path,
                                                                            monkeypatch):
    # complaints from a core system that writes GBK (no profile): GB18030 throughout, so the
    # files are decoded to copies and read in one statement, with their own lines and reasons;
    # a UTF-8 file of the same source goes in its own batch
    def build(landing):
        rows = {"15": ["CP1,C1,A1,2026-09-15 10:00:00,hotline,harassment,2,true,催收员辱骂 13812345678,",
                       "CP2,C1,A1,2026-09-15 11:00:00,app,rude,1,false,态度恶劣,"],
                "16": ["CP3,C1,A1,2026-09-16 10:00:00,app,other,1,false,多次来电,",
                       "CP4,C1,A1,2026-09-16 25:00:00,app,other,1,false,时间错误,"],
                "17": ["CP5,C1,A1,2026-09-17 10:00:00,app,other,1,false,utf-8 文本,"]}
        for day, lines in rows.items():
            landing.write("complaints", f"complaints_202609{day}.csv", lines,
                          encoding="utf-8" if day == "17" else "gb18030")

    landing, batched, single = both_ways(tmp_path, build, monkeypatch)
    assert ("complaints", 2, 2) in landing.used  # the two GBK days in one statement
    assert batched == single
    assert dict(landing.query("select path, encoding from audit.file_registry")) == {
        "complaints/complaints_20260915.csv": "gb18030",
        "complaints/complaints_20260916.csv": "gb18030",
        "complaints/complaints_20260917.csv": "utf-8"}
    assert landing.query("select file, line, reason_code from audit.quarantine "
                         "order by all") == [
        ("complaints/complaints_20260915.csv", 3, "unknown_enum"),
        ("complaints/complaints_20260916.csv", 3, "bad_type")]
    [text] = landing.query("select description from raw.complaints where complaint_id = 'CP1'")
    assert text[0].startswith("催收员辱骂") and "13812345678" not in text[0]


def test_a_file_with_a_duplicate_key_or_too_many_bad_rows_is_read_alone(tmp_path, monkeypatch):
    def build(landing):
        again = calls("A1", day="2026-09-15")[0].replace(",35,", ",36,")  # other values
        landing.write("calls", "calls_20260915.csv", calls("A1", "A2", day="2026-09-15") + [again])
        landing.write("calls", "calls_20260916.csv",
                      calls(*[f"K{i}" for i in range(90)], day="2026-09-16")
                      + [f"X{i},C1,A1,2026-09-16 25:00:00,35,busy,,,R1" for i in range(30)])
        landing.write("calls", "calls_20260917.csv", calls("C1", "C2", day="2026-09-17"))

    landing, batched, single = both_ways(tmp_path, build, monkeypatch)
    assert ("calls", 3, 1) in landing.used  # only the 17th stayed in the batch
    assert batched == single
    status = dict(landing.query("select path, status from audit.file_registry"))
    assert status["calls/calls_20260916.csv"] == "rejected"
    assert landing.query("select reason_code, line from audit.quarantine "
                         "where file = 'calls/calls_20260915.csv'") == [("duplicate_key", 4)]


def test_a_broken_gzip_sends_its_batch_one_by_one(tmp_path, monkeypatch):
    def build(landing):
        landing.write("calls", "calls_20260915.csv.gz", calls("A1", "A2", day="2026-09-15"))
        path = landing.write("calls", "calls_20260916.csv.gz",
                             calls(*[f"B{i}" for i in range(60000)], day="2026-09-16"))
        data = path.read_bytes()
        path.write_bytes(data[: len(data) * 3 // 4])  # truncated after its first megabyte
        assert gzip.decompress(landing.root.joinpath(
            "calls", "calls_20260915.csv.gz").read_bytes())

    landing, batched, single = both_ways(tmp_path, build, monkeypatch)
    assert ("calls", 2, 0) in landing.used  # tried together, then each alone
    assert batched == single
    assert dict(landing.query("select path, status from audit.file_registry")) == {
        "calls/calls_20260915.csv.gz": "loaded", "calls/calls_20260916.csv.gz": "rejected"}


@pytest.mark.parametrize("second", ["another name, same content", "same date and sequence"])
def test_files_that_need_the_delivery_rules_are_not_batched(tmp_path, monkeypatch, second):
    def build(landing):
        landing.write("calls", "calls_20260915.csv", calls("A1", day="2026-09-15"))
        if second == "another name, same content":
            landing.write("calls", "calls_20260916.csv", calls("A1", day="2026-09-15"))
        else:
            landing.write("calls", "calls_20260915.csv.gz", calls("A1", day="2026-09-15"))
        landing.write("calls", "calls_20260917.csv", calls("C1", day="2026-09-17"))

    landing, batched, single = both_ways(tmp_path, build, monkeypatch)
    assert batched == single
    statuses = sorted(s for s, in landing.query("select status from audit.file_registry"))
    assert statuses == ["duplicate", "loaded", "loaded"]


def test_a_source_too_big_for_one_batch_goes_in_several(tmp_path, monkeypatch):
    """Batches are capped in bytes (the checked table is held until the transaction ends):
    five files of ~250 bytes under a 600-byte cap make batches of 2, 2 and 1, and the tables
    are those of reading them one by one."""
    monkeypatch.setattr("kaohe.ingest.batch.BATCH_BYTES", 600)

    def build(landing):
        for day in range(15, 20):
            landing.write("calls", f"calls_202609{day}.csv",
                          calls(*[f"{day}-{i}" for i in range(4)], day=f"2026-09-{day}"))

    landing, batched, single = both_ways(tmp_path, build, monkeypatch)
    sizes = [os.path.getsize(p) for p in sorted(landing.root.joinpath("calls").iterdir())]
    assert all(200 < n < 300 for n in sizes), sizes
    assert [(s, n, k) for s, n, k in landing.used if s == "calls"] == [
        ("calls", 2, 2), ("calls", 2, 2), ("calls", 1, 1)]
    assert batched == single
    assert landing.query("select count(*) from raw.calls") == [(20,)]


def test_a_file_holding_lines_twice_leaves_the_batch_with_the_same_result(tmp_path, monkeypatch):
    """repeated_header and duplicate_row: an export concatenated with itself (its header again,
    every line twice) and two exports concatenated (only the header again, no duplicate key)
    each leave their batch and get, alone, exactly what reading every file alone gives."""
    header = ("call_id,case_id,agent_id,started_at,duration_s,outcome,ptp_amount,ptp_due_date,"
              "recording_id")

    def build(landing):
        twice = calls(*[f"A{i}" for i in range(50)], day="2026-09-15")
        landing.write("calls", "calls_20260915.csv", twice + [header] + twice)
        landing.write("calls", "calls_20260916.csv",
                      calls("B1", "B2", day="2026-09-16") + [header]
                      + calls("B3", day="2026-09-16"))
        landing.write("calls", "calls_20260917.csv", calls("C1", day="2026-09-17"))

    landing, batched, single = both_ways(tmp_path, build, monkeypatch)
    assert ("calls", 3, 1) in landing.used  # only the 17th stayed in the batch
    assert batched == single
    assert landing.query("select file, count(*), min(line), any_value(reason_code) from "
                         "audit.quarantine group by file, reason_code order by all") == [
        ("calls/calls_20260915.csv", 1, 52, "repeated_header"),
        ("calls/calls_20260915.csv", 50, 53, "duplicate_row"),
        ("calls/calls_20260916.csv", 1, 4, "repeated_header")]
    assert landing.query("select count(*) from raw.calls") == [(54,)]
