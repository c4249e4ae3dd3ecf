"""The HTML page of the latest data-quality results of a month, written beside the reports.

Rendered by the shared environment of kaohe.reporting.i18n, its labels from ``reports/i18n.yaml``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from kaohe.quality import CheckResult, stored_results
from kaohe.reporting.i18n import render as render_template

# Quarantine reasons that reject a whole file (docs/data-contract.md): counted as files, and the
# page's banner is amber when any of them occurred in the month, even with every check passed.
WHOLE_FILE_REASONS = frozenset({
    "missing_column", "truncated_file", "empty_file", "bad_file_name", "unreadable_file",
    "too_many_rejected", "outside_landing", "not_a_file", "bad_profile"})


def files_rejected(quarantine: list[dict]) -> int:
    """Files rejected whole among the month's quarantine counts (source, reason_code, n)."""
    return sum(q["n"] for q in quarantine if q["reason_code"] in WHOLE_FILE_REASONS)


def rows_quarantined(quarantine: list[dict]) -> int:
    """Rows quarantined among the same counts (the files rejected whole left out)."""
    return sum(q["n"] for q in quarantine if q["reason_code"] not in WHOLE_FILE_REASONS)


def render(month: str, results: list[CheckResult], quarantine: list[dict], lang: str = "zh",
           profiled: list[dict] | None = None) -> str:
    """``profiled``: the month's files read through a source profile (path, profile, rows)."""
    order = {"blocking": 0, "warning": 1}
    results = sorted(results, key=lambda r: (r.passed, order[r.severity], r.suite, r.check))
    quarantine = [dict(q, whole_file=q["reason_code"] in WHOLE_FILE_REASONS) for q in quarantine]
    return render_template(
        "data_quality.html.j2", lang, month=month, results=results, quarantine=quarantine,
        files_rejected=files_rejected(quarantine),
        blocking=[r for r in results if not r.passed and r.severity == "blocking"],
        warnings=[r for r in results if not r.passed and r.severity == "warning"],
        profiled=profiled or [],
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
    profiled = [
        {"path": p, "profile": prof, "rows_read": r, "rows_loaded": lo, "rows_rejected": rj}
        for p, prof, r, lo, rj in con.execute(
            "select path, profile, rows_read, rows_loaded, rows_rejected from "
            "audit.file_registry where profile is not null and status <> 'replaced' and "
            "strftime(business_date, '%Y-%m') = ? order by path", [month]).fetchall()
    ]
    out = reports_dir / month / "data-quality.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(render(month, stored_results(con, month), quarantine, lang, profiled),
                   encoding="utf-8")
    tmp.replace(out)
    return out
