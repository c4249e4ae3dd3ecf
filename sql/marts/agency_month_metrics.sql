-- marts.agency_month_metrics: outsourced collection agencies (agency_id of their agents) per
-- month, and their recording spot-check coverage: a connected call is spot-checked when a
-- qa_flags row exists for it; the guideline asks for a spot check every day.

with

bounds as (
    select
        $month_start::date as month_start,
        $month_end::date as month_end,
        ($month_end::date - interval 1 day)::date as month_last_day
),

agency_of as (
    -- the agent's latest roster row on or before the month's last day, outsourced ones only
    select a.agent_id, a.agency_id
    from intermediate.roster_at(($month_end::date - interval 1 day)::date) a
    where a.employment_type = 'outsourced' and a.agency_id is not null
),

metrics as (
    select o.agency_id, m.*
    from marts.agent_month_metrics m
    join agency_of o using (agent_id)
    where m.month = $month_start::date
),

sums as (
    select
        agency_id,
        count(*) as agents,
        sum(amount_due)::decimal(18, 2) as amount_due,
        sum(collected)::decimal(18, 2) as collected,
        sum(call_attempts) as call_attempts,
        sum(connected_calls) as connected_calls,
        sum(over_cap_calls) as over_cap_calls,
        sum(off_hours_calls) as off_hours_calls,
        sum(complaints) as complaints,
        sum(cases_handled) as cases_handled,
        sum(qa_flagged_calls) as qa_flagged_calls,
        count(*) filter (where veto) as vetoed_agents
    from metrics
    group by all
),

connected as (
    select
        o.agency_id,
        c.started_at::date as call_date,
        exists (select 1 from staging.qa_flags f where f.call_id = c.call_id) as checked
    from staging.calls c
    join agency_of o using (agent_id)
    cross join bounds b
    where c.started_at >= b.month_start and c.started_at < b.month_end
        and c.outcome in ('connected_debtor', 'connected_third_party')
),

spot_checks as (
    select
        agency_id,
        count(*) filter (where checked) as spot_checked_calls,
        count(distinct call_date) as days_with_connected_calls,
        count(distinct call_date) filter (where checked) as days_spot_checked
    from connected
    group by all
),

final as (
    select
        s.agency_id,
        $month_start::date as month,
        s.agents,
        s.vetoed_agents,
        s.amount_due,
        s.collected,
        (s.collected / nullif(s.amount_due, 0))::double as recovery_rate,
        s.call_attempts,
        s.connected_calls,
        s.over_cap_calls,
        s.off_hours_calls,
        s.complaints,
        (1000.0 * s.complaints / nullif(s.cases_handled, 0))::double as complaints_per_1k_cases,
        s.qa_flagged_calls,
        coalesce(k.spot_checked_calls, 0) as spot_checked_calls,
        (coalesce(k.spot_checked_calls, 0) / nullif(s.connected_calls, 0))::double
            as spot_check_coverage,
        coalesce(k.days_with_connected_calls, 0) as days_with_connected_calls,
        coalesce(k.days_spot_checked, 0) as days_spot_checked,
        (k.days_spot_checked / nullif(k.days_with_connected_calls, 0))::double
            as daily_spot_check_rate
    from sums s
    left join spot_checks k using (agency_id)
)

select * from final
