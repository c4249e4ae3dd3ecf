-- The month's pay as HR's payroll import expects it (`kaohe export-pay`, kaohe/scoring/payroll.py): one
-- row per agent of marts.agent_month_pay, with the scorecard's team, level and the reason an
-- agent earns no variable pay (not appraised, vetoed, or stopped by the conduct gate), and the agent's and team's names from
-- the roster as of the month's last day. Every amount is the mart's, never recomputed. Agents
-- with no active day in the month have no pay row: sql/reports/pay_not_paid.sql lists them.
-- grade_status: 'provisional' before final_on (the month's end + appeals.window_days, as the
-- month was built) or while an appeal about the agent's month is pending (marts.agent_appeals),
-- else 'final' (docs/scorecard.md "Appeals").
-- Bound: $start, $end (the month), $final_on, $today.
select
    p.agent_id,
    g.agent_name,
    s.team_id,
    g.team_name,
    s.level,
    p.grade,
    -- worded in the report language by kaohe/scoring/payroll.py from the parts at the end
    null::varchar as reason,
    p.base_salary,
    p.active_days,
    p.base_paid,
    p.target_pay,
    p.variable_target,
    p.payout_factor,
    p.variable_earned,
    p.paid_now,
    p.deferred,
    p.forfeited,
    p.ytd_deferred_pool,
    strftime(p.month, '%Y-%m') as month,
    p.config_version,
    strftime($final_on::date, '%Y-%m-%d') as final_on,
    case when $today::date < $final_on::date or coalesce(a.pending, 0) > 0
        then 'provisional' else 'final' end as grade_status,
    -- the reason's parts (a veto is never hidden: its reason wins over the others)
    s.veto, s.veto_code, s.conduct_gate_code, s.grade_before_gate, s.grade as card_grade,
    s.compliance_score, s.not_appraised_code, s.not_appraised_reason
from marts.agent_month_pay p
left join marts.agent_month_scorecard s using (agent_id, month)
left join intermediate.roster_at(($end::date - interval 1 day)::date) g using (agent_id)
left join (
    select agent_id, count(*) filter (where decision = 'pending') as pending
    from marts.agent_appeals
    where month = $start
    group by all
) a using (agent_id)
where p.month = $start
order by s.team_id nulls last, p.agent_id
