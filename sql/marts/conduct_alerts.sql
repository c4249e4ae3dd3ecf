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
    select r.measure, r.above, r.severity, r.escalates, r.min_evidence
    from (select unnest($alert_rules) as r)
),

agents as (
    select * from marts.agent_month_metrics where month = $month_start::date
),

substantiated as (
    select agent_id, count(*) as n
    from intermediate.complaint_attribution
    where substantiated and agent_id is not null and not withdrawn
        and received_at >= $month_start::date and received_at < $month_end::date
    group by all
),

measures as (
    -- the agent's own behaviour in the month, one row per measure, with the count of calls or
    -- events behind it (a rule's min_evidence)
    select a.agent_id, a.team_id, m.measure, m.value, m.evidence
    from agents a
    left join substantiated s using (agent_id)
    cross join lateral (
        select * from (values
            ('contact_rule_breach_rate', a.contact_rule_breach_rate, a.contact_rule_breaches),
            ('answered_over_cap_calls', a.answered_over_cap_calls::double,
                a.answered_over_cap_calls),
            ('unanswered_over_cap_calls', a.unanswered_over_cap_calls::double,
                a.unanswered_over_cap_calls),
            ('curfew_calls', a.curfew_calls::double, a.curfew_calls),
            ('own_over_cap_rate', a.own_over_cap_rate, a.own_over_cap_calls),
            ('off_hours_rate', a.off_hours_rate, a.off_hours_calls),
            ('threat_ratio', a.threat_ratio, a.qa_flagged_calls),
            ('substantiated_complaints', coalesce(s.n, 0)::double, coalesce(s.n, 0)),
            ('suspected_privacy_calls', a.suspected_privacy_calls::double,
                a.suspected_privacy_calls),
            ('mandatory_not_passed', (a.mandatory_due - a.mandatory_passed)::double,
                a.mandatory_due - a.mandatory_passed)
        ) v(measure, value, evidence)
    ) m
),

fired as (
    select m.agent_id, m.team_id, m.measure as rule, m.value, m.evidence, r.above as threshold,
        r.severity, r.escalates
    from measures m
    join rules r using (measure)
    where m.value > r.above and m.evidence >= r.min_evidence
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
    f.evidence,
    f.threshold,
    case when f.escalates and coalesce(p.consecutive_months, 0) + 1 >= $escalate_after
         then 'high' else f.severity end as severity,
    coalesce(p.consecutive_months, 0) + 1 as consecutive_months
from fired f
left join previous p using (agent_id, rule)
left join agency g using (agent_id)
