"""Source profiles (kaohe/ingest/profiles.py, docs/profiles.md): a vendor's export read onto the
contract through a YAML file, with every guarantee of the ingestion (quarantine with reasons
naming the profile and the value, PII hashed, read = loaded + rejected)."""

from __future__ import annotations

import csv
import io
import os
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kaohe.ingest.ingestor import discover
from kaohe.ingest.profiles import (
    SCHEMA_FILE,
    ProfileError,
    load_profile,
    match_file,
    schema_text,
    shipped_profiles,
)
from pipelines.cli import main

PHONE = "13912345678"


def profile_file(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# a small vendor format exercising every kind: Chinese headers with aliases, epoch
# milliseconds, H:MM:SS, numeric codes with a default, a constant, a drop rule
VENDOR = """\
profile: test_vendor
source: calls
files: "cdr_{date:%Y-%m-%d}.csv"
columns:
  call_id: {from: [通话编号, 通话ID]}
  case_id: {from: 案件号}
  agent_id: {from: [工号, Cno]}
  started_at: {from: 开始时间, time: epoch_ms}
  duration_s: {from: 时长, duration: hms}
  outcome:
    from: 结果
    map: {"1": connected_debtor, "4": no_answer, "5": busy}
  ptp_amount: {from: 承诺金额, required: false}
  ptp_due_date: {from: 承诺日期, time: "%Y/%m/%d", required: false}
  recording_id: {const: none-kept}
  dialled_number: {from: 被叫号码}
drop:
  - when: "方向 = '呼入'"
    reason: an inbound call
"""
HEADER = "通话ID,案件号,Cno,开始时间,时长,结果,承诺金额,承诺日期,被叫号码,方向"
# 2026-09-01 09:00:00 Asia/Shanghai = 1788224400 s
ROWS = [
    f"K1,C1,A1,1788224400000,0:01:35,1,300.00,2026/09/05,{PHONE},外呼",
    f"K2,C1,A1,1788224460500,0:00:00,4,,,{PHONE},外呼",
    f"K3,C2,A1,1788224520000,1:00:01,9,,,{PHONE},外呼",          # unknown code 9
    f"K4,C2,A1,not-a-time,0:00:10,5,,,{PHONE},外呼",              # unparseable time
    f"K5,C3,A1,1788224580000,0:00:07,1,,,{PHONE},呼入",           # dropped: inbound
]


def write(landing, name: str, rows: list[str], header: str | None = HEADER,
          encoding: str = "utf-8", folder_profile: str | None = VENDOR) -> Path:
    folder = landing.root / "calls"
    folder.mkdir(parents=True, exist_ok=True)
    if folder_profile is not None:
        (folder / "profile.yaml").write_text(folder_profile, encoding="utf-8")
    lines = ([header] if header is not None else []) + rows
    path = folder / name
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def test_the_shipped_profiles_load_and_their_schema_is_up_to_date():
    assert set(shipped_profiles()) >= {"asterisk_cdr", "freeswitch_cdr_csv",
                                       "cn_cloud_callcenter"}
    for name in shipped_profiles():
        assert load_profile(name).source == "calls"
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), (
        "profiles/profile.schema.json is stale: uv run kaohe profile schema")


@pytest.mark.parametrize("change, where, message", [
    ("colour: red\n", "colour", "Extra inputs are not permitted"),
    ("", "columns.outcome.map", "'connected' is not one of"),
    ("", "columns.started_at", "give exactly one of from, expr, const (not from and expr)"),
    ("", "columns.outcome", "expression \"read_csv('/etc/passwd')\""),
    ("", "", "columns: case_id must be mapped"),
    ("zone: Mars/Olympus\n", "", "'Mars/Olympus' is not a time zone"),
    ("", "", "has no {date}"),
    ("", "columns.duration_s", "duration is for a whole-number column"),
])
def test_a_broken_profile_is_one_line_naming_the_key(tmp_path, change, where, message):
    text = VENDOR + change
    if "connected'" in message:
        text = text.replace('"1": connected_debtor', '"1": connected')
    elif "exactly one" in message:
        text = text.replace("started_at: {from: 开始时间, time: epoch_ms}",
                            "started_at: {from: 开始时间, expr: \"1\", time: epoch_ms}")
    elif "read_csv" in message:
        text = text.replace("    from: 结果\n", "    expr: \"read_csv('/etc/passwd')\"\n")
    elif "case_id must" in message:
        text = text.replace("  case_id: {from: 案件号}\n", "")
    elif "{date}" in message:
        text = text.replace('files: "cdr_{date:%Y-%m-%d}.csv"', 'files: "cdr.csv"')
    elif "whole-number" in message:
        text = text.replace("duration_s: {from: 时长, duration: hms}",
                            "duration_s: {from: 时长, duration: hms}\n  ptp_amount: "
                            "{from: 承诺金额, duration: seconds}").replace(
            "  ptp_amount: {from: 承诺金额, required: false}\n", "")
        where = "columns.ptp_amount"
        message = "duration is for a whole-number column, ptp_amount is dec"
    path = profile_file(tmp_path, text)
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    text = str(err.value)
    assert "\n" not in text and text.startswith(str(path)), text
    assert where in text and message in text, text


def test_an_expression_cannot_reach_beyond_the_row(tmp_path):
    """The expression grammar is closed: no sub-query, no table function, no file access."""
    for expr in ["(select 1)", "read_text('/etc/passwd')", "getenv('HOME')",
                 "x; drop table raw.calls"]:
        text = VENDOR.replace("    from: 结果\n", f"    expr: \"{expr}\"\n")
        with pytest.raises(ProfileError):
            load_profile(profile_file(tmp_path, text))


def test_file_names_follow_the_profile_pattern(tmp_path):
    p = load_profile(profile_file(tmp_path, VENDOR))
    assert match_file(p, "cdr_2026-09-01.csv")[:2] == (__import__("datetime").date(2026, 9, 1), 0)
    assert match_file(p, "cdr_2026-09-01.csv.gz")[2] == "csv.gz"
    assert match_file(p, "cdr_20260901.csv") is None
    assert match_file(p, "cdr_2026-02-30.csv") is None  # not a date


def test_a_vendor_file_maps_row_by_row_with_reasons_naming_the_profile(landing):
    write(landing, "cdr_2026-09-01.csv", ROWS)
    res = landing.ingest()["calls"].files[0]
    assert (res.status, res.rows_read, res.rows_loaded, res.rows_rejected) == \
        ("loaded", 5, 2, 3)
    rows = landing.query(
        "select call_id, case_id, agent_id, started_at::varchar, duration_s, outcome, "
        "ptp_amount::varchar, ptp_due_date::varchar, recording_id, dialled_number "
        "from raw.calls order by call_id")
    assert [r[:9] for r in rows] == [
        ("K1", "C1", "A1", "2026-09-01 09:00:00", 95, "connected_debtor", "300.00",
         "2026-09-05", "none-kept"),
        ("K2", "C1", "A1", "2026-09-01 09:01:00", 0, "no_answer", None, None, "none-kept"),
    ]
    assert all(r[9] != PHONE and len(r[9]) == 64 for r in rows)  # hashed in the read
    q = landing.query("select line, reason_code, reason, raw_text from audit.quarantine "
                      "order by line")
    assert [(line, code) for line, code, _, _ in q] == [
        (4, "unknown_enum"), (5, "bad_type"), (6, "dropped_by_profile")]
    assert q[0][2].startswith("unknown_enum: outcome (profile test_vendor, column 结果): '9' "
                              "is not a code the profile maps (1, 4, 5)")
    assert q[1][2].startswith("bad_type: started_at (profile test_vendor, column 开始时间): "
                              "'not-a-time' is not milliseconds since 1970-01-01")
    assert q[2][2] == "dropped_by_profile: an inbound call (profile test_vendor)"
    # the record as the vendor sent it, its PII column hidden, never in clear anywhere
    # (long numbers and Chinese text masked too, as in any source with PII)
    assert q[0][3] == "K3,C2,A1,***,1:00:01,9,,,***,***"
    assert not any(PHONE in str(v) for row in q for v in row)
    reg = landing.query("select profile, rows_read, rows_loaded, rows_rejected "
                        "from audit.file_registry")
    assert reg[0][0].startswith("test_vendor@") and reg[0][1:] == (5, 2, 3)


def test_a_missing_vendor_column_rejects_the_file_naming_the_profile(landing):
    write(landing, "cdr_2026-09-01.csv", [r.rsplit(",", 2)[0] for r in ROWS],
          header=HEADER.rsplit(",", 2)[0])  # no 被叫号码, no 方向
    res = landing.ingest()["calls"].files[0]
    assert res.status == "rejected"
    assert res.message.startswith("missing_column: profile test_vendor: the file has no "
                                  "column 被叫号码 (for dialled_number)"), res.message
    # the drop rule's column is missing too: the file was rejected before that mattered


def test_an_optional_column_missing_gives_null_and_a_drop_rule_without_its_column_is_said(
        landing):
    header = HEADER.replace(",承诺金额,承诺日期", "").rsplit(",", 1)[0]
    rows = [",".join(r.split(",")[:6] + r.split(",")[8:9]) for r in ROWS[:2]]
    write(landing, "cdr_2026-09-01.csv", rows, header=header)
    res = landing.ingest()["calls"].files[0]
    assert (res.status, res.rows_loaded) == ("loaded", 2)
    assert res.warnings == ["profile test_vendor: the drop rule \"方向 = '呼入'\" is not "
                            "applied: the file has no column 方向"]
    assert landing.query("select count(*) from raw.calls where ptp_amount is null") == [(2,)]


def test_gbk_headerless_tab_separated_and_time_zones(landing, tmp_path):
    """A GBK file with no header line, tab-separated, text times in UTC converted to the
    centre's zone, durations in milliseconds cut to whole seconds."""
    text = """\
    profile: tabbed
    source: calls
    files: "话单{date}.txt"
    encoding: gb18030
    delimiter: "\\t"
    header: false
    names: [编号, 案件, 坐席, 时间, 毫秒, 状态, 号码]
    columns:
      call_id: {from: 编号}
      case_id: {from: 案件}
      agent_id: {from: 坐席}
      started_at: {from: 时间, time: {format: "%d.%m.%Y %H:%M", zone: UTC}}
      duration_s: {from: 毫秒, duration: milliseconds}
      outcome: {from: 状态, map: {接通: connected_debtor}, default: no_answer}
      dialled_number: {from: 号码}
    """
    folder = landing.root / "calls"
    folder.mkdir(parents=True)
    (folder / "profile.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    (folder / "话单20260901.txt").write_bytes(
        f"T1\tC1\tA1\t01.09.2026 01:00\t95999\t接通\t{PHONE}\n"
        f"T2\tC1\tA1\t01.09.2026 02:30\t0\t未接\t{PHONE}\n".encode("gbk"))
    res = landing.ingest()["calls"].files[0]
    assert (res.status, res.rows_loaded) == ("loaded", 2), res
    assert landing.query("select call_id, started_at::varchar, duration_s, outcome from "
                         "raw.calls order by 1") == [
        ("T1", "2026-09-01 09:00:00", 95, "connected_debtor"),
        ("T2", "2026-09-01 10:30:00", 0, "no_answer")]  # an unknown code: the default
    assert landing.query("select encoding, _line from audit.file_registry, raw.calls "
                         "order by _line") == [("gb18030", 1), ("gb18030", 2)]


def test_a_file_not_named_by_the_pattern_says_the_pattern(landing):
    write(landing, "cdr_20260901.csv", ROWS[:1])
    res = landing.ingest()["calls"].files[0]
    assert res.status == "rejected"
    assert "does not follow the profile test_vendor's pattern 'cdr_{date:%Y-%m-%d}.csv'" \
        in res.message


def test_a_corrected_profile_reads_its_files_again(landing):
    path = write(landing, "cdr_2026-09-01.csv", ROWS)
    assert landing.ingest()["calls"].files[0].rows_loaded == 2
    assert landing.ingest()["calls"].files[0].status == "unchanged"
    # the lender adds the missing code to the map: the same file is read again, replacing
    (path.parent / "profile.yaml").write_text(
        VENDOR.replace('"5": busy}', '"5": busy, "9": invalid_number}'), encoding="utf-8")
    res = landing.ingest()["calls"].files[0]
    assert (res.status, res.rows_loaded, res.rows_rejected) == ("loaded", 3, 2)
    assert landing.query("select count(*) from raw.calls") == [(3,)]
    assert landing.query("select count(*), count(distinct profile) from audit.file_registry "
                         "where status = 'replaced'") == [(1, 1)]


def test_a_broken_folder_profile_quarantines_its_files_whole_and_nothing_else(landing):
    write(landing, "cdr_2026-09-01.csv", ROWS, folder_profile=VENDOR.replace("source: calls",
                                                                            "source: callz"))
    landing.write("agents", "agents_20260901.csv", [])
    results = landing.ingest()
    res = results["calls"].files[0]
    assert res.status == "rejected" and res.message.startswith(
        "bad_profile: the source profile cannot be used: "), res.message
    assert "source 'callz' is not a source of the data contract" in res.message
    assert results["agents"].files[0].status == "loaded"
    # corrected: the file is read
    (landing.root / "calls" / "profile.yaml").write_text(VENDOR, encoding="utf-8")
    assert landing.ingest()["calls"].files[0].rows_loaded == 2


def test_the_configuration_names_a_profile_relative_to_its_file(landing, tmp_path):
    cfg_dir = tmp_path / "cfg"
    cfg_dir.mkdir()
    (cfg_dir / "vendor.yaml").write_text(VENDOR, encoding="utf-8")
    write(landing, "cdr_2026-09-01.csv", ROWS, folder_profile=None)
    files = discover(landing.root, {"calls": "vendor.yaml"}, cfg_dir)["calls"]
    assert [f.profile.profile for f in files] == ["test_vendor"]
    assert files[0].business_date.isoformat() == "2026-09-01"
    # without the configuration the folder is the contract's format: the name is wrong
    assert discover(landing.root)["calls"][0].fmt is None


def test_profile_check_shows_what_a_run_would_do(tmp_path, capsys):
    prof = profile_file(tmp_path, VENDOR)
    export = tmp_path / "cdr_2026-09-01.csv"
    export.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    assert main(["profile", "check", "--profile", str(prof), "--file", str(export)]) == 1
    out = capsys.readouterr().out
    assert "5 record(s) read, 2 would load, 3 would be set aside" in out
    assert "outcome '9' ×1" in out
    assert "'not-a-time' is not milliseconds" in out
    assert PHONE not in out
    good = tmp_path / "good" / "cdr_2026-09-01.csv"
    good.parent.mkdir()
    good.write_text("\n".join([HEADER, ROWS[0], ROWS[4]]) + "\n", encoding="utf-8")
    assert main(["profile", "check", "--profile", str(prof), "--file", str(good)]) == 0
    broken = profile_file(tmp_path, VENDOR.replace("files:", "filez:"), "broken.yaml")
    assert main(["profile", "check", "--profile", str(broken), "--file", str(good)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"kaohe: {broken}: ") and "files" in err[-1]


# -- fuzz: whatever a vendor's file holds, the profile reads it or says why ---------------------

_FIELD = st.one_of(
    st.sampled_from(["", "1", "4", "9", "0:01:35", "61:00", "1788224400000", "-5", "abc",
                     "外呼", "呼入", "2026/09/05", PHONE, "A1", "C1", " 1 ", "1e30", "NaN"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12))


@settings(max_examples=int(os.environ.get("KAOHE_FUZZ_EXAMPLES", "8")), deadline=None,
          suppress_health_check=list(HealthCheck))
@given(rows=st.lists(st.lists(_FIELD, min_size=8, max_size=12), min_size=1, max_size=12),
       encoding=st.sampled_from(["utf-8", "gbk"]))
def test_fuzz_a_profile_never_crashes_and_accounts_for_every_row(tmp_path_factory, rows,
                                                                 encoding):
    from tests.conftest import Landing

    root = tmp_path_factory.mktemp("fuzz")
    landing = Landing(root / "landing", root / "home")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HEADER.split(","))
    for r in rows:
        w.writerow(r)
    folder = landing.root / "calls"
    folder.mkdir(parents=True)
    (folder / "profile.yaml").write_text(VENDOR, encoding="utf-8")
    (folder / "cdr_2026-09-01.csv").write_bytes(buf.getvalue().encode(encoding, "replace"))
    res = landing.ingest()["calls"].files[0]
    assert res.status in ("loaded", "rejected")
    assert "could not be read" not in res.message, res.message  # never the catch-all
    if res.status == "loaded":
        assert res.rows_read == res.rows_loaded + res.rows_rejected
        # every rejected record is in the quarantine (malformed lines are counted once per
        # line, like any file's)
        assert landing.query("select count(*) from audit.quarantine")[0][0] == \
            res.rows_rejected
    texts = landing.query("select coalesce(raw_text, '') || reason from audit.quarantine")
    assert not any(PHONE in t for (t,) in texts)
    assert not landing.query(f"select 1 from raw.calls where dialled_number = '{PHONE}'")
    # again: nothing changes
    assert landing.ingest()["calls"].files[0].status == "unchanged"


def test_the_data_quality_page_names_the_profile_of_each_file():
    from kaohe.quality.page import render

    html = render("2026-09", [], [], "en", [{"path": "calls/Master_20260901.csv",
                                             "profile": "asterisk_cdr@d1fe830a0fc4",
                                             "rows_read": 1200, "rows_loaded": 1190,
                                             "rows_rejected": 10}])
    assert "Files read through a source profile" in html
    assert "calls/Master_20260901.csv" in html and "asterisk_cdr@d1fe830a0fc4" in html
    assert "1,190" in html
    assert "Files read through a source profile" not in render("2026-09", [], [], "en")


def test_headerless_files_of_one_profile_read_together_keep_their_own_lines(landing,
                                                                          monkeypatch):
    """The files of a profile go in one read (a batch, like the contract's own files): each
    keeps its registry row, counts and line numbers; line 1 is a record when there is no
    header line."""
    text = """\
    profile: plain
    source: calls
    files: "plain_{date}.csv"
    header: false
    names: [id, case, agent, at, secs, result, number]
    columns:
      call_id: {from: id}
      case_id: {from: case}
      agent_id: {from: agent}
      started_at: {from: at, time: epoch_s}
      duration_s: {from: secs, duration: seconds}
      outcome: {from: result, map: {OK: connected_debtor, NA: no_answer}}
      dialled_number: {from: number}
    drop:
      - when: "agent = 'system'"
        reason: a test call of the switch
    """
    folder = landing.root / "calls"
    folder.mkdir(parents=True)
    (folder / "profile.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    for day, first in (("20260901", 1788224400), ("20260902", 1788310800)):
        (folder / f"plain_{day}.csv").write_text(
            f"P{day}a,C1,A1,{first},12.9,OK,{PHONE}\n"
            f"P{day}b,C1,A1,{first + 60},7,HUNG,{PHONE}\n"
            f"P{day}c,C1,system,{first + 120},1,OK,{PHONE}\n"
            f"P{day}d,C1,A1,{first + 180},0,NA,{PHONE}\n", encoding="utf-8")
    from kaohe.ingest.batch import Batch
    batches = []
    load = Batch._load_batch
    monkeypatch.setattr(Batch, "_load_batch", lambda self, src, members: (
        batches.append([m.f.rel for m in members]), load(self, src, members))[1])
    files = landing.ingest()["calls"].files
    assert batches == [["calls/plain_20260901.csv", "calls/plain_20260902.csv"]]
    assert [(f.status, f.rows_read, f.rows_loaded, f.rows_rejected) for f in files] == [
        ("loaded", 4, 2, 2)] * 2
    assert landing.query("select _file, _line, duration_s from raw.calls order by 1, 2") == [
        ("calls/plain_20260901.csv", 1, 12), ("calls/plain_20260901.csv", 4, 0),
        ("calls/plain_20260902.csv", 1, 12), ("calls/plain_20260902.csv", 4, 0)]
    assert landing.query("select file, line, reason_code from audit.quarantine order by 1, 2"
                         ) == [("calls/plain_20260901.csv", 2, "unknown_enum"),
                               ("calls/plain_20260901.csv", 3, "dropped_by_profile"),
                               ("calls/plain_20260902.csv", 2, "unknown_enum"),
                               ("calls/plain_20260902.csv", 3, "dropped_by_profile")]
    assert landing.query("select count(distinct profile) from audit.file_registry") == [(1,)]


def test_an_hr_roster_with_chinese_headers_and_codes(landing):
    """Not only diallers: an HR system's roster (a snapshot source) with its own headers and
    codes, read through a profile with the snapshot's rules (one row per date and agent)."""
    text = """\
    profile: hr_roster
    source: agents
    files: "花名册{date}.csv"
    columns:
      agent_id: {from: 工号}
      agent_name: {from: 姓名}
      team_id: {from: 组别编号}
      team_name: {from: 组别}
      manager_email: {from: 主管邮箱}
      site: {from: 职场}
      level: {from: 职级, map: {初级: L1, 中级: L2, 高级: L3, 资深: L4}}
      hire_date: {from: 入职日期, time: "%Y年%m月%d日"}
      employment_type: {from: 用工类型, map: {正式: in_house, 外包: outsourced}}
      agency_id: {from: 外包公司, required: false}
      base_salary: {from: 底薪}
      status: {from: 状态, map: {在职: active, 离职: left}}
    """
    folder = landing.root / "agents"
    folder.mkdir(parents=True)
    (folder / "profile.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    header = "工号,姓名,组别编号,组别,主管邮箱,职场,职级,入职日期,用工类型,外包公司,底薪,状态"
    (folder / "花名册20260901.csv").write_bytes("\n".join([
        header,
        "A1,张三,T1,一组,m1@example.cn,上海,中级,2024年03月01日,正式,,6000.00,在职",
        "A2,李四,T1,一组,m1@example.cn,上海,初级,2025年07月15日,外包,AG1,4500.00,离职",
        "A3,王五,T1,一组,m1@example.cn,上海,专家,2025年07月15日,正式,,4500.00,在职",
    ]).encode("gbk") + b"\n")
    res = landing.ingest()["agents"].files[0]
    assert (res.status, res.rows_loaded, res.rows_rejected) == ("loaded", 2, 1), res
    assert landing.query("select snapshot_date::varchar, agent_id, level, hire_date::varchar, "
                         "employment_type, status from staging.agents order by agent_id") == [
        ("2026-09-01", "A1", "L2", "2024-03-01", "in_house", "active"),
        ("2026-09-01", "A2", "L1", "2025-07-15", "outsourced", "left")]
    reason = landing.query("select reason from audit.quarantine")[0][0]
    assert reason.startswith("unknown_enum: level (profile hr_roster, column 职级): '***' is "
                             "not a code the profile maps (初级, 中级, 高级, 资深)"), reason
