"""Fair measurement: the scorecard measures skill, not the luck of the portfolio.

The generator gives every agent a latent skill (in ``_manifest.json`` only, never in a landing
file) that drives their performance, and hands out portfolios independently of it. On a
generated month of 300 agents, run through the real command line, the composite must rank agents by
that skill and must not follow portfolio difficulty: Spearman with latent skill >= 0.6, with the
M6+ share of the amount due and with the difficulty coefficient within +-0.15, over the appraised
agents (a composite, no veto).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date

import duckdb
import polars as pl
import pytest

from kaohe.generate import generate

MONTH = "2026-08"
SEED = 11
# 300 agents in 30 teams: the small centre five times over (a medium centre's head count at a
# small centre's call volume per agent, a third of the medium month's run time)
VOLUME = 5


@pytest.fixture(scope="module")
def cards(tmp_path_factory) -> pl.DataFrame:
    root = tmp_path_factory.mktemp("fairness")
    landing, home = root / "landing", root / "home"
    generate(landing, date(2026, 8, 1), 1, SEED, "small", progress=None, volume=VOLUME)
    run = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "run", "--month", MONTH, "--landing",
         str(landing), "--home", str(home)],
        capture_output=True, text=True, timeout=900, env=os.environ.copy())
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    skill = json.loads((landing / "_manifest.json").read_text(encoding="utf-8"))["latent_skill"]
    con = duckdb.connect(str(home / "warehouse" / "kaohe.duckdb"), read_only=True)
    try:
        scorecard = con.sql(f"""
            select agent_id, composite, difficulty_coefficient, rule_points
            from marts.agent_month_scorecard
            where month = date '{MONTH}-01' and composite is not null and not veto""").pl()
        m6 = con.sql(f"""
            select agent_id, coalesce(m6plus_share, 0) as m6plus_share
            from intermediate.agent_book(date '{MONTH}-01', date '{MONTH}-01' + interval 1 month)
            where exposure > 0""").pl()
        # every agent with exposure, appraised or not: the centre the coefficient is centred on
        centre_mean = con.execute(f"""
            select sum(m.amount_due_exposure * s.difficulty_coefficient)
                   / sum(m.amount_due_exposure)
            from marts.agent_month_scorecard s join marts.agent_month_metrics m
                using (agent_id, month)
            where s.month = date '{MONTH}-01' and m.amount_due_exposure > 0""").fetchall()[0][0]
    finally:
        con.close()
    latent = pl.DataFrame({"agent_id": list(skill), "latent_skill": list(skill.values())})
    return scorecard.join(m6, on="agent_id", how="left").join(latent, on="agent_id").with_columns(
        centre_mean_difficulty=pl.lit(centre_mean, pl.Float64))


def spearman(frame: pl.DataFrame, a: str, b: str) -> float:
    """Spearman's rho: Pearson's correlation of the (average) ranks."""
    pair = frame.select(pl.col(a).cast(pl.Float64), pl.col(b).cast(pl.Float64)).drop_nulls()
    return pair.select(pl.corr(pl.col(a).rank(), pl.col(b).rank())).item()


def test_latent_skill_is_in_the_manifest_only(cards):
    # every appraised agent has a latent skill, and the marts never see it
    assert cards.height > 250 and cards["latent_skill"].null_count() == 0
    assert 0.9 < cards["latent_skill"].mean() < 1.1 and cards["latent_skill"].std() > 0.1


def test_the_composite_ranks_agents_by_latent_skill(cards):
    assert spearman(cards, "composite", "latent_skill") >= 0.6


def test_the_composite_does_not_follow_the_m6plus_share(cards):
    assert cards["m6plus_share"].null_count() == 0
    assert abs(spearman(cards, "composite", "m6plus_share")) <= 0.15


def test_the_composite_does_not_follow_the_difficulty_coefficient(cards):
    assert abs(spearman(cards, "composite", "difficulty_coefficient")) <= 0.15


def test_the_difficulty_coefficient_is_centred_on_the_centre(cards):
    # 1.0 is the centre's average portfolio: the exposure-weighted mean over its agents
    assert cards["centre_mean_difficulty"][0] == pytest.approx(1.0, abs=1e-6)
    assert cards["difficulty_coefficient"].min() < 1 < cards["difficulty_coefficient"].max()


# issue 35: not only the composite: every measure the shipped rules score (with a weight this
# month) is judged against what the portfolio allows, so none leans on it. The bar of the
# issue's three seeds (benchmarks/fairness_seeds.py) is +-0.2; this month of 300 agents holds it.
def test_no_scored_measure_follows_the_portfolio(cards):
    rules = (cards.select("agent_id", "m6plus_share", "difficulty_coefficient", "rule_points")
             .explode("rule_points").unnest("rule_points").filter(pl.col("weight") > 0))
    measures = rules["metric"].unique().to_list()
    assert "case_reach_vs_expected" in measures and "merit_recovery_vs_target" in measures
    leaning = {}
    for metric in measures:
        part = rules.filter(pl.col("metric") == metric)
        if part.height < 30:
            continue  # a rule scored for a handful of agents (high-risk restructuring)
        for portfolio in ("m6plus_share", "difficulty_coefficient"):
            rho = spearman(part, "value", portfolio)
            if abs(rho) > 0.2:
                leaning[(metric, portfolio)] = round(rho, 3)
    assert leaning == {}
