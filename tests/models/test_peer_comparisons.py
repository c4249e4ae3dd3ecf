"""Agents like you (marts.agent_peer_comparisons, docs/scorecard.md "Agents like you"), on
hand-written rows: the scorecard rows the mart reads are written by hand, the portfolio comes from
two assignments per agent (an M6+ one and an M1 one, held the whole month), so each agent's M6+
share, exposure and high-risk share are chosen. Pinned here: the matching rule (the K nearest by
standardised distance, equal distances in agent_id order, agents not appraised neither compared
nor peers, vetoed agents compared but no one's peer) and the percentile's arithmetic (the share
of peers beaten, ties half, a lower-is-better rule the other way, NULL below the minimum number
of peers with a value)."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from kaohe.models import ensure_mart
from kaohe.models.marts import build
from tests.metric_rows import CFG, assignment, insert

MONTH = date(2026, 8, 1)


def config(k: int, min_peers: int):
    return dataclasses.replace(CFG, fairness=CFG.fairness.model_copy(
        update={"peer_k": k, "min_peers": min_peers}))


def _rule(dimension: str, metric: str, value, direction: str, weight: float) -> str:
    v = "null" if value is None else repr(float(value))
    return (f"{{'dimension': '{dimension}', 'metric': '{metric}', 'value': {v}::double, "
            f"'floor': 0.0, 'target': 1.0, 'direction': '{direction}', "
            f"'weight': {weight}, 'points': null::double}}")


def month(con, agents: list[dict], cfg) -> dict:
    """Write the agents (id, m6 = M6+ amount of 1000, composite, veto, na = not appraised
    code, hr = high_risk_share, merit, complaints, csat), build the month, read it back as
    {(agent_id, measure): row}."""
    insert(con, "assignments", [
        row for a in agents for row in (
            assignment(f"{a['id']}-6", f"{a['id']}-C6", a["id"], "2026-07-01 09:00:00",
                       dpd=200, amount_due=f"{a.get('m6', 0)}.00"),
            assignment(f"{a['id']}-1", f"{a['id']}-C1", a["id"], "2026-07-01 09:00:00",
                       dpd=10, amount_due=f"{1000 - a.get('m6', 0)}.00"))])
    ensure_mart(con, "agent_month_scorecard")
    for a in agents:
        rules = ", ".join([
            _rule("recovery", "merit_recovery_vs_target", a.get("merit", 1.0), "higher", 0.6),
            _rule("compliance", "complaints_per_1k_cases", a.get("complaints", 0), "lower", 0.3),
            _rule("satisfaction", "csat_avg", a.get("csat"), "higher",
                  1.0 if a.get("csat") is not None else 0.0),
            # a rule nobody is scored on this month (weight 0 everywhere): not a key measure
            _rule("skill", "simulation_score", 80, "higher", 0.0)])
        composite = None if a.get("na") else (0.0 if a.get("veto") else a.get("composite", 70))
        con.execute(
            "insert into marts.agent_month_scorecard by name select ? as month, ? as agent_id, "
            "'T1' as team_id, ?::double as composite, ? as veto, ? as not_appraised_code, "
            f"?::double as high_risk_share, [{rules}] as rule_points",
            [MONTH, a["id"], composite, bool(a.get("veto")), a.get("na"), a.get("hr", 0.0)])
    build(con, "agent_peer_comparisons", cfg, "2026-08")
    cur = con.execute("select * from marts.agent_peer_comparisons where month = ?", [MONTH])
    names = [d[0] for d in cur.description]
    return {(r[1], r[names.index("measure")]): dict(zip(names, r, strict=True))
            for r in cur.fetchall()}


def test_the_peers_are_the_k_nearest_portfolios_equal_distances_in_agent_id_order(metric_con):
    # one feature varies (the M6+ share); exposure and high-risk share are the same for all
    got = month(metric_con, [
        {"id": "A1", "m6": 200}, {"id": "A2", "m6": 300}, {"id": "A3", "m6": 100},
        {"id": "A4", "m6": 600}, {"id": "A5", "m6": 900}], config(k=2, min_peers=1))
    peers = {a: got[(a, "composite")]["peer_ids"] for a in ("A1", "A2", "A3", "A4", "A5")}
    # A1 (0.2) is as far from A2 (0.3) as from A3 (0.1): both, nearest first in agent_id order
    assert peers["A1"] == ["A2", "A3"]
    assert peers["A3"] == ["A1", "A2"]
    assert peers["A4"] == ["A2", "A5"]   # 0.3 and 0.9 are as far from 0.6, before 0.2
    assert peers["A5"] == ["A4", "A2"]
    # with one peer, the tie is broken by agent_id: the same peer on every run
    again = month(metric_con, [], config(k=1, min_peers=1))
    assert again[("A1", "composite")]["peer_ids"] == ["A2"]


def test_every_feature_counts_standardised(metric_con):
    # exposure is the same; a high-risk share of 0.5 against 0 is as far, standardised, as an
    # M6+ share of 0.5 against 0 when each feature spreads the same way
    got = month(metric_con, [
        {"id": "A1"}, {"id": "A2", "m6": 500}, {"id": "A3", "hr": 0.5},
        {"id": "A4", "m6": 500, "hr": 0.5}, {"id": "A5", "m6": 10, "hr": 0.01}],
        config(k=1, min_peers=1))
    assert got[("A1", "composite")]["peer_ids"] == ["A5"]
    assert got[("A4", "composite")]["peer_ids"] == ["A2"]  # A2 and A3 tie: agent_id order


def test_the_percentile_is_the_share_of_peers_beaten_ties_half(metric_con):
    got = month(metric_con, [
        {"id": "A1", "composite": 70, "complaints": 1, "merit": 1.0, "csat": 4.0},
        {"id": "B1", "composite": 60, "complaints": 0, "merit": 0.9, "csat": 4.5},
        {"id": "B2", "composite": 70, "complaints": 1, "merit": 1.1},
        {"id": "B3", "composite": 80, "complaints": 2, "merit": None},
        {"id": "B4", "composite": 50, "complaints": 3, "merit": 0.8, "csat": 3.0}],
        config(k=4, min_peers=3))
    a = {m: got[("A1", m)] for m in ("composite", "complaints_per_1k_cases",
                                     "merit_recovery_vs_target", "csat_avg")}
    # beats 60 and 50, ties 70: (2 + 0.5) / 4
    assert (a["composite"]["peers"], a["composite"]["percentile"],
            a["composite"]["peer_median"]) == (4, 62.5, 65.0)
    # lower is better: 1 beats 2 and 3, ties 1, loses to 0
    assert a["complaints_per_1k_cases"]["percentile"] == 62.5
    assert a["complaints_per_1k_cases"]["direction"] == "lower"
    # a peer without a value is no peer of that measure: 2 of 3 beaten
    assert (a["merit_recovery_vs_target"]["peers"],
            a["merit_recovery_vs_target"]["percentile"]) == (3, pytest.approx(200 / 3, abs=0.01))
    # two peers with a survey, fewer than the minimum of 3: no percentile, the median is there
    assert (a["csat_avg"]["peers"], a["csat_avg"]["percentile"],
            a["csat_avg"]["peer_median"]) == (2, None, 3.75)
    # no value of its own: no percentile
    assert got[("B3", "merit_recovery_vs_target")]["percentile"] is None
    # a rule scored for nobody this month is no key measure
    assert not any(m == "simulation_score" for _, m in got)
    assert {m for (agent, m) in got if agent == "A1"} == set(a)
    assert all(r["percentile"] is None or 0 <= r["percentile"] <= 100 for r in got.values())


def test_agents_not_appraised_are_neither_compared_nor_peers_and_the_vetoed_are_no_peers(
        metric_con):
    got = month(metric_con, [
        {"id": "A1", "m6": 200}, {"id": "A2", "m6": 600}, {"id": "A3", "m6": 700},
        # the same portfolio as A1, but joined this month (not appraised) or vetoed
        {"id": "N1", "m6": 200, "na": "joined"}, {"id": "V1", "m6": 200, "veto": True}],
        config(k=2, min_peers=2))
    assert not any(agent == "N1" for agent, _ in got)
    assert all("N1" not in r["peer_ids"] and "V1" not in r["peer_ids"] for r in got.values())
    assert got[("A1", "composite")]["peer_ids"] == ["A2", "A3"]
    # the vetoed agent is compared (composite 0: beaten by both peers)
    assert got[("V1", "composite")]["peer_ids"] == ["A1", "A2"]
    assert got[("V1", "composite")]["percentile"] == 0.0


def test_too_few_agents_give_no_percentile(metric_con):
    got = month(metric_con, [{"id": "A1"}, {"id": "A2", "composite": 80}],
                config(k=15, min_peers=8))
    assert got[("A1", "composite")]["peers"] == 1
    assert got[("A1", "composite")]["percentile"] is None
    assert got[("A1", "composite")]["peer_median"] == 80.0
