"""The month's pay for HR's payroll import: ``kaohe export-pay`` (an .xlsx or a .csv file).

One row per agent of ``marts.agent_month_pay``, read from the published warehouse (read-only)
with ``sql/reports/pay_export.sql``: who (id, name, team, level), the grade and the reason an
agent earns no variable pay (worded in the report language, ``--lang``), the days worked, every
amount of the mart, and the ``config_version`` the month was built with. Nothing is recomputed
here: the amounts are the mart's and the totals are summed by DuckDB from the same query. The
agents with no active day in the month have no pay row; ``sql/reports/pay_not_paid.sql`` lists
them, with why, for the sheet ``not paid 未发放``.

- **xlsx** (openpyxl): sheet ``pay 薪酬`` with a bold, frozen header row whose names are the
  column's and its Chinese name from the dictionaries (``base_salary 基本工资``), amounts as
  numbers with a 2-decimal format, widths fitted to the content (a Chinese character counts
  double); sheet ``summary 汇总`` with the month, the config_version, the number of agents and
  the total of each amount; sheet ``not paid 未发放`` with the agents of the month who get no pay
  row (no active day) and why.
- **csv**: the same header and rows, UTF-8 with a byte-order mark (Excel then reads the Chinese
  names right), numbers unquoted and text quoted; no footer, so an import reads rows only (the
  month and config_version are columns of every row).

A text cell is always written as text: a name such as ``=1+2`` is never a formula, and in the CSV
a text starting with ``= + - @`` is prefixed with ``'`` (the usual guard against formula
injection when the file is opened in a spreadsheet).
"""

from __future__ import annotations

import csv
import json
import os
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb

from kaohe.models import model_dictionary, model_sql
from kaohe.months import MONTH, month_bounds
from kaohe.warehouse import connect

FORMATS = (".xlsx", ".csv")
AMOUNT_FORMAT = "#,##0.00"
FACTOR_FORMAT = "0.00"

# (column, kind, where its Chinese name is defined: (layer, model) of a dictionary, or the text)
COLUMNS: tuple[tuple[str, str, tuple[str, str] | str], ...] = (
    ("agent_id", "text", ("marts", "agent_month_pay")),
    ("agent_name", "text", ("intermediate", "roster_at")),
    ("team_id", "text", ("marts", "agent_month_scorecard")),
    ("team_name", "text", ("intermediate", "roster_at")),
    ("level", "text", ("marts", "agent_month_scorecard")),
    ("grade", "text", ("marts", "agent_month_pay")),
    ("reason", "text", "未参评或否决原因"),
    ("base_salary", "amount", ("marts", "agent_month_pay")),
    ("active_days", "count", ("marts", "agent_month_pay")),
    ("base_paid", "amount", ("marts", "agent_month_pay")),
    ("target_pay", "amount", ("marts", "agent_month_pay")),
    ("variable_target", "amount", ("marts", "agent_month_pay")),
    ("payout_factor", "factor", ("marts", "agent_month_pay")),
    ("variable_earned", "amount", ("marts", "agent_month_pay")),
    ("paid_now", "amount", ("marts", "agent_month_pay")),
    ("deferred", "amount", ("marts", "agent_month_pay")),
    ("forfeited", "amount", ("marts", "agent_month_pay")),
    ("ytd_deferred_pool", "amount", ("marts", "agent_month_pay")),
    ("month", "text", ("marts", "agent_month_pay")),
    ("config_version", "text", "配置版本"),
    ("final_on", "text", "等级确定日"),
    ("grade_status", "text", "等级状态（provisional 暂定 / final 确定）"),
)
NAMES = [c[0] for c in COLUMNS]
AMOUNTS = [name for name, kind, _ in COLUMNS if kind == "amount"]
# what sql/reports/pay_export.sql selects after NAMES: the parts the reason is worded from
REASON_PARTS = ("veto", "veto_code", "conduct_gate_code", "grade_before_gate", "card_grade",
                "compliance_score", "not_appraised_code", "not_appraised_reason")
NOT_PAID = ("agent_id", "agent_name", "team_id", "team_name", "active_days", "hire_date",
            "reason")
COUNT_FORMAT = "0"


class PayrollError(Exception):
    """A problem the operator can fix (arguments, a missing warehouse or month): one line."""


@dataclass(frozen=True)
class PayExport:
    month: str
    rows: list[tuple]  # in the order of NAMES
    config_versions: list[str]
    totals: dict[str, Decimal]  # amount column -> sum over the rows
    not_paid: list[tuple] = ()  # in the order of NOT_PAID


def reason(parts: dict, t: dict[str, str]) -> str | None:
    """Why an agent earns no variable pay, in the language of ``t`` (reports/i18n.yaml): the
    veto's violation, else the conduct gate, else why the agent is not appraised."""
    from kaohe.reporting.explanations import gate_text, not_appraised_text, veto_text

    card = {**parts, "grade": parts.get("card_grade")}
    return veto_text(card, t) or gate_text(card, t) or not_appraised_text(card, t)


@dataclass(frozen=True)
class Written:
    path: Path
    export: PayExport


def header(name: str) -> str:
    """``base_salary 基本工资``: the column and its Chinese name from its dictionary."""
    source = {c[0]: c[2] for c in COLUMNS}[name]
    if isinstance(source, str):
        return f"{name} {source}"
    layer, model = source
    zh = {c["name"]: c["zh"] for c in model_dictionary(layer, model).columns}[name]
    return f"{name} {zh}"


def check_out(out: Path) -> str:
    """The file format of ``out`` (``.xlsx`` or ``.csv``), or a PayrollError."""
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise PayrollError(f"--out must end in .xlsx or .csv, not {out.name!r}")
    if not out.parent.is_dir():  # a mistyped folder is a mistake, not a folder to create
        raise PayrollError(f"--out {out}: the folder {out.parent} does not exist")
    return suffix


def final_on(con: duckdb.DuckDBPyConnection, month: str) -> date:
    """The day the month's grades become final: its end + appeals.window_days of the
    configuration the month was built with (audit.warehouse_meta ``config:YYYY-MM``; the
    default when it does not say)."""
    from kaohe.config import AppealsConfig

    found = con.execute("select value from audit.warehouse_meta where key = ?",
                        [f"config:{month}"]).fetchall()
    section = (json.loads(found[0][0]).get("appeals") or {}) if found else {}
    window = section.get("window_days", AppealsConfig().window_days)
    return month_bounds(month)[1] + timedelta(days=int(window))


def load(con: duckdb.DuckDBPyConnection, month: str, lang: str = "zh",
         today: date | None = None) -> PayExport:
    """The month's pay rows and totals from a warehouse (the published copy), the reasons
    worded in ``lang``; each grade provisional or final as of ``today`` (default: today)."""
    from kaohe.reporting.i18n import texts

    t = texts(lang)
    start, end, _ = month_bounds(month)
    query = model_sql("reports", "pay_export")
    params = {"start": start, "end": end, "final_on": final_on(con, month),
              "today": today or date.today()}
    cur = con.execute(query, params)
    names = [d[0] for d in cur.description]
    if names != NAMES + list(REASON_PARTS):  # the query and COLUMNS are one list
        raise PayrollError(f"sql/reports/pay_export.sql selects {names}, expected "
                           f"{NAMES + list(REASON_PARTS)}")
    at = NAMES.index("reason")
    rows = []
    for r in cur.fetchall():  # a few hundred agents: the wording of each reason
        parts = dict(zip(REASON_PARTS, r[len(NAMES):], strict=True))
        rows.append(r[:at] + (reason(parts, t),) + r[at + 1:len(NAMES)])
    sums = ", ".join(f"coalesce(sum({n}), 0)::decimal(38, 2)" for n in AMOUNTS)
    totals = dict(zip(AMOUNTS, con.execute(f"select {sums} from ({query})", params
                                           ).fetchall()[0], strict=True))
    versions = sorted({r[NAMES.index("config_version")] or "" for r in rows})
    from kaohe.reporting.explanations import not_appraised_text

    not_paid = [r[:6] + (not_appraised_text({"not_appraised_code": r[6],
                                             "not_appraised_reason": r[7]}, t),)
                for r in con.execute(model_sql("reports", "pay_not_paid"),
                                     {"start": start, "end": end}).fetchall()]
    return PayExport(month, rows, versions, totals, not_paid)


def export_pay(warehouse: Path, month: str, out: Path, lang: str = "zh") -> Written:
    """Write the month's pay from ``warehouse`` (opened read-only) to ``out`` (.xlsx or .csv),
    the reasons in ``lang``."""
    suffix = check_out(out)
    if not MONTH.match(month):
        raise PayrollError(f"--month must look like 2026-09, not {month!r}")
    if not warehouse.exists():
        raise PayrollError(f"no published warehouse at {warehouse}: run the month first")
    try:
        con = connect(warehouse, read_only=True)
        try:
            export = load(con, month, lang)
        finally:
            con.close()
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PayrollError(f"cannot read the pay of {month} from {warehouse}: {first}") from exc
    if not export.rows:
        raise PayrollError(f"no pay rows for {month} in {warehouse}: run the month first")
    try:
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        try:
            (write_xlsx if suffix == ".xlsx" else write_csv)(export, tmp)
            os.replace(tmp, out)  # never a half-written file under the name HR imports
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise PayrollError(f"cannot write {out}: {exc.strerror or exc}") from exc
    return Written(out, export)


# ---------------------------------------------------------------------------------------------
# writers


def _width(value) -> int:
    """Display width of a value as Excel shows it (a wide, e.g. Chinese, character counts 2)."""
    if isinstance(value, Decimal):
        text = f"{value:,.2f}"
    elif isinstance(value, float):
        text = f"{value:.2f}"
    else:
        text = "" if value is None else str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _text_cell(ws, row: int, column: int, value: str | None):
    cell = ws.cell(row=row, column=column)
    if value is not None:
        cell.value = value
        cell.data_type = "s"  # text stays text: "=..." is never a formula
    return cell


def write_xlsx(export: PayExport, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDE4EE")
    wb = Workbook()
    ws = wb.active
    ws.title = "pay 薪酬"
    headers = [header(n) for n in NAMES]
    widths = [_width(h) for h in headers]
    for j, text in enumerate(headers, start=1):
        cell = _text_cell(ws, 1, j, text)
        cell.font, cell.fill = bold, fill
        cell.alignment = Alignment(vertical="center")
    kinds = [kind for _, kind, _ in COLUMNS]
    for i, row in enumerate(export.rows, start=2):
        for j, (value, kind) in enumerate(zip(row, kinds, strict=True), start=1):
            if kind == "text":
                _text_cell(ws, i, j, value)
            else:
                cell = ws.cell(row=i, column=j, value=value)
                cell.number_format = {"amount": AMOUNT_FORMAT, "count": COUNT_FORMAT}.get(
                    kind, FACTOR_FORMAT)
            widths[j - 1] = max(widths[j - 1], _width(value))
    for j, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = min(w + 2, 48)
    ws.freeze_panes = "C2"  # the header row and the agent's id and name stay in view
    ws.auto_filter.ref = f"A1:{get_column_letter(len(NAMES))}{len(export.rows) + 1}"

    summary = wb.create_sheet("summary 汇总")
    lines: list[tuple[str, object]] = [
        ("month 月份", export.month),
        ("config_version 配置版本", ", ".join(export.config_versions)),
        ("agents 人数", len(export.rows)),
        ("exported_at 导出时间", datetime.now().astimezone().isoformat(timespec="seconds")),
    ]
    lines += [(f"total {header(n)} 合计", export.totals[n]) for n in AMOUNTS]
    for j, text in enumerate(("item 项目", "value 值"), start=1):
        cell = _text_cell(summary, 1, j, text)
        cell.font, cell.fill = bold, fill
    for i, (label, value) in enumerate(lines, start=2):
        _text_cell(summary, i, 1, label).font = bold
        if isinstance(value, str):
            _text_cell(summary, i, 2, value)
        else:
            cell = summary.cell(row=i, column=2, value=value)
            if isinstance(value, Decimal):
                cell.number_format = AMOUNT_FORMAT
    summary.column_dimensions["A"].width = max(_width(label) for label, _ in lines) + 2
    summary.column_dimensions["B"].width = max(_width(value) for _, value in lines) + 4
    summary.freeze_panes = "A2"

    apart = wb.create_sheet("not paid 未发放")
    heads = [header(n) if n in NAMES else f"{n} {_NOT_PAID_ZH[n]}" for n in NOT_PAID]
    for j, text in enumerate(heads, start=1):
        cell = _text_cell(apart, 1, j, text)
        cell.font, cell.fill = bold, fill
    for i, row in enumerate(export.not_paid, start=2):
        for j, value in enumerate(row, start=1):
            if isinstance(value, str) or value is None:
                _text_cell(apart, i, j, value)
            else:
                apart.cell(row=i, column=j, value=value)
    for j, text in enumerate(heads, start=1):
        width = max([_width(text)] + [_width(r[j - 1]) for r in export.not_paid])
        apart.column_dimensions[get_column_letter(j)].width = min(width + 2, 48)
    apart.freeze_panes = "A2"
    wb.save(path)


_NOT_PAID_ZH = {"hire_date": "入职日期", "reason": "未发放原因"}


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_text(value: str | None) -> str:
    if value is None:
        return ""
    return "'" + value if value.startswith(_FORMULA_START) else value


def write_csv(export: PayExport, path: Path) -> None:
    kinds = [kind for _, kind, _ in COLUMNS]
    # utf-8-sig: the byte-order mark makes Excel read the file as UTF-8 (Chinese names intact)
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f, quoting=csv.QUOTE_NONNUMERIC)  # numbers bare, text quoted
        writer.writerow([header(n) for n in NAMES])
        for row in export.rows:
            writer.writerow([_csv_text(v) if kind == "text" else ("" if v is None else v)
                             for v, kind in zip(row, kinds, strict=True)])
