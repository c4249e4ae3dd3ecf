"""The conduct gate on the generated centre (docs/scorecard.md, "Conduct decides the grade"):
the harassers the generator plants (its manifest's harassing_agents) earn no variable pay in any
month, ordinary agents are rarely alerted high, and the pages and the pay export say why."""

from __future__ import annotations

import json

import duckdb
import pytest

MONTHS = ("2026-08", "2026-09")


@pytest.fixture(scope="module")
def published(sample_build):
    con = duckdb.connect(str(sample_build["home"] / "warehouse" / "kaohe.duckdb"), read_only=True)
    manifest = json.loads((sample_build["landing"] / "_manifest.json").read_text())
    yield con, manifest
    con.close()


def test_planted_harassers_earn_no_variable_pay_in_any_month(published):
    con, manifest = published
    harassers = manifest["harassing_agents"]
    assert harassers
    rows = con.execute(
        "select s.agent_id, strftime(s.month, '%Y-%m'), s.grade, s.veto, s.conduct_gate_code, "
        "p.variable_earned from marts.agent_month_scorecard s "
        "left join marts.agent_month_pay p using (agent_id, month) "
        "where list_contains(?, s.agent_id) and s.not_appraised_code is null",
        [harassers]).fetchall()
    assert rows, "no appraised harasser-month"
    for agent_id, month, grade, veto, gate, earned in rows:
        assert veto or gate is not None, (agent_id, month, grade)
        assert not earned, (agent_id, month, grade, gate, earned)


def test_ordinary_agents_are_rarely_alerted_high_on_lawful_dialling(published):
    con, manifest = published
    harassers = manifest["harassing_agents"]
    agent_months, high = con.execute(
        "select count(*), count(*) filter (where a.agent_id is not null) "
        "from marts.agent_month_metrics m left join (select distinct agent_id, month from "
        "marts.conduct_alerts where severity = 'high') a using (agent_id, month) "
        "where not list_contains(?, m.agent_id) and m.call_attempts > 0", [harassers]
    ).fetchall()[0]
    assert agent_months > 50
    assert high / agent_months < 0.02
    # the dialler's retries are lawful: most ordinary agent-months have no breach at all
    clean = con.execute(
        "select avg((contact_rule_breaches = 0)::int) from marts.agent_month_metrics "
        "where not list_contains(?, agent_id) and call_attempts > 0", [harassers]).fetchall()[0][0]
    assert clean > 0.9


def test_the_gate_and_its_reason_reach_the_pages_and_the_pay_export(published, sample_build):
    con, _ = published
    gated = con.execute(
        "select agent_id, strftime(month, '%Y-%m'), team_id, conduct_gate_code "
        "from marts.agent_month_scorecard where conduct_gate_code is not null "
        "order by month, agent_id").fetchall()
    assert gated
    agent_id, month, team_id, code = gated[0]
    reports = sample_build["home"] / "reports" / month
    card = (reports / "agents" / f"{agent_id}.html").read_text(encoding="utf-8")
    assert "行为闸门" in card and "当月不发绩效工资" in card
    assert agent_id in (reports / "teams" / f"{team_id}.html").read_text(encoding="utf-8")
    pay = con.execute("select payout_factor, conduct_gate_code from marts.agent_month_pay "
                      "where agent_id = ? and month = ?", [agent_id, f"{month}-01"]).fetchall()
    assert pay == [(0.0, code)]
