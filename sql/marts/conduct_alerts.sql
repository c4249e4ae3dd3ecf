-- marts.conduct_alerts: the compliance officer's review queue. One row per (agent, month, rule)
-- that fired: the agent's own measure in the month is strictly above the configured threshold
-- (config conduct_alerts.rules). Not a veto. The same rule firing in consecutive months counts
-- up consecutive_months (from the previous month's row); at conduct_alerts.escalate_after_months
-- the severity becomes high, unless the rule says escalates: false (a state that persists until
-- fixed, like a training backlog, stays at its severity). Outsourced agents carry their agency.
-- Bound parameters: the `bound` list of the dictionary beside this file (exactly those are
-- passed; kaohe/models/__init__.py metric_params says what each one is).

with

rules as (
    select r.measure, r.above, r.severity, r.escalates from (select unnest($alert_rules) as r)
),

agents as (
    select * from marts.agent_month_metrics where month = $month_start::date
),

substantiated as (
    select agent_id, count(*) as n
    from intermediate.complaint_attribution
    where substantiated and agent_id is not null
        and received_at >= $month_start::date and received_at < $month_end::date
    group by all
),

measures as (
    -- the agent's own behaviour in the month, one row per measure
    select a.agent_id, a.team_id, m.measure, m.value
    from agents a
    left join substantiated s using (agent_id)
    cross join lateral (
        select * from (values
            ('own_over_cap_rate', a.own_over_cap_rate),
            ('off_hours_rate', a.off_hours_rate),
            ('threat_ratio', a.threat_ratio),
            ('substantiated_complaints', coalesce(s.n, 0)::double),
            ('suspected_privacy_calls', a.suspected_privacy_calls::double),
            ('mandatory_not_passed', (a.mandatory_due - a.mandatory_passed)::double)
        ) v(measure, value)
    ) m
),

fired as (
    select m.agent_id, m.team_id, m.measure as rule, m.value, r.above as threshold, r.severity,
        r.escalates
    from measures m
    join rules r using (measure)
    where m.value > r.above
),

previous as (
    select agent_id, rule, consecutive_months
    from marts.conduct_alerts
    where month = ($month_start::date - interval 1 month)::date
),

agency as (
    select agent_id, agency_id
    from intermediate.roster_at(($month_end::date - interval 1 day)::date)
    where employment_type = 'outsourced'
)

select
    f.agent_id,
    $month_start::date as month,
    f.team_id,
    g.agency_id,
    f.rule,
    round(f.value, 6) as value,
    f.threshold,
    case when f.escalates and coalesce(p.consecutive_months, 0) + 1 >= $escalate_after
         then 'high' else f.severity end as severity,
    coalesce(p.consecutive_months, 0) + 1 as consecutive_months
from fired f
left join previous p using (agent_id, rule)
left join agency g using (agent_id)
