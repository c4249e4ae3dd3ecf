"""kaohe whatif: a month re-scored under a proposed configuration equals a real re-run with it,
reports no change under the current one, and never touches the warehouse (kaohe calibrate:
tests/scoring/test_calibrate.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest
import yaml

from kaohe.config import DEFAULT_CONFIG, load_config
from kaohe.scoring import whatif
from tests.conftest import copy_home

MONTH = "2026-08"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], capture_output=True,
                          text=True, timeout=600, env=os.environ.copy())


@pytest.fixture(scope="module")
def built(tmp_path_factory, sample_build) -> dict:
    # a copy of the shared sample's home (tests/conftest.py): what-if pages are written into it
    root = tmp_path_factory.mktemp("whatif")
    copy_home(sample_build, root / "home")
    data = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    data["scorecard"]["weights"] = {"compliance": 0.40, "recovery": 0.30, "satisfaction": 0.20,
                                    "skill": 0.10}
    data["grading"] = {"mode": "distribution", "scope": "centre"}
    data["pay"]["payout_factors"]["B"] = 0.9
    # and a team manager's rule: recovery against target matters more, and more steeply
    for rule in data["team_scorecard"]["rules"]:
        if rule["measure"] == "recovery_vs_target":
            rule.update(floor=0.5, target=0.9, weight=0.6)
    proposal = root / "proposal.yaml"
    proposal.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                        encoding="utf-8")
    return {"root": root, "home": root / "home", "landing": sample_build["landing"],
            "proposal": proposal}


def published(home: Path) -> Path:
    return home / "warehouse" / "kaohe.duckdb"


def test_the_current_configuration_changes_nothing(built):
    result = whatif.run(published(built["home"]), MONTH, load_config(None))
    assert result.changed.is_empty() and not result.rebuilt_metrics
    assert result.rows.height > 50


def test_a_proposal_equals_a_real_run_with_it_and_leaves_the_warehouse_alone(built, tmp_path):
    pub = published(built["home"])
    stamp = pub.stat().st_mtime_ns
    result = whatif.run(pub, MONTH, load_config(built["proposal"]),
                        built["home"] / "reports", lang="en")
    assert pub.stat().st_mtime_ns == stamp  # untouched
    assert not result.changed.is_empty()
    assert result.csv.exists() and result.html.exists()
    html = result.html.read_text(encoding="utf-8")
    assert "Total variable pay" in html and "Audit findings" in html
    # the same proposal through a real run, on a copy of the home
    import shutil

    home2 = tmp_path / "home"
    shutil.copytree(built["home"], home2, ignore=shutil.ignore_patterns("*.lock"))
    run = cli("run", "--month", MONTH, "--landing", str(built["landing"]), "--home",
              str(home2), "--config", str(built["proposal"]))
    assert run.returncode == 0, run.stderr[-3000:]
    con = duckdb.connect(str(published(home2)), read_only=True)
    real = {r[0]: r[1:] for r in con.execute(
        "select s.agent_id, s.composite, s.grade, p.variable_earned::double "
        "from marts.agent_month_scorecard s left join marts.agent_month_pay p "
        "using (agent_id, month) where s.month = date '2026-08-01'").fetchall()}
    con.close()
    after = {r["agent_id"]: (r["composite_after"], r["grade_after"], r["variable_pay_after"])
             for r in result.rows.to_dicts()}
    assert after == real
    # the team managers' scorecard too
    con = duckdb.connect(str(published(home2)), read_only=True)
    real_teams = {r[0]: r[1:] for r in con.execute(
        "select team_id, composite, grade from marts.team_month_scorecard "
        "where month = date '2026-08-01'").fetchall()}
    con.close()
    teams = {r["team_id"]: (r["composite_after"], r["grade_after"])
             for r in result.teams.to_dicts()}
    assert teams == real_teams
    assert any(r["composite_before"] != r["composite_after"] for r in result.teams.to_dicts())
    assert result.teams_csv.exists() and "Team managers" in html
    # agents and teams by name beside their ids (the roster at the month's end)
    named = result.changed.filter(pl.col("agent_name").is_not_null())
    assert named.height == result.changed.height > 0
    assert named["agent_name"][0] in html and result.teams["team_name"].null_count() == 0
    # the page lists grade changes first, then by the size of the change
    changed = result.changed
    flags = changed["grade_changed"].to_list()
    assert flags == sorted(flags, reverse=True)
    for part in changed.partition_by("grade_changed"):
        size = (part["composite_after"].fill_null(0) - part["composite_before"].fill_null(0)).abs()
        assert size.to_list() == sorted(size.to_list(), reverse=True)
    assert result.grade_changes == int(sum(flags))


def test_a_month_not_published_is_a_clear_error(built):
    with pytest.raises(whatif.WhatIfError, match="2026-01 has no scorecard"):
        whatif.run(published(built["home"]), "2026-01", load_config(None))


def test_the_command_prints_the_distributions_and_where_the_pages_are(built):
    res = cli("whatif", "--month", MONTH, "--config", str(built["proposal"]), "--home",
              str(built["home"]), "--lang", "en")
    assert res.returncode == 0, res.stderr[-2000:]
    assert " -> " in res.stdout and "variable pay" in res.stdout and ".html" in res.stdout
    assert "change grade" in res.stdout  # grade changes counted apart from score changes
    bad = cli("whatif", "--month", "2026-13", "--config", str(built["proposal"]), "--home",
              str(built["home"]))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_audit_config_with_a_history_warns_about_a_rule_everyone_maxes(built, tmp_path):
    data = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    for r in data["scorecard"]["rules"]["recovery"]:
        if r["metric"] == "case_reach_vs_expected":
            r.update(floor=0.0, target=0.001)  # any case reached at all: full marks
    lax = tmp_path / "lax.yaml"
    lax.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    res = cli("audit-config", "--config", str(lax), "--home", str(built["home"]))
    assert res.returncode == 0, res.stderr  # a warning, not an error
    assert "[full-marks]" in res.stdout and "recovery: case_reach_vs_expected full marks" \
        in res.stdout
    shipped = cli("audit-config", "--home", str(built["home"]))
    assert "[full-marks]" not in shipped.stdout or "case_reach_vs_expected" not in shipped.stdout
