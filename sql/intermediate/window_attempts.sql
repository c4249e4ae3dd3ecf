-- intermediate.window_attempts(month_start, month_end, legal_start, legal_end): every call of the
-- month started within the legal hours, with its contact window (the debtor segment, the kind
-- of day, the hour) and what it could be expected to reach wherever it was placed: the centre's
-- right-party rate of the month for its order among the day's attempts to the debtor and the
-- case's bucket at the call. A dialler stops dialling a debtor once reached, so the later hours
-- get the debtors not reached earlier: without this a raw rate falls through the day even when
-- the hour does not matter. What marts.contact_windows sums and the evaluation of the windows
-- on the next month (kaohe.models.window_eval) compares within agents. docs/contact-windows.md.

with

month_calls as (
    select c.call_id, c.agent_id, c.case_id, c.started_at,
        (c.outcome = 'connected_debtor')::int as contact,
        coalesce(m.industry, 'unknown') as segment,
        coalesce(m.debtor_id, 'case:' || c.case_id) as debtor_key,
        c.started_at::time >= legal_start::time and c.started_at::time < legal_end::time
            as legal
    from staging.calls c
    left join intermediate.case_master_at((month_end::date - interval 1 day)::date) m
        using (case_id)
    where c.started_at >= month_start::date and c.started_at < month_end::date
),

numbered as (
    -- each call's place among the day's attempts to the debtor (every agent's, the curfew's
    -- too; 4 = the fourth or later)
    select *, least(row_number() over (partition by debtor_key, started_at::date
                                       order by started_at, call_id), 4) as day_order
    from month_calls
),

latest as (
    -- the holding the case was last assigned at or before the legal attempt (an ASOF join: one
    -- sorted pass, not a range join of every call to every holding of its case)
    select o.*, h.assigned_at as h_assigned_at, h.held_until as h_held_until,
        h.dpd_at_assignment as h_dpd
    from (select * from numbered where legal) o
    asof left join intermediate.case_holdings h
        on h.case_id = o.case_id and o.started_at >= h.assigned_at
),

held as (
    -- the holding of the call: the latest assigned that still held the case at the call. When
    -- the last one assigned had already ended (overlapping holdings, rare), an earlier one that
    -- still held it is looked for among that call's holdings alone.
    select * exclude (h_assigned_at, h_held_until, h_dpd),
        case when started_at < h_held_until then h_assigned_at end as assigned_at,
        case when started_at < h_held_until then h_dpd end as dpd_at_assignment
    from latest
    where h_assigned_at is null or started_at < h_held_until
    union all
    select o.* exclude (h_assigned_at, h_held_until, h_dpd), h.assigned_at, h.dpd_at_assignment
    from latest o
    left join intermediate.case_holdings h
        on h.case_id = o.case_id and o.started_at >= h.assigned_at
        and o.started_at < h.held_until
    where o.h_assigned_at is not null and o.started_at >= o.h_held_until
    qualify row_number() over (partition by o.call_id order by h.assigned_at desc) = 1
),

ordered as (
    -- and the case's bucket at the call (its holding: days past due at the assignment plus the
    -- days since)
    select * exclude (assigned_at, dpd_at_assignment),
        case when assigned_at is not null then bucket_of(dpd_at_assignment + datediff(
            'day', assigned_at::date, started_at::date)) end as bucket
    from held
),

strata as (
    -- the centre's right-party rate of the month per (order in the debtor's day, bucket)
    select day_order, bucket, avg(contact) as stratum_rate
    from ordered
    group by all
)

select
    o.call_id,
    o.agent_id,
    o.segment,
    case when isodow(o.started_at) >= 6 then 'weekend' else 'weekday' end as day_kind,
    hour(o.started_at)::integer as hour,
    o.day_order,
    o.bucket,
    o.contact,
    s.stratum_rate as expected
from ordered o
join strata s on s.day_order = o.day_order and s.bucket is not distinct from o.bucket
