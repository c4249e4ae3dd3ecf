-- The agents of the month with no pay row (`kaohe export-pay`'s sheet "not paid 未发放"): a
-- scorecard row but no active day in the month (they left before it or joined after it), with
-- the last working day the roster or the calls give and the reason's parts (worded by
-- kaohe/scoring/payroll.py in the report language).
-- Bound: $start, $end (the month).
select
    s.agent_id,
    g.agent_name,
    s.team_id,
    g.team_name,
    s.active_days,
    g.hire_date,
    s.not_appraised_code,
    s.not_appraised_reason
from marts.agent_month_scorecard s
left join marts.agent_month_pay p using (agent_id, month)
left join intermediate.roster_at(($end::date - interval 1 day)::date) g using (agent_id)
where s.month = $start and p.agent_id is null
order by s.team_id nulls last, s.agent_id
