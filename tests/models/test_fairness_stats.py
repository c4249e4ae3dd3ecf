"""The centre's team-effect diagnostic (marts.fairness_diagnostics): the share of the composite's
rank variance between teams is judged against what chance gives with the same team sizes, so a
centre whose skill is spread over its teams at random is not warned, and one whose teams differ
is."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from kaohe.models import ensure_mart
from kaohe.models.marts import build
from tests.metric_rows import CFG

MONTH = date(2026, 8, 1)


@pytest.fixture
def con(metric_con):
    return metric_con


def cards(con, composites: np.ndarray, teams: np.ndarray) -> dict:
    """The month's scorecard rows: only what the diagnostic reads."""
    ensure_mart(con, "agent_month_scorecard")
    con.execute("delete from marts.agent_month_scorecard")
    con.execute("insert into marts.agent_month_scorecard by name select "
                "month, agent_id, team_id, composite, 1.0 as difficulty_coefficient, "
                "false as veto from (select unnest(?) as agent_id, unnest(?) as team_id, "
                "unnest(?) as composite, ?::date as month)",
                [[f"A{i:03d}" for i in range(len(teams))], [f"T{t}" for t in teams],
                 [float(c) for c in composites], MONTH])
    build(con, "fairness_diagnostics", CFG, "2026-08")
    cur = con.execute("select * exclude (month, config_version) "
                      "from marts.fairness_diagnostics")
    return dict(zip([d[0] for d in cur.description], cur.fetchall()[0], strict=True))


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_skill_assigned_to_teams_at_random_is_no_team_effect(con, seed):
    rng = np.random.default_rng(seed)
    teams = np.repeat(np.arange(6), 10)
    got = cards(con, rng.normal(70, 10, 60), rng.permutation(teams))
    # the old reading: eta (the root of the share) above 0.3 was "a team effect" most months
    assert got["eta_composite_team"] == pytest.approx(got["team_share_of_variance"] ** 0.5,
                                                      abs=1e-3)
    assert 0.05 < got["team_share_by_chance"] < 0.35
    assert got["team_share_of_variance"] <= got["team_share_by_chance"]
    assert (got["teams"], got["agents"]) == (6, 60)


def test_teams_that_differ_in_skill_are_a_team_effect(con):
    rng = np.random.default_rng(7)
    teams = np.repeat(np.arange(6), 10)
    got = cards(con, 60 + 4 * teams + rng.normal(0, 5, 60), teams)
    assert got["team_share_of_variance"] > got["team_share_by_chance"]


def test_the_chance_level_is_the_same_on_every_run(con):
    rng = np.random.default_rng(3)
    teams, composites = np.repeat(np.arange(6), 10), rng.normal(70, 10, 60)
    keys = ("eta_composite_team", "team_share_of_variance", "team_share_by_chance")
    first, again = cards(con, composites, teams), cards(con, composites, teams)
    assert [first[k] for k in keys] == [again[k] for k in keys]
