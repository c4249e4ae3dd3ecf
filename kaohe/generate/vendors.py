"""A landing's calls in a vendor's format (``kaohe generate --profile NAME``): the contract calls
files rewritten as an Asterisk ``cdr_custom`` export, a FreeSWITCH ``mod_cdr_csv`` export or a
Chinese cloud contact centre's 外呼明细, as the shipped source profile (``profiles/<NAME>.yaml``)
describes them, so that ingesting them through the profile can be checked against the contract
files they came from.

Each contract calls file (``calls/calls_<YYYYMMDD>[_seq].csv|csv.gz``) is read with DuckDB, every
column as text, and written, records in the same order, as ``calls/<the profile's file name>``;
the contract file is deleted and the profile copied to ``calls/profile.yaml``. Every value the
profile maps back is the contract's own text, or made from it so that the profile's mapping gives
that text back (times, durations, outcome codes); the vendor's other columns (ring time, answer
and end times, channels, hang-up causes) are made up deterministically from an MD5 of the call id,
so one landing always renders to the same bytes. A few records the profile's ``drop`` rule
removes are planted: one per ``DROP_EVERY`` records, at least one per file, each after the record
it is made from (an internal call, an inbound leg, a 呼入 row).

The documented bad lines (``writer._write_with_bad``: a contract file with a ``bad_type`` time,
an ``unknown_enum`` outcome, a ``duplicate_key``, a ``missing_value`` call id, an
``out_of_range`` duration and a ``malformed_row``) are rendered like any record, their faulty
text carried into the vendor field that maps back to the faulty column, so the profile's run
quarantines them too, with the same reason: the impossible time stays as text (in
``start_epoch`` too, which then is no epoch), an unknown outcome is written as the vendor's code
as it is (no code maps it), an empty call id stays empty, a negative duration stays negative
(``billsec``; ``billmsec`` = seconds x 1000 exactly, as the profile floors it), a repeated call
id is repeated in the same order. One reason differs: ``通话时长`` ``-0:00:05`` is no H:MM:SS, so
the cloud export's negative duration is quarantined as ``bad_type``, not ``out_of_range``. The
``malformed_row`` (a line with a field too many) is rejected by the read, as the contract reader
rejects it (``store_rejects``), and is simply left out of the vendor file: the manifest lists it
under ``calls_profile`` (``skipped_lines``, and ``bad_rows`` with no vendor line). Every other
record's staging row is the same as the contract file's.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from datetime import date
from pathlib import Path

import duckdb
import yaml

from kaohe.generate.schema import COLUMNS

PROFILES_DIR = Path(__file__).resolve().parents[2] / "profiles"
PROFILES = ("asterisk_cdr", "freeswitch_cdr_csv", "cn_cloud_callcenter")
# one planted drop record per this many records of a file (at least one a file)
DROP_EVERY = 500
# the centre's outbound caller id and hotline (FreeSWITCH caller id, inbound legs, 呼入 rows)
CENTRE_NUMBER = "4008208820"
CN_HEADER = ["通话ID", "案件编号", "坐席工号", "开始时间", "接通时间", "结束时间", "通话时长",
             "呼叫结果", "呼叫方向", "承诺金额", "承诺还款日", "录音编号", "被叫号码"]
CONTRACT_FILE = re.compile(r"calls_(\d{8})(?:_\d+)?\.(csv|csv\.gz)")

# Macros over the base view ``_b`` (one row per contract record; ``_id`` the call id or '').
MACROS = """
create or replace temp macro _fmt(t) as strftime(t, '%Y-%m-%d %H:%M:%S');
-- a number in [0, m) from a text key (MD5's first 32 bits; md5_number's 128-bit modulo is
-- twenty times slower)
create or replace temp macro _n(k, m) as ('0x' || substr(md5(k), 1, 8))::bigint % m;
create or replace temp macro _plus(t, s) as t + to_seconds(s);
create or replace temp macro _epoch(t) as epoch(timezone('Asia/Shanghai', t))::bigint::varchar;
create or replace temp macro _uuid(h) as substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-'
    || substr(h, 13, 4) || '-' || substr(h, 17, 4) || '-' || substr(h, 21, 12);
create or replace temp macro _hms(d) as case when d < 0 then '-' else '' end
    || (abs(d) // 3600)::varchar || ':' || lpad(((abs(d) // 60) % 60)::varchar, 2, '0') || ':'
    || lpad((abs(d) % 60)::varchar, 2, '0');
"""

# One row per contract record, with what every format derives from it: ``_ts`` the start,
# ``_dur`` the talk seconds (NULL when not a number), ``_ring`` 0-30 s of ringing, ``_ans``
# whether the line was answered (connected or voicemail), ``_wrap`` the agent's wrap-up code.
# ``_d*``: a planted record made from this one, ``_dts`` its start (up to 10 minutes later, the
# same day), ``_dsec`` its length.
BASE = """
create or replace temp table _b as select *,
    _n(_id || ':ring', 31) as _ring,
    outcome in ('connected_debtor', 'connected_third_party', 'voicemail') as _ans,
    case outcome when 'connected_debtor' then 'RPC' when 'connected_third_party' then 'TPC'
        when 'voicemail' then 'VM' end as _wrap,
    least(_plus(_ts, 1 + _n(_id || ':off', 600)),
          date_trunc('day', _ts) + interval '86399 seconds') as _dts,
    5 + _n(_id || ':len', 176) as _dsec
from (select *, rowid as _k, coalesce(call_id, '') as _id, md5(coalesce(call_id, '')) as _h,
        try_strptime(started_at, '%Y-%m-%d %H:%M:%S') as _ts,
        try_cast(duration_s as bigint) as _dur
      from _c)
"""

# Per profile: the vendor columns of a contract record, then of a planted drop record, as SQL
# over ``_b`` (NULL = an empty field).
ASTERISK = {
    "accountcode": ("case_id", "null"),
    "src": ("agent_id", "agent_id"),
    "dst": ("dialled_number", "_ext"),
    "dcontext": ("'from-collections'", "'from-internal'"),
    "clid": ("'\"' || agent_id || '\" <' || agent_id || '>'",
             "'\"' || agent_id || '\" <' || agent_id || '>'"),
    "channel": ("'SIP/' || agent_id || '-' || substr(_h, 1, 8)",
                "'SIP/' || agent_id || '-' || substr(_h, 17, 8)"),
    "dstchannel": ("case when outcome <> 'invalid_number' then 'SIP/carrier-' || substr(_h, 9, 8)"
                   " end", "'SIP/' || _ext || '-' || substr(_h, 25, 8)"),
    "lastapp": ("'Dial'", "'Dial'"),
    "lastdata": ("'SIP/carrier,45,tT'", "'SIP/' || _ext || ',30'"),
    "start": ("started_at", "_fmt(_dts)"),
    "answer": ("case when _ans then _fmt(_plus(_ts, _ring)) end", "_fmt(_plus(_dts, _ring))"),
    "end": ("_fmt(_plus(_ts, _ring + coalesce(_dur, 0)))", "_fmt(_plus(_dts, _ring + _dsec))"),
    "duration": ("_ring + _dur", "_ring + _dsec"),
    "billsec": ("duration_s", "_dsec"),
    "disposition": ("case when _ans then 'ANSWERED' when outcome = 'no_answer' then 'NO ANSWER' "
                    "when outcome = 'busy' then 'BUSY' when outcome = 'invalid_number' "
                    "then 'FAILED' else outcome end", "'ANSWERED'"),
    "amaflags": ("'DOCUMENTATION'", "'DOCUMENTATION'"),
    "uniqueid": ("call_id", "_epoch(_dts) || '.' || _n(_id || ':uid', 100000)"),
    "userfield": ("_wrap", "null"),
    "recordingfile": ("recording_id", "null"),
    "ptp_amount": ("ptp_amount", "null"),
    "ptp_due": ("ptp_due_date", "null"),
}
FREESWITCH = {
    "caller_id_name": ("agent_id", "null"),
    "caller_id_number": (f"'{CENTRE_NUMBER}'",
                         "'13' || lpad(_n(_id || ':in', 1000000000)::varchar, 9, '0')"),
    "destination_number": ("dialled_number", f"'{CENTRE_NUMBER}'"),
    "context": ("'collections'", "'default'"),
    "start_stamp": ("started_at", "_fmt(_dts)"),
    "answer_stamp": ("case when _ans then coalesce(_fmt(_plus(_ts, _ring)), started_at) end",
                     "_fmt(_plus(_dts, _ring))"),
    "end_stamp": ("_fmt(_plus(_ts, _ring + coalesce(_dur, 0)))",
                  "_fmt(_plus(_dts, _ring + _dsec))"),
    "duration": ("_ring + _dur", "_ring + _dsec"),
    "billsec": ("duration_s", "_dsec"),
    "hangup_cause": (
        "case when _ans then 'NORMAL_CLEARING' when outcome = 'no_answer' then "
        "case _n(_id || ':cause', 3) when 0 then 'NO_ANSWER' when 1 then 'NO_USER_RESPONSE' "
        "else 'ORIGINATOR_CANCEL' end "
        "when outcome = 'busy' then 'USER_BUSY' when outcome = 'invalid_number' then "
        "case _n(_id || ':cause', 2) when 0 then 'UNALLOCATED_NUMBER' else 'NUMBER_CHANGED' end "
        "else outcome end",
        "'NORMAL_CLEARING'"),
    "uuid": ("call_id", "_uuid(md5(_id || ':in'))"),
    "bleg_uuid": ("case when _ans then _uuid(md5(_id || ':b')) end", "null"),
    "accountcode": ("case_id", "null"),
    "start_epoch": ("coalesce(_epoch(_ts), started_at)", "_epoch(_dts)"),
    # billed milliseconds: the seconds x 1000, plus 0-999 ms on a call with talk time
    "billmsec": ("coalesce((_dur * 1000 + case when _dur > 0 then _n(_id || ':ms', 1000) "
                 "else 0 end)::varchar, duration_s)", "_dsec * 1000 + _n(_id || ':ms', 1000)"),
    "cc_agent": ("agent_id", "null"),
    "kh_wrapup": ("_wrap", "null"),
    "kh_ptp_amount": ("ptp_amount", "null"),
    "kh_ptp_due": ("ptp_due_date", "null"),
    "record_file": ("recording_id", "null"),
}
CN_CLOUD = dict(zip(CN_HEADER, [
    ("call_id", "'IB' || upper(substr(md5(_id || ':in'), 1, 15))"),
    ("case_id", "null"),
    ("agent_id", "agent_id"),
    ("started_at", "_fmt(_dts)"),
    ("case when _ans then _fmt(_plus(_ts, _ring)) end", "_fmt(_plus(_dts, _ring))"),
    ("_fmt(_plus(_ts, _ring + coalesce(_dur, 0)))", "_fmt(_plus(_dts, _ring + _dsec))"),
    ("coalesce(_hms(_dur), duration_s)", "_hms(_dsec)"),
    ("case outcome when 'connected_debtor' then '1' when 'connected_third_party' then '2' "
     "when 'voicemail' then '3' when 'no_answer' then '4' when 'busy' then '5' "
     "when 'invalid_number' then (6 + _n(_id || ':code', 2))::varchar else outcome end", "'1'"),
    ("'外呼'", "'呼入'"),
    ("ptp_amount", "null"),
    ("coalesce(strftime(try_strptime(ptp_due_date, '%Y-%m-%d'), '%Y/%m/%d'), ptp_due_date)",
     "null"),
    ("recording_id", "null"),
    ("dialled_number", f"'{CENTRE_NUMBER}'"),
], strict=True))
RENDER = {"asterisk_cdr": ASTERISK, "freeswitch_cdr_csv": FREESWITCH,
          "cn_cloud_callcenter": CN_CLOUD}


def load_profile(name: str) -> dict:
    """A shipped profile (``profiles/<name>.yaml``) as a dict; ValueError for an unknown name."""
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}")
    return yaml.safe_load((PROFILES_DIR / f"{name}.yaml").read_text(encoding="utf-8"))


def vendor_columns(name: str, profile: dict) -> list[str]:
    """The vendor file's columns in order: the profile's ``names`` (no header line) or the
    export's header; ValueError when the profile reads a column the renderer does not write."""
    columns = list(RENDER[name])
    if not profile.get("header", True) and profile.get("names") != columns:
        raise ValueError(f"profile {name}: names differ from the renderer's columns")
    for target, spec in profile["columns"].items():
        wanted = spec.get("from", [])
        wanted = [wanted] if isinstance(wanted, str) else wanted
        if wanted and not set(wanted) & set(columns):
            raise ValueError(f"profile {name}: {target} reads {wanted}, not rendered")
    return columns


def file_name(pattern: str, day: date) -> str:
    """The profile's ``files`` pattern for a day: ``{date}`` is YYYYMMDD, ``{date:%...}`` any
    strftime format."""
    return pattern.replace("{date}", "{date:%Y%m%d}").format(date=day)


def _read(con: duckdb.DuckDBPyConnection, paths: list[Path]) -> list[tuple[int, int]]:
    """The contract files of one day into ``_c`` (every column text, the file's order), as the
    contract reader reads them; returns the lines it rejected, (file index, physical line with
    the header line 1)."""
    con.execute("drop table if exists _rej; drop table if exists _rej_scan; "
                "drop table if exists _c")
    columns = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in COLUMNS["calls"]) + "}"
    files = "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"
    con.execute(
        f"create temp table _c as select *, file_index::integer as _fidx from read_csv({files}, "
        f"columns = {columns}, header = true, auto_detect = false, delim = ',', quote = '\"', "
        "escape = '\"', store_rejects = true, rejects_table = '_rej', "
        "rejects_scan = '_rej_scan', compression = 'auto')")
    return con.execute("select file_id::int, line::int from _rej order by file_id, line"
                       ).fetchall()


def _render_day(con: duckdb.DuckDBPyConnection, name: str, header: bool, target: Path,
                paths: list[Path], encoding: str) -> tuple[int, int, list[tuple[int, int]]]:
    """One day's contract files into ``target`` (the records also in the temp table ``_o``, in
    the order ``_k``, ``_sub``; ``_fidx``/``_line`` a contract record's file and line); returns
    (records, planted drops, the lines the read rejected as (file index, line))."""
    rejected = _read(con, paths)
    con.execute(BASE)
    spec = RENDER[name]
    quoted = not header  # cdr_custom / mod_cdr_csv: every field quoted, empty ones too

    def cols(i: int) -> str:
        empty = "''" if quoted else "null"
        return ", ".join(f"coalesce(({exprs[i]})::varchar, {empty}) as \"{col}\""
                         for col, exprs in spec.items())

    # the contract line of a record: its place in its file past the header, plus the lines
    # the read rejected before it (reject j of a file, at line L, comes after L - 2 - j records)
    shift = " + ".join(
        f"(_fidx = {f} and _pos >= {line - 2 - [g for g, _ in rejected[:i]].count(f)})::int"
        for i, (f, line) in enumerate(rejected)) or "0"
    con.execute(f"""
        create or replace temp table _o as
        with rows as (select *, _k - min(_k) over (partition by _fidx) as _pos from _b)
        select {cols(0)}, _k, 0 as _sub, _fidx, _pos + 2 + {shift} as _line from rows
        union all
        select {cols(1)}, _k, 1, null, null from (
            select *, (100 + _n(_id || ':ext', 9900))::varchar as _ext from _b
            where _ts is not null and call_id is not null and agent_id is not null
            qualify row_number() over (order by md5(_id || ':drop'))
                <= greatest(1, round(count(*) over () / {DROP_EVERY})))
    """)
    select = ", ".join(f'"{c}"' for c in spec)
    opts = "header true" if header else "header false, force_quote *"
    con.execute(f"copy (select {select} from _o order by _k, _sub) to "
                f"'{str(target).replace(chr(39), chr(39) * 2)}' ({opts})")
    if encoding != "utf-8":
        target.write_bytes(target.read_text(encoding="utf-8").encode(encoding))
    records, drops = con.execute("select count(*), count(*) filter (_sub = 1) from _o"
                                 ).fetchall()[0]
    return records, drops, rejected


def render_calls(landing: Path, profile: str) -> dict:
    """Rewrite the contract calls files of ``landing`` in the vendor format of ``profile``
    (one of :data:`PROFILES`), copy the profile to ``calls/profile.yaml``, and record what was
    done under ``calls_profile`` in ``_manifest.json``; returns that record.

    The record: the profile, the vendor files with their contract files, records written,
    planted drop records and lines skipped (rejected by the read), the totals, and where each
    documented bad calls row of the manifest went (``vendor_file``/``vendor_line``; none for a
    line the read rejects, the ``malformed_row``)."""
    landing = Path(landing)
    spec = load_profile(profile)
    header = bool(spec.get("header", True))
    vendor_columns(profile, spec)
    encoding = "gbk" if profile == "cn_cloud_callcenter" else "utf-8"
    days: dict[str, list[Path]] = {}
    for path in sorted((landing / "calls").glob("calls_*")):
        if m := CONTRACT_FILE.fullmatch(path.name):
            days.setdefault(m.group(1), []).append(path)
    if not days:
        raise ValueError(f"no contract calls files in {landing / 'calls'}")
    manifest_path = landing / "_manifest.json"
    manifest = (json.loads(manifest_path.read_text(encoding="utf-8"))
                if manifest_path.exists() else {})
    bad = [b for b in manifest.get("bad_rows", []) if b["source"] == "calls"]
    files, moved = {}, []
    con = duckdb.connect()
    try:
        con.execute("set preserve_insertion_order = true")
        con.execute(MACROS)
        for ymd, paths in days.items():
            day = date(int(ymd[:4]), int(ymd[4:6]), int(ymd[6:]))
            target = landing / "calls" / file_name(spec["files"], day)
            records, drops, rejected = _render_day(con, profile, header, target, paths,
                                                   encoding)
            names = [f"calls/{p.name}" for p in paths]
            files[f"calls/{target.name}"] = {
                "from": names, "records": records, "planted_drops": drops,
                "skipped_lines": [{"file": names[f], "line": line} for f, line in rejected]}
            here = [b for b in bad if b["file"] in names]
            if here:  # where the documented bad lines went (a few: a lookup each)
                wanted = ", ".join(f"({names.index(b['file'])}, {int(b['line'])})" for b in here)
                lines = dict(((f, line), out) for f, line, out in con.execute(
                    f"select _fidx, _line, _out from (select _fidx, _line, row_number() over "
                    f"(order by _k, _sub) + {int(header)} as _out from _o) where (_fidx, _line) "
                    f"in (select (f, line) from (values {wanted}) v(f, line))").fetchall())
                moved += [{**b, "vendor_file": f"calls/{target.name}",
                           "vendor_line": lines.get((names.index(b["file"]), b["line"]))}
                          for b in here]
    finally:
        con.close()
    for paths in days.values():
        for path in paths:
            path.unlink()
    shutil.copyfile(PROFILES_DIR / f"{profile}.yaml", landing / "calls" / "profile.yaml")
    record = {
        "profile": profile, "encoding": encoding, "header": header,
        "files": files,
        "records": sum(f["records"] for f in files.values()),
        "planted_drops": sum(f["planted_drops"] for f in files.values()),
        "skipped_lines": sum(len(f["skipped_lines"]) for f in files.values()),
        "bad_rows": moved,
    }
    manifest["calls_profile"] = record
    manifest_path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
                             encoding="utf-8")
    return record


def write_samples(landing: Path, out: Path = PROFILES_DIR / "samples") -> list[Path]:
    """``out/<profile>.csv`` for every profile: the first day's calls of a generated ``landing``
    (left as it is) cut to 11 records from 10:00 (two of each outcome but busy, one of them a
    promise to pay) and rendered, so 12 records with the planted drop record.
    ``benchmarks/vendor_samples.py`` writes the shipped ones (seed 11, small, from 2026-09-01)."""
    first = sorted((Path(landing) / "calls").glob("calls_*.csv"))[0]
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory(prefix="kaohe-samples-") as tmp:
        cut = Path(tmp) / first.name
        con = duckdb.connect()
        try:
            con.execute(
                "copy (select * exclude (_r) from (select *, row_number() over (partition by "
                "outcome, ptp_amount is null order by call_id) as _r from read_csv(?, "
                "all_varchar = true) where substr(started_at, 12) >= '10:00:00') "
                "where _r <= case when outcome in ('connected_debtor', 'busy') then 1 else 2 end "
                f"order by started_at, call_id) to '{cut}' (header true)", [str(first)])
        finally:
            con.close()
        for name in PROFILES:
            (Path(tmp) / name / "calls").mkdir(parents=True)
            shutil.copy(cut, Path(tmp) / name / "calls")
            (vendor,) = render_calls(Path(tmp) / name, name)["files"]
            written.append(Path(shutil.move(Path(tmp) / name / vendor, out / f"{name}.csv")))
    return written
