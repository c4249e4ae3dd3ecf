-- intermediate.agent_promises(month_start, month_end, sla_hours, commit_min_s, commit_min_share):
-- the promise-to-pay part of marts.agent_month_metrics, per agent with a promise due in the
-- month: due, kept, broken ones the middle office made impossible (neutralised), and (version 3,
-- "gaming does not pay") the commitments among them: promises made on a right-party call of at
-- least commit_min_s seconds for at least commit_min_share of the amount due on the case's
-- holding at the call, weighed by amount (the part of each promise the case paid by its due
-- date). Column meanings: the metric dictionary.

with

due as (
    select * from intermediate.promises_due(month_start, month_end, commit_min_s,
                                            commit_min_share)
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
        p.ptp_amount,
        p.commitment,
        coalesce(sum(e.signed_amount), 0) >= p.ptp_amount as kept,
        -- the part of the promise the case paid by its due date
        least(greatest(coalesce(sum(e.signed_amount), 0), 0), p.ptp_amount) as paid_towards
    from due p
    left join intermediate.payment_attribution e
        on e.case_id = p.case_id
        and e.paid_at >= p.started_at
        and e.paid_at < p.ptp_due_date + interval 1 day
    group by p.call_id, p.agent_id, p.case_id, p.started_at, p.ptp_due_date, p.ptp_amount,
        p.commitment
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
    count(n.call_id) as ptp_neutralised,
    count(*) filter (where o.commitment) as commitments_due,
    -- amount-weighted, neutralised ones left out as in ptp_kept_rate_adjusted
    sum(o.ptp_amount) filter (where o.commitment and n.call_id is null) as commitment_amount,
    sum(o.paid_towards) filter (where o.commitment and n.call_id is null) as commitment_paid
from outcomes o
left join neutralised n using (call_id)
group by all
