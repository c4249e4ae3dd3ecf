-- intermediate.assignment_terms(month_start, month_end): what each assignment held in the month
-- puts at stake. An assignment overlaps the month when assigned_at < month_end and held_until >
-- month_start. Its term is max(0, amount due at assignment - net paid on it before the month);
-- its exposure is the term times the share of the month it held the case (seconds of
-- [assigned_at, held_until) within [month_start, month_end) / seconds of the month): a case held
-- for 3 days of a 30-day month weighs a tenth of its balance.

with

holdings as (
    select a.*
    from intermediate.case_holdings a
    where a.assigned_at < month_end and a.held_until > month_start
),

paid_before as (
    select e.assignment_id, sum(e.signed_amount) as net_paid
    from intermediate.payment_attribution e
    where e.paid_at < month_start and e.assignment_id is not null
    group by all
)

select
    h.assignment_id,
    h.case_id,
    h.agent_id,
    h.bucket,
    h.assigned_at,
    h.held_until,
    greatest(0, h.amount_due - coalesce(p.net_paid, 0)) as term,
    (epoch(least(h.held_until, month_end::timestamp))
        - epoch(greatest(h.assigned_at, month_start::timestamp)))
        / (epoch(month_end::timestamp) - epoch(month_start::timestamp)) as held_share
from holdings h
left join paid_before p using (assignment_id)
