"""Figures that agree across levels (issue 31): every rate the centre summary shows lies within
its teams' range (a ratio of sums over the teams: recovery on exposure, cost per agent case...)
or is a count-once figure, and then the page says in one line why it can lie outside. On the
shared sample (the demo centre, seed 7, two months); benchmarks/results lists two more seeds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kaohe.models.marts import dictionary
from kaohe.reporting.i18n import texts

ROOT = Path(__file__).resolve().parents[2]
# ratios of sums over the agents (so over the teams): the centre lies between its teams
ADDITIVE = ("exposure_recovery_rate", "rpc_rate", "ptp_kept_rate", "cost_per_agent_case",
            "field_visit_share")
# each case once at the centre (a case two teams worked counts in each team): the page notes it
COUNT_ONCE = ("complaints_per_1k_cases", "relief_rate", "complaints_resolved_on_time_share",
              "complaint_resolution_median_h", "complaint_resolution_p90_h")
# not a rate of the teams' work: the fairness statistics of the appraisal
NOT_A_TEAM_RATE = ("rho_composite_m6plus_share", "rho_composite_difficulty",
                   "eta_composite_team")


@pytest.fixture(scope="module")
def published(sample_published):
    return sample_published


def test_every_rate_on_the_centre_page_is_classified():
    template = (ROOT / "reports" / "templates" / "center_summary.html.j2").read_text(
        encoding="utf-8")
    types = {c["name"]: c["type"] for c in dictionary("center_month_summary").columns}
    shown = {name for name in re.findall(r"center\.(\w+)", template)
             if types.get(name) == "DOUBLE"}
    assert shown <= set(ADDITIVE + COUNT_ONCE + NOT_A_TEAM_RATE), sorted(
        shown - set(ADDITIVE + COUNT_ONCE + NOT_A_TEAM_RATE))


@pytest.mark.parametrize("rate", ADDITIVE)
def test_the_centre_lies_within_its_teams_range(published, rate):
    rows = published.sql(f"""
        select c.month, c.{rate}, min(t.{rate}), max(t.{rate})
        from marts.center_month_summary c join marts.team_month_metrics t using (month)
        group by all order by 1""").fetchall()
    assert rows
    for month, centre, lo, hi in rows:
        assert centre is not None, (rate, month)
        assert lo - 1e-9 <= centre <= hi + 1e-9, (rate, month, centre, lo, hi)


def test_a_count_once_figure_carries_its_note(sample_build):
    for lang in ("zh",):
        page = next((sample_build["home"] / "reports").glob("*/center.html")).read_text(
            encoding="utf-8")
        assert texts(lang)["count_once_note"] in page
