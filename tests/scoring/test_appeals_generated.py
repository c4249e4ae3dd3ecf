"""Appeals on the shared generated sample (tests/conftest.py, seed 7, 2026-08..09): the overturn
rates of QA flags recovered by marts.appeal_outcomes agree with the generator's ground truth
(kaohe/generate/appeals.py, in _manifest.json only), each label's within its 95% interval; an
overturned flag counts against no agent; the card lists the agent's appeals and marks the grade
provisional while one is pending."""

from __future__ import annotations

import json
import math

import pytest


@pytest.fixture(scope="module")
def published(sample_published):
    return sample_published


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    p = k / n
    mid = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return mid - half, mid + half


def test_overturn_rates_recover_each_labels_truth(sample_build, published):
    truth = json.loads((sample_build["landing"] / "_manifest.json").read_text(
        encoding="utf-8"))["appeals"]["overturn_rate"]
    rows = published.sql(
        "select qa_label, sum(decided)::int, sum(overturned)::int from marts.appeal_outcomes "
        "where subject_type = 'qa_flag' group by all order by all").fetchall()
    judged = {label: (k, n) for label, n, k in rows if n >= 10}
    # the common labels have enough decided appeals to judge (privacy_disclosure is rare)
    assert {"threat", "abuse", "insult", "false_promise"} <= set(judged), rows
    for label, (k, n) in judged.items():
        lo, hi = wilson(k, n)
        assert lo <= truth[label] <= hi, (label, k, n, truth[label], (lo, hi))
    # and the rates differ by label as the truth does: the most and least overturned agree
    observed = {label: k / n for label, (k, n) in judged.items()}
    ranked = sorted(observed, key=observed.get)
    assert truth[ranked[-1]] > truth[ranked[0]]


def test_an_overturned_flag_counts_against_no_agent(published):
    # every overturned QA flag of the months is out of the agents' flagged calls: recount the
    # flagged calls without the withdrawn ones and compare with the mart
    mismatched = published.sql("""
        with flagged as (
            select c.agent_id, date_trunc('month', c.started_at)::date as month,
                   count(distinct c.call_id) as n
            from staging.calls c join staging.qa_flags f using (call_id)
            where f.confidence >= 0.8 and f.label in ('threat', 'abuse', 'insult')
                and c.outcome in ('connected_debtor', 'connected_third_party')
                and not exists (select 1 from marts.agent_appeals a
                                where a.subject_type = 'qa_flag' and not a.counts_against
                                    and a.subject_id = f.call_id || ':' || f.label)
            group by all)
        select m.agent_id from marts.agent_month_metrics m
        left join flagged f using (agent_id, month)
        where coalesce(f.n, 0) <> coalesce(m.qa_flagged_calls, 0)""").fetchall()
    assert mismatched == []
    overturned = published.sql("select count(*) from marts.agent_appeals "
                               "where decision = 'overturned'").fetchall()[0][0]
    assert overturned > 20


def test_the_card_lists_the_appeals_and_marks_a_pending_month_provisional(sample_build,
                                                                          published):
    from kaohe.paths import data_path

    reports = sample_build["home"] / "reports"
    agent, month, pending = published.sql(
        "select agent_id, strftime(month, '%Y-%m'), count(*) filter (where decision = "
        "'pending') from marts.agent_appeals group by all having bool_or(decision = 'pending') "
        "order by count(*) desc, agent_id limit 1").fetchall()[0]
    card = data_path(reports / month, "agents", agent).read_text(encoding="utf-8")
    # the appeals counted per subject, label and decision; the month provisional
    assert "申诉" in card and "待裁决 ×" in card
    assert f"有 {pending} 项申诉待裁决" in card
    # an agent without an appeal, in a month whose window is over (the sample's months ended
    # long before the suite runs): final
    other = published.sql(
        "select s.agent_id from marts.agent_month_scorecard s where s.month = $m and not "
        "exists (select 1 from marts.agent_appeals a where a.agent_id = s.agent_id and "
        "a.month = s.month) order by s.agent_id limit 1",
        params={"m": f"{month}-01"}).fetchall()[0][0]
    card = data_path(reports / month, "agents", other).read_text(encoding="utf-8")
    assert "等级暂定" not in card
