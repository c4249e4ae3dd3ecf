"""`kaohe export-pay`: the month's pay for HR's payroll import, as .xlsx and .csv, read back.

A small warehouse of hand-written rows (tests/metric_rows.py), built and published like a run:
an appraised agent with a Chinese name, a vetoed one, one not appraised, one whose name would be
a formula, and an agent of another team."""

from __future__ import annotations

import csv
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import openpyxl
import pytest

from kaohe.models.marts import build_all
from kaohe.scoring.payroll import AMOUNTS, NAMES, header
from kaohe.warehouse import Home
from kaohe.warehouse.publish import publish
from pipelines.cli import main
from tests.metric_rows import CFG, agent, call, insert, violation, warehouse

MONTH = "2026-08"
NAMES_ZH = {"A1": "张三丰", "A2": "李四", "A3": "王五", "A4": "=1+2", "B1": "欧阳娜娜"}


def staff(agent_id: str, team: str = "T1", hire: str = "2025-01-01", salary: str = "1500.00"
          ) -> dict:
    row = agent(agent_id, "2026-08-01", team_id=team)
    row.update(hire_date=hire, base_salary=salary, agent_name=NAMES_ZH[agent_id],
               team_name="催收一组" if team == "T1" else "催收二组")
    return row


def busy(agent_id: str, cases: int) -> list[dict]:
    return [call(f"{agent_id}K{i}", agent_id, f"{agent_id}C{i}",
                 f"2026-08-{3 + i % 26:02d} 10:00:00", "connected_debtor", 60)
            for i in range(cases)]


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    root = Home(tmp_path_factory.mktemp("payroll") / "home").create()
    con = warehouse(root.work_db)
    try:
        insert(con, "agents", [staff("A1"), staff("A2", salary="1800.50"),
                               staff("A3", hire="2026-08-28"), staff("A4", salary="2000.00"),
                               staff("B1", team="T2", salary="3100.00")])
        insert(con, "calls", busy("A1", 12) + busy("A2", 12) + busy("A4", 15) + busy("B1", 11))
        insert(con, "violations", [violation("V1", "A2", "2026-08-05", "threat",
                                             severity="major")])
        # A1 appeals a QA flag of August: pending, so A1's month is provisional until decided
        insert(con, "appeals", [dict(appeal_id="AP1", agent_id="A1", subject_type="qa_flag",
                                     subject_id="A1K0:threat", filed_at="2026-08-20 10:00:00")])
        build_all(con, CFG, MONTH)
        publish(con, root, full=True)
    finally:
        con.close()
    return root.root


@pytest.fixture(scope="module")
def mart(home) -> dict:
    con = duckdb.connect(str(home / "warehouse" / "kaohe.duckdb"), read_only=True)
    try:
        cur = con.execute("select * from marts.agent_month_pay where month = ?",
                          [date(2026, 8, 1)])
        names = [d[0] for d in cur.description]
        rows = {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}
    finally:
        con.close()
    assert set(rows) == set(NAMES_ZH)
    return rows


def export(home: Path, out: Path, capsys) -> tuple[int, str, str]:
    code = main(["export-pay", "--month", MONTH, "--home", str(home), "--out", str(out)])
    got = capsys.readouterr()
    return code, got.out, got.err


def test_xlsx_has_a_row_per_agent_numbers_as_numbers_and_the_totals(home, mart, tmp_path,
                                                                      capsys):
    out = tmp_path / "hr" / "pay-2026-08.xlsx"
    out.parent.mkdir()  # HR's folder (a folder that does not exist is refused: below)
    code, stdout, stderr = export(home, out, capsys)
    assert code == 0, stderr
    assert f"wrote {len(mart)} pay rows of {MONTH}" in stdout
    wb = openpyxl.load_workbook(out)
    pay, summary, apart = wb.worksheets
    assert apart.title == "not paid 未发放"
    rows = list(pay.iter_rows(values_only=True))
    assert list(rows[0]) == [header(n) for n in NAMES]
    assert header("base_salary") == "base_salary 基本工资"
    assert len(rows) - 1 == len(mart)
    assert pay.freeze_panes == "C2"
    assert all(pay.column_dimensions[c].width >= 8 for c in "ABCDEFGHIJKLMNOPQR")
    by_agent = {r[0]: dict(zip(NAMES, r, strict=True)) for r in rows[1:]}
    for agent_id, want in mart.items():
        got = by_agent[agent_id]
        assert got["agent_name"] == NAMES_ZH[agent_id]
        assert got["month"] == MONTH and got["config_version"] == want["config_version"]
        for name in [*AMOUNTS, "payout_factor"]:
            assert isinstance(got[name], int | float | Decimal), (agent_id, name, got[name])
            assert Decimal(str(got[name])) == Decimal(str(want[name])), (agent_id, name)
    # amounts carry a 2-decimal number format, not text
    amount_col = NAMES.index("paid_now") + 1
    cell = pay.cell(row=2, column=amount_col)
    assert cell.data_type == "n" and cell.number_format == "#,##0.00"
    # a name that looks like a formula stays text
    name_cell = next(c for c in pay["B"] if c.value == "=1+2")
    assert name_cell.data_type == "s"
    # the reasons, in the report language (zh by default): the veto's violation, the late
    # joiner's reason not to appraise; none for an agent paid in full
    assert by_agent["A2"]["grade"] == "VETO" and "违规" in by_agent["A2"]["reason"]
    assert by_agent["A3"]["grade"] == "NA" and by_agent["A3"]["reason"] == "新入职（在岗天数不足）"
    assert by_agent["A1"]["reason"] is None
    # the days worked: the late joiner (hired on the 28th) is paid 4 of 31 days of base
    assert by_agent["A3"]["active_days"] == 4
    assert Decimal(str(by_agent["A3"]["base_paid"])) == Decimal("193.55")  # 1500 x 4 / 31
    assert Decimal(str(by_agent["A1"]["base_paid"])) == Decimal("1500.00")
    # the summary sheet: month, config_version, the number of agents and every total
    info = {r[0]: r[1] for r in summary.iter_rows(min_row=2, values_only=True)}
    assert info["month 月份"] == MONTH
    assert info["config_version 配置版本"] == CFG.config_version
    assert info["agents 人数"] == len(mart)
    for name in AMOUNTS:
        total = info[f"total {header(name)} 合计"]
        assert isinstance(total, int | float)
        assert Decimal(str(total)) == sum(r[name] for r in mart.values()), name


def test_a_grade_is_provisional_within_the_appeal_window_or_while_an_appeal_is_pending(home):
    from kaohe.scoring.payroll import load

    con = duckdb.connect(str(home / "warehouse" / "kaohe.duckdb"), read_only=True)
    try:
        at = {n: NAMES.index(n) for n in ("agent_id", "final_on", "grade_status")}

        def status(today: date) -> dict[str, tuple[str, str]]:
            return {r[at["agent_id"]]: (r[at["final_on"]], r[at["grade_status"]])
                    for r in load(con, MONTH, today=today).rows}

        # final on the month's end + appeals.window_days (15): 2026-09-16
        assert set(status(date(2026, 9, 15)).values()) == {("2026-09-16", "provisional")}
        later = status(date(2026, 9, 16))
        assert later.pop("A1") == ("2026-09-16", "provisional")  # its appeal is pending
        assert set(later.values()) == {("2026-09-16", "final")}
    finally:
        con.close()


def test_the_reasons_follow_the_language_asked(home, tmp_path, capsys):
    out = tmp_path / "pay-en.csv"
    code = main(["export-pay", "--month", MONTH, "--home", str(home), "--out", str(out),
                 "--lang", "en"])
    capsys.readouterr()
    assert code == 0
    text = out.read_text(encoding="utf-8-sig")
    assert "joined (too few active days)" in text and "新入职" not in text


def test_csv_has_a_bom_bare_numbers_and_the_chinese_names(home, mart, tmp_path, capsys):
    out = tmp_path / "pay.csv"
    code, _, stderr = export(home, out, capsys)
    assert code == 0, stderr
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    with out.open(encoding="utf-8-sig", newline="") as f:
        raw = list(csv.reader(f))
    assert raw[0] == [header(n) for n in NAMES] and len(raw) - 1 == len(mart)
    with out.open(encoding="utf-8-sig", newline="") as f:
        # QUOTE_NONNUMERIC: an unquoted field must be a number (it reads as float), text quoted
        typed = list(csv.reader(f, quoting=csv.QUOTE_NONNUMERIC))[1:]
    by_agent = {r[0]: dict(zip(NAMES, r, strict=True)) for r in typed}
    for agent_id, want in mart.items():
        got = by_agent[agent_id]
        assert got["agent_name"] == (NAMES_ZH[agent_id] if agent_id != "A4" else "'=1+2")
        for name in [*AMOUNTS, "payout_factor"]:
            assert isinstance(got[name], float), (agent_id, name)
            assert Decimal(str(got[name])).quantize(Decimal("0.01")) == \
                Decimal(str(want[name])).quantize(Decimal("0.01"))
    for name in AMOUNTS:  # the totals: exact to the cent from the text
        col = NAMES.index(name)
        assert sum(Decimal(r[col]) for r in raw[1:]) == sum(r[name] for r in mart.values())
    assert "1500.00" in out.read_text(encoding="utf-8-sig")  # 2 decimals, no separator


def test_errors_are_one_line_and_exit_2(home, tmp_path, capsys):
    cases = [
        (["--home", str(tmp_path / "nowhere"), "--month", MONTH, "--out", "x.xlsx"],
         "kaohe: no published warehouse at"),
        (["--home", str(home), "--month", "2026-09", "--out", str(tmp_path / "x.xlsx")],
         "kaohe: no pay rows for 2026-09"),
        (["--home", str(home), "--month", MONTH, "--out", str(tmp_path / "x.txt")],
         "kaohe: --out must end in .xlsx or .csv, not 'x.txt'"),
        (["--home", str(home), "--month", "2026-8", "--out", str(tmp_path / "x.csv")],
         "kaohe: --month must look like 2026-09"),
    ]
    for args, message in cases:
        code = main(["export-pay", *args])
        err = capsys.readouterr().err
        assert code == 2, args
        assert err.startswith(message) and err.count("\n") == 1, err
        assert "Traceback" not in err
    assert not list(tmp_path.glob("x.*")) and not list(tmp_path.glob(".x.*"))


def test_the_command_line_itself_exits_2_without_a_trace(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "export-pay", "--month", MONTH, "--home",
         str(tmp_path), "--out", str(tmp_path / "pay.xlsx")],
        capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert run.stderr.strip().startswith("kaohe: no published warehouse at")
    assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr


def test_the_export_refuses_a_folder_that_does_not_exist(tmp_path):
    # a mistyped folder is a mistake to report, not a folder to create silently
    from kaohe.scoring.payroll import PayrollError, check_out

    with pytest.raises(PayrollError, match="does not exist"):
        check_out(tmp_path / "no-such-folder" / "pay.xlsx")
    assert check_out(tmp_path / "pay.xlsx") == ".xlsx"
