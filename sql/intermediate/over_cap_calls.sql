-- intermediate.over_cap_calls(month_start, month_end, cap): the calls beyond the daily contact
-- cap. Every attempt of every agent on a debtor's cases is ranked per debtor and calendar day
-- (started_at, then call_id breaks ties); those ranked beyond cap are over the cap. The agent's
-- own attempts are ranked too, per agent, debtor and day: own_excess marks the calls beyond the
-- cap among the agent's own (always a subset: the k-th own call is at least the k-th of the
-- day); the others crossed the cap only because colleagues called the debtor first. The debtor
-- comes from the case master as of the month's last day; a case missing from it counts as its
-- own debtor ('case:' || case_id). Calls with started_at in [month_start, month_end).

with

month_calls as not materialized (
    select c.call_id, c.agent_id, c.case_id, c.started_at
    from staging.calls c
    where c.started_at >= month_start and c.started_at < month_end
),

case_master as (
    select case_id, debtor_id
    from intermediate.case_master_at((month_end::date - interval 1 day)::date)
),

case_days as (
    -- attempts per case and calendar day
    select c.case_id, c.started_at::date as call_date, count(*) as attempts
    from month_calls c
    group by all
),

case_debtors as (
    -- the debtor of each case called in the month, and whether the debtor has several cases
    -- called (their attempts then add up over its cases)
    select
        d.case_id,
        coalesce(m.debtor_id, 'case:' || d.case_id) as debtor_key,
        count(*) over (partition by coalesce(m.debtor_id, 'case:' || d.case_id)) > 1 as shared
    from (select distinct case_id from case_days) d
    left join case_master m using (case_id)
),

busy_cases as (
    -- the case-days of the (debtor, day)s with more attempts than the cap: only those need
    -- ranking. A debtor with one case called is busy on its case's busy days (no grouping of
    -- every case-day of the month by debtor); one with several sums its cases' attempts.
    select d.case_id, b.debtor_key, d.call_date
    from case_days d
    join case_debtors b using (case_id)
    where not b.shared and d.attempts > cap
    union all
    select case_id, debtor_key, call_date
    from (
        select
            d.case_id,
            b.debtor_key,
            d.call_date,
            sum(d.attempts) over (partition by b.debtor_key, d.call_date) as debtor_attempts
        from case_days d
        join case_debtors b using (case_id)
        where b.shared
    )
    where debtor_attempts > cap
),

ranked as (
    select
        c.call_id,
        c.agent_id,
        b.debtor_key,
        b.call_date,
        row_number() over (
            partition by b.debtor_key, b.call_date order by c.started_at, c.call_id
        ) as attempt_of_day,
        row_number() over (
            partition by c.agent_id, b.debtor_key, b.call_date order by c.started_at, c.call_id
        ) as own_attempt_of_day
    from month_calls c
    join busy_cases b on b.case_id = c.case_id and b.call_date = c.started_at::date
)

select
    call_id,
    agent_id,
    debtor_key,
    call_date,
    attempt_of_day,
    own_attempt_of_day,
    own_attempt_of_day > cap as own_excess
from ranked
where attempt_of_day > cap
