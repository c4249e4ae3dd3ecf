-- The month's pay as HR's payroll import expects it (`kaohe export-pay`, kaohe/scoring/payroll.py): one
-- row per agent of marts.agent_month_pay, with the scorecard's team, level and the reason an
-- agent earns no variable pay (not appraised, vetoed, or stopped by the conduct gate), and the agent's and team's names from
-- the roster as of the month's last day. Every amount is the mart's, never recomputed.
-- Bound: $start, $end (the month).
select
    p.agent_id,
    g.agent_name,
    s.team_id,
    g.team_name,
    s.level,
    p.grade,
    -- a veto is never hidden: its reason wins over a reason not to appraise
    case when s.veto then coalesce(s.veto_reason, 'veto')
         when s.conduct_gate_code is not null
             then 'conduct gate: ' || replace(s.conduct_gate_code, '_', ' ')
         else s.not_appraised_reason
    end as reason,
    p.base_salary,
    p.target_pay,
    p.variable_target,
    p.payout_factor,
    p.variable_earned,
    p.paid_now,
    p.deferred,
    p.forfeited,
    p.ytd_deferred_pool,
    strftime(p.month, '%Y-%m') as month,
    p.config_version
from marts.agent_month_pay p
left join marts.agent_month_scorecard s using (agent_id, month)
left join intermediate.roster_at(($end::date - interval 1 day)::date) g using (agent_id)
where p.month = $start
order by s.team_id nulls last, p.agent_id
