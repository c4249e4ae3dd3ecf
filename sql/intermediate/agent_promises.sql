-- intermediate.agent_promises(month_start, month_end, sla_hours): the promise-to-pay part of
-- marts.agent_month_metrics, per agent with a promise due in the month: due, kept, and broken
-- ones the middle office made impossible (neutralised). Column meanings: the metric dictionary.

with

due as (
    select c.call_id, c.agent_id, c.case_id, c.started_at, c.ptp_amount, c.ptp_due_date
    from staging.calls c
    where c.ptp_amount > 0
        and c.ptp_due_date >= month_start::date and c.ptp_due_date < month_end::date
),

outcomes as (
    -- kept when the signed sum of all the case's repayment events (any attribution) from the
    -- call to the end of the due date covers the promised amount
    select
        p.call_id,
        p.agent_id,
        p.case_id,
        p.started_at,
        p.ptp_due_date,
        coalesce(sum(e.signed_amount), 0) >= p.ptp_amount as kept
    from due p
    left join intermediate.payment_attribution e
        on e.case_id = p.case_id
        and e.paid_at >= p.started_at
        and e.paid_at < p.ptp_due_date + interval 1 day
    group by p.call_id, p.agent_id, p.case_id, p.started_at, p.ptp_due_date, p.ptp_amount
),

sla as (
    select s.ticket_type, s.hours from (select unnest(sla_hours) as s)
),

neutralised as (
    -- a broken promise the middle office made impossible: a fee waiver or restructuring
    -- approval of the case, opened between the promise and the end of its due date, still open
    -- at its SLA deadline (closed_at null or after it; closed exactly at it is in time), the
    -- deadline itself before the end of the due date
    select distinct o.call_id
    from outcomes o
    join staging.tickets t
        on t.case_id = o.case_id
        and t.ticket_type in ('fee_waiver', 'restructuring_approval')
        and t.opened_at >= o.started_at
        and t.opened_at < o.ptp_due_date + interval 1 day
    join sla s using (ticket_type)
    where not o.kept
        and t.opened_at + to_seconds((s.hours * 3600)::bigint) < o.ptp_due_date + interval 1 day
        and (t.closed_at is null
             or t.closed_at > t.opened_at + to_seconds((s.hours * 3600)::bigint))
)

select
    o.agent_id,
    count(*) as ptp_due,
    count(*) filter (where o.kept) as ptp_kept,
    count(n.call_id) as ptp_neutralised
from outcomes o
left join neutralised n using (call_id)
group by all
