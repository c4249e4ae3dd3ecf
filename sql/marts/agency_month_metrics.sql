-- marts.agency_month_metrics: outsourced collection agencies (agency_id of their agents) per
-- month, and their recording spot-check coverage (the guideline asks for a spot check every day).
-- Basis (spot_check_basis): when the lender sends human QA reviews (qa_reviews, version 2) for any
-- call of the month, a connected call is spot-checked when a reviewer reviewed it
-- ('human_review'); otherwise the version-1 proxy: any speech-analytics label on the call
-- ('ai_label_proxy', which says only that a machine listened). A day meets the minimum when the
-- agency's spot-checked calls of the day are at least $spot_check_min_share of its connected
-- calls of the day (config compliance.spot_check_daily_min_share).

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

month_calls as (
    select c.call_id, c.agent_id, c.started_at, c.outcome
    from staging.calls c
    cross join bounds b
    where c.started_at >= b.month_start and c.started_at < b.month_end
),

basis as (
    select
        case when exists (
            select 1 from staging.qa_reviews r join month_calls m using (call_id)
        ) then 'human_review' else 'ai_label_proxy' end as spot_check_basis
),

connected as (
    select
        o.agency_id,
        c.started_at::date as call_date,
        case when k.spot_check_basis = 'human_review'
            then exists (select 1 from staging.qa_reviews r where r.call_id = c.call_id)
            else exists (select 1 from staging.qa_flags f where f.call_id = c.call_id)
        end as checked
    from month_calls c
    join agency_of o using (agent_id)
    cross join basis k
    where c.outcome in ('connected_debtor', 'connected_third_party')
),

agency_days as (
    select
        agency_id,
        call_date,
        count(*) as connected,
        count(*) filter (where checked) as checked
    from connected
    group by all
),

spot_checks as (
    select
        agency_id,
        sum(checked) as spot_checked_calls,
        count(*) as days_with_connected_calls,
        count(*) filter (where checked > 0) as days_spot_checked,
        count(*) filter (where checked >= $spot_check_min_share * connected) as days_meeting_minimum
    from agency_days
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
            as daily_spot_check_rate,
        b.spot_check_basis,
        coalesce(k.days_meeting_minimum, 0) as days_meeting_minimum,
        (k.days_meeting_minimum / nullif(k.days_with_connected_calls, 0))::double
            as daily_minimum_met_rate
    from sums s
    left join spot_checks k using (agency_id)
    cross join basis b
)

select * from final
