"""The card's next steps (kaohe/scoring/next_steps.py): points lost per measure add up to what the
composite misses, the gap to the next band, and the measures where reaching the centre's better
quarter gains most; worked by hand on five agents under the shipped weights (compliance 0.30,
recovery 0.40, satisfaction 0.20, skill 0.10), one rule per dimension."""

from __future__ import annotations

import polars as pl
import pytest
import yaml

from kaohe.config import DEFAULT_CONFIG, load_config
from kaohe.scoring.next_steps import next_steps

CFG = load_config()
RULES = (  # dimension, metric, direction, floor, target
    ("compliance", "complaints_per_1k_cases", "lower", 10.0, 0.0),
    ("recovery", "case_reach_rate", "higher", 0.5, 0.9),
    ("satisfaction", "csat_avg", "higher", 3.0, 4.5),
    ("skill", "mandatory_pass_rate", "higher", 0.8, 1.0),
)
VALUES = {  # per agent, in RULES order
    "X": (5.0, 0.70, 3.75, 0.9),  # 50 points on every rule: composite 50
    "B": (0.0, 0.80, 4.00, 1.0),
    "C": (0.0, 0.85, 4.20, 1.0),
    "D": (2.0, 0.90, 4.50, 1.0),
    "E": (10.0, 0.60, 3.00, 0.8),
}


def points(direction, floor, target, value) -> float:
    return min(max((value - floor) / (target - floor), 0.0), 1.0) * 100


def cards(values=VALUES, composites=None, missing=()) -> pl.DataFrame:
    rows = []
    for agent, vals in values.items():
        rule_points = [
            {"dimension": d, "metric": m, "value": v, "floor": f, "target": t, "direction": dr,
             "weight": 1.0, "points": points(dr, f, t, v)}
            for (d, m, dr, f, t), v in zip(RULES, vals, strict=True) if d not in missing]
        scores = {f"{d}_score": None if d in missing else
                  points(dr, f, t, v) for (d, _m, dr, f, t), v in zip(RULES, vals, strict=True)}
        present = {d: w for d, w in CFG.scorecard.weights.items() if d not in missing}
        composite = sum(scores[f"{d}_score"] * w for d, w in present.items()) / sum(
            present.values())
        rows.append({"agent_id": agent, "veto": False, "rule_points": rule_points,
                     "composite": round((composites or {}).get(agent, composite), 2), **scores})
    return pl.DataFrame(rows)


def test_points_lost_add_up_to_what_the_composite_misses():
    steps = next_steps(cards(), CFG)
    x = steps["X"]["lost"]
    assert x == pytest.approx({("compliance", "complaints_per_1k_cases"): 15.0,
                               ("recovery", "case_reach_rate"): 20.0,
                               ("satisfaction", "csat_avg"): 10.0,
                               ("skill", "mandatory_pass_rate"): 5.0})
    for agent, card in zip(VALUES, cards().to_dicts(), strict=True):
        assert sum(steps[agent]["lost"].values()) == pytest.approx(100 - card["composite"],
                                                                   abs=0.01)


def test_the_best_steps_are_where_the_centres_better_quarter_gains_most():
    x = next_steps(cards(), CFG)["X"]
    # better quarter: complaints p25 of (0, 0, 2, 5, 10) = 0 -> +0.30 x 50 = 15;
    # reach p75 of (0.6 .. 0.9) = 0.85 -> 87.5 points, +0.40 x 37.5 = 15;
    # csat p75 = 4.2 -> 80 points, +0.20 x 30 = 6; mandatory p75 = 1.0 -> +0.10 x 50 = 5
    assert [(b["metric"], round(b["realistic"], 4), round(b["gain"], 4)) for b in x["best"]] == [
        ("case_reach_rate", 0.85, 15.0), ("complaints_per_1k_cases", 0.0, 15.0)]
    # C is at the better quarter on every measure: nothing to name; D's 2 complaints a
    # thousand cases cost 0.30 x 20 = 6 points
    steps = next_steps(cards(), CFG)
    assert steps["C"]["best"] == []
    assert [(b["metric"], round(b["gain"], 4)) for b in steps["D"]["best"]] == [
        ("complaints_per_1k_cases", 6.0)]


def test_the_gap_to_the_next_band():
    bands = CFG.scorecard.grades  # S 93, A 87, B 74, C 55
    steps = next_steps(cards(composites={"X": 80.0, "B": 95.5, "E": 54.99}), CFG)
    assert (steps["X"]["next_grade"], steps["X"]["gap"]) == ("A", round(bands["A"] - 80.0, 2))
    assert (steps["E"]["next_grade"], steps["E"]["gap"]) == ("C", round(bands["C"] - 54.99, 2))
    assert steps["B"]["next_grade"] is None and steps["B"]["top"]


def test_a_missing_dimension_spreads_its_weight_and_a_veto_has_no_steps(tmp_path):
    steps = next_steps(cards(missing=("satisfaction",)), CFG)
    # reweighted over 0.8: compliance 0.375, recovery 0.5, skill 0.125 of the 50 points missed
    assert steps["X"]["lost"] == pytest.approx({("compliance", "complaints_per_1k_cases"): 18.75,
                                                ("recovery", "case_reach_rate"): 25.0,
                                                ("skill", "mandatory_pass_rate"): 6.25})
    vetoed = cards().with_columns(veto=pl.col("agent_id") == "X")
    assert "X" not in next_steps(vetoed, CFG)
    # grading by distribution: no band to aim at
    data = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    data["grading"] = {"mode": "distribution", "scope": "centre"}
    path = tmp_path / "dist.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    dist = next_steps(cards(), load_config(path))["X"]
    assert dist["next_grade"] is None and dist["gap"] is None and not dist["top"]


def test_the_team_report_explains_the_managers_points_like_the_card():
    from kaohe.scoring.next_steps import team_next_steps

    rules = {r.measure: r.weight for r in CFG.team_scorecard.rules}
    points = {"recovery_vs_target": 62.22, "conduct_alerts_per_agent": 60.0,
              "skill_risk_mismatches_per_100_cases": 82.5,
              "open_tickets_past_sla_per_100_cases": 68.0,
              "mandatory_pass_rate": 47.5, "complaints_resolved_on_time_share": None}
    composite = round(sum(rules[m] * p for m, p in points.items() if p is not None)
                      / sum(rules[m] for m, p in points.items() if p is not None), 2)
    team = {"composite": composite, **{f"{m}_points": p for m, p in points.items()}}
    steps = team_next_steps(team, CFG)
    # the rule without data drops out, its weight spread: the losses add up to 100 - composite
    assert "complaints_resolved_on_time_share" not in steps["lost"]
    assert sum(steps["lost"].values()) == pytest.approx(100 - composite, abs=0.01)
    above = min((b, g) for g, b in CFG.scorecard.grades.items() if b > composite)
    assert (steps["next_grade"], steps["gap"]) == (above[1], round(above[0] - composite, 2))
    top = team_next_steps({**team, "composite": 99.0}, CFG)
    assert top["next_grade"] is None and top["top"]
