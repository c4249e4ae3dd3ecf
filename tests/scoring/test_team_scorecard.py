"""The team manager's appraisal (marts.team_month_scorecard), pinned on hand-written rows under an
explicit test configuration: each measure's value and points, a rule without data dropping out
with its weight spread over the others, the grade from scorecard.grades, NA without data, the rank
among teams, and the validation of team_scorecard. August 2026: M = [2026-08-01, 2026-09-01)."""

from __future__ import annotations

import copy
from dataclasses import replace
from decimal import Decimal

import pytest
import yaml

from kaohe.config import DEFAULT_CONFIG, ConfigError, TeamScorecardConfig, load_config
from kaohe.models.marts import build_all
from tests.metric_rows import (
    CFG,
    agent,
    assignment,
    case,
    complaint,
    insert,
    payment,
    training,
    warehouse,
)

RULES = [
    # recovery against the sum of the agents' targets: 0 -> 1
    {"measure": "recovery_vs_target", "floor": 0.0, "target": 1.0, "direction": "higher",
     "weight": 0.4},
    {"measure": "conduct_alerts_per_agent", "floor": 1.0, "target": 0.0, "direction": "lower",
     "weight": 0.2},
    {"measure": "mandatory_pass_rate", "floor": 0.5, "target": 1.0, "direction": "higher",
     "weight": 0.2},
    {"measure": "complaints_resolved_on_time_share", "floor": 0.5, "target": 1.0,
     "direction": "higher", "weight": 0.2},
    # scored and shown, never counted
    {"measure": "skill_risk_mismatches_per_agent", "floor": 1.0, "target": 0.0,
     "direction": "lower", "weight": 0.0},
]
BANDS = {"S": 90.0, "A": 80.0, "B": 60.0, "C": 30.0}


def config(rules=RULES):
    return replace(CFG, team_scorecard=TeamScorecardConfig.model_validate({"rules": rules}),
                   scorecard=replace(CFG.scorecard, grades=BANDS))


@pytest.fixture
def con(tmp_path):
    con = warehouse(tmp_path / "w.duckdb")
    # T1: A and B; T2: Z. Each holds one M1 case of 1,000 the whole month.
    insert(con, "agents", [agent(a, "2026-07-01", team_id=t, level="L2")
                           for a, t in (("A", "T1"), ("B", "T1"), ("Z", "T2"))])
    insert(con, "cases", [case(f"C{a}", f"D{a}") for a in "ABZ"])
    insert(con, "assignments", [assignment(f"S{a}", f"C{a}", a, "2026-07-01 00:00:00")
                                for a in "ABZ"])
    target = 1000 * CFG.targets.base_recovery_rate  # an average portfolio: difficulty 1
    insert(con, "repayments", [
        payment("PA", "CA", "2026-08-10 10:00:00", f"{target:.2f}"),  # A on target, B nothing
        payment("PZ", "CZ", "2026-08-10 10:00:00", f"{target:.2f}"),  # Z on target
    ])
    insert(con, "trainings", [
        # A's mandatory course is due and not passed: a conduct alert (mandatory_not_passed)
        training("EA", "A", "mandatory", "2026-08-15"),
        training("EB", "B", "mandatory", "2026-08-15", "2026-08-10", True),
    ])
    yield con
    con.close()


def complaints(con, sent: bool = True):
    """T1: three complaints, two resolved within the 15-day deadline, one after 20 days."""
    rows = [
        dict(complaint("Q1", "2026-08-03 10:00:00", agent_id="A"),
             resolved_at="2026-08-05 10:00:00"),
        dict(complaint("Q2", "2026-08-04 10:00:00", agent_id="B"),
             resolved_at="2026-08-06 10:00:00"),
        dict(complaint("Q3", "2026-08-05 10:00:00", agent_id="B"),
             resolved_at="2026-08-25 10:00:00"),
    ]
    insert(con, "complaints", rows if sent else [
        {k: v for k, v in r.items() if k != "resolved_at"} for r in rows])


def scorecards(con, cfg) -> dict[str, dict]:
    build_all(con, cfg, "2026-08")
    cur = con.execute("select * exclude (config_version) from marts.team_month_scorecard "
                      "where month = date '2026-08-01' order by team_id")
    names = [d[0] for d in cur.description]
    return {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}


def test_each_measure_its_points_the_composite_and_the_grade(con):
    complaints(con)
    t1, t2 = scorecards(con, config()).values()
    # recovery: the team's credited collections against the sum of its agents' targets
    target = Decimal(f"{2 * 1000 * CFG.targets.base_recovery_rate:.2f}")
    assert (t1["credited_collections"], t1["target_collections"]) == (target / 2, target)
    assert t1["recovery_vs_target"] == 0.5 and t1["recovery_vs_target_points"] == 50.0
    # one alert for two agents: 0.5 per agent on a 1 -> 0 line
    assert (t1["conduct_alerts"], t1["conduct_alerts_per_agent"]) == (1, 0.5)
    assert t1["conduct_alerts_per_agent_points"] == 50.0
    # one of two mandatory courses passed: at the floor
    assert (t1["mandatory_pass_rate"], t1["mandatory_pass_rate_points"]) == (0.5, 0.0)
    # two of three complaints in time: (2/3 - 0.5) / 0.5
    assert t1["complaints_resolved_on_time_share"] == pytest.approx(2 / 3)
    assert t1["complaints_resolved_on_time_share_points"] == pytest.approx(100 / 3)
    # a rule of weight 0 is scored and shown but not counted; a measure without a rule has no
    # points
    assert (t1["skill_risk_mismatches_per_agent"],
            t1["skill_risk_mismatches_per_agent_points"]) == (0.0, 100.0)
    assert (t1["open_tickets_past_sla_per_agent"],
            t1["open_tickets_past_sla_per_agent_points"]) == (0.0, None)
    # 0.4 x 50 + 0.2 x 50 + 0.2 x 0 + 0.2 x 33.33 = 36.67: C (30 <= 36.67 < 60)
    assert t1["composite"] == 36.67 and t1["grade"] == "C"
    assert t1["missing_measures"] == []
    # T2: on target, no alert; no course and no complaint: those rules drop out
    assert t2["recovery_vs_target"] == 1.0 and t2["conduct_alerts_per_agent"] == 0.0
    assert t2["missing_measures"] == ["mandatory_pass_rate", "complaints_resolved_on_time_share"]
    assert (t2["composite"], t2["grade"]) == (100.0, "S")
    assert (t1["rank_among_teams"], t2["rank_among_teams"]) == (2, 1)


def test_a_rule_without_data_drops_out_and_its_weight_is_spread(con):
    complaints(con, sent=False)  # the lender never sends resolved_at
    t1 = scorecards(con, config())["T1"]
    assert t1["complaints_resolved_on_time_share"] is None
    assert t1["complaints_resolved_on_time_share_points"] is None
    assert t1["missing_measures"] == ["complaints_resolved_on_time_share"]
    # (0.4 x 50 + 0.2 x 50 + 0.2 x 0) / 0.8
    assert t1["composite"] == 37.5 and t1["grade"] == "C"


def test_a_team_without_data_for_any_weighted_rule_is_na(con):
    complaints(con, sent=False)
    only = [r for r in RULES if r["measure"] == "complaints_resolved_on_time_share"]
    cards = scorecards(con, config(only))
    assert {t: (c["composite"], c["grade"], c["rank_among_teams"]) for t, c in cards.items()} \
        == {"T1": (None, "NA", None), "T2": (None, "NA", None)}


def test_grades_follow_the_agents_bands(con):
    complaints(con)
    higher = replace(config(), scorecard=replace(
        CFG.scorecard, grades={"S": 99.0, "A": 98.0, "B": 97.0, "C": 96.0}))
    assert {t: c["grade"] for t, c in scorecards(con, higher).items()} == {"T1": "D", "T2": "S"}


def test_counts_that_grow_with_the_book_are_scored_per_100_cases(tmp_path):
    """8.0: skill-risk mismatches and tickets past SLA per 100 cases the team held
    (team_month_metrics.cases_assigned) beside the per-agent columns: a team of large books is
    not marked down for its size."""
    con = warehouse(tmp_path / "w.duckdb")
    high = CFG.metrics.high_risk_score
    insert(con, "agents", [agent("A", "2026-07-01", team_id="T1", level="L1"),
                           agent("B", "2026-07-01", team_id="T1", level="L3")])
    # four cases assigned in August; C1 and C2 high-risk, C1 to the L1 trainee: one mismatch
    insert(con, "cases", [dict(case(f"C{i}", f"D{i}"), risk_score=high if i <= 2 else 100)
                          for i in range(1, 5)])
    insert(con, "assignments", [assignment(f"S{i}", f"C{i}", "A" if i % 2 else "B",
                                           "2026-08-03 09:00:00") for i in range(1, 5)])
    rules = [{"measure": "skill_risk_mismatches_per_100_cases", "floor": 50.0, "target": 0.0,
              "direction": "lower", "weight": 1.0},
             {"measure": "open_tickets_past_sla_per_100_cases", "floor": 2.0, "target": 0.0,
              "direction": "lower", "weight": 0.0}]
    t1 = scorecards(con, config(rules))["T1"]
    con.close()
    assert (t1["skill_risk_mismatches"], t1["skill_risk_mismatches_per_agent"]) == (1, 0.5)
    # 1 of the team's 4 cases: 25 per 100 cases, half way from the floor of 50 to 0
    assert (t1["skill_risk_mismatches_per_100_cases"],
            t1["skill_risk_mismatches_per_100_cases_points"]) == (25.0, 50.0)
    assert (t1["open_tickets_past_sla_per_100_cases"],
            t1["open_tickets_past_sla_per_100_cases_points"]) == (0.0, 100.0)
    assert (t1["composite"], t1["missing_measures"]) == (50.0, [])


def test_the_shipped_configuration_scores_every_team_measure_with_a_weight():
    shipped = {r.measure: r for r in load_config().team_scorecard.rules}
    assert set(shipped) == {
        "recovery_vs_target", "conduct_alerts_per_agent", "skill_risk_mismatches_per_100_cases",
        "open_tickets_past_sla_per_100_cases", "mandatory_pass_rate",
        "complaints_resolved_on_time_share"}
    assert sum(r.weight for r in shipped.values()) == pytest.approx(1.0)
    # the section is optional: its defaults are the shipped rules
    assert TeamScorecardConfig() == load_config().team_scorecard


@pytest.mark.parametrize("change, message", [
    (lambda rules: rules.append(dict(rules[0])),
     "team_scorecard.rules: one rule per measure: recovery_vs_target more than once"),
    (lambda rules: rules[0].update(measure="recovery_rate"), "team_scorecard.rules[0].measure"),
    (lambda rules: rules[1].update(target=2.0),
     "team_scorecard.rules[1].target: must be below the floor"),
    (lambda rules: rules[0].update(wieght=1), "team_scorecard.rules[0].wieght: unknown key"),
    (lambda rules: [r.update(weight=0) for r in rules],
     "team_scorecard.rules: needs at least one rule with a weight"),
])
def test_a_wrong_team_rule_is_named_at_load(tmp_path, change, message):
    data = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    data = copy.deepcopy(data)
    change(data["team_scorecard"]["rules"])
    path = tmp_path / "kaohe.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert message in str(err.value)
