"""A landing's calls rendered in a vendor's format (kaohe/generate/vendors.py): the files, their
encodings and headers, the planted drop records, and each vendor column the profile reads mapping
back to the contract's value when the profile's mapping is applied by hand. The ingestion of these
files through the profiles is tested elsewhere (tests/ingest/)."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest
import yaml

from kaohe.generate import COLUMNS, generate
from kaohe.generate.vendors import (
    CN_HEADER,
    DROP_EVERY,
    PROFILES,
    PROFILES_DIR,
    file_name,
    render_calls,
    write_samples,
)
from pipelines.cli import main

OUTCOMES = ("no_answer", "busy", "invalid_number", "voicemail", "connected_debtor",
            "connected_third_party")
QUOTED_LINE = re.compile(r'"(?:[^"]|"")*"(?:,"(?:[^"]|"")*")*')


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("landing")
    return out, generate(out, date(2026, 9, 1), 1, 11, "small", progress=None)


@pytest.fixture(scope="module")
def rendered(landing, tmp_path_factory) -> dict[str, tuple[Path, dict]]:
    """Each profile's rendering of a copy of the landing: (its landing, the returned record)."""
    out = {}
    for name in PROFILES:
        copy = tmp_path_factory.mktemp(name)
        shutil.copytree(landing[0] / "calls", copy / "calls")
        shutil.copy(landing[0] / "_manifest.json", copy)
        out[name] = copy, render_calls(copy, name)
    return out


@pytest.fixture(scope="module")
def tables(landing, rendered, tmp_path_factory) -> duckdb.DuckDBPyConnection:
    """The contract files as ``c``, each profile's vendor files as ``v_<profile>``."""
    con = duckdb.connect()
    contract_rows(con, landing[0] / "calls")
    tmp = tmp_path_factory.mktemp("utf8")
    for name, (root, record) in rendered.items():
        read_vendor(con, name, [root / f for f in sorted(record["files"])], tmp)
    yield con
    con.close()


def profile(name: str) -> dict:
    return yaml.safe_load((PROFILES_DIR / f"{name}.yaml").read_text(encoding="utf-8"))


def columns_of(name: str) -> list[str]:
    return CN_HEADER if name == "cn_cloud_callcenter" else profile(name)["names"]


def read_vendor(con: duckdb.DuckDBPyConnection, name: str, files: list[Path],
                tmp: Path) -> None:
    """The vendor files into the table ``v_<name>`` (every column text, exactly the profile's columns:
    a line with a field more or less fails the read; ``filename``), GBK transcoded first."""
    if name == "cn_cloud_callcenter":
        utf8 = []
        for i, f in enumerate(files):
            utf8.append(tmp / f"{i:03d}.csv")  # in the files' order
            utf8[-1].write_text(f.read_bytes().decode("gbk"), encoding="utf-8")
        files = utf8
    cols = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in columns_of(name)) + "}"
    paths = "[" + ", ".join(f"'{f}'" for f in files) + "]"
    con.execute(f"create or replace table v_{name} as select * from read_csv({paths}, columns = {cols}, "
                f"header = {name == 'cn_cloud_callcenter'}, auto_detect = false, quote = '\"', "
                "escape = '\"', strict_mode = true, filename = true)")


def contract_rows(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    """The contract calls files into the table ``c``, the malformed line skipped."""
    cols = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in COLUMNS["calls"]) + "}"
    con.execute(f"create or replace table c as select * from read_csv('{folder}/calls_*', "
                f"columns = {cols}, header = true, auto_detect = false, ignore_errors = true, "
                "filename = true)")


def test_the_contract_files_become_the_vendor_files(landing, rendered):
    contract = sorted(p.name for p in (landing[0] / "calls").iterdir())
    days = [date(int(n[6:10]), int(n[10:12]), int(n[12:14])) for n in contract]
    for name, (root, record) in rendered.items():
        spec = profile(name)
        names = sorted(p.name for p in (root / "calls").iterdir())
        assert names == sorted([file_name(spec["files"], d) for d in days] + ["profile.yaml"])
        assert (root / "calls" / "profile.yaml").read_bytes() == \
            (PROFILES_DIR / f"{name}.yaml").read_bytes()
        manifest = json.loads((root / "_manifest.json").read_text(encoding="utf-8"))
        assert manifest["calls_profile"] == record and record["profile"] == name
        assert manifest["rows"] == landing[1]["rows"]  # the generator's own record unchanged
    assert [file_name("freeswitch_cdr_{date:%Y-%m-%d}.csv", days[0]),
            file_name("外呼明细_{date}.csv", days[0])] == \
        ["freeswitch_cdr_2026-09-01.csv", "外呼明细_20260901.csv"]


def test_records_per_file_are_the_contract_records_plus_the_planted_drops(
        landing, rendered, tables):
    con = tables
    per_day = dict(con.execute("select regexp_extract(filename, 'calls_(\\d{8})', 1), count(*) "
                               "from c group by all").fetchall())
    assert sum(per_day.values()) == landing[1]["rows"]["calls"] - 1  # the malformed line
    for name, (root, record) in rendered.items():
        files = sorted(record["files"])
        drop = " or ".join(f"({d['when']})" for d in profile(name)["drop"])
        got = con.execute(f"select count(*), count(*) filter ({drop}) from v_{name} "
                          "group by filename order by filename").fetchall()
        want, lines = [], []
        for f in files:
            ymd = re.search(r"calls_(\d{8})", record["files"][f]["from"][0])[1]
            drops = max(1, round(per_day[ymd] / DROP_EVERY))
            want.append((per_day[ymd] + drops, drops))
            assert (record["files"][f]["records"], record["files"][f]["planted_drops"]) == \
                want[-1]
            lines.append(len((root / f).read_bytes().splitlines()))
        header = name == "cn_cloud_callcenter"
        assert got == want and lines == [n + header for n, _ in want], name
        assert record["planted_drops"] == sum(d for _, d in want)
        assert record["records"] == landing[1]["rows"]["calls"] - 1 + record["planted_drops"]
        assert 0.0015 < record["planted_drops"] / record["records"] < 0.0025


def test_encodings_headers_and_quoting(rendered):
    for name, (root, record) in rendered.items():
        data = (root / sorted(record["files"])[0]).read_bytes()
        if name == "cn_cloud_callcenter":
            with pytest.raises(UnicodeDecodeError):
                data.decode("utf-8")
            lines = data.decode("gbk").splitlines()
            assert lines[0] == ",".join(CN_HEADER)
            assert "外呼" in lines[1] and sum("呼入" in line for line in lines) >= 1
        else:
            lines = data.decode("utf-8").splitlines()
            # no header line; every field double-quoted, the empty ones too (cdr_custom's
            # CSV_QUOTE, mod_cdr_csv's template); the field count is read_vendor's to check
            assert lines[0] != ",".join(f'"{n}"' for n in profile(name)["names"])
            assert lines[0].count("CL20260901") == 1
            assert all(QUOTED_LINE.fullmatch(line) for line in lines)


# the profile's time and duration kinds, applied by hand
TIME = {"%Y-%m-%d %H:%M:%S": "strftime(try_strptime({c}, '%Y-%m-%d %H:%M:%S'), '{out}')",
        "%Y-%m-%d": "strftime(try_strptime({c}, '%Y-%m-%d'), '{out}')",
        "%Y/%m/%d": "strftime(try_strptime({c}, '%Y/%m/%d'), '{out}')",
        "epoch_s": "strftime(timezone('Asia/Shanghai', to_timestamp(try_cast({c} as bigint))), "
                   "'{out}')"}
DURATION = {"seconds": "try_cast({c} as bigint)",
            "milliseconds": "floor(try_cast({c} as bigint) / 1000)::bigint",
            "hms": "case when regexp_full_match({c}, '\\d+:\\d\\d:\\d\\d') then "
                   "split_part({c}, ':', 1)::bigint * 3600 + split_part({c}, ':', 2)::bigint * 60"
                   " + split_part({c}, ':', 3)::bigint end"}


def by_hand(name: str) -> str:
    """SQL over ``v``: the contract's call_id, started_at, duration_s, outcome, ptp_due_date
    from the vendor columns, as the profile maps them; its drop rule's rows left out."""
    spec, names = profile(name), columns_of(name)

    def col(target: str) -> str:
        m = spec["columns"][target]
        if "expr" in m:
            return f"({m['expr']})"
        aliases = [m["from"]] if isinstance(m["from"], str) else m["from"]
        return '"' + next(a for a in aliases if a in names) + '"'

    def out(target: str) -> str:
        m, c = spec["columns"][target], col(target)
        if "time" in m:
            fmt = "%Y-%m-%d %H:%M:%S" if target == "started_at" else "%Y-%m-%d"
            return TIME[m["time"]].format(c=c, out=fmt)
        if "duration" in m:
            return DURATION[m["duration"]].format(c=c)
        if "map" in m:
            whens = " ".join(f"when '{k}' then '{v}'" for k, v in m["map"].items())
            return f"case {c} {whens} end"
        return f"nullif({c}, '')"

    keep = " and ".join(f"not coalesce({d['when']}, false)" for d in spec["drop"])
    targets = ("call_id", "started_at", "duration_s", "outcome", "ptp_due_date")
    return (f"select {', '.join(out(t) + ' as ' + t for t in targets)} from v_{name} "
            f"where {keep}")


def test_each_vendor_file_maps_back_to_the_contract_values(landing, rendered, tables):
    con = tables
    good = ("call_id is not null and try_strptime(started_at, '%Y-%m-%d %H:%M:%S') is not null "
            f"and try_cast(duration_s as bigint) >= 0 and outcome in {OUTCOMES}")
    con.execute("create or replace table want as select call_id, started_at, duration_s::bigint as "
                f"duration_s, outcome, ptp_due_date from c where {good}")
    n = con.execute("select count(*) from want").fetchall()[0][0]
    # the documented bad lines but the duplicate key (its record maps like any other)
    assert n == landing[1]["rows"]["calls"] - 5
    for name in rendered:
        con.execute(f"create or replace table got as select * from ({by_hand(name)}) where {good}")
        assert con.execute("select count(*) from got").fetchall()[0][0] == n, name
        assert con.execute("select count(*) from (from want except all from got)"
                           ).fetchall()[0][0] == 0, name
        assert con.execute("select count(*) from (from got except all from want)"
                           ).fetchall()[0][0] == 0, name
        # every code of the vendor's that the profile maps is used (one outcome may have
        # several, chosen per call), and the documented unknown outcome as it is
        column, kept = CODES[name]
        used = {r[0] for r in con.execute(f"select distinct {column} from v_{name} where {kept}"
                                          ).fetchall()}
        assert used == set(profile(name)["columns"]["outcome"]["map"]) - UNUSED[name] | \
            {"hung_up"}, name


# the vendor's outcome code, on the records of the calls source
CODES = {
    "asterisk_cdr": ("case when disposition = 'ANSWERED' then userfield else disposition end",
                     "dcontext = 'from-collections'"),
    "freeswitch_cdr_csv": ("case when coalesce(answer_stamp, '') = '' then hangup_cause else "
                           "kh_wrapup end", "context = 'collections'"),
    "cn_cloud_callcenter": ("呼叫结果", "呼叫方向 = '外呼'"),
}
# codes the profiles map that the renderer never writes (other switches' words for the same)
# codes a profile maps that the renderer does not write (real exports have them)
UNUSED = {"asterisk_cdr": {"CONGESTION"},
          "freeswitch_cdr_csv": {"INVALID_NUMBER_FORMAT", "NORMAL_CLEARING", "CALL_REJECTED",
                                 "SUBSCRIBER_ABSENT", "RECOVERY_ON_TIMER_EXPIRE",
                                 "NORMAL_TEMPORARY_FAILURE", "NO_ROUTE_DESTINATION"},
          "cn_cloud_callcenter": set()}


def test_the_documented_bad_lines_keep_their_fault(landing, rendered):
    bad = [b for b in landing[1]["bad_rows"] if b["source"] == "calls"]
    negative = {"asterisk_cdr": '"-5"', "freeswitch_cdr_csv": '"-5000"',
                "cn_cloud_callcenter": ",-0:00:05,"}  # billsec, billmsec, 通话时长
    for name, (root, record) in rendered.items():
        faults = {"bad_type": "25:61:00", "unknown_enum": "hung_up", "out_of_range": negative[name]}
        moved = record["bad_rows"]
        assert [{k: v for k, v in b.items() if not k.startswith("vendor_")} for b in moved] == bad
        assert record["skipped_lines"] == 1
        for b in moved:
            if b["reason_code"] == "malformed_row":
                assert b["vendor_line"] is None  # rejected by the read, as the contract's is
                continue
            text = (root / b["vendor_file"]).read_bytes().decode(
                "gbk" if name == "cn_cloud_callcenter" else "utf-8")
            line = text.splitlines()[b["vendor_line"] - 1]
            if b["reason_code"] in faults:
                assert faults[b["reason_code"]] in line, (name, b, line)
            elif b["reason_code"] == "duplicate_key":
                assert line.count(b["value"]) == 1
                assert sum(b["value"] in x for x in text.splitlines()) == 2
            else:  # missing_value: the call id empty
                assert "CL2026" not in line


def test_the_same_landing_renders_to_the_same_bytes(landing, rendered, tmp_path):
    """Rendered again, alone, three days (the bad lines' day and a Sunday's .csv.gz among them)
    give the same bytes and the same record as in the whole month."""
    days = ["calls_20260901.csv", "calls_20260903.csv", "calls_20260906.csv.gz"]
    for name, (root, record) in rendered.items():
        copy = tmp_path / name
        (copy / "calls").mkdir(parents=True)
        for day in days:
            shutil.copy(landing[0] / "calls" / day, copy / "calls")
        again = render_calls(copy, name)
        assert again["files"] == {f: v for f, v in record["files"].items()
                                  if v["from"][0].split("/")[1] in days}
        for f in again["files"]:
            assert (copy / f).read_bytes() == (root / f).read_bytes(), (name, f)


def test_the_shipped_samples_are_up_to_date(landing, tmp_path):
    for path in write_samples(landing[0], tmp_path):
        shipped = PROFILES_DIR / "samples" / path.name
        assert shipped.read_bytes() == path.read_bytes(), (
            f"{shipped} is stale: run `uv run python benchmarks/vendor_samples.py`")
        lines = path.read_bytes().decode("gbk" if "cn_" in path.name else "utf-8").splitlines()
        assert len(lines) - ("cn_" in path.name) == 12


def test_an_unknown_profile_is_one_line_and_nothing_is_written(tmp_path, capsys):
    with pytest.raises(ValueError, match="unknown profile 'nope'"):
        render_calls(tmp_path, "nope")
    assert main(["generate", "--out", str(tmp_path / "x"), "--profile", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not one of asterisk_cdr" in err
    assert not (tmp_path / "x").exists()
