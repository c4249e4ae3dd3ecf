-- intermediate.complaint_resolution(month_start, month_end, deadline_days): every complaint
-- (whatever its verdict: the handling deadline applies to each) with the agent it counts against
-- (intermediate.complaint_attribution) and how its resolution stands against the deadline of
-- deadline_days days from received_at (elapsed time, to the second) (metrics.complaint_deadline_days).
--
-- Resolution data is "delivered" when at least one complaint in staging.complaints has a
-- resolved_at: a lender that never sends the optional column (staging then holds NULL for every
-- complaint) has no resolution data at all, and the measures built from this macro are NULL, not
-- 0. Once the lender sends it, a complaint without resolved_at is open.
--
-- Two as-of times, so that re-running a month gives the same answer:
--   data_as_of  = the newest complaint file's business date + 1 day (month_end without one);
--                 a complaint received in the month is "due" (its outcome against the deadline
--                 is known) once resolved or once its deadline is before data_as_of;
--   month_as_of = least(month_end, data_as_of): open complaints are judged at the month's end,
--                 or at the newest complaint data for a month to date.

with

delivered as (
    select
        coalesce(bool_or(resolved_at is not null), false) as resolution_delivered,
        max(_business_date) + interval 1 day as newest_data
    from staging.complaints
),

data as (
    select resolution_delivered, coalesce(newest_data, month_end::timestamp) as data_as_of
    from delivered
),

complaints as (
    select
        c.complaint_id,
        c.agent_id,
        c.received_at,
        c.resolved_at,
        d.resolution_delivered,
        d.data_as_of,
        least(month_end::timestamp, d.data_as_of) as month_as_of,
        c.received_at + to_days(deadline_days::integer) as deadline_at
    from intermediate.complaint_attribution c
    cross join data d
)

select
    complaint_id,
    agent_id,
    received_at,
    resolved_at,
    resolution_delivered,
    received_at >= month_start and received_at < month_end as received_in_month,
    case when resolution_delivered
        then date_diff('second', received_at, resolved_at) / 3600.0 end as resolution_h,
    case when resolution_delivered
        then received_at >= month_start and received_at < month_end
            and (resolved_at is not null or deadline_at < data_as_of) end as due,
    case when resolution_delivered
        then coalesce(resolved_at <= deadline_at, false) end as resolved_on_time,
    case when resolution_delivered
        then received_at < month_as_of
            and (resolved_at is null or resolved_at >= month_as_of)
            and deadline_at < month_as_of end as open_past_deadline
from complaints
