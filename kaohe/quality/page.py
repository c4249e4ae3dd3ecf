"""The HTML page of the latest data-quality results of a month, written beside the reports.

Rendered by the shared environment of kaohe.reporting.i18n, its labels from ``reports/i18n.yaml``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from kaohe.quality import CheckResult, stored_results
from kaohe.reporting.i18n import render as render_template


def render(month: str, results: list[CheckResult], quarantine: list[dict], lang: str = "zh"
           ) -> str:
    order = {"blocking": 0, "warning": 1}
    results = sorted(results, key=lambda r: (r.passed, order[r.severity], r.suite, r.check))
    return render_template(
        "data_quality.html.j2", lang, month=month, results=results, quarantine=quarantine,
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
