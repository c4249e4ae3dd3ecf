"""The gaming signals (docs/scorecard.md "Gaming signals", marts.gaming_signals) on the generated
sample with gaming planted by the generator (kaohe/generate/gaming.py): each signal finds the
agents planted with its behaviour (precision and recall 0.8 or more), flags fewer than 5% of the
honest agent-months, and reaches the manager's pages as a question, never the agent's own card.
Three further seeds are measured by benchmarks/gaming_signals.py (the issue's closing note)."""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest

from kaohe.config import load_config
from kaohe.config.gaming import SIGNALS, GamingConfig
from kaohe.generate.gaming import plant_centre
from kaohe.generate.gaming_truth import evaluate
from kaohe.models.marts import build_all
from kaohe.reporting.reports import render_month

MONTHS = ["2026-08", "2026-09"]


@pytest.fixture(scope="module")
def planted(sample_build, tmp_path_factory):
    """A copy of the sample's warehouse with gaming planted and the months rebuilt."""
    work = tmp_path_factory.mktemp("gaming-signals")
    db = work / "kaohe.duckdb"
    shutil.copyfile(sample_build["home"] / "work" / "kaohe.duckdb", db)
    con = duckdb.connect(str(db))
    truth = plant_centre(con, MONTHS, seed=7)
    cfg = load_config()
    for month in MONTHS:
        build_all(con, cfg, month)
    manifest = json.loads((sample_build["landing"] / "_manifest.json").read_text())
    yield con, truth, manifest, work
    con.close()


def test_each_signal_finds_the_planted_agents_and_spares_the_honest(planted):
    con, truth, manifest, _ = planted
    result = evaluate(con, truth["gaming_agents"], MONTHS,
                      exclude=manifest["harassing_agents"], lookalikes=truth["lookalikes"])
    assert set(result) == set(SIGNALS)
    # honest agents whose debtors hang up, or pay around the turn of the month, are not
    # taken for padders or sandbaggers
    assert result["padding_calls"]["lookalike_flagged"] == 0, result["padding_calls"]
    assert result["month_boundary_shift"]["lookalike_flagged"] == 0
    assert result["padding_calls"]["lookalike_months"] >= 6
    for signal, r in result.items():
        assert r["planted"] >= 3, signal
        assert r["recall"] >= 0.8, (signal, r)
        assert r["precision"] >= 0.8, (signal, r)
        assert r["honest_months"] > 50
        assert r["honest_flagged_share"] < 0.05, (signal, r)


def test_nothing_planted_raises_no_signal_on_most_agents(sample_build):
    # the untouched sample: signals are rare among agents who game nothing
    con = duckdb.connect(str(sample_build["home"] / "warehouse" / "kaohe.duckdb"),
                         read_only=True)
    flagged, appraised = con.execute(
        "select (select count(distinct (agent_id, month)) from marts.gaming_signals), "
        "count(*) from marts.agent_month_scorecard where grade <> 'NA'").fetchall()[0]
    con.close()
    assert appraised > 100
    assert flagged / appraised < 0.1


def test_a_signal_carries_its_evidence_and_thresholds(planted):
    con, truth, _, _ = planted
    rows = con.execute(
        "select signal, value, centre_baseline, percentile, evidence, min_ratio, min_excess, "
        "min_evidence, baseline_group from marts.gaming_signals").fetchall()
    assert rows
    for signal, value, base, pct, evidence, ratio, excess, min_ev, group in rows:
        assert signal in SIGNALS
        assert evidence >= min_ev and value >= ratio * base - 1e-9
        assert value - base >= excess - 1e-9 and 0 <= pct <= 100
        assert group in ("centre", "M1", "M2", "M3", "M4", "M5", "M6", "M6+"), group


def test_signals_are_on_the_managers_pages_and_never_on_the_agents_card(planted):
    con, truth, _, work = planted
    month = "2026-09"
    agent_id, team_id, signal = con.execute(
        "select agent_id, team_id, signal from marts.gaming_signals "
        "where month = ? order by agent_id limit 1", [f"{month}-01"]).fetchall()[0]
    out = render_month(con, work / "reports", month).directory
    team = (out / "teams" / f"{team_id}.html").read_text(encoding="utf-8")
    compliance = (out / "compliance.html").read_text(encoding="utf-8")
    card = (out / "agents" / f"{agent_id}.html").read_text(encoding="utf-8")
    for page in (team, compliance):
        assert "刷分信号（供主管复核）" in page and "不是处罚" in page
        assert agent_id in page
    assert "刷分信号" not in card and "不是处罚" not in card


def test_a_signal_rule_given_in_part_keeps_the_shipped_values_for_the_rest():
    cfg = GamingConfig.model_validate({"signals": {"padding_calls": {"min_ratio": 4}}})
    rules = cfg.signal_rules()
    assert rules["padding_calls"].min_ratio == 4
    shipped = GamingConfig().signal_rules()["padding_calls"]
    assert rules["padding_calls"].min_evidence == shipped.min_evidence
    assert set(rules) == set(SIGNALS)
    with pytest.raises(ValueError):
        GamingConfig.model_validate({"signals": {"no_such_signal": {"min_ratio": 2}}})
