-- One row per agent appraised in the month: scorecard, metrics, pay, promotion and the roster
-- as of the month's end (names, team, e-mails). Bound: $start, $end (the month).
-- The explanations are read as their parts (codes, numbers, thresholds), which
-- kaohe/reporting/explanations.py words; the marts' English sentences are never shown.
-- The centre rank is not the agent's to see (7.2: "agents like you", sql/reports/
-- peer_comparisons.sql, in its place); it stays in the marts, the team and centre pages.
select s.* exclude (target_explanation, veto_reason, center_rank, center_percentile), m.* exclude (agent_id, month, team_id, level, veto, config_version),
    p.base_salary, p.target_pay, p.variable_target, p.payout_factor, p.variable_earned,
    p.paid_now, p.deferred, p.forfeited, p.ytd_deferred_pool,
    -- the promotion progress in parts (the page words them, never the mart's reason)
    c.to_level, c.streak_months, c.required_months, c.min_composite, c.eligible,
    c.streak_veto_month, c.expertise_code, c.expertise_count,
    g.agent_name, g.team_name, g.manager_email, g.email
from marts.agent_month_scorecard s
join marts.agent_month_metrics m using (agent_id, month)
left join marts.agent_month_pay p using (agent_id, month)
left join marts.promotion_candidates c using (agent_id, month)
left join intermediate.roster_at(($end::date - interval 1 day)::date) g using (agent_id)
where s.month = $start
order by s.team_id, s.center_rank nulls last, s.agent_id
