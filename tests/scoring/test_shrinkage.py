"""Small samples (kaohe/scoring/shrinkage.py): a rate on few events is pulled toward what a
similar book gives, one on many keeps its own value, the interval narrows with the evidence, and
the scorecard scores the shrunk value (or the raw one when fairness.shrink_small_samples is off)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import yaml

from kaohe.config import DEFAULT_CONFIG, load_config
from kaohe.scoring.shrinkage import intervals, shrink
from tests.scoring.test_scorecard import metrics_row, scored


def centre(seed: int = 1, agents: int = 60, spread: float = 0.08) -> pl.DataFrame:
    """Agents whose true kept share differs (mean 0.6, sd ``spread``), each with 40 commitments;
    drawn with a fixed seed."""
    rng = np.random.default_rng(seed)
    true = np.clip(rng.normal(0.6, spread, agents), 0.05, 0.95)
    n = np.full(agents, 40)
    kept = rng.binomial(n, true)
    return pl.DataFrame({"agent_id": [f"A{i:03d}" for i in range(agents)],
                         "commitments_due": n, "commitment_kept_rate": kept / n})


def with_agent(frame: pl.DataFrame, agent: str, n: int, rate: float) -> pl.DataFrame:
    return pl.concat([frame, pl.DataFrame({"agent_id": [agent], "commitments_due": [n],
                                           "commitment_kept_rate": [rate]})],
                     how="vertical_relaxed")


def test_few_events_are_pulled_toward_the_centre_many_keep_their_own():
    frame = with_agent(with_agent(centre(), "FEW", 2, 1.0), "MANY", 2000, 0.9)
    out = {r["agent_id"]: r for r in shrink(frame).to_dicts()}
    pooled = (frame["commitment_kept_rate"] * frame["commitments_due"]).sum() / frame[
        "commitments_due"].sum()
    few, many = out["FEW"], out["MANY"]
    # two kept of two is no evidence of a perfect agent: close to the centre, far from 1.0
    assert abs(few["commitment_kept_rate__scored"] - pooled) < 0.1
    assert many["commitment_kept_rate__scored"] == pytest.approx(0.9, abs=0.01)
    for r in (few, many):
        assert r["commitment_kept_rate__lo"] <= r["commitment_kept_rate__scored"] \
            <= r["commitment_kept_rate__hi"]
    width = lambda r: r["commitment_kept_rate__hi"] - r["commitment_kept_rate__lo"]  # noqa: E731
    assert width(many) < width(few)
    assert few["commitment_kept_rate__n"] == 2


def test_making_fewer_commitments_never_lifts_a_poor_rate():
    # the agent decides how many promises become commitments: a poor rate on little evidence
    # is scored as it is, never pulled up toward the centre (gaming: produce less evidence)
    base = centre()
    for n, rate in ((2, 0.0), (3, 1 / 3), (40, 0.3), (5, 0.4)):
        out = shrink(with_agent(base, "POOR", n, rate)).filter(pl.col("agent_id") == "POOR")
        assert out["commitment_kept_rate__scored"][0] == pytest.approx(rate)
    lucky = shrink(with_agent(base, "LUCKY", 2, 1.0)).filter(pl.col("agent_id") == "LUCKY")
    assert lucky["commitment_kept_rate__scored"][0] < 0.75


def test_agents_who_truly_do_not_differ_are_all_scored_near_the_centre():
    same = centre(spread=0.0)  # every difference is sampling noise
    out = shrink(same)["commitment_kept_rate__scored"]
    pooled = (same["commitment_kept_rate"] * same["commitments_due"]).sum() / same[
        "commitments_due"].sum()
    assert out.max() - pooled < 0.02  # the lucky highs are damped to the centre
    apart = shrink(centre(spread=0.15))["commitment_kept_rate__scored"]
    assert apart.max() - apart.min() > 0.2  # real differences survive


def test_reach_is_shrunk_toward_the_agents_own_expectation():
    frame = pl.DataFrame({
        "agent_id": ["HARD", "EASY"] + [f"A{i}" for i in range(40)],
        "cases_assigned": [3, 3] + [80] * 40,
        "case_reach_rate": [0.0, 1.0] + [0.5 + 0.01 * (i % 20) for i in range(40)],
        "expected_case_reach_rate": [0.4, 0.9] + [0.6] * 40,
    }).with_columns(case_reach_vs_expected=pl.col("case_reach_rate")
                    / pl.col("expected_case_reach_rate"))
    out = {r["agent_id"]: r for r in shrink(frame).to_dicts()}
    # three cases: each pulled toward their own book's expectation (ratio 1), not to one figure
    assert 0.3 < out["HARD"]["case_reach_vs_expected__scored"] < 1.0
    assert 1.0 < out["EASY"]["case_reach_vs_expected__scored"] < 1.0 / 0.9


def test_the_scorecard_scores_the_shrunk_rate_and_the_card_gets_its_interval(tmp_path):
    # commitments kept per case held against the expectation (0.30 a case): 30 agents of 50
    # cases around it, one of 2 cases who kept a commitment on both (3.33x the expectation)
    rows = [metrics_row(f"A{i}", cases_assigned=50, kept_commitment_case_rate=0.24 + 0.004 * i,
                        expected_kept_commitment_case_rate=0.30,
                        kept_commitments_vs_expected=(0.24 + 0.004 * i) / 0.30)
            for i in range(30)]
    rows.append(metrics_row("LUCKY", cases_assigned=2, kept_commitment_case_rate=1.0,
                            expected_kept_commitment_case_rate=0.30,
                            kept_commitments_vs_expected=1.0 / 0.30))
    on = scored(rows, load_config(None))["LUCKY"]
    data = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    data["fairness"]["shrink_small_samples"] = False
    path = tmp_path / "raw.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    off = scored(rows, load_config(path))["LUCKY"]
    value = lambda card: next(r["value"] for r in card["rule_points"]  # noqa: E731
                              if r["metric"] == "kept_commitments_vs_expected")
    assert value(off) == pytest.approx(1.0 / 0.30) and value(on) < 1.5
    assert on["recovery_score"] < off["recovery_score"]
    cards = pl.DataFrame(rows, infer_schema_length=None)
    card = intervals(cards)["LUCKY"]["kept_commitments_vs_expected"]
    assert card["observed"] == pytest.approx(1.0 / 0.30) and card["n"] == 2
    assert card["lo"] <= value(on) <= card["hi"]


def test_a_centre_that_reached_nothing_gives_no_reach_value_never_nan():
    # one agent, no case of the bucket reached by anyone: the expectation is 0, the ratio has no
    # value (it was NaN, and a NaN composite graded S)
    frame = pl.DataFrame({"agent_id": ["A1"], "cases_assigned": [1], "case_reach_rate": [0.0],
                          "expected_case_reach_rate": [0.0],
                          "case_reach_vs_expected": [None]}, schema_overrides={
                              "case_reach_vs_expected": pl.Float64})
    assert shrink(frame)["case_reach_vs_expected__scored"][0] is None
    row = metrics_row("A1", case_reach_rate=0.0, expected_case_reach_rate=0.0,
                      case_reach_vs_expected=float("nan"), cases_assigned=1,
                      credited_collections=100.0, amount_due=1000.0)
    card = scored([row], load_config(None))["A1"]
    assert card["composite"] is not None and card["composite"] == card["composite"]  # not NaN
    reach = next(r for r in card["rule_points"] if r["metric"] == "case_reach_vs_expected")
    assert reach["value"] is None and reach["weight"] == 0
