"""Fuzz test of ingestion: hypothesis builds landing folders of ``calls`` and ``repayments`` files
mixing good rows with corrupted ones (bad and absurd values, unknown enums, missing and duplicate
keys, quotes, commas, newlines and NULs in text, 100k-character fields, 4 MB lines, wrong field
counts, blank lines) and whole-file damage (truncated, gzip then truncated, random bytes,
GB18030, UTF-16, BOM, CR/CRLF/mixed line endings, empty, header only, bad names, odd extra
columns), and since issue 19: parquet files with header case variants, phone numbers with
separators and full-width digits in free text, ids with control and look-alike characters,
records dated outside their file's window, and entries that are not files (a named pipe, a
folder named like a file, a dangling link, a link leaving the landing folder). Each landing
folder goes into a fresh warehouse, and:

1. ``Ingestor`` never raises, and never falls into its catch-all for unexpected exceptions;
2. every file is registered once; ``rows_read = rows_loaded + rows_rejected``; a rejected file
   has exactly one quarantine row, with line NULL and a documented file-level reason code;
3. every good row of a file that was not rejected as a whole is in staging (from that file, at
   its line), and every bad row is in quarantine at its line with the expected reason code;
4. every quarantine row has a reason and a documented reason code (never ``unreadable_file``
   for a row), and the raw text of a row;
5. ingesting the same folder again changes nothing;
6. no phone number planted in free text is found anywhere in the warehouse (every string column
   of every table, the quarantine's reasons and raw text included), and the PII guard passes.

Quick by default (25 examples); ``KAOHE_FUZZ_EXAMPLES=500 uv run pytest tests/ingest/test_fuzz.py``
for a longer run. The regression tests at the bottom are minimal inputs the fuzzer found.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import os
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from kaohe.ingest import pii
from kaohe.ingest.contract import load_contract
from kaohe.warehouse import quote
from tests.conftest import HEADERS, Landing

EXAMPLES = int(os.environ.get("KAOHE_FUZZ_EXAMPLES", "25"))

ROW_CODES = {"bad_type", "out_of_range", "out_of_window", "unknown_enum", "missing_value",
             "duplicate_key", "duplicate_row", "unknown_reversal", "malformed_row",
             "encoding_error", "bad_id"}
FILE_CODES = {"encoding_error", "missing_column", "truncated_file", "empty_file", "bad_file_name",
              "too_many_rejected", "outside_landing", "not_a_file",
              "unreadable_file"}
CODES = ROW_CODES | FILE_CODES
LINEAGE = {"_file_id", "_file", "_line", "_business_date", "_seq"}
CSV_FIELD_LIMIT = 131072  # Python's csv module default, which reads the header
CATCH_ALL = "could not be read: "  # Ingestor.ingest_file's message for an unexpected exception

CONTRACT = load_contract()
SOURCES = ("calls", "repayments")
KEY = {"calls": "call_id", "repayments": "payment_id"}
TEXT_COLS = {"calls": ["case_id", "agent_id", "recording_id"], "repayments": ["case_id"]}
# identifiers must be plain names (kaohe/ingest/contract.py SAFE_ID): a mutation that makes one
# anything else quarantines the row as bad_id
ID_COLS = {src: {c.name for c in CONTRACT[src].columns if c.id} for src in ("calls", "repayments")}


# --- values ---------------------------------------------------------------------------------

TEXT_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
SPECIAL_TEXT = ["C1", "张三", "催收一组", "a,b", 'say "hi"', '""', "two\nlines", "cr\r\nlf",
                "lone\rcr", ",", '"', " ", "\t", "😀", "\ufeffbom", "'", "\\", "NULL", "null",
                "\u2028", "\x85"]
# debtors' phone numbers written in free text (extra columns) with separators and full-width
# digits: masked before anything is stored, so never found in the warehouse (property 6)
SECRET_PHONES = ["17550466648", "13912345678", "18600001111"]
PHONE_TEXT = ["175-5046-6648", "１７５５０４６６６４８", "请回电 139 1234 5678", "电话：186.0000.1111",
              "+86 175 5046 6648", "call 139-1234-5678 now"]
texts = st.one_of(st.sampled_from(SPECIAL_TEXT), st.text(TEXT_CHARS, min_size=1, max_size=12))
# free text: an extra column is masked like free text. (A contract column that is neither an id
# nor free text, calls.recording_id, is stored as sent: no phone is planted there.)
free_texts = st.one_of(texts, st.sampled_from(PHONE_TEXT))
ids = st.one_of(st.sampled_from(["C1", "A-01", "x.y", "_9"]),
                st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)).filter(
    # an id is stored as sent: one spelling a planted phone number is no leak of free text
    lambda v: not any(p in "".join(filter(str.isdigit, v)) for p in SECRET_PHONES))
# hostile ids: path climbing, spaces, CJK, Cyrillic and Greek look-alikes, zero-width and
# bidirectional marks, control characters, full-width letters, too long
BAD_IDS = ["../x", "../../../../PWNED", "a/b", "..", ".hidden", "A 1", " A1", "A1 ", "张三",
           "\u04101", "A\u200b1", "A\u00a01", "x" * 65, "A\x011", "A\x7f1", "A\t1",
           "\u200fA1", "A1\u202e", "\u03911", "\uff2b1", "A1\u3000", "\ufeffA1", "a\\b"]
# a record's own date lies in its file's window (files are dated 2026-08-01 to 08-04; the
# window is 45 days before to 7 days after); other dates of a record (a promise's due date) may
# be anything sane
timestamps = st.datetimes(datetime(2026, 6, 20), datetime(2026, 8, 8, 23, 59, 59)).map(
    lambda d: d.strftime("%Y-%m-%d %H:%M:%S"))
OUT_OF_WINDOW = ["2099-01-01 09:00:00", "2020-01-05 09:00:00", "2026-08-20 00:00:00",
                 "2026-05-01 10:00:00"]
dates = st.dates(date(2000, 1, 1), date(2099, 12, 31)).map(lambda d: d.strftime("%Y-%m-%d"))


def amounts(low: str) -> st.SearchStrategy[str]:
    return st.one_of(
        st.decimals(Decimal(low), Decimal("9999999999999999.99"), places=2, allow_nan=False,
                    allow_infinity=False).map(lambda d: format(d, "f")),
        st.sampled_from(["5", "5.", "12.3", "+7.00", "0.01", "9999999999999999.99"]),
    )


durations = st.one_of(st.integers(0, 86400).map(str), st.sampled_from(["0", "+5", "007", "86400"]))
OUTCOMES = CONTRACT["calls"].column("outcome").enum
CHANNELS = CONTRACT["repayments"].column("channel").enum

# corruptions that make one value bad: (column, values, expected reason code)
BAD_VALUES = {
    "calls": [
        ("started_at", ["2026-08-03 25:61:00", "03/08/2026 09:00", "yesterday",
                        "2026-02-30 10:00:00", "2026-08-03T09:00:00Z", "10000-01-01 00:00:00",
                        "2026-08-03"], "bad_type"),
        ("started_at", ["1850-01-01 00:00:00", "2999-12-31 23:59:59", "1999-12-31 23:59:59",
                        "2100-01-01 00:00:00", "0001-01-01 00:00:00"], "out_of_range"),
        ("started_at", OUT_OF_WINDOW, "out_of_window"),
        ("ptp_due_date", ["1850-06-01", "2999-01-01"], "out_of_range"),
        ("ptp_due_date", ["2026-02-30", "tomorrow", "2026/08/03"], "bad_type"),
        ("ptp_amount", ["-5.00", "-0.01"], "out_of_range"),
        ("ptp_amount", ["1.005", "1e30", "123456789012345678901234567890",
                        "99999999999999999.99", "NaN", "inf", "1 000"], "bad_type"),
        ("duration_s", ["-1", "86401", "999999"], "out_of_range"),
        ("duration_s", ["1.5", "abc", "99999999999999999999", "1e3"], "bad_type"),
        ("outcome", ["hung_up", "BUSY", " busy", "busy ", "Connected_Debtor"], "unknown_enum"),
        ("call_id", [""], "missing_value"),
        ("case_id", [""], "missing_value"),
        ("agent_id", [""], "missing_value"),
        ("agent_id", BAD_IDS, "bad_id"),
        ("case_id", BAD_IDS, "bad_id"),
        ("call_id", BAD_IDS, "bad_id"),
        ("started_at", [""], "missing_value"),
        ("duration_s", [""], "missing_value"),
        ("outcome", [""], "missing_value"),
    ],
    "repayments": [
        ("paid_at", ["2026-13-01 00:00:00", "2026-08-06", "now"], "bad_type"),
        ("paid_at", ["1850-01-01 00:00:00", "2999-01-01 00:00:00"], "out_of_range"),
        ("paid_at", OUT_OF_WINDOW, "out_of_window"),
        ("amount", ["0", "0.00", "-3", "-0.01"], "out_of_range"),
        ("amount", ["1.234", "1e5", "12345678901234567", "¥100"], "bad_type"),
        ("payment_type", ["refund", "PAYMENT"], "unknown_enum"),
        ("channel", ["wechat", "App"], "unknown_enum"),
        ("payment_id", [""], "missing_value"),
        ("case_id", [""], "missing_value"),
        ("case_id", BAD_IDS, "bad_id"),
        ("paid_at", [""], "missing_value"),
        ("amount", [""], "missing_value"),
        ("payment_type", [""], "missing_value"),
    ],
}
ROW_KINDS = (
    ["good"] * 8 + ["bad_value"] * 6
    + ["rule", "duplicate", "too_many", "too_few", "spaces_line", "blank", "nul_text", "nul_key",
       "nul_line", "long_field", "quoted_text", "overlong"]
)
FILE_MUTATIONS = (
    ["none"] * 6
    + ["truncate", "truncate", "gzip", "gzip_truncate", "random", "utf16", "empty", "header_only",
       "mixed_newlines", "mixed_encoding", "bad_name", "hidden", "parquet", "parquet"]
    + ["fifo", "folder", "dangling_link", "outside_link"]  # not files: reported, never read
)
NOT_FILES = {"fifo": "not_a_file", "folder": "not_a_file", "dangling_link": "not_a_file",
             "outside_link": "outside_landing"}
PARQUET_EXTRAS = ["dialer_campaign", "备注", "CASE_ID", "_line", "x y"]
EXTRA_COLUMNS = ["dialer_campaign", "备注", 'a"b', "x y", "select", "_rec", "_bad", "t",
                 "problems", "_line", "_file_id", "_seq", "", "  ", "CASE_ID", "x" * 140_000]


def csv_field(value: str, always: bool) -> str:
    if always or any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


# --- generated files ------------------------------------------------------------------------

@dataclass
class Rec:
    """One record: its CSV text (no terminator) and what ingestion must do with it.

    fate: good (loaded) | bad (quarantined with ``code``) | either (loaded or quarantined, any
    documented code: NULs, a truncated last record...) | blank (an empty line, not a record).
    """

    text: str
    fate: str
    code: str | None = None
    key: str | None = None
    encoding: str | None = None  # this record's bytes in another encoding than the file's
    ref: str | None = None  # the payment a reversal names

    def __repr__(self) -> str:
        text = self.text if len(self.text) < 120 else f"{self.text[:100]}...<{len(self.text)}>"
        return f"Rec({text!r}, {self.fate}, {self.code}, {self.key!r})"

    def _repr_pretty_(self, p, cycle) -> None:  # hypothesis prints failing examples with this
        p.text(repr(self))


@dataclass
class FileCase:
    source: str
    name: str
    header: list[str]
    recs: list[Rec]
    newline: str = "\n"
    encoding: str = "utf-8"  # utf-8 | utf-8-sig (BOM) | gb18030 | utf-16*
    trailing_newline: bool = True
    mutation: str = "none"
    cut: float = 1.0
    blob: bytes = b""
    alt_newline: str = "\r\n"
    mixed_at: int = 0
    # filled by render(): bytes on disk and expectations
    data: bytes = b""
    expected: list[tuple[int, Rec]] = field(default_factory=list)
    must_reject: frozenset[str] | None = None
    may_reject: frozenset[str] = frozenset()
    opaque: bool = False  # random bytes: only the invariants are checked

    def __repr__(self) -> str:
        header = [h if len(h) < 40 else f"{h[:10]}...<{len(h)}>" for h in self.header]
        return (f"FileCase({self.source}/{self.name}, {self.mutation}, enc={self.encoding}, "
                f"nl={self.newline!r}, trailing={self.trailing_newline}, cut={self.cut}, "
                f"header={header}, recs={self.recs})")

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(repr(self))


def header_problem(source: str, header: list[str]) -> bool:
    names = [h.strip().lower() for h in header]
    required = CONTRACT[source].required_columns
    return (any(n == "" for n in names) or len(set(names)) < len(names)
            or any(n in LINEAGE for n in names) or any(c not in names for c in required))


def render(fc: FileCase) -> FileCase:
    """The file's bytes, and what ingestion must make of them."""
    enc = "utf-8" if fc.encoding == "utf-8-sig" else fc.encoding
    nl = fc.newline
    head = ",".join(csv_field(h, False) for h in fc.header) + nl
    pieces = [(b"\xef\xbb\xbf" if fc.encoding == "utf-8-sig" else b"") + head.encode(enc)]
    spans = []
    pos = len(pieces[0])
    last = max((i for i, r in enumerate(fc.recs) if r.fate != "blank"), default=-1)
    for i, rec in enumerate(fc.recs):
        if i > last and not fc.trailing_newline:
            break  # blank lines after the last record: only a trailing newline
        term = nl if (i < last or fc.trailing_newline) else ""
        if fc.mutation == "mixed_newlines" and i == fc.mixed_at:
            term = fc.alt_newline
        chunk = (rec.text + term).encode(rec.encoding or enc)
        spans.append((i, pos, pos + len(chunk)))
        pos += len(chunk)
        pieces.append(chunk)
    data = b"".join(pieces)
    header_end = len(pieces[0])
    fc.expected = [(i + 2, fc.recs[i]) for i, _, _ in spans]
    bad_header = header_problem(fc.source, fc.header)
    if any(len(h) > CSV_FIELD_LIMIT for h in fc.header):
        fc.may_reject = frozenset({"missing_column"})
    header_cut = False
    if fc.mutation == "truncate" and len(data) > 1:
        cut = min(int(fc.cut * len(data)), len(data) - 1)
        kept = []
        for i, start, end in spans:
            if end <= cut:
                kept.append((i + 2, fc.recs[i]))
            elif start < cut and fc.recs[i].fate != "blank":
                kept.append((i + 2, Rec(fc.recs[i].text, "either")))  # the cut record
        fc.expected = kept
        data = data[:cut]
        try:
            data.decode(enc)
        except UnicodeDecodeError:  # a multi-byte character cut in two
            fc.may_reject |= {"encoding_error"}
        header_cut = cut < header_end
        if header_cut:
            fc.may_reject |= {"missing_column", "empty_file", "encoding_error"}
    elif fc.mutation == "gzip_truncate":
        data = gzip.compress(data, mtime=0)
        data = data[:min(int(fc.cut * len(data)), len(data) - 1)]
        fc.must_reject = frozenset({"truncated_file", "empty_file"})
    elif fc.mutation == "gzip":
        data = gzip.compress(data, mtime=0)
    elif fc.mutation == "random":
        data = (head.encode() if fc.cut > 0.5 else b"") + fc.blob
        fc.opaque = True
        fc.may_reject = frozenset(FILE_CODES)
    elif fc.mutation == "utf16":
        data = (head + "".join(r.text + nl for r in fc.recs)).encode(fc.encoding)
        fc.must_reject = frozenset({"encoding_error", "missing_column"})
    elif fc.mutation == "empty":
        data = fc.blob
        fc.must_reject = frozenset({"empty_file"})
    elif fc.mutation == "bad_name":
        fc.must_reject = frozenset({"bad_file_name"})
    elif fc.mutation == "mixed_newlines":
        # KNOWN: DuckDB's CSV reader gives up on a file mixing line endings ("state machine
        # reached an invalid state"): the whole file is rejected (test_mixed_line_endings...).
        fc.may_reject |= {"unreadable_file"}
        # a lone CR in an LF file (or LF in a CRLF file) may be read as data: the two records
        # it separates then make one malformed record
        after = [k for k, (n, r) in enumerate(fc.expected)
                 if n - 2 > fc.mixed_at and r.fate != "blank"][:1]
        merged = [k for k, (n, _) in enumerate(fc.expected) if n - 2 == fc.mixed_at] + after
        lost = {fc.expected[k][1].key for k in merged} - {None}
        for k, (n, rec) in enumerate(fc.expected):  # and so are their reversals and duplicates
            if k in merged or rec.key in lost or rec.ref in lost:
                fc.expected[k] = (n, Rec(rec.text, "either"))
    elif fc.mutation == "mixed_encoding":
        fc.may_reject |= {"encoding_error"}
    elif fc.mutation == "parquet":
        data = render_parquet(fc)
    elif fc.mutation in NOT_FILES:  # written as a pipe, a folder, a link (the data: its target)
        fc.must_reject = frozenset({NOT_FILES[fc.mutation]})
    if bad_header and fc.must_reject is None and not fc.opaque:
        if header_cut:
            fc.may_reject |= {"missing_column"}
        else:  # the encoding is sniffed before the header is checked
            fc.must_reject = frozenset({"missing_column"}) | (
                fc.may_reject & {"encoding_error", "empty_file"})
    fc.data = data
    return fc


def csv_fields(text: str) -> list[str] | None:
    """The fields of one CSV record, or None when the text is not exactly one record."""
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error:
        return None
    return records[0] if len(records) == 1 else None


def render_parquet(fc: FileCase) -> bytes:
    """The same records as a parquet file of text columns named as the header (its case
    variants included). A record that is not one CSV record of the header's width has no
    parquet form and is left out; one the CSV reader refuses for its size or quoting alone
    (over 4 MB, a quote never closed) may be well-formed here: either. Records are numbered
    from 1 (no header line)."""
    rows, expected = [], []
    for rec in fc.recs:
        fields = csv_fields(rec.text) if rec.fate != "blank" else None
        if fields is None or len(fields) != len(fc.header):
            continue
        if rec.fate == "bad" and rec.code == "malformed_row":
            rec = Rec(rec.text, "either")
        rows.append(fields)
        expected.append((len(rows), rec))
    fc.expected = expected
    frame = pl.DataFrame({h: [r[i] for r in rows] for i, h in enumerate(fc.header)},
                         schema={h: pl.Utf8 for h in fc.header})
    buf = io.BytesIO()
    frame.write_parquet(buf)
    return buf.getvalue()


@st.composite
def record_list(draw, source: str, fi: int, header: list[str], always_quote: bool,
                gbk_row: bool = False):
    """Records for one file of ``source`` (file number ``fi``), fields in ``header`` order."""
    columns = [h.strip().lower() for h in header]
    text_cols = [c for c in TEXT_COLS[source] if c in columns]
    good_rows: list[dict[str, str]] = []
    payments: list[str] = []
    bad_payments: list[str] = []
    recs: list[Rec] = []

    def good(key: str) -> dict[str, str]:
        row = {c: draw(free_texts) for c in columns}  # extra columns: any text
        row.update({c: draw(ids if c in ID_COLS[source] else texts) for c in text_cols})
        if source == "calls":
            outcome = draw(st.sampled_from(OUTCOMES))
            row.update(call_id=key, started_at=draw(timestamps), duration_s=draw(durations),
                       outcome=outcome, ptp_amount="", ptp_due_date="")
            if draw(st.booleans()):
                row["recording_id"] = ""
            if outcome == "connected_debtor" and draw(st.booleans()):
                row.update(ptp_amount=draw(amounts("0")), ptp_due_date=draw(dates))
            elif draw(st.booleans()):
                row["ptp_amount"] = "0"
        else:
            row.update(payment_id=key, paid_at=draw(timestamps), amount=draw(amounts("0.01")),
                       payment_type="payment", reversal_of="",
                       channel=draw(st.sampled_from([*CHANNELS, ""])))
            if payments and draw(st.booleans()):
                row.update(payment_type="reversal", reversal_of=draw(st.sampled_from(payments)))
        return row

    def line(row: dict[str, str]) -> str:
        return ",".join(csv_field(row[c], always_quote) for c in columns)

    n = draw(st.integers(0, 10))
    for ri in range(n):
        key = f"F{fi}{source[0].upper()}{ri:03d}X"
        kind = draw(st.sampled_from(ROW_KINDS))
        row = good(key)
        if kind == "duplicate" and good_rows:
            dup = dict(draw(st.sampled_from(good_rows)))
            # an exact copy of an earlier line is a duplicate_row; the key again with another
            # value in a field (its text, as sent) a duplicate_key
            code = "duplicate_row"
            col = "duration_s" if source == "calls" else "amount"
            other = draw(durations if source == "calls" else amounts("0.01"))
            if draw(st.booleans()) and other != dup[col]:
                dup[col], code = other, "duplicate_key"
            recs.append(Rec(line(dup), "bad", code, key=dup[KEY[source]],
                            ref=dup.get("reversal_of") or None))
            continue
        if kind == "bad_value":
            col, values, code = draw(st.sampled_from(
                [b for b in BAD_VALUES[source] if b[0] in columns]))
            row[col] = draw(st.sampled_from(values))
            if col == "ptp_amount" and code == "out_of_range":
                row["outcome"] = "connected_debtor"  # the amount's own check, not the rule
            if source == "repayments" and row["payment_id"]:
                bad_payments.append(key)
            recs.append(Rec(line(row), "bad", code))
            continue
        if kind == "rule":
            if source == "calls":
                row.update(outcome="connected_debtor", ptp_amount="100.00", ptp_due_date="")
                code = "missing_value"  # ptp_due_date is required with a ptp_amount
                if draw(st.booleans()):
                    row.update(outcome="busy", ptp_due_date=draw(dates))
                    code = "out_of_range"  # a promise to pay on a call that did not connect
            else:
                # a reversal of nothing, of an unknown payment or of a quarantined one
                row.update(payment_type="reversal",
                           reversal_of=draw(st.sampled_from(["", f"NOPE{ri}", *bad_payments])))
                code = "missing_value" if row["reversal_of"] == "" else "unknown_reversal"
            recs.append(Rec(line(row), "bad", code))
            continue
        if kind in ("too_many", "too_few"):
            fields = [csv_field(row[c], always_quote) for c in columns]
            if kind == "too_many":
                fields.append("surplus")
            else:
                fields = fields[:draw(st.integers(1, len(fields) - 1))]
            recs.append(Rec(",".join(fields), "bad", "malformed_row"))
            continue
        if kind == "spaces_line":
            recs.append(Rec(draw(st.sampled_from([" ", "   ", "\t"])), "bad", "malformed_row"))
            continue
        if kind == "blank":
            recs.append(Rec("", "blank"))
            continue
        if kind == "nul_line":
            recs.append(Rec(draw(st.sampled_from(["\x00", "\x00\x00,\x00"])), "either"))
            continue
        if kind in ("nul_text", "nul_key"):
            if kind == "nul_key":
                row[KEY[source]] = f"F{fi}N\x00{ri:03d}X"
            else:
                row[draw(st.sampled_from(text_cols))] = draw(st.sampled_from(
                    ["R\x00X", "\x00", "a\x00,b"]))
            recs.append(Rec(line(row), "either"))
            continue
        if kind == "overlong":  # over read_csv's max_line_size of 4 MB
            row[draw(st.sampled_from(text_cols))] = "x" * 4_000_100
            recs.append(Rec(line(row), "bad", "malformed_row"))
            continue
        if kind in ("long_field", "quoted_text"):
            col = draw(st.sampled_from(text_cols))
            if kind == "long_field":
                row[col] = draw(st.sampled_from("x中,\"\n")) * 100_000
            else:
                row[col] = draw(st.sampled_from(
                    ['He said "pay, now"\nthen hung up', '""', '","', "a\r\nb", '"\n"']))
            if col in ID_COLS[source]:  # no such text is a plain identifier
                if source == "repayments" and row["payment_id"]:
                    bad_payments.append(key)
                recs.append(Rec(line(row), "bad", "bad_id"))
                continue
        good_rows.append(row)
        if source == "repayments" and row["payment_type"] == "payment":
            payments.append(key)
        recs.append(Rec(line(row), "good", key=key, ref=row.get("reversal_of") or None))
    if gbk_row:  # a row from another system, in GBK: the file may be decoded as GB18030
        row = good(f"F{fi}{source[0].upper()}900X")
        row[draw(st.sampled_from(text_cols))] = "催收员态度恶劣"
        recs.insert(draw(st.integers(0, len(recs))), Rec(line(row), "either", encoding="gb18030"))
    if n and draw(st.integers(0, 9)) == 0:  # an unterminated quote swallows the rest: last only
        row = good(f"F{fi}{source[0].upper()}999X")
        known = set(CONTRACT[source].column_names) - set(TEXT_COLS[source])
        row.update({c: "T" for c in columns if c not in known})  # no other quote to close it
        row[draw(st.sampled_from(text_cols))] = '"never closed'
        recs.append(Rec(",".join(row[c] for c in columns), "bad", "malformed_row"))
    return recs


@st.composite
def file_case(draw, fi: int) -> FileCase:
    source = draw(st.sampled_from(SOURCES))
    columns = list(CONTRACT[source].column_names)
    if source == "calls" and draw(st.booleans()):
        columns.remove("recording_id")  # optional column
    columns = draw(st.permutations(columns))
    header = [draw(st.sampled_from([c, c.upper(), f" {c} ", c.title()])) for c in columns]
    if draw(st.integers(0, 3)) == 0:
        header.append(draw(st.one_of(
            st.sampled_from(EXTRA_COLUMNS),
            st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
                    max_size=8))))
    always_quote = draw(st.booleans())
    mutation = draw(st.sampled_from(FILE_MUTATIONS))
    if mutation == "parquet" and len(header) > len(columns):  # a parquet column name
        header[-1] = draw(st.sampled_from(PARQUET_EXTRAS))
    recs = draw(record_list(source, fi, header, always_quote, mutation == "mixed_encoding"))
    day = fi + 1
    seq = draw(st.sampled_from(["", "_01", "_02"]))
    name = f"{source}_202608{day:02d}{seq}.{'parquet' if mutation == 'parquet' else 'csv'}"
    fc = FileCase(source, name, header, recs,
                  newline=draw(st.sampled_from(["\n", "\n", "\r\n", "\r"])),
                  encoding=draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "gb18030"])),
                  trailing_newline=draw(st.booleans()),
                  mutation=mutation)
    if mutation == "header_only":
        fc.recs = []
    elif mutation in ("gzip", "gzip_truncate"):
        fc.name = name + ".gz"
    if mutation in ("truncate", "gzip_truncate"):
        fc.cut = 1 - draw(st.floats(0, 1, exclude_min=True))  # simplest: cut near the end
    elif mutation == "random":
        fc.blob = draw(st.binary(max_size=3000))
        fc.cut = draw(st.floats(0, 1))
        fc.name = name + draw(st.sampled_from(["", "", ".gz"]))
        if draw(st.integers(0, 3)) == 0:
            fc.name = f"{source}_202608{day:02d}{seq}.parquet"
    elif mutation == "utf16":
        fc.encoding = draw(st.sampled_from(["utf-16", "utf-16-le", "utf-16-be"]))
    elif mutation == "empty":
        fc.blob = draw(st.sampled_from([b"", b"\n", b"\r\n\r\n", b"\xef\xbb\xbf", b"\x00\x00",
                                        b" \t\n", b"\xef\xbb\xbf\r\n"]))
    elif mutation == "bad_name":
        other = "repayments" if source == "calls" else "calls"
        fc.name = draw(st.sampled_from([
            f"{source}_2026-08-{day:02d}.csv", f"{source}_202608{day:02d}.txt",
            f"{source.upper()}_202608{day:02d}.csv", f"{source}_202613{day:02d}.csv",
            f"{source}_202608{day:02d}_1.csv", f"{other}_202608{day:02d}.csv",
        ]))
    elif mutation == "hidden":
        fc.name = "." + name
    elif mutation == "mixed_newlines" and fc.recs:
        fc.mixed_at = draw(st.integers(0, len(fc.recs) - 1))
        fc.alt_newline = draw(st.sampled_from([n for n in ("\n", "\r\n", "\r")
                                               if n != fc.newline]))
    elif mutation == "mixed_encoding":
        fc.encoding = draw(st.sampled_from(["utf-8", "utf-8-sig"]))
    return render(fc)


@st.composite
def landing_cases(draw) -> list[FileCase]:
    return [draw(file_case(fi)) for fi in range(draw(st.integers(1, 4)))]


# --- the properties -------------------------------------------------------------------------

class Caught(logging.Handler):
    """Records logged with a traceback: Ingestor's catch-all for unexpected exceptions."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.records.append(record)


def lines_reliable(fc: FileCase) -> bool:
    """Whether the line numbers in quarantine and staging can be checked exactly.

    KNOWN bug (regression test below, xfail): after a blank line (DuckDB counts it in the
    lines it rejects, not in the rows it reads) later lines are off. Consecutive rejected lines
    were another such case, fixed since (test_line_numbers_after_consecutive_malformed_lines)
    and checked exactly here. With mixed line endings two records may be read as one, which
    renumbers the records after them.
    """
    return (fc.mutation != "mixed_newlines"
            and not any(r.fate == "blank" for _, r in fc.expected))


def check_landing(landing: Landing, cases: list[FileCase]) -> None:
    caught = Caught()
    logger = logging.getLogger("kaohe")
    logger.addHandler(caught)
    try:
        first = landing.ingest()  # (1) never raises
    finally:
        logger.removeHandler(caught)
    assert not caught.records, [r.getMessage() for r in caught.records]

    registry = {r[0]: r[1:] for r in landing.query(
        "select path, rows_read, rows_loaded, rows_rejected, status, message, file_id "
        "from audit.file_registry")}
    quarantine = landing.query(
        "select file, line, reason_code, reason, raw_text, file_id from audit.quarantine")
    visible = [fc for fc in cases if not fc.name.startswith(".")]
    # (2) every file registered once, counts reconcile
    assert sorted(registry) == sorted(f"{fc.source}/{fc.name}" for fc in visible)
    assert len(registry) == landing.query("select count(*) from audit.file_registry")[0][0]
    for path, (read, loaded, rejected, status, message, _) in registry.items():
        assert read == loaded + rejected, path
        assert status in ("loaded", "rejected"), path
        assert not (message or "").split(": ", 1)[-1].startswith(CATCH_ALL), (path, message)
    # (4) every quarantine row is documented
    for file, line, code, reason, raw_text, _ in quarantine:
        assert code in CODES and reason, (file, line, code, reason)
        if line is None:
            assert code in FILE_CODES, (file, code)
        else:
            assert code in ROW_CODES, (file, line, code, reason)  # never unreadable_file
            assert raw_text is not None, (file, line)

    staging = {src: {r[0]: r[1:] for r in landing.query(
        f"select {KEY[src]}, _file, _line from staging.{src}")} for src in SOURCES}
    for fc in visible:
        rel = f"{fc.source}/{fc.name}"
        read, loaded, rejected, status, message, fid = registry[rel]
        rows = [q for q in quarantine if q[5] == fid]
        event(f"{fc.mutation}: {status} {(message or '').split(':')[0]}".strip())
        note(f"{rel}: {status} {read}={loaded}+{rejected} {message or ''}; quarantine "
             f"{[(q[1], q[2], q[3][:80]) for q in rows]}")
        if status == "rejected":
            assert [(q[1] is None, q[2]) for q in rows] == [(True, rows[0][2])], rows
            # nothing loads; a file rejected for its share counts its records as rejected
            assert loaded == 0 and read == rejected, (read, loaded, rejected)
            allowed = fc.must_reject if fc.must_reject is not None else fc.may_reject
            assert rows[0][2] in allowed, (rel, rows[0][2], rows[0][3], allowed)
            continue
        assert fc.must_reject is None, (rel, "should have been rejected", fc.must_reject)
        assert all(q[1] is not None for q in rows), rows
        if fc.opaque:
            continue
        # (3) good rows arrive, bad rows are quarantined at their line with their reason
        recs = [(n, r) for n, r in fc.expected if r.fate != "blank"]
        either = {n for n, r in recs if r.fate == "either"}
        if lines_reliable(fc):
            by_line = {q[1]: q for q in rows}
            assert len(by_line) == len(rows), f"two quarantine rows for one line: {rows}"
            for n, rec in recs:
                if rec.fate == "bad":
                    assert n in by_line, (rel, n, rec, "not in quarantine")
                    assert by_line[n][2] == rec.code, (rel, n, rec, by_line[n][2:4])
                elif rec.fate == "good":
                    assert n not in by_line, (rel, n, rec, by_line.get(n))
            unexpected = set(by_line) - {n for n, r in recs if r.fate == "bad"} - either
            assert not unexpected, (rel, [by_line[n] for n in unexpected])
        else:
            # KNOWN line-number bugs (see lines_reliable): compare the reasons only.
            expected = Counter(r.code for _, r in recs if r.fate == "bad")
            got = Counter(q[2] for q in rows)
            assert not expected - got, (rel, "not in quarantine", expected - got, rows)
            assert (got - expected).total() <= len(either), (rel, got - expected, rows)
        n_good = sum(r.fate == "good" for _, r in recs)
        n_bad = sum(r.fate == "bad" for _, r in recs)
        assert rejected == len(rows)
        assert n_bad <= rejected <= n_bad + len(either), rel
        assert n_good <= loaded <= n_good + len(either), rel
        assert loaded + rejected <= len(recs), rel
        if not any(r.fate == "either" for _, r in recs):
            assert read == len(recs), rel
        for n, rec in fc.expected:
            if rec.fate != "good":
                continue
            assert rec.key in staging[fc.source], (rel, n, rec, "good row lost")
            got_file, got_line = staging[fc.source][rec.key]
            assert got_file == rel, (rec, got_file)
            if lines_reliable(fc):
                assert got_line == n, (rel, rec, got_line, n)

    # (5) the same folder again is a no-op
    again = landing.ingest()
    assert all(f.status == "unchanged" for r in again.values() for f in r.files), again
    assert landing.query("select count(*) from audit.quarantine")[0][0] == len(quarantine)
    assert sum(len(r.files) for r in first.values()) == len(registry)

    # (6) no phone number written in free text is anywhere, in any form; the PII guard passes
    assert secrets_found(landing, SECRET_PHONES) == []
    with landing.warehouse.writer() as con:
        assert pii.unpseudonymised(con) == []


def secrets_found(landing: Landing, secrets: list[str]) -> list[tuple[str, str]]:
    """(table.column, secret) for every string column of the writer's database holding one of
    ``secrets`` once separators are dropped and full-width digits read as digits."""
    con = landing.connect()
    try:
        columns = con.sql("select schema_name, table_name, column_name from duckdb_columns() "
                          "where data_type = 'VARCHAR' and not internal").fetchall()
        found = []
        for schema, table, column in columns:
            digits = (f"regexp_replace(translate({quote(column)}, '０１２３４５６７８９', "
                      "'0123456789'), '[^0-9]', '', 'g')")
            for secret in secrets:
                if con.execute(f"select count(*) from {quote(schema)}.{quote(table)} "
                               f"where contains({digits}, ?)", [secret]).fetchall()[0][0]:
                    found.append((f"{schema}.{table}.{column}", secret))
        return found
    finally:
        con.close()


# The quick default is derandomised, so CI is reproducible; KAOHE_FUZZ_EXAMPLES explores anew.
@settings(max_examples=EXAMPLES, deadline=None, database=None,
          derandomize="KAOHE_FUZZ_EXAMPLES" not in os.environ,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.large_base_example])
@given(landing_cases())
def test_fuzzed_landing_never_crashes_loses_nothing_and_reconciles(cases):
    with tempfile.TemporaryDirectory() as tmp:
        landing = Landing(Path(tmp) / "landing", Path(tmp) / "home")
        for fc in cases:
            path = landing.root / fc.source / fc.name
            path.parent.mkdir(parents=True, exist_ok=True)
            write_entry(path, fc, Path(tmp))
        check_landing(landing, cases)


def write_entry(path: Path, fc: FileCase, outside: Path) -> None:
    """The file, or for an entry that is not a file, the pipe, folder or link."""
    if fc.mutation == "fifo":
        os.mkfifo(path)
    elif fc.mutation == "folder":
        path.mkdir()
    elif fc.mutation == "dangling_link":
        os.symlink(path.parent / f"gone-{path.name}", path)
    elif fc.mutation == "outside_link":  # a readable file, but outside the landing folder
        target = outside / f"outside-{path.name}"
        target.write_bytes(fc.data)
        os.symlink(target, path)
    else:
        path.write_bytes(fc.data)


# --- regressions: minimal inputs found by the fuzzer ----------------------------------------

CALL = "{id},C1,A1,2026-08-03 09:00:00,35,connected_debtor,,,R1"


def write_bytes(landing: Landing, source: str, name: str, data: bytes) -> None:
    path = landing.root / source / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def call_ids(landing: Landing) -> set[str]:
    return {r[0] for r in landing.query("select call_id from staging.calls")}


def quarantine(landing: Landing) -> list[tuple]:
    return landing.query("select line, reason_code, reason from audit.quarantine order by line")


def test_cr_line_endings_are_read(landing):
    """Found: a CR-only file (old Mac/Excel export) made the header sniffer raise csv.Error; the
    whole file went to the catch-all as unreadable_file although DuckDB reads it fine."""
    header = HEADERS["calls"]
    write_bytes(landing, "calls", "calls_20260803.csv",
                "\r".join([header, CALL.format(id="K1"), CALL.format(id="K2")]).encode())
    landing.ingest()
    assert quarantine(landing) == []
    assert call_ids(landing) == {"K1", "K2"}


def test_header_longer_than_the_csv_field_limit_is_rejected_cleanly(landing):
    """Found: a column name over 131072 characters made csv.reader raise in the sniffer (the
    catch-all, with a traceback); it is now a header problem like an empty column name."""
    header = ",".join([HEADERS["calls"], "x" * (CSV_FIELD_LIMIT + 1)])
    write_bytes(landing, "calls", "calls_20260803.csv",
                f"{header}\n{CALL.format(id='K1')},v\n".encode())
    write_bytes(landing, "calls", "calls_20260804.csv",
                f"{HEADER}\n{CALL.format(id='K2')}\n".encode())
    landing.ingest()
    [(line, code, reason)] = quarantine(landing)
    assert (line, code) == (None, "missing_column")
    assert reason.startswith("unreadable header")
    assert call_ids(landing) == {"K2"}


HEADER = HEADERS["calls"]
AGENT = "A1,王芳,T01,催收一组,m@x.cn,深圳,L1,2025-01-01,in_house,,3000.00,active,a@x.cn"


@pytest.mark.parametrize(("source", "row", "extra"), [
    *[("calls", CALL.format(id="K1"), name) for name in sorted(LINEAGE)],
    ("agents", AGENT, "snapshot_date"),
], ids=[*sorted(LINEAGE), "snapshot_date"])
def test_extra_column_named_like_a_lineage_column_is_rejected_cleanly(landing, source, row,
                                                                      extra):
    """Found: an extra column called ``_line`` (or any lineage column; ``snapshot_date`` in a
    snapshot source) clashed with the lineage column in the INSERT into raw: a BinderException
    in the catch-all. It is now rejected as a header problem, naming the column."""
    header = ",".join([HEADERS[source], extra])
    write_bytes(landing, source, f"{source}_20260803.csv", f"{header}\n{row},v\n".encode())
    caught = Caught()
    logging.getLogger("kaohe").addHandler(caught)
    try:
        landing.ingest()
    finally:
        logging.getLogger("kaohe").removeHandler(caught)
    assert not caught.records
    [(line, code, reason)] = quarantine(landing)
    assert (line, code) == (None, "missing_column")
    assert extra in reason and "reserved" in reason


@pytest.mark.xfail(strict=True, reason="KNOWN, not fixed: DuckDB's CSV reader fails on mixed "
                   "line endings ('state machine reached an invalid state'); the whole file is "
                   "rejected as unreadable_file and its good rows are not kept")
def test_mixed_line_endings_keep_the_good_rows(landing):
    write_bytes(landing, "calls", "calls_20260803.csv",
                f"{HEADER}\n{CALL.format(id='K1')}\r\n{CALL.format(id='K2')}\n".encode())
    landing.ingest()
    assert call_ids(landing) == {"K1", "K2"}


def test_line_numbers_after_consecutive_malformed_lines(landing):
    rows = [CALL.format(id="K1"), "x", "y", "z", CALL.format(id="K5"),
            CALL.format(id="K1").replace(",35,", ",36,"), CALL.format(id="K7")]
    write_bytes(landing, "calls", "calls_20260803.csv", "\n".join([HEADER, *rows, ""]).encode())
    landing.ingest()
    assert [r[:2] for r in quarantine(landing)] == [
        (3, "malformed_row"), (4, "malformed_row"), (5, "malformed_row"), (7, "duplicate_key")]
    assert landing.query("select call_id, _line from staging.calls order by _line") == [
        ("K1", 2), ("K5", 6), ("K7", 8)]


@pytest.mark.xfail(strict=True, reason="KNOWN, not fixed: DuckDB counts a blank line in the "
                   "line numbers of the lines it rejects but not in the rows it reads, so the "
                   "lines of a file's quarantine and staging rows are out of order after it")
def test_blank_line_keeps_line_numbers_in_file_order(landing):
    rows = [CALL.format(id="K1"), "", "x", CALL.format(id="K9").replace("09:00", "29:00"),
            CALL.format(id="K2")]
    write_bytes(landing, "calls", "calls_20260803.csv", "\n".join([HEADER, *rows, ""]).encode())
    landing.ingest()
    lines = dict(landing.query("select call_id, _line from staging.calls"))
    bad = {code: line for line, code, _ in quarantine(landing)}
    order = [lines["K1"], bad["malformed_row"], bad["bad_type"], lines["K2"]]  # x, then K9
    assert order == sorted(order) and len(set(order)) == 4, order


def test_reversal_of_a_quarantined_payment_is_unknown(landing):
    write_bytes(landing, "repayments", "repayments_20260806.csv", "\n".join([
        ",".join(CONTRACT["repayments"].column_names),
        "P1,C1,2026-08-06 25:00:00,100.00,payment,,app",  # bad_type: quarantined
        "P2,C1,2026-08-06 10:00:00,100.00,reversal,P1,app",
        "",
    ]).encode())
    landing.ingest()
    assert [r[:2] for r in quarantine(landing)] == [(2, "bad_type"), (3, "unknown_reversal")]
