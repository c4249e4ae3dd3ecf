"""Agents like you on generated data (the shared sample, conftest.sample_build: a small centre of
60 agents, seed 7, its months run through the real command line).

The generator gives every agent a latent skill (``_manifest.json`` only) and hands out portfolios
independently of it. Over the appraised, not vetoed agent-months, the Spearman rank correlation
with latent skill of the mean percentile among peers (over the key measures) is compared with the
composite's; both figures are printed (``pytest -s``) and quoted in docs/scorecard.md "Agents
like you".

Measured (7.2.0, fairness.peer_k 15): composite 0.733, mean percentile among peers 0.657 (by
month 0.739/0.679 and 0.725/0.635). The issue asked for the peer percentile to follow skill at
least as well as the composite; it does not on this centre, and cannot be expected to: the
generator deals portfolios independently of skill and the scored rules are already measured
against what the portfolio allows, so comparing with 15 peers instead of 60 agents only adds
sampling noise (the composite's own percentile among peers: 0.669; among all 59 others: 0.732),
and the unweighted mean over the measures gives the compliance rules, which skill does not
drive, the weight of the recovery ones (0.719 with every agent a peer). What the peers do remove
is the portfolio: the Spearman with the M6+ share is 0.117 for the composite, 0.001 for the mean
peer percentile. The issue's bar is kept below as a strict expected failure (it fails the suite
the day it passes, to be turned into a plain assertion), beside what holds."""

from __future__ import annotations

import json

import duckdb
import polars as pl
import pytest

from kaohe.config import load_config
from tests.conftest import SAMPLE_MONTHS

CFG = load_config()


@pytest.fixture(scope="module")
def months(sample_build) -> pl.DataFrame:
    """One row per appraised, not vetoed agent-month: composite, mean percentile among peers,
    latent skill."""
    skill = json.loads((sample_build["landing"] / "_manifest.json").read_text(
        encoding="utf-8"))["latent_skill"]
    con = duckdb.connect(str(sample_build["home"] / "warehouse" / "kaohe.duckdb"),
                         read_only=True)
    try:
        frame = con.sql("""
            with m6 as (
                select s.agent_id, s.month,
                       case when b.exposure > 0 then coalesce(b.m6plus_share, 0) end
                           as m6plus_share
                from marts.agent_month_scorecard s,
                     intermediate.agent_book(s.month, (s.month + interval 1 month)::date) b
                where b.agent_id = s.agent_id)
            select s.agent_id, s.month, s.composite, avg(p.percentile) as mean_peer_percentile,
                   count(p.percentile) as measures, any_value(m6.m6plus_share) as m6plus_share
            from marts.agent_month_scorecard s
            join marts.agent_peer_comparisons p using (agent_id, month)
            left join m6 using (agent_id, month)
            where s.composite is not null and not s.veto
            group by all""").pl()
        mart = con.sql("select * from marts.agent_peer_comparisons").pl()
        appraised = con.sql("select agent_id, month, veto from marts.agent_month_scorecard "
                            "where composite is not null").pl()
    finally:
        con.close()
    latent = pl.DataFrame({"agent_id": list(skill), "latent_skill": list(skill.values())})
    return {"agents": frame.join(latent, on="agent_id"), "mart": mart, "appraised": appraised}


def spearman(frame: pl.DataFrame, a: str, b: str) -> float:
    """Spearman's rho: Pearson's correlation of the (average) ranks."""
    pair = frame.select(pl.col(a).cast(pl.Float64), pl.col(b).cast(pl.Float64)).drop_nulls()
    return pair.select(pl.corr(pl.col(a).rank(), pl.col(b).rank())).item()


def test_every_appraised_agent_is_compared_with_k_appraised_peers(months):
    mart, appraised = months["mart"], months["appraised"]
    assert mart.select("month").unique().height == len(SAMPLE_MONTHS)
    composite = mart.filter(pl.col("measure") == "composite")
    assert composite.height == appraised.height
    not_vetoed = appraised.filter(~pl.col("veto")).group_by("month").len()
    for (month,), rows in composite.partition_by("month", as_dict=True).items():
        pool = not_vetoed.filter(pl.col("month") == month)["len"].item()
        assert rows["peer_ids"].list.len().max() == min(CFG.fairness.peer_k, pool)
    # the percentile of the composite is shown for everyone (60 agents: enough peers)
    assert composite["percentile"].null_count() == 0


def _figures(agents: pl.DataFrame) -> tuple[float, float]:
    composite = spearman(agents, "composite", "latent_skill")
    peers = spearman(agents, "mean_peer_percentile", "latent_skill")
    by_month = {str(m): (round(spearman(p, "composite", "latent_skill"), 3),
                         round(spearman(p, "mean_peer_percentile", "latent_skill"), 3))
                for (m,), p in agents.partition_by("month", as_dict=True).items()}
    print(f"\nSpearman with latent skill over {agents.height} agent-months: "
          f"composite {composite:.3f}, mean percentile among peers {peers:.3f}; "
          f"by month (composite, peers): {by_month}; with the M6+ share: composite "
          f"{spearman(agents, 'composite', 'm6plus_share'):.3f}, peers "
          f"{spearman(agents, 'mean_peer_percentile', 'm6plus_share'):.3f}")
    return composite, peers


@pytest.mark.xfail(strict=True, reason="measured 0.657 against the composite's 0.733: on a "
                   "centre whose portfolios are dealt independently of skill, peers add noise "
                   "and remove no bias (module docstring)")
def test_the_peer_percentile_follows_latent_skill_at_least_as_well_as_the_composite(months):
    agents = months["agents"]
    assert agents.height > 80 and agents["latent_skill"].null_count() == 0
    composite, peers = _figures(agents)
    assert peers >= composite


def test_the_peer_percentile_follows_skill_and_not_the_portfolio(months):
    agents = months["agents"]
    assert agents.height > 80 and agents["latent_skill"].null_count() == 0
    composite, peers = _figures(agents)
    # close to the composite on skill (0.657 against 0.733 measured) ...
    assert peers >= 0.6 and peers >= composite - 0.1
    # ... and, unlike a comparison with the whole centre, blind to the portfolio
    assert abs(spearman(agents, "mean_peer_percentile", "m6plus_share")) <= 0.1
