-- intermediate.agent_contact(month_start, month_end, cap, hours_start, hours_end,
-- effective_min_s): the contact part of marts.agent_month_metrics, per agent with a call in the
-- month: attempts and their outcomes, the calls beyond the daily contact cap
-- (intermediate.over_cap_calls), off-hours calls, and the cases worked (intermediate.handled_cases)
-- with their hardship and relief. Column meanings: the metric dictionary.

with

month_calls as not materialized (
    -- re-read where used: a column scan costs less than holding a month of calls in memory
    select c.agent_id, c.started_at, c.duration_s, c.outcome, c.ptp_amount
    from staging.calls c
    where c.started_at >= month_start::date and c.started_at < month_end::date
),

attempts as (
    select
        c.agent_id,
        count(*) as call_attempts,
        count(*) filter (where c.outcome in ('connected_debtor', 'connected_third_party'))
            as connected_calls,
        count(*) filter (where c.outcome = 'connected_debtor') as rpc_calls,
        coalesce(sum(c.duration_s) filter (
            where c.outcome in ('connected_debtor', 'connected_third_party')), 0) as talk_time_s,
        count(*) filter (
            where c.outcome = 'connected_debtor' and c.duration_s >= effective_min_s
        ) as effective_calls,
        count(*) filter (where c.ptp_amount > 0) as ptp_made,
        count(*) filter (
            where c.started_at::time < hours_start::time
                or c.started_at::time >= hours_end::time
        ) as off_hours_calls
    from month_calls c
    group by all
),

over_cap as (
    -- counted apart from the month's calls, so a month of calls is not joined to them call by
    -- call; own_excess: beyond the cap among the agent's own calls alone
    select
        agent_id,
        count(*) as over_cap_calls,
        count(*) filter (where own_excess) as own_over_cap_calls
    from intermediate.over_cap_calls(month_start::date, month_end::date, cap)
    group by all
),

handled as (
    select
        agent_id,
        count(*) as cases_handled,
        count(*) filter (where hardship_flag) as hardship_cases_handled,
        count(*) filter (where hardship_flag and relieved) as relieved_hardship_cases
    from intermediate.handled_cases(month_start::date, month_end::date)
    group by all
)

select
    agent_id,
    a.call_attempts,
    a.connected_calls,
    a.rpc_calls,
    a.talk_time_s,
    a.effective_calls,
    a.ptp_made,
    a.off_hours_calls,
    o.over_cap_calls,
    o.own_over_cap_calls,
    h.cases_handled,
    h.hardship_cases_handled,
    h.relieved_hardship_cases
from attempts a
left join over_cap o using (agent_id)
left join handled h using (agent_id)
