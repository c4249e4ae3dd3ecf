"""A lender that sends only the version-1 contract: no qa_reviews, no credit_followups, case
snapshots without dpd / overdue_amount, complaints without resolved_at, calls without
dialled_number and agents without left_on (version 3). The month runs end to
end; the measures built on the missing inputs are NULL (never 0, never an error) and
marts.input_availability says which inputs were not sent."""

from __future__ import annotations

import csv
import gzip
import io
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from kaohe.generate import generate

MONTH = "2026-08"
V2_COLUMNS = {"cases": ("dpd", "overdue_amount"), "complaints": ("resolved_at",),
              "calls": ("dialled_number",), "agents": ("left_on",)}


def _strip(path: Path, drop: tuple[str, ...], encoding: str) -> None:
    """Rewrite a CSV without the version-2 columns (the quoting of the generator kept)."""
    data = path.read_bytes()
    text = (gzip.decompress(data) if path.suffix == ".gz" else data).decode(encoding)
    text = text.lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    keep = [i for i, name in enumerate(rows[0]) if name not in drop]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow([row[i] for i in keep if i < len(row)])
    data = out.getvalue().encode(encoding)
    path.write_bytes(gzip.compress(data, mtime=0) if path.suffix == ".gz" else data)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("v1")
    landing, home = root / "landing", root / "home"
    generate(landing, date(2026, 8, 1), 1, 11, "small", progress=None)
    for source in ("qa_reviews", "credit_followups"):
        shutil.rmtree(landing / source)
    for source, drop in V2_COLUMNS.items():
        encoding = "gb18030" if source == "complaints" else "utf-8"
        for path in sorted((landing / source).glob("*.csv*")):
            _strip(path, drop, encoding)
    header = (landing / "cases" / "cases_20260801.csv").read_text(encoding="utf-8").split("\n")[0]
    assert "dpd" not in header and "overdue_amount" not in header
    run = subprocess.run([sys.executable, "-m", "pipelines.cli", "run", "--month", MONTH,
                          "--landing", str(landing), "--home", str(home)],
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    return home


def test_the_month_runs_and_says_which_optional_inputs_were_not_sent(built):
    con = duckdb.connect(str(built / "warehouse" / "kaohe.duckdb"), read_only=True)
    try:
        sent = dict(con.execute("select input, sent from marts.input_availability").fetchall())
        assert sent == {"cases.dpd": False, "cases.overdue_amount": False,
                        "complaints.resolved_at": False, "qa_reviews": False,
                        "credit_followups": False, "calls.dialled_number": False,
                        "agents.left_on": False}
        aging = con.execute(
            "select count(*), count(aging_cases), count(aging_reduction_rate), "
            "count(roll_forward_rate) from marts.agent_month_metrics").fetchall()[0]
        assert aging[0] > 50 and aging[1:] == (0, 0, 0)
        # the recovery, contact and compliance measures are all there
        assert con.execute("select count(recovery_rate), count(rpc_rate) "
                           "from marts.agent_month_metrics").fetchall()[0][0] > 50
        for table in ("roll_rates", "qa_model_agreement", "rehabilitation_index"):
            assert con.execute(f"select count(*) from marts.{table}").fetchall() == [(0,)]
        basis = {b for (b,) in con.execute(
            "select distinct spot_check_basis from marts.agency_month_metrics").fetchall()}
        assert basis == {"ai_label_proxy"}
        resolution = con.execute(
            "select complaint_resolution_median_h, complaints_resolved_on_time_share, "
            "open_complaints_past_deadline from marts.center_month_summary").fetchall()
        assert resolution == [(None, None, None)]
        # nothing of a good file was quarantined for lacking an optional column
        assert con.execute("select count(*) from audit.quarantine where source in "
                           "('cases', 'complaints') and reason_code = 'missing_column'"
                           ).fetchall() == [(0,)]
    finally:
        con.close()
    page = (built / "reports" / MONTH / "center.html").read_text(encoding="utf-8")
    compliance = (built / "reports" / MONTH / "compliance.html").read_text(encoding="utf-8")
    assert "credit_followups" in page and "cases.dpd" in page   # the notes, not a blank
    assert "qa_reviews" in compliance
