"""The HTML page of the latest data-quality results of a month, written beside the reports."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
from jinja2 import Environment, FileSystemLoader, select_autoescape

from kaohe.quality import CheckResult, stored_results

TEMPLATES = Path(__file__).resolve().parents[1] / "reports" / "templates"

TEXT = {
    "zh": {
        "title": "数据质量检查", "generated": "生成于", "checks": "项检查",
        "blocked": "存在阻断性问题：本月报表不予生成", "warnings": "存在警告，报表照常生成",
        "all_passed": "全部检查通过", "quarantine": "本月隔离数据", "source": "数据源",
        "reason": "原因", "rows": "行数", "results": "检查结果", "table": "表", "check": "检查",
        "severity": "级别", "result": "结果", "unexpected": "异常数", "sample": "样例",
        "description": "说明", "passed": "通过", "failed": "未通过",
    },
    "en": {
        "title": "Data quality", "generated": "generated", "checks": "checks",
        "blocked": "Blocking failures: this month's reports are not rendered",
        "warnings": "Warnings: reports are rendered with them shown",
        "all_passed": "All checks passed", "quarantine": "Quarantined this month",
        "source": "source", "reason": "reason", "rows": "rows", "results": "Results",
        "table": "table", "check": "check", "severity": "severity", "result": "result",
        "unexpected": "unexpected", "sample": "sample", "description": "description",
        "passed": "passed", "failed": "failed",
    },
}


def environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES),
                       autoescape=select_autoescape(["html", "j2"]))


def render(month: str, results: list[CheckResult], quarantine: list[dict], lang: str = "zh"
           ) -> str:
    order = {"blocking": 0, "warning": 1}
    results = sorted(results, key=lambda r: (r.passed, order[r.severity], r.suite, r.check))
    return environment().get_template("data_quality.html.j2").render(
        month=month, lang=lang, t=TEXT[lang], results=results, quarantine=quarantine,
        blocking=[r for r in results if not r.passed and r.severity == "blocking"],
        warnings=[r for r in results if not r.passed and r.severity == "warning"],
        generated_at=datetime.now().strftime("%Y-%m-%d %H:%M"),
    )


def write_page(con: duckdb.DuckDBPyConnection, reports_dir: Path, month: str,
               lang: str = "zh") -> Path:
    """Render the month's stored results (and quarantine counts) to data-quality.html."""
    quarantine = [
        {"source": s, "reason_code": c, "n": n}
        for s, c, n in con.execute(
            "select q.source, q.reason_code, count(*) from audit.quarantine q "
            "join audit.file_registry f using (file_id) "
            "where strftime(f.business_date, '%Y-%m') = ? group by all order by all", [month]
        ).fetchall()
    ]
    out = reports_dir / month / "data-quality.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(render(month, stored_results(con, month), quarantine, lang), encoding="utf-8")
    tmp.replace(out)
    return out
