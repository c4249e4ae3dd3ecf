-- intermediate.aging_stretches(month_start, month_end): each holding overlapping the month,
-- measured from its opening to its closing case snapshot (aging and roll rates; version 2: needs
-- cases snapshots carrying dpd). Opening = the latest snapshot with a dpd dated on or before the
-- date of max(assigned_at, month_start); closing = the latest one dated on or before the date of
-- min(held_until, month_end) - 1 second; a holding without both, or whose closing snapshot is not
-- dated after its opening one, is not measured. Buckets: current (dpd 0) < M1 < ... < M6+
-- (bucket_of), ranked 0..7.

with

holdings as (
    select
        h.assignment_id,
        h.case_id,
        h.agent_id,
        greatest(h.assigned_at, month_start::timestamp)::date as open_on,
        (least(h.held_until, month_end::timestamp) - interval 1 second)::date as close_on
    from intermediate.case_holdings h
    where h.assigned_at < month_end and h.held_until > month_start
),

snapshots as (
    select case_id, snapshot_date, dpd, overdue_amount
    from staging.cases
    where dpd is not null and snapshot_date < month_end
),

opening as (
    select h.assignment_id, s.snapshot_date, s.dpd, s.overdue_amount
    from holdings h
    join snapshots s on s.case_id = h.case_id and s.snapshot_date <= h.open_on
    qualify row_number() over (partition by h.assignment_id order by s.snapshot_date desc) = 1
),

closing as (
    select h.assignment_id, s.snapshot_date, s.dpd, s.overdue_amount
    from holdings h
    join snapshots s on s.case_id = h.case_id and s.snapshot_date <= h.close_on
    qualify row_number() over (partition by h.assignment_id order by s.snapshot_date desc) = 1
)

select
    h.assignment_id,
    h.case_id,
    h.agent_id,
    o.snapshot_date as opening_snapshot,
    c.snapshot_date as closing_snapshot,
    case when o.dpd = 0 then 'current' else bucket_of(o.dpd) end as opening_bucket,
    case when c.dpd = 0 then 'current' else bucket_of(c.dpd) end as closing_bucket,
    least(7, ceil(o.dpd / 30))::integer as opening_rank,
    least(7, ceil(c.dpd / 30))::integer as closing_rank,
    o.overdue_amount as opening_overdue_amount,
    c.overdue_amount as closing_overdue_amount
from holdings h
join opening o using (assignment_id)
join closing c using (assignment_id)
where c.snapshot_date > o.snapshot_date
