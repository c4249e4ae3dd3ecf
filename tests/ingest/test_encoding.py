"""Encoding faults are per line, not per file, and not by position (issue 19.5): the encoding is
decided from the whole file, a line that does not decode is quarantined as ``encoding_error``
with its line and masked text, the rest loads; valid GB18030 that reads as nonsense is flagged.
Every test also checks that nothing good was lost: rows read = loaded + rejected per file."""

from __future__ import annotations

import gzip
import io

import pytest

from kaohe.ingest import encoding
from kaohe.ingest.encoding import analyse
from tests.conftest import HEADERS

HEADER = HEADERS["calls"] + ",note"
CALL = "K{n},C1,A1,2026-08-03 09:00:00,35,busy,,,R1,{note}"
COMPLAINTS = ("complaint_id,case_id,agent_id,received_at,channel,category,severity,"
              "substantiated,description")
COMPLAINT = "Q{n},C1,A1,2026-08-02 10:00:00,hotline,harassment,2,,{text}"
PHONE = "13912345678"


def write(landing, source: str, name: str, data: bytes) -> None:
    path = landing.root / source / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data, mtime=0) if name.endswith(".gz") else data)


def registry(landing) -> list[tuple]:
    return landing.query("select path, status, encoding, rows_read, rows_loaded, rows_rejected, "
                         "message from audit.file_registry order by path")


def assert_reconciles(landing) -> None:
    for path, _, _, read, loaded, rejected, _ in registry(landing):
        assert read == loaded + rejected, path
    for path, n in landing.query("select file, count(*) from audit.quarantine "
                                 "where line is not null group by all"):
        assert n == {r[0]: r[5] for r in registry(landing)}[path]


def quarantine(landing) -> list[tuple]:
    return landing.query("select line, reason_code, reason, raw_text from audit.quarantine "
                         "order by line")


def calls_file(rows: int, bad_at: int, bad: bytes) -> bytes:
    """``rows`` calls (UTF-8, ASCII notes); the record at line ``bad_at`` has ``bad`` bytes in
    its note (line 1 is the header)."""
    lines = [HEADER.encode()]
    for n in range(2, rows + 2):
        note = b"ok " + bad + b" call " + PHONE.encode() if n == bad_at else b"ok"
        lines.append(CALL.format(n=n, note="").encode() + note)
    return b"\n".join(lines) + b"\n"


# --- 1. one Windows-1252 byte: one line, wherever it is -------------------------------------

@pytest.mark.parametrize("where", ["first_megabyte", "after_the_first_megabyte", "gzip"])
def test_a_windows_1252_quote_quarantines_its_line_wherever_it_is(landing, where):
    rows = 4_975 if where != "after_the_first_megabyte" else 30_000  # ~1.5 MB
    bad_at = 10 if where != "after_the_first_megabyte" else 29_000
    name = "calls_20260803.csv" + (".gz" if where == "gzip" else "")
    smart = "\u201cRec\u201d 7".encode("cp1252")  # “Rec” 7: 0x93 ... 0x94
    write(landing, "calls", name, calls_file(rows, bad_at, smart))
    landing.ingest()
    [(path, status, enc, read, loaded, rejected, _)] = registry(landing)
    assert (status, enc, read, loaded, rejected) == ("loaded", "utf-8", rows, rows - 1, 1)
    [(line, code, reason, raw)] = quarantine(landing)
    assert (line, code) == (bad_at, "encoding_error")
    assert "UNICODE" in reason or "ENCODING" in reason
    assert PHONE not in raw and "***" in raw  # the raw text is masked
    assert landing.query("select count(*) from staging.calls") == [(rows - 1,)]
    assert_reconciles(landing)


def test_a_utf8_file_with_one_gbk_line_from_another_system(landing):
    lines = [COMPLAINT.format(n=n, text="催收员态度恶劣，多次来电").encode() for n in range(1, 40)]
    lines.insert(20, COMPLAINT.format(n=99, text="另一系统的记录").encode("gb18030"))
    write(landing, "complaints", "complaints_20260802.csv",
          COMPLAINTS.encode() + b"\n" + b"\n".join(lines) + b"\n")
    landing.ingest()
    assert [r[:3] for r in registry(landing)] == [
        ("complaints/complaints_20260802.csv", "loaded", "utf-8")]
    assert [r[:2] for r in quarantine(landing)] == [(22, "encoding_error")]
    assert landing.query("select distinct description from staging.complaints") == [
        ("催收员态度恶劣，多次来电",)]  # the UTF-8 text is read as UTF-8, not as GB18030
    assert_reconciles(landing)


# --- 2. GB18030: one bad sequence is one bad line --------------------------------------------

def gbk_complaints(n: int, bad_at: int | None = None) -> bytes:
    lines = [COMPLAINTS.encode()]
    for i in range(2, n + 2):
        text = "催收员态度恶劣，多次来电骚扰" if i != bad_at else "坏"
        line = COMPLAINT.format(n=i, text=text).encode("gb18030")
        if i == bad_at:
            line += b"\x80\xff" + PHONE.encode()  # not GB18030 (nor UTF-8)
        lines.append(line)
    return b"\r\n".join(lines) + b"\r\n"


def test_one_invalid_gb18030_sequence_quarantines_one_line(landing):
    write(landing, "complaints", "complaints_20260802.csv", gbk_complaints(300, bad_at=150))
    landing.ingest()
    [(_, status, enc, read, loaded, rejected, message)] = registry(landing)
    assert (status, enc, read, loaded, rejected, message) == (
        "loaded", "gb18030", 300, 299, 1, None)
    [(line, code, _, raw)] = quarantine(landing)
    assert (line, code) == (150, "encoding_error") and PHONE not in raw
    assert landing.query("select distinct description from staging.complaints") == [
        ("催收员态度恶劣，多次来电骚扰",)]
    assert_reconciles(landing)


def test_gbk_lines_after_a_megabyte_of_ascii_decide_the_whole_file(landing):
    """The first megabyte is plain ASCII (valid UTF-8): the file is still read as GB18030 when
    its other lines are GBK, not quarantined line by line as bad UTF-8."""
    ascii_rows = [COMPLAINT.format(n=n, text="no text here").encode() for n in range(1, 25_000)]
    gbk_rows = [COMPLAINT.format(n=n, text="催收员态度恶劣").encode("gb18030")
                for n in range(25_000, 25_010)]
    write(landing, "complaints", "complaints_20260802.csv",
          b"\n".join([COMPLAINTS.encode(), *ascii_rows, *gbk_rows]) + b"\n")
    landing.ingest()
    [(_, status, enc, read, loaded, rejected, _)] = registry(landing)
    assert (status, enc, read, loaded, rejected) == ("loaded", "gb18030", 25_009, 25_009, 0)
    assert landing.query("select count(*) from staging.complaints where description = "
                         "'催收员态度恶劣'") == [(10,)]


def test_gb18030_is_decoded_block_by_block_without_cutting_a_character(landing, monkeypatch):
    monkeypatch.setattr(encoding, "CHUNK", 7)  # every block boundary inside a line
    write(landing, "complaints", "complaints_20260802.csv", gbk_complaints(40, bad_at=21))
    landing.ingest()
    assert [r[:6] for r in registry(landing)] == [
        ("complaints/complaints_20260802.csv", "loaded", "gb18030", 40, 39, 1)]
    assert landing.query("select distinct description from staging.complaints") == [
        ("催收员态度恶劣，多次来电骚扰",)]


# --- 3. valid GB18030, but nonsense: flagged --------------------------------------------------

def test_windows_1252_text_that_is_valid_gb18030_is_loaded_with_a_warning(landing):
    # “Rec”S7 in Windows-1252: 0x93 'R' and 0x94 'S' are GBK pairs: 揜ec擲7
    text = "\u201cRec\u201dS7 on the phone"
    data = "\n".join([HEADER] + [CALL.format(n=n, note=text) for n in range(1, 301)]) + "\n"
    write(landing, "calls", "calls_20260803.csv", data.encode("cp1252"))
    landing.ingest()
    [(_, status, enc, read, loaded, rejected, message)] = registry(landing)
    assert (status, enc, read, loaded, rejected) == ("loaded", "gb18030", 300, 300, 0)
    assert message.startswith("suspect_encoding: read as GB18030") and "rare" in message
    assert landing.query("select distinct note from raw.calls") == [("揜ec擲7 on the phone",)]
    # the operator sees it: a warning check of the month lists the file
    from kaohe.quality import run_checks

    with landing.warehouse.writer() as con:
        [result] = [r for r in run_checks(con, "2026-08", ["audit.file_registry"])
                    if r.check == "file_warnings"]
    assert not result.passed and result.severity == "warning"
    assert result.sample[0].startswith("calls/calls_20260803.csv: suspect_encoding")


def test_ordinary_gb18030_text_is_not_flagged(landing):
    write(landing, "complaints", "complaints_20260802.csv", gbk_complaints(50))
    landing.ingest()
    assert [r[1:] for r in registry(landing)] == [("loaded", "gb18030", 50, 50, 0, None)]


# --- 4. the decision itself -------------------------------------------------------------------

@pytest.mark.parametrize(("data", "expected"), [
    (b"a,b\n" * 100, "utf-8"),
    ("a,催收\n".encode() * 100, "utf-8"),
    ("a,催收\n".encode("gb18030") * 100, "gb18030"),
    (b"a,b\n" * 500 + "a,催收\n".encode("gb18030"), "gb18030"),  # ASCII and one GBK line
    (b"a,b\n" * 500 + "a,\u201cRec\u201d 7\n".encode("cp1252"), "utf-8"),  # a stray quote
    ("a,中文内容\n".encode() * 10 + "b,催收员\n".encode("gb18030"), "utf-8"),  # UTF-8 text
    ("a,\u201cRec\u201dS7\n".encode("cp1252") * 50, "gb18030"),  # valid GB18030: flagged
], ids=["ascii", "utf8", "gbk", "ascii+gbk-line", "utf8+cp1252-byte", "utf8+gbk-line",
        "cp1252-as-gbk"])
def test_the_encoding_is_decided_from_the_whole_file(data, expected):
    verdict = analyse(io.BytesIO(data))
    assert verdict.encoding == expected, verdict
    assert (verdict.warning is not None) == (expected == "gb18030" and b"Rec" in data)
